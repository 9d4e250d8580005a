"""services/audience.py: how many users a survey's targeting reaches now and in the next days,
judged by targeting.decide on each user's row; a fixed sample when the audience is large."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from satismeter_app import history, targeting
from satismeter_app.models import EndUser, Project, Survey
from satismeter_app.services import audience

pytestmark = pytest.mark.django_db


def count(survey: Survey, now: datetime | None = None, **options: Any) -> audience.Estimate:
    rules = targeting.SurveyRules.from_survey(survey)
    gap = survey.project.survey_gap_days
    return audience.estimate(rules, survey_gap_days=gap, now=now or timezone.now(), **options)


@pytest.fixture
def people(project: Project, make_end_user: Callable[..., EndUser]) -> dict[str, EndUser]:
    """Users whose tenure (first seen) is 60, 25 and 10 days, a pro, an anonymous visitor,
    an erased user and one who answered 85 days ago."""
    now = timezone.now()

    def seen(days: int, **fields: Any) -> EndUser:
        return make_end_user(project, first_seen=now - timedelta(days=days), **fields)

    return {
        "veteran": seen(60, traits={"plan": "free", "seats": 3}),
        "almost": seen(25, traits={"plan": "free"}),
        "new": seen(10, traits={"plan": "free"}),
        "pro": seen(60, traits={"plan": "pro", "beta": True, "renews": "2030-01-01"}),
        "visitor": make_end_user(
            project, anonymous_id="anon-1", first_seen=now - timedelta(days=60)
        ),
        "erased": seen(60, erased=now),
        "answered": seen(400, traits={"plan": "free"}),
    }


def answered_recently(user: EndUser, survey: Survey, days: int) -> None:
    user.history = {}
    history.add_answer(user.history, survey.pk, timezone.now() - timedelta(days=days))
    user.save(update_fields=["history"])


def test_counts_who_is_shown_now_and_who_becomes_due_within_the_week(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    survey = make_survey(project, min_tenure_days=30, tenure_basis="first_seen")
    answered_recently(people["answered"], survey, days=85)  # due again in 5 days

    result = count(survey)

    # Identified, not erased: veteran, almost, new, pro, answered.
    assert (result.population, result.judged, result.exact) == (5, 5, True)
    assert result.shown_now == 2  # veteran, pro
    assert result.due_soon == 2  # almost (30 days in 5), answered (90 days in 5)


def test_trait_conditions_are_judged_by_the_targeting_code(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    survey = make_survey(
        project,
        min_tenure_days=0,
        trait_conditions=[{"trait": "plan", "type": "text", "op": "equals", "value": "PRO"}],
    )

    assert count(survey).shown_now == 1


def test_the_audience_decides_who_is_counted(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    anonymous = make_survey(project, audience="anonymous", min_tenure_days=0)
    everyone = make_survey(project, audience="everyone", min_tenure_days=0)

    assert (count(anonymous).population, count(anonymous).shown_now) == (1, 1)
    assert count(everyone).population == 6


def test_a_draft_is_counted_as_if_active_and_page_and_device_rules_are_left_out(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    survey = make_survey(
        project,
        state=Survey.State.DRAFT,
        min_tenure_days=0,
        url_rules=[{"op": "contains", "value": "/never-visited"}],
        device_types=["mobile"],
    )

    assert count(survey).shown_now == 5


def test_a_survey_that_starts_in_three_days_is_due_soon_for_everyone(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    survey = make_survey(project, min_tenure_days=0, starts_at=timezone.now() + timedelta(days=3))

    result = count(survey)

    assert (result.shown_now, result.due_soon) == (0, 5)


def test_what_time_cannot_change_is_not_due_soon(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    survey = make_survey(project, min_tenure_days=0, trigger_event="upgraded", sample_percent=0)

    assert (count(survey).shown_now, count(survey).due_soon) == (0, 0)


def test_a_large_audience_is_judged_on_a_fixed_sample_and_scaled(
    project: Project, make_survey: Callable[..., Survey], make_end_user: Callable[..., EndUser]
) -> None:
    old = timezone.now() - timedelta(days=90)
    EndUser.objects.bulk_create(
        EndUser(
            project=project,
            user_id=f"bulk-{i}",
            first_seen=old,
            last_seen=old,
            traits={"plan": "pro" if i % 4 == 0 else "free"},
        )
        for i in range(400)
    )
    survey = make_survey(
        project,
        min_tenure_days=0,
        trait_conditions=[{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}],
    )

    sampled = count(survey, sample_size=100)

    assert (sampled.population, sampled.judged, sampled.exact) == (400, 100, False)
    assert 60 <= sampled.shown_now <= 140  # a quarter of 400, within the sample's noise
    assert count(survey, sample_size=100) == sampled  # the same sample every time
    assert count(survey).shown_now == 100  # all 400 judged: exact


def test_a_new_survey_without_an_id_can_be_counted(
    project: Project, people: dict[str, EndUser]
) -> None:
    draft = Survey(project=project, min_tenure_days=0, sample_percent=50)
    rules = dataclasses.replace(targeting.SurveyRules.from_survey(draft), id=0)

    result = audience.estimate(rules, survey_gap_days=0, now=timezone.now())

    assert result.population == 5
    assert 0 <= result.shown_now <= 5


def test_trait_names_are_suggested_with_the_type_their_values_suggest(
    project: Project, make_survey: Callable[..., Survey], people: dict[str, EndUser]
) -> None:
    traits = count(make_survey(project)).traits

    assert traits["plan"] == "text"
    assert traits["seats"] == "number"
    assert traits["beta"] == "boolean"
    assert traits["renews"] == "date"
    assert next(iter(traits)) == "plan"  # the most common first


def test_the_translation_trait_is_not_suggested() -> None:
    seen = audience.traits_seen([{"translation": {"SUBMIT": "Go"}, "plan": "pro"}])

    assert seen == {"plan": "text"}
