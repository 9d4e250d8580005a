"""NPS maths: the pure functions, and the SQL aggregates against a plain-Python reference."""

from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satismeter_app import nps
from satismeter_app.models import Response


@pytest.mark.parametrize(
    ("rating", "category", "score"),
    [
        (0, "detractor", -100),
        (6, "detractor", -100),
        (7, "passive", 0),
        (8, "passive", 0),
        (9, "promoter", 100),
        (10, "promoter", 100),
        (None, None, None),
    ],
)
def test_category_and_score_boundaries(rating: int | None, category: str, score: int) -> None:
    assert nps.category(rating) == category
    assert nps.score(rating) == score


@pytest.mark.parametrize("rating", [-1, 11])
def test_ratings_outside_the_scale_are_refused(rating: int) -> None:
    with pytest.raises(ValueError, match="0–10"):
        nps.category(rating)


def test_nps_of_no_answers_is_undefined_not_zero() -> None:
    assert nps.nps_value(0, 0, 0) is None


@given(st.lists(st.integers(0, 10), min_size=1))
def test_mean_of_scores_is_the_nps(ratings: list[int]) -> None:
    counts = Counter(nps.category(r) for r in ratings)
    expected = nps.nps_value(counts["promoter"], counts["detractor"], len(ratings))
    mean = sum(nps.score(r) or 0 for r in ratings) / len(ratings)
    assert mean == pytest.approx(expected)


# One response as (rating, state, feedback); the state decides which flags it carries.
response_specs = st.tuples(
    st.one_of(st.none(), st.integers(0, 10)),
    st.sampled_from(["answered", "completed", "dismissed", "pending"]),
    st.sampled_from(["", "Great", "Too slow"]),
)


def _fields(rating: int | None, state: str, feedback: str) -> dict[str, Any]:
    if state in {"dismissed", "pending"} or rating is None:
        rating = None
        state = state if state in {"dismissed", "pending"} else "pending"
    return {
        "rating": rating,
        "feedback": feedback,
        "dismissed": state == "dismissed",
        "pending": state == "pending",
        "completed": state == "completed",
        "completed_at": timezone.now() if state == "completed" else None,
    }


def _reference(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rated = [r["rating"] for r in rows if r["rating"] is not None]
    promoters = sum(r >= 9 for r in rated)
    detractors = sum(r <= 6 for r in rated)
    return {
        "answered": len(rated),
        "promoters": promoters,
        "passives": sum(7 <= r <= 8 for r in rated),
        "detractors": detractors,
        "dismissed": sum(r["dismissed"] for r in rows),
        "pending": sum(r["pending"] for r in rows),
        "completed": sum(r["completed"] for r in rows),
        "commented": sum(bool(r["feedback"]) for r in rows),
        "frequency": [rated.count(n) for n in range(11)],
        "nps": (promoters - detractors) * 100 / len(rated) if rated else None,
    }


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=st.lists(response_specs, max_size=40))
def test_sql_summary_matches_python_reference(specs, project, make_survey, make_end_user) -> None:
    survey = make_survey(project)
    user = make_end_user(project)
    rows = [_fields(*spec) for spec in specs]
    reference = _reference(rows)
    with transaction.atomic():
        Response.objects.bulk_create(
            Response(project=project, survey=survey, user=user, **row) for row in rows
        )
        summary = Response.objects.filter(survey=survey).summary()
        transaction.set_rollback(True)
    assert summary.as_dict() == reference


@pytest.mark.django_db
def test_summary_is_one_query(project, make_survey, make_response, django_assert_num_queries):
    survey = make_survey(project)
    for rating in (10, 9, 8, 3):
        make_response(survey, rating=rating)
    make_response(survey, dismissed=True)
    with django_assert_num_queries(1):
        summary = Response.objects.filter(survey=survey).summary()
    # 2 promoters, 1 detractor over 4 answers; the dismissal is reported, not counted.
    assert (summary.answered, summary.dismissed, summary.nps) == (4, 1, 25.0)
