"""targeting.py: every gate on both sides of its boundary, trait and page rules, choose(), and
properties of sampling and the resurvey interval. Pure: no database."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satismeter_app.models import Survey
from satismeter_app.targeting import (
    Context,
    Decision,
    History,
    Reason,
    SurveyHistory,
    SurveyRules,
    choose,
    evaluate_condition,
    sample_bucket,
    url_matches,
)

from .targeting_cases import NOW, days, make_rules, make_user, run, seen


def reason(**kwargs: Any) -> Reason:
    return run(**kwargs).reason


def test_a_survey_without_restrictions_is_shown() -> None:
    assert run() == Decision(True, Reason.ELIGIBLE, "Every targeting rule holds.")


def test_reason_codes_are_stable_snake_case() -> None:
    assert all(reason.value == reason.name.lower() for reason in Reason)


# --- force, state, schedule -------------------------------------------------------------------


def test_force_shows_a_survey_that_every_gate_would_refuse() -> None:
    rules = make_rules(state="draft", audience="anonymous", sample_percent=0)
    decision = run(rules=rules, context=Context(force=True), history=seen(last_answered=NOW))
    assert decision.show and decision.reason is Reason.FORCED


@pytest.mark.parametrize("state", ["draft", "paused", "archived"])
def test_only_active_surveys_are_shown(state: str) -> None:
    decision = run(rules=make_rules(state=state))
    assert not decision.show
    assert decision.reason is Reason.NOT_ACTIVE
    assert state in decision.detail


def test_schedule_start_is_inclusive() -> None:
    assert reason(rules=make_rules(starts_at=NOW + timedelta(seconds=1))) is Reason.NOT_STARTED
    assert reason(rules=make_rules(starts_at=NOW)) is Reason.ELIGIBLE


def test_schedule_end_is_exclusive() -> None:
    assert reason(rules=make_rules(ends_at=NOW)) is Reason.ENDED
    assert reason(rules=make_rules(ends_at=NOW + timedelta(seconds=1))) is Reason.ELIGIBLE


# --- audience, device, page -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "identified", "shown"),
    [
        ("identified", True, True),
        ("identified", False, False),
        ("anonymous", False, True),
        ("anonymous", True, False),
        ("everyone", True, True),
        ("everyone", False, True),
    ],
)
def test_audience(audience: str, identified: bool, shown: bool) -> None:
    decision = run(rules=make_rules(audience=audience), user=make_user(identified=identified))
    assert decision.show is shown
    assert decision.reason is (Reason.ELIGIBLE if shown else Reason.AUDIENCE)


@pytest.mark.parametrize(
    ("allowed", "device", "shown"),
    [
        ((), "mobile", True),
        (("mobile",), "mobile", True),
        (("mobile", "tablet"), "desktop", False),
        (("desktop",), None, True),  # unknown counts as desktop
        (("desktop",), "smart-tv", True),
        (("mobile",), None, False),
    ],
)
def test_device_types(allowed: tuple[str, ...], device: str | None, shown: bool) -> None:
    decision = run(rules=make_rules(device_types=allowed), context=Context(device_type=device))
    assert decision.show is shown
    assert decision.reason is (Reason.ELIGIBLE if shown else Reason.DEVICE)


def test_page_rules_gate_the_survey() -> None:
    rules = make_rules(url_rules=({"op": "contains", "value": "/app"},))
    assert reason(rules=rules, context=Context(url="https://x.com/app/home")) is Reason.ELIGIBLE
    decision = run(rules=rules, context=Context(url="https://x.com/pricing"))
    assert decision.reason is Reason.PAGE
    assert "https://x.com/pricing" in decision.detail


# --- sampling ---------------------------------------------------------------------------------


def test_sample_bucket_is_pinned() -> None:
    # Changing the hash would move users in or out of every running sample: keep it.
    assert sample_bucket(1, 2, "alice") == 968
    assert sample_bucket(1, 2, "bob") == 3807
    assert sample_bucket(7, 3, "alice") == 9458


def test_sample_boundary_is_the_users_bucket() -> None:
    # A user whose bucket is exactly 2,500 is the first one outside a 25% sample.
    key = next(f"u{n}" for n in range(10**6) if sample_bucket(1, 1, f"u{n}") == 2_500)
    user = make_user(key=key)
    assert reason(rules=make_rules(sample_percent=25), user=user) is Reason.SAMPLED_OUT
    assert reason(rules=make_rules(sample_percent=26), user=user) is Reason.ELIGIBLE


@pytest.mark.parametrize(("percent", "shown"), [(0, False), (100, True)])
def test_sample_extremes(percent: int, shown: bool) -> None:
    users = [make_user(key=f"u{i}") for i in range(200)]
    assert {run(rules=make_rules(sample_percent=percent), user=u).show for u in users} == {shown}


# --- surveyDate -------------------------------------------------------------------------------


def test_survey_date_in_the_future_holds_the_survey_back() -> None:
    decision = run(user=make_user(survey_date=NOW + timedelta(minutes=1)))
    assert decision.reason is Reason.SURVEY_DATE_FUTURE
    assert "2025-06-15 12:01 UTC" in decision.detail
    assert reason(user=make_user(survey_date=NOW)) is Reason.ELIGIBLE


def test_a_due_survey_date_skips_tenure_and_interval_gates() -> None:
    rules = make_rules(min_tenure_days=30, max_displays=1)
    user = make_user(first_seen=NOW - days(1), survey_date=NOW - days(1))
    history = seen(
        last_answered=NOW - days(10),
        last_dismissed=NOW - days(5),
        last_display=NOW - days(2),
        displays_since_last_answer=4,
    )
    assert run(rules=rules, user=make_user(first_seen=NOW - days(1))).reason is Reason.TENURE
    decision = run(rules=rules, user=user, history=history)
    assert decision == Decision(True, Reason.ELIGIBLE, "The user's survey date has come.")


def test_a_survey_date_already_answered_is_not_due() -> None:
    user = make_user(survey_date=NOW - days(10))
    history = seen(last_answered=NOW - days(5))
    assert reason(user=user, history=history) is Reason.ANSWERED_RECENTLY


def test_a_due_survey_date_still_respects_traits_sampling_and_the_gap() -> None:
    user = make_user(survey_date=NOW - days(1))
    traits = make_rules(trait_conditions=({"trait": "plan", "op": "exists"},))
    assert reason(rules=traits, user=user) is Reason.TRAITS
    assert reason(rules=make_rules(sample_percent=0), user=user) is Reason.SAMPLED_OUT
    other = seen(survey_id=2, last_display=NOW - days(1))
    assert reason(user=user, history=other, gap=14) is Reason.SURVEY_GAP


# --- tenure -----------------------------------------------------------------------------------


def test_tenure_by_first_seen_boundary() -> None:
    rules = make_rules(min_tenure_days=30, tenure_basis="first_seen")
    decision = run(rules=rules, user=make_user(first_seen=NOW - days(29)))
    assert decision == Decision(
        False, Reason.TENURE, "First seen 29 days ago; the survey waits for 30 days."
    )
    assert reason(rules=rules, user=make_user(first_seen=NOW - days(30))) is Reason.ELIGIBLE


def test_tenure_by_first_seen_ignores_created_at() -> None:
    rules = make_rules(min_tenure_days=30, tenure_basis="first_seen")
    user = make_user(first_seen=NOW - days(5), created_at=NOW - days(400))
    assert reason(rules=rules, user=user) is Reason.TENURE


def test_tenure_by_created_at_prefers_created_at() -> None:
    rules = make_rules(min_tenure_days=30, tenure_basis="created_at")
    young = make_user(first_seen=NOW - days(100), created_at=NOW - days(29))
    decision = run(rules=rules, user=young)
    assert decision.reason is Reason.TENURE
    assert decision.detail.startswith("Signed up 29 days ago")
    old = make_user(first_seen=NOW - days(1), created_at=NOW - days(30))
    assert reason(rules=rules, user=old) is Reason.ELIGIBLE


def test_tenure_by_created_at_falls_back_to_first_seen() -> None:
    rules = make_rules(min_tenure_days=30, tenure_basis="created_at")
    assert reason(rules=rules, user=make_user(first_seen=NOW - days(29))) is Reason.TENURE
    assert reason(rules=rules, user=make_user(first_seen=NOW - days(30))) is Reason.ELIGIBLE


def test_zero_tenure_accepts_a_sign_up_date_in_the_future() -> None:
    user = make_user(created_at=NOW + timedelta(hours=1))
    assert reason(rules=make_rules(min_tenure_days=0), user=user) is Reason.ELIGIBLE


# --- trait conditions -------------------------------------------------------------------------


def test_all_trait_conditions_must_hold() -> None:
    rules = make_rules(
        trait_conditions=(
            {"trait": "plan", "type": "text", "op": "equals", "value": "pro"},
            {"trait": "seats", "type": "number", "op": "gt", "value": 5},
        )
    )
    assert reason(rules=rules, user=make_user(traits={"plan": "Pro", "seats": 6})) is (
        Reason.ELIGIBLE
    )
    decision = run(rules=rules, user=make_user(traits={"plan": "Pro", "seats": "2"}))
    assert decision.reason is Reason.TRAITS
    assert decision.detail == "The trait “seats” is '2'; the survey needs “seats gt 5”."
    decision = run(rules=rules, user=make_user(traits={}))
    assert decision.detail == "The user has no trait “plan”; the survey needs “plan equals 'pro'”."


def text(op: str, value: Any) -> dict[str, Any]:
    return {"trait": "t", "type": "text", "op": op, "value": value}


def number(op: str, value: Any) -> dict[str, Any]:
    return {"trait": "t", "type": "number", "op": op, "value": value}


def date(op: str, value: Any) -> dict[str, Any]:
    return {"trait": "t", "type": "date", "op": op, "value": value}


def boolean(value: Any) -> dict[str, Any]:
    return {"trait": "t", "type": "boolean", "op": "is", "value": value}


def presence(op: str) -> dict[str, Any]:
    return {"trait": "t", "op": op}


MISSING = object()  # a trait the user does not have


@pytest.mark.parametrize(
    ("condition", "trait", "expected"),
    [
        (text("equals", "pro"), "PRO", True),
        (text("equals", "pro"), "free", False),
        (text("equals", "5"), 5, True),
        (text("equals", "true"), True, True),
        (text("not_equals", "pro"), "Free", True),
        (text("not_equals", "pro"), "Pro", False),
        (text("not_equals", "pro"), MISSING, False),
        (text("not_equals", "pro"), None, False),
        (text("contains", "corp"), "Acme CORP Inc", True),
        (text("contains", "corp"), "Acme", False),
        (text("in", ["pro", "enterprise"]), "Enterprise", True),
        (text("in", ["pro", "enterprise"]), "free", False),
        (text("in", ["pro"]), ["pro"], False),
        (text("in", "pro"), "pro", False),  # malformed condition
        (number("gt", 10), 11, True),
        (number("gt", 10), "11", True),
        (number("gt", 10), " 10.5 ", True),
        (number("gt", 10), 10, False),
        (number("gt", 10), "ten", False),
        (number("gt", 10), True, False),
        (number("gt", 10), None, False),
        (number("gt", 10), "NaN", False),
        (number("gt", 10), [11], False),
        (number("gt", 10), 10**400, False),
        (number("lt", 10), 9.99, True),
        (number("lt", 10), 10, False),
        (number("eq", 3), 3.0, True),
        (number("eq", 3), "3", True),
        (number("eq", 3), "", False),
        (number("eq", "abc"), 3, False),  # malformed condition
        (number("between", [1, 5]), 1, True),
        (number("between", [1, 5]), 5, True),
        (number("between", [1, 5]), "3", True),
        (number("between", [1, 5]), 5.01, False),
        (number("between", [1]), 1, False),  # malformed condition
        (date("before", "2025-01-01"), "2024-12-31T23:59:59Z", True),
        (date("before", "2025-01-01"), "2025-01-01T00:00:00+00:00", False),
        (date("after", "2025-01-01"), "2025-01-01T01:00:00+02:00", False),
        (date("after", "2025-01-01"), "2025-01-01T00:00:01", True),  # naive is UTC
        (date("after", "2025-01-01T00:00:00Z"), "2025-01-02", True),
        (date("before", "2025-01-01"), 1735689599, True),  # epoch seconds
        (date("before", "2025-01-01"), 1735689600, False),
        (date("before", "2025-01-01"), 1735689599000, True),  # epoch milliseconds
        (date("before", "2025-01-01"), "1735689599000", True),
        (date("after", "2025-01-01"), 1735689600.5, True),
        (date("after", "2025-01-01"), "yesterday", False),
        (date("after", "2025-01-01"), {}, False),
        (date("after", "2025-01-01"), True, False),
        (date("after", "2025-01-01"), float("nan"), False),
        (date("after", "2025-01-01"), 10**30, False),
        (date("after", "not a date"), "2025-01-02", False),  # malformed condition
        (date("within_days", 7), (NOW - days(6)).isoformat(), True),
        (date("within_days", 7), (NOW - days(7)).isoformat(), True),
        (date("within_days", 7), (NOW - days(7) - timedelta(seconds=1)).isoformat(), False),
        (date("within_days", 7), (NOW + timedelta(hours=1)).isoformat(), False),
        (date("within_days", 7), (NOW - days(1)).timestamp() * 1000, True),
        (date("within_days", 10**12), "2000-01-01", True),
        (date("within_days", "7"), NOW.isoformat(), False),  # malformed condition
        (boolean(True), True, True),
        (boolean(True), "true", True),
        (boolean(True), " TRUE ", True),
        (boolean(True), False, False),
        (boolean(False), "false", True),
        (boolean(False), MISSING, False),
        (boolean(True), 1, False),
        (boolean(True), "yes", False),
        (boolean("true"), True, False),  # malformed condition
        (presence("exists"), "x", True),
        (presence("exists"), 0, True),
        (presence("exists"), False, True),
        (presence("exists"), "", False),
        (presence("exists"), None, False),
        (presence("exists"), MISSING, False),
        (presence("missing"), MISSING, True),
        (presence("missing"), None, True),
        (presence("missing"), "", True),
        (presence("missing"), "x", False),
        ({"trait": "t", "type": "color", "op": "is", "value": "red"}, "red", False),
        ({"trait": "t", "type": "text", "op": "gt", "value": "a"}, "b", False),
        ({"type": "text", "op": "equals", "value": "a"}, "a", False),
    ],
)
def test_evaluate_condition(condition: dict[str, Any], trait: Any, expected: bool) -> None:
    traits = {} if trait is MISSING else {"t": trait}
    assert evaluate_condition(condition, traits, NOW) is expected


# --- event trigger ----------------------------------------------------------------------------


def event_history(event_at: datetime | None, **mine: Any) -> History:
    events = {} if event_at is None else {"upgraded": event_at}
    return History(surveys={1: SurveyHistory(**mine)}, last_events=events)


def test_without_a_trigger_event_events_do_not_matter() -> None:
    assert reason(history=event_history(None)) is Reason.ELIGIBLE


def test_a_trigger_event_never_tracked() -> None:
    decision = run(rules=make_rules(trigger_event="upgraded"), history=event_history(None))
    assert decision.reason is Reason.NO_EVENT
    assert "never tracked" in decision.detail


def test_right_after_the_event_means_thirty_minutes() -> None:
    rules = make_rules(trigger_event="upgraded", event_window_days=0)
    fresh = event_history(NOW - timedelta(minutes=30))
    stale = event_history(NOW - timedelta(minutes=31))
    assert reason(rules=rules, history=fresh) is Reason.ELIGIBLE
    assert reason(rules=rules, history=stale) is Reason.EVENT_EXPIRED


def test_event_delivery_window_in_days() -> None:
    rules = make_rules(trigger_event="upgraded", event_window_days=3)
    assert reason(rules=rules, history=event_history(NOW - days(3))) is Reason.ELIGIBLE
    late = event_history(NOW - days(3) - timedelta(minutes=1))
    decision = run(rules=rules, history=late)
    assert decision.reason is Reason.EVENT_EXPIRED
    assert decision.detail == (
        "The event “upgraded” was tracked 3 days ago; the survey shows within 3 days of it."
    )


@pytest.mark.parametrize("closed", ["last_answered", "last_dismissed"])
def test_the_event_must_come_after_the_last_answer_or_dismissal(closed: str) -> None:
    rules = make_rules(
        trigger_event="upgraded", event_window_days=30, resurvey_days=1, dismiss_wait_days=1
    )
    after = event_history(NOW - days(2), **{closed: NOW - days(5)})
    before = event_history(NOW - days(6), **{closed: NOW - days(5)})
    assert reason(rules=rules, history=after) is Reason.ELIGIBLE
    assert reason(rules=rules, history=before) is Reason.NO_EVENT


# --- answers, dismissals, ignoring, the gap ---------------------------------------------------


def test_resurvey_interval_after_an_answer() -> None:
    rules = make_rules(resurvey_days=90)
    decision = run(rules=rules, history=seen(last_answered=NOW - days(89)))
    assert decision == Decision(
        False,
        Reason.ANSWERED_RECENTLY,
        "Answered 89 days ago; the survey asks again after 90 days.",
    )
    assert reason(rules=rules, history=seen(last_answered=NOW - days(90))) is Reason.ELIGIBLE


def test_wait_after_a_dismissal() -> None:
    rules = make_rules(dismiss_wait_days=30)
    recent = seen(last_dismissed=NOW - days(29))
    assert reason(rules=rules, history=recent) is Reason.DISMISSED_RECENTLY
    assert reason(rules=rules, history=seen(last_dismissed=NOW - days(30))) is Reason.ELIGIBLE


def test_displays_without_an_answer_count_as_ignored_until_the_wait_is_over() -> None:
    rules = make_rules(max_displays=3, dismiss_wait_days=30)
    ignored = seen(displays_since_last_answer=3, last_display=NOW - days(29))
    decision = run(rules=rules, history=ignored)
    assert decision.reason is Reason.IGNORED
    assert decision.detail.startswith("Shown 3 times without an answer, last 29 days ago")
    waited = seen(displays_since_last_answer=3, last_display=NOW - days(30))
    assert reason(rules=rules, history=waited) is Reason.ELIGIBLE
    fewer = seen(displays_since_last_answer=2, last_display=NOW - timedelta(minutes=5))
    assert reason(rules=rules, history=fewer) is Reason.ELIGIBLE


def test_max_displays_zero_means_no_cap() -> None:
    many = seen(displays_since_last_answer=50, last_display=NOW - timedelta(minutes=5))
    assert reason(rules=make_rules(max_displays=0), history=many) is Reason.ELIGIBLE


@pytest.mark.parametrize("field", ["last_display", "last_answered", "last_dismissed"])
def test_global_gap_after_another_survey(field: str) -> None:
    recent = seen(survey_id=2, **{field: NOW - days(13)})
    decision = run(history=recent, gap=14)
    assert decision.reason is Reason.SURVEY_GAP
    assert decision.detail == "Another survey was seen 13 days ago; surveys are 14 days apart."
    assert reason(history=seen(survey_id=2, **{field: NOW - days(14)}), gap=14) is Reason.ELIGIBLE


def test_the_gap_does_not_hold_back_the_same_survey() -> None:
    mine = seen(survey_id=1, last_display=NOW - timedelta(minutes=1), displays_since_last_answer=1)
    assert reason(history=mine, gap=14) is Reason.ELIGIBLE


def test_a_zero_gap_is_no_gap() -> None:
    assert reason(history=seen(survey_id=2, last_display=NOW), gap=0) is Reason.ELIGIBLE


def test_last_other_survey_at_takes_the_latest_of_the_others() -> None:
    history = History(
        surveys={
            1: SurveyHistory(last_display=NOW),
            2: SurveyHistory(last_display=NOW - days(9), last_dismissed=NOW - days(3)),
            3: SurveyHistory(last_answered=NOW - days(5)),
        }
    )
    assert history.last_other_survey_at(1) == NOW - days(3)
    assert history.last_other_survey_at(2) == NOW
    assert History().last_other_survey_at(1) is None


# --- gate order -------------------------------------------------------------------------------


def test_the_first_failing_gate_is_reported() -> None:
    """Start failing every gate, then lift them one by one: each reason shows up in turn."""
    rules = make_rules(
        state="paused",
        starts_at=NOW + days(1),
        audience="anonymous",
        device_types=("mobile",),
        url_rules=({"op": "contains", "value": "/app"},),
        sample_percent=0,
        min_tenure_days=30,
        trait_conditions=({"trait": "plan", "op": "exists"},),
        trigger_event="upgraded",
        resurvey_days=90,
        dismiss_wait_days=30,
        max_displays=1,
    )
    user = make_user(first_seen=NOW - days(1), survey_date=NOW + days(1))
    mine = SurveyHistory(
        last_answered=NOW - days(40),
        last_dismissed=NOW - days(20),
        last_display=NOW - timedelta(hours=12),
        displays_since_last_answer=1,
    )
    history = History(surveys={1: mine, 2: SurveyHistory(last_display=NOW - days(1))})
    context = Context(url="/home")
    state: dict[str, Any] = {"rules": rules, "user": user, "history": history, "context": context}
    lifts: list[tuple[Reason, Callable[[dict[str, Any]], dict[str, Any]]]] = [
        (Reason.NOT_ACTIVE, lambda s: {"rules": replace(s["rules"], state="active")}),
        (Reason.NOT_STARTED, lambda s: {"rules": replace(s["rules"], starts_at=None)}),
        (Reason.AUDIENCE, lambda s: {"rules": replace(s["rules"], audience="everyone")}),
        (Reason.DEVICE, lambda s: {"rules": replace(s["rules"], device_types=())}),
        (Reason.PAGE, lambda s: {"context": Context(url="/app")}),
        (Reason.SAMPLED_OUT, lambda s: {"rules": replace(s["rules"], sample_percent=100)}),
        (Reason.SURVEY_DATE_FUTURE, lambda s: {"user": replace(s["user"], survey_date=None)}),
        (Reason.TENURE, lambda s: {"rules": replace(s["rules"], min_tenure_days=0)}),
        (Reason.TRAITS, lambda s: {"user": replace(s["user"], traits={"plan": "pro"})}),
        (Reason.ANSWERED_RECENTLY, lambda s: {"rules": replace(s["rules"], resurvey_days=30)}),
        (Reason.DISMISSED_RECENTLY, lambda s: {"rules": replace(s["rules"], dismiss_wait_days=1)}),
        (Reason.IGNORED, lambda s: {"rules": replace(s["rules"], max_displays=0)}),
        (
            Reason.NO_EVENT,
            lambda s: {"history": replace(s["history"], last_events={"upgraded": NOW})},
        ),
        (Reason.SURVEY_GAP, lambda s: {"history": replace(s["history"], surveys={1: mine})}),
    ]
    for expected, lift in lifts:
        assert run(**state, gap=14).reason is expected
        state.update(lift(state))
    assert run(**state, gap=14).reason is Reason.ELIGIBLE


# --- page rules -------------------------------------------------------------------------------


def include(op: str, value: str) -> dict[str, Any]:
    return {"op": op, "value": value}


def exclude(op: str, value: str) -> dict[str, Any]:
    return {"op": op, "value": value, "exclude": True}


@pytest.mark.parametrize(
    ("rules", "url", "expected"),
    [
        ([], "https://x.com/anything", True),
        ([], "", True),
        ([include("equals", "https://x.com/pricing")], "https://x.com/pricing/", True),
        ([include("equals", "https://x.com/pricing")], "https://x.com/pricing?utm=1", True),
        ([include("equals", "https://x.com/pricing")], "https://x.com/pricing#faq", True),
        ([include("equals", "https://x.com/pricing")], "https://x.com/pricing/plans", False),
        ([include("equals", "https://x.com/pricing/")], "https://x.com/pricing", True),
        ([include("equals", "/pricing")], "https://x.com/pricing/?a=1", True),
        ([include("equals", "/pricing")], "https://x.com/Pricing", False),
        ([include("equals", "/pricing?plan=pro")], "https://x.com/pricing?plan=pro", True),
        ([include("equals", "/pricing?plan=pro")], "https://x.com/pricing/?plan=pro", True),
        ([include("equals", "/pricing?plan=pro")], "https://x.com/pricing?plan=free", False),
        ([include("equals", "/")], "https://x.com", True),
        ([include("equals", "/")], "https://x.com/?ref=mail", True),
        ([include("equals", "/")], "https://x.com/app", False),
        ([include("equals", "/app")], "", False),
        ([include("contains", "/app")], "https://x.com/app/settings", True),
        ([include("contains", "/app")], "https://x.com/home", False),
        ([include("starts_with", "https://x.com/app")], "https://x.com/app/settings", True),
        ([include("starts_with", "https://x.com/app")], "https://y.com/app", False),
        ([include("starts_with", "/app")], "https://x.com/app/settings", True),
        ([include("starts_with", "/app")], "https://x.com/home?next=/app", False),
        (
            [include("regex", r"/projects/\d+/settings$")],
            "https://x.com/projects/42/settings",
            True,
        ),
        (
            [include("regex", r"/projects/\d+/settings$")],
            "https://x.com/projects/new/settings",
            False,
        ),
        ([include("regex", "(")], "https://x.com/(", False),  # invalid: matches nothing
        ([include("contains", "/a"), include("contains", "/b")], "https://x.com/b", True),
        ([include("contains", "/app"), exclude("contains", "/billing")], "https://x.com/app", True),
        ([include("contains", "/app"), exclude("contains", "/billing")], "/app/billing", False),
        ([include("contains", "/app"), exclude("contains", "/billing")], "/home", False),
        ([exclude("contains", "/admin")], "https://x.com/home", True),
        ([exclude("contains", "/admin")], "https://x.com/admin/users", False),
        ([{"op": "contains", "value": "/app", "exclude": False}], "/home", False),
    ],
)
def test_url_matches(rules: list[dict[str, Any]], url: str, expected: bool) -> None:
    assert url_matches(rules, url) is expected


# --- choose -----------------------------------------------------------------------------------


def test_choose_picks_the_highest_priority_and_labels_the_rest() -> None:
    low = make_rules(id=1, priority=1)
    high = make_rules(id=2, priority=5)
    closed = make_rules(id=3, priority=9, state="paused")
    winner, decisions = choose(
        [low, high, closed], make_user(), History(), Context(), NOW, survey_gap_days=14
    )
    assert winner is high
    assert [(r.id, d.show, d.reason) for r, d in decisions] == [
        (1, False, Reason.OTHER_SURVEY_CHOSEN),
        (2, True, Reason.ELIGIBLE),
        (3, False, Reason.NOT_ACTIVE),
    ]
    assert "Survey 2 (priority 5) was chosen" in decisions[0][1].detail


def test_choose_breaks_a_priority_tie_by_the_lowest_id() -> None:
    surveys = [make_rules(id=8), make_rules(id=3), make_rules(id=5)]
    winner, _ = choose(surveys, make_user(), History(), Context(), NOW, survey_gap_days=0)
    assert winner is not None and winner.id == 3


def test_choose_without_an_eligible_survey() -> None:
    surveys = [make_rules(id=1, state="draft"), make_rules(id=2, sample_percent=0)]
    winner, decisions = choose(surveys, make_user(), History(), Context(), NOW, survey_gap_days=0)
    assert winner is None
    assert [d.reason for _, d in decisions] == [Reason.NOT_ACTIVE, Reason.SAMPLED_OUT]


# --- SurveyRules.from_survey ------------------------------------------------------------------


def test_from_survey_reads_an_unsaved_survey() -> None:
    survey = Survey(
        pk=7,
        project_id=3,
        name="NPS",
        state=Survey.State.ACTIVE,
        priority=4,
        ends_at=NOW,
        audience=Survey.Audience.EVERYONE,
        trait_conditions=[{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}],
        url_rules=[{"op": "contains", "value": "/app"}],
        device_types=["mobile"],
        sample_percent=25,
        trigger_event="upgraded",
    )
    rules = SurveyRules.from_survey(survey)
    assert (rules.id, rules.project_id, rules.state, rules.audience) == (7, 3, "active", "everyone")
    assert (rules.priority, rules.ends_at, rules.sample_percent) == (4, NOW, 25)
    assert rules.trait_conditions == (survey.trait_conditions[0],)
    assert rules.url_rules == ({"op": "contains", "value": "/app"},)
    assert (rules.device_types, rules.trigger_event) == (("mobile",), "upgraded")
    survey.trait_conditions[0]["value"] = "free"  # the snapshot does not follow later edits
    assert rules.trait_conditions[0]["value"] == "pro"


def test_from_survey_carries_the_model_defaults() -> None:
    rules = SurveyRules.from_survey(Survey(pk=1, project_id=1))
    assert rules == SurveyRules(id=1, project_id=1, state="draft")
    assert (rules.min_tenure_days, rules.resurvey_days, rules.dismiss_wait_days) == (30, 90, 30)


# --- properties -------------------------------------------------------------------------------

ids = st.integers(min_value=1, max_value=10**9)


@pytest.mark.parametrize("percent", [1, 10, 33, 50, 90])
@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(project_id=ids, survey_id=ids, prefix=st.text(max_size=10))
def test_sample_share_matches_the_rate(
    percent: int, project_id: int, survey_id: int, prefix: str
) -> None:
    keys = [f"{prefix}{n}" for n in range(10_000)]
    inside = sum(sample_bucket(project_id, survey_id, key) < percent * 100 for key in keys)
    assert abs(inside / len(keys) * 100 - percent) <= 2


@settings(max_examples=100, deadline=None, database=None)
@given(
    project_id=ids,
    survey_id=ids,
    key=st.text(max_size=40),
    percent=st.integers(min_value=0, max_value=100),
    later=st.lists(st.integers(min_value=0, max_value=10**8), max_size=4),
)
def test_sampling_is_sticky(
    project_id: int, survey_id: int, key: str, percent: int, later: list[int]
) -> None:
    rules = make_rules(id=survey_id, project_id=project_id, sample_percent=percent)
    user = make_user(key=key)
    bucket = sample_bucket(project_id, survey_id, key)
    assert 0 <= bucket < 10_000
    first = run(rules=rules, user=user).reason
    for seconds in later:
        assert sample_bucket(project_id, survey_id, key) == bucket
        assert run(rules=rules, user=user, now=NOW + timedelta(seconds=seconds)).reason is first


ACTIONS = st.sampled_from(["display", "answer", "dismiss", "nothing"])
STEPS = st.lists(st.tuples(st.integers(min_value=0, max_value=60 * 24 * 45), ACTIONS), max_size=40)


def apply_action(mine: SurveyHistory, action: str, now: datetime) -> SurveyHistory:
    """What the service layer records after each action."""
    if action == "display":
        return replace(
            mine, last_display=now, displays_since_last_answer=mine.displays_since_last_answer + 1
        )
    if action == "answer":
        return replace(mine, last_answered=now, displays_since_last_answer=0)
    if action == "dismiss":
        return replace(mine, last_dismissed=now, displays_since_last_answer=0)
    return mine


@settings(max_examples=150, deadline=None, database=None)
@given(
    steps=STEPS,
    resurvey_days=st.integers(min_value=0, max_value=120),
    dismiss_wait_days=st.integers(min_value=0, max_value=60),
    max_displays=st.integers(min_value=0, max_value=5),
)
def test_never_shown_within_the_resurvey_or_dismissal_interval(
    steps: list[tuple[int, str]], resurvey_days: int, dismiss_wait_days: int, max_displays: int
) -> None:
    rules = make_rules(
        resurvey_days=resurvey_days, dismiss_wait_days=dismiss_wait_days, max_displays=max_displays
    )
    now, mine = NOW, SurveyHistory()
    answers: list[datetime] = []
    dismissals: list[datetime] = []
    for minutes, action in steps:
        now += timedelta(minutes=minutes)
        decision = run(rules=rules, history=History(surveys={1: mine}), now=now)
        if decision.show:
            assert all(now - at >= days(resurvey_days) for at in answers)
            assert all(now - at >= days(dismiss_wait_days) for at in dismissals)
        else:
            assert decision.reason in {
                Reason.ANSWERED_RECENTLY,
                Reason.DISMISSED_RECENTLY,
                Reason.IGNORED,
            }
        answers += [now] if action == "answer" else []
        dismissals += [now] if action == "dismiss" else []
        mine = apply_action(mine, action, now)
