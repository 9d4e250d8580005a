"""targeting.decide: the equality boundaries of the gates, and SurveyRules.from_survey reading
every targeting field of a survey. Pure: no database."""

from datetime import timedelta

from satismeter_app.models import Survey
from satismeter_app.targeting import Context, History, Reason, SurveyHistory, SurveyRules, choose

from .targeting_cases import NOW, days, make_rules, make_user, run, seen

SECOND = timedelta(seconds=1)


# --- surveyDate -------------------------------------------------------------------------------


def test_a_survey_date_of_exactly_now_has_come() -> None:
    decision = run(
        make_rules(resurvey_days=90),
        make_user(survey_date=NOW),
        seen(last_answered=NOW - days(1)),
    )
    assert (decision.show, decision.reason) == (True, Reason.ELIGIBLE)
    assert decision.detail == "The user's survey date has come."


def test_a_survey_date_one_second_ahead_holds_the_survey_back() -> None:
    decision = run(user=make_user(survey_date=NOW + SECOND))
    assert decision.reason is Reason.SURVEY_DATE_FUTURE


def test_a_survey_date_answered_at_that_very_moment_is_not_due_again() -> None:
    answered = NOW - days(1)
    decision = run(
        make_rules(resurvey_days=90),
        make_user(survey_date=answered),
        seen(last_answered=answered),
    )
    assert decision.reason is Reason.ANSWERED_RECENTLY


def test_a_survey_date_one_second_after_the_last_answer_is_due() -> None:
    answered = NOW - days(1)
    decision = run(
        make_rules(resurvey_days=90),
        make_user(survey_date=answered + SECOND),
        seen(last_answered=answered),
    )
    assert (decision.show, decision.detail) == (True, "The user's survey date has come.")


# --- intervals of zero days -------------------------------------------------------------------


def test_zero_resurvey_days_never_hold_back_even_an_answer_stamped_in_the_future() -> None:
    # A client clock ahead of the server can stamp an answer later than now.
    decision = run(make_rules(resurvey_days=0), history=seen(last_answered=NOW + days(1)))
    assert decision.reason is Reason.ELIGIBLE


def test_zero_dismiss_wait_never_holds_back_even_a_dismissal_stamped_in_the_future() -> None:
    decision = run(make_rules(dismiss_wait_days=0), history=seen(last_dismissed=NOW + days(1)))
    assert decision.reason is Reason.ELIGIBLE


# --- event trigger ----------------------------------------------------------------------------


def event_case(event_at: timedelta, answered_at: timedelta) -> Reason:
    history = History(
        surveys={1: SurveyHistory(last_answered=NOW - answered_at)},
        last_events={"upgraded": NOW - event_at},
    )
    rules = make_rules(trigger_event="upgraded", event_window_days=7, resurvey_days=0)
    return run(rules, history=history).reason


def test_an_event_tracked_at_the_moment_of_the_last_answer_does_not_trigger_again() -> None:
    assert event_case(event_at=days(1), answered_at=days(1)) is Reason.NO_EVENT


def test_an_event_tracked_one_second_after_the_last_answer_triggers() -> None:
    assert event_case(event_at=days(1) - SECOND, answered_at=days(1)) is Reason.ELIGIBLE


# --- the decision's own clock reaches every gate ----------------------------------------------


def test_a_within_days_trait_condition_is_judged_at_the_decision_time() -> None:
    rules = make_rules(
        trait_conditions=({"trait": "paid_at", "type": "date", "op": "within_days", "value": 7},)
    )
    paid = make_user(traits={"paid_at": (NOW - days(7)).isoformat()})
    assert run(rules, paid).reason is Reason.ELIGIBLE
    assert run(rules, paid, now=NOW + SECOND).reason is Reason.TRAITS


def test_choose_decides_at_the_given_time() -> None:
    ending = make_rules(ends_at=NOW)
    winner, decisions = choose(
        [ending], make_user(), History(), Context(), NOW - SECOND, survey_gap_days=0
    )
    assert winner is ending
    winner, decisions = choose([ending], make_user(), History(), Context(), NOW, survey_gap_days=0)
    assert (winner, decisions[0][1].reason) == (None, Reason.ENDED)


def test_choose_applies_the_global_gap_it_is_given() -> None:
    other_seen = seen(survey_id=2, last_display=NOW - days(3))
    surveys = [make_rules()]
    winner, decisions = choose(surveys, make_user(), other_seen, Context(), NOW, survey_gap_days=7)
    assert (winner, decisions[0][1].reason) == (None, Reason.SURVEY_GAP)
    winner, _ = choose(surveys, make_user(), other_seen, Context(), NOW, survey_gap_days=3)
    assert winner is surveys[0]


# --- SurveyRules.from_survey ------------------------------------------------------------------


