"""The sentence staff read under "why not shown?": one per gate, with ages and dates written
the way a person would say them. Pure: no database."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from satismeter_app.targeting import Context, History, Reason, sample_bucket

from .targeting_cases import NOW, days, make_rules, make_user, run, seen

SECOND = timedelta(seconds=1)
TRAIT = "plan"


def test_forced() -> None:
    decision = run(make_rules(state="draft"), context=Context(force=True))
    assert decision.detail == "Forced for testing; targeting was not checked."


@pytest.mark.usefixtures("server_east_of_utc")
def test_not_started_names_the_start_in_utc_whatever_the_servers_time_zone() -> None:
    starts = datetime(2025, 6, 16, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    decision = run(make_rules(starts_at=starts))
    assert decision.detail == "The survey starts 2025-06-16 12:30 UTC."


def test_ended() -> None:
    decision = run(make_rules(ends_at=NOW - days(1)))
    assert decision.detail == "The survey ended 2025-06-14 12:00 UTC."


def test_audience_for_identified_users() -> None:
    decision = run(make_rules(audience="identified"), make_user(identified=False))
    assert decision.detail == "The survey is for identified users; this visitor is anonymous."


def test_audience_for_anonymous_visitors() -> None:
    decision = run(make_rules(audience="anonymous"), make_user(identified=True))
    assert decision.detail == "The survey is for anonymous visitors; this user is identified."


def test_device() -> None:
    decision = run(make_rules(device_types=("mobile", "tablet")), context=Context(url="/"))
    assert decision.detail == "The survey is for mobile, tablet; this is a desktop."


def test_page_without_an_address() -> None:
    decision = run(make_rules(url_rules=({"op": "contains", "value": "/app"},)))
    assert decision.detail == "The page (no page address) does not match the survey's page rules."


def test_page_with_an_address() -> None:
    rules = make_rules(url_rules=({"op": "contains", "value": "/app"},))
    decision = run(rules, context=Context(url="https://x.com/home"))
    assert decision.detail == "The page https://x.com/home does not match the survey's page rules."


def test_sampled_out_names_the_users_bucket() -> None:
    bucket = sample_bucket(1, 1, "user-1")
    decision = run(make_rules(sample_percent=0))
    assert decision.detail == f"The user is outside the survey's 0% sample (bucket {bucket})."


def test_a_missing_trait_for_a_presence_condition() -> None:
    rules = make_rules(trait_conditions=({"trait": TRAIT, "op": "exists"},))
    assert run(rules).detail == "The user has no trait “plan”; the survey needs “plan exists”."


def test_a_trait_with_another_value() -> None:
    condition = {"trait": TRAIT, "type": "text", "op": "equals", "value": "pro"}
    decision = run(make_rules(trait_conditions=(condition,)), make_user(traits={TRAIT: "free"}))
    assert decision.detail == "The trait “plan” is 'free'; the survey needs “plan equals 'pro'”."


@pytest.mark.parametrize(
    ("length", "shown"),
    [(58, "'" + "a" * 58 + "'"), (59, "'" + "a" * 58 + "…")],
)
def test_a_long_trait_value_is_cut_to_sixty_characters(length: int, shown: str) -> None:
    condition = {"trait": TRAIT, "type": "text", "op": "equals", "value": "pro"}
    user = make_user(traits={TRAIT: "a" * length})
    decision = run(make_rules(trait_conditions=(condition,)), user)
    assert decision.detail == f"The trait “plan” is {shown}; the survey needs “plan equals 'pro'”."


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (timedelta(0), "0 minutes"),
        (timedelta(seconds=59), "0 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=2), "2 minutes"),
        (timedelta(hours=1) - SECOND, "59 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2), "2 hours"),
        (days(1) - SECOND, "23 hours"),
        (days(1), "1 day"),
        (days(2) - SECOND, "1 day"),
        (days(2), "2 days"),
    ],
)
def test_ages_are_said_in_whole_days_hours_or_minutes(age: timedelta, said: str) -> None:
    decision = run(make_rules(resurvey_days=90), history=seen(last_answered=NOW - age))
    assert decision.detail == f"Answered {said} ago; the survey asks again after 90 days."


def test_an_interval_of_one_day_is_said_in_the_singular() -> None:
    decision = run(make_rules(resurvey_days=1), history=seen(last_answered=NOW - SECOND))
    assert decision.detail == "Answered 0 minutes ago; the survey asks again after 1 day."


def test_tenure_by_sign_up() -> None:
    decision = run(make_rules(min_tenure_days=30), make_user(created_at=NOW - days(3)))
    assert decision.detail == "Signed up 3 days ago; the survey waits for 30 days."


def test_tenure_by_first_seen() -> None:
    rules = make_rules(min_tenure_days=1, tenure_basis="first_seen")
    decision = run(rules, make_user(first_seen=NOW - timedelta(hours=5)))
    assert decision.detail == "First seen 5 hours ago; the survey waits for 1 day."


def test_dismissed() -> None:
    decision = run(make_rules(dismiss_wait_days=30), history=seen(last_dismissed=NOW - days(2)))
    assert decision.detail == "Dismissed 2 days ago; the survey waits 30 days after a dismissal."


def test_ignored() -> None:
    history = seen(displays_since_last_answer=3, last_display=NOW - timedelta(minutes=1))
    decision = run(make_rules(max_displays=3, dismiss_wait_days=30), history=history)
    assert decision.detail == (
        "Shown 3 times without an answer, last 1 minute ago; "
        "the survey waits 30 days before showing it again."
    )


def event_detail(event_at: datetime | None, window: int, **mine: datetime) -> str:
    events = {} if event_at is None else {"upgraded": event_at}
    history = History(surveys={1: seen(**mine).of(1)}, last_events=events)
    rules = make_rules(trigger_event="upgraded", event_window_days=window, resurvey_days=0)
    decision = run(rules, history=history)
    assert decision.reason in {Reason.NO_EVENT, Reason.EVENT_EXPIRED}
    return decision.detail


def test_event_never_tracked() -> None:
    assert event_detail(None, 0) == "The event “upgraded” was never tracked for this user."


def test_event_before_the_last_answer() -> None:
    assert event_detail(NOW - days(2), 0, last_answered=NOW - days(1)) == (
        "The event “upgraded” was last tracked before the user's last answer or dismissal."
    )


def test_event_outside_the_thirty_minutes_right_after_it() -> None:
    assert event_detail(NOW - timedelta(minutes=31), 0) == (
        "The event “upgraded” was tracked 31 minutes ago; the survey shows within 30 minutes of it."
    )


def test_event_outside_a_window_of_days() -> None:
    assert event_detail(NOW - days(8), 7) == (
        "The event “upgraded” was tracked 8 days ago; the survey shows within 7 days of it."
    )


def test_survey_gap() -> None:
    decision = run(history=seen(survey_id=2, last_answered=NOW - days(3)), gap=14)
    assert decision.detail == "Another survey was seen 3 days ago; surveys are 14 days apart."


def test_every_gate_passed() -> None:
    assert run().detail == "Every targeting rule holds."


def test_dates_are_written_in_utc() -> None:
    decision = run(make_rules(ends_at=datetime(2025, 1, 1, 23, 5, tzinfo=UTC)))
    assert decision.detail == "The survey ended 2025-01-01 23:05 UTC."