def configured_survey() -> Survey:
    """An unsaved survey with every targeting field away from its default."""
    return Survey(
        pk=7,
        project_id=3,
        name="NPS",
        state=Survey.State.PAUSED,
        starts_at=NOW - days(10),
        ends_at=NOW + days(10),
        priority=4,
        audience=Survey.Audience.ANONYMOUS,
        min_tenure_days=5,
        tenure_basis=Survey.TenureBasis.FIRST_SEEN,
        trait_conditions=[{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}],
        trigger_event="upgraded",
        event_window_days=3,
        url_rules=[{"op": "contains", "value": "/app"}],
        device_types=["mobile", "tablet"],
        sample_percent=25,
        resurvey_days=10,
        dismiss_wait_days=4,
        max_displays=2,
    )


def test_from_survey_reads_every_targeting_field() -> None:
    assert SurveyRules.from_survey(configured_survey()) == SurveyRules(
        id=7,
        project_id=3,
        state="paused",
        starts_at=NOW - days(10),
        ends_at=NOW + days(10),
        priority=4,
        audience="anonymous",
        min_tenure_days=5,
        tenure_basis="first_seen",
        trait_conditions=({"trait": "plan", "type": "text", "op": "equals", "value": "pro"},),
        trigger_event="upgraded",
        event_window_days=3,
        url_rules=({"op": "contains", "value": "/app"},),
        device_types=("mobile", "tablet"),
        sample_percent=25,
        resurvey_days=10,
        dismiss_wait_days=4,
        max_displays=2,
    )


def rules_of(**fields: object) -> SurveyRules:
    survey = Survey(pk=1, project_id=1, state=Survey.State.ACTIVE, min_tenure_days=0)
    survey.audience = Survey.Audience.EVERYONE
    for name, value in fields.items():
        setattr(survey, name, value)
    return SurveyRules.from_survey(survey)


def test_a_survey_with_resurvey_days_10_asks_again_after_10_days_not_9() -> None:
    rules = rules_of(resurvey_days=10)
    assert run(rules, history=seen(last_answered=NOW - days(9))).reason is (
        Reason.ANSWERED_RECENTLY
    )
    assert run(rules, history=seen(last_answered=NOW - days(10))).reason is Reason.ELIGIBLE


def test_a_survey_with_dismiss_wait_days_4_returns_after_4_days_not_3() -> None:
    rules = rules_of(dismiss_wait_days=4)
    assert run(rules, history=seen(last_dismissed=NOW - days(3))).reason is (
        Reason.DISMISSED_RECENTLY
    )
    assert run(rules, history=seen(last_dismissed=NOW - days(4))).reason is Reason.ELIGIBLE


def test_a_survey_with_max_displays_2_counts_two_unanswered_displays_as_ignored() -> None:
    rules = rules_of(max_displays=2)
    once = seen(displays_since_last_answer=1, last_display=NOW - days(1))
    twice = seen(displays_since_last_answer=2, last_display=NOW - days(1))
    assert run(rules, history=once).reason is Reason.ELIGIBLE
    assert run(rules, history=twice).reason is Reason.IGNORED


def test_a_survey_that_starts_tomorrow_is_not_shown_today() -> None:
    assert run(rules_of(starts_at=NOW + days(1))).reason is Reason.NOT_STARTED


def test_a_survey_counting_tenure_from_first_seen_ignores_the_sign_up_date() -> None:
    rules = rules_of(min_tenure_days=30, tenure_basis=Survey.TenureBasis.FIRST_SEEN)
    veteran = make_user(first_seen=NOW - days(60), created_at=NOW - days(1))
    assert run(rules, veteran).reason is Reason.ELIGIBLE


def test_a_survey_with_min_tenure_days_5_waits_5_days_not_30() -> None:
    rules = rules_of(min_tenure_days=5, tenure_basis=Survey.TenureBasis.FIRST_SEEN)
    assert run(rules, make_user(first_seen=NOW - days(5))).reason is Reason.ELIGIBLE


def test_a_survey_with_a_three_day_event_window_shows_on_day_three() -> None:
    rules = rules_of(trigger_event="upgraded", event_window_days=3)
    history = History(last_events={"upgraded": NOW - days(3)})
    assert run(rules, history=history).reason is Reason.ELIGIBLE


def test_the_snapshot_does_not_follow_later_edits_of_the_page_rules() -> None:
    survey = configured_survey()
    rules = SurveyRules.from_survey(survey)
    survey.url_rules[0]["value"] = "/admin"
    assert rules.url_rules == ({"op": "contains", "value": "/app"},)


def test_user_state_reads_every_field_of_a_user_and_keys_on_the_user_id():
    from datetime import UTC, datetime

    from satismeter_app.models import EndUser
    from satismeter_app.targeting import UserState

    first, created, due = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2, 3))
    user = EndUser(
        pk=7,
        user_id="u1",
        anonymous_id="a1",
        first_seen=first,
        created_at=created,
        traits={"plan": "pro"},
        survey_date=due,
    )
    assert UserState.from_user(user) == UserState("u1", True, first, created, {"plan": "pro"}, due)
    visitor = EndUser(pk=8, anonymous_id="a2", first_seen=first)
    assert (UserState.from_user(visitor).key, UserState.from_user(visitor).identified) == (
        "a2",
        False,
    )
    assert UserState.from_user(EndUser(pk=9, first_seen=first)).key == "9"
