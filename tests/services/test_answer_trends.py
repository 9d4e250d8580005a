"""The trend of a scale or a smiley: the average answer per day, week or month in the project's
time zone, computed by the database (services/answers.py, services/dashboard.py), equals the
average computed here in Python from the same random answers and times, in zones with
half-hour offsets and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satismeter_app.models import EndUser, Response
from satismeter_app.services import answers, dashboard

from .test_answer_numbers import PARSED, QUESTIONS, answer_lists

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Kolkata", "Europe/Berlin", "America/New_York", "UTC"]
TRUNCS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# Around the 2024 daylight-saving change in Europe (31 March, a Sunday, the end of a month
# and of a week): local days, weeks and months differ from UTC's in the hours near it.
CHANGE = datetime(2024, 3, 31, 1, tzinfo=UTC)
SCALES = [q for q in PARSED.values() if q.values is not None and not q.built_in]


def moments() -> st.SearchStrategy[datetime]:
    return st.integers(-5 * 24 * 60, 5 * 24 * 60).map(lambda m: CHANGE + timedelta(minutes=m))


def first_day(moment: datetime, zone: ZoneInfo, interval: str) -> date:
    day = moment.astimezone(zone).date()
    if interval == "month":
        return day.replace(day=1)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def reference(
    stored: list[tuple[datetime, list[dict[str, Any]]]], zone: ZoneInfo, interval: str
) -> dict[tuple[str, date], tuple[float, int]]:
    """Per question and period, the sum and the number of the answers, counted here."""
    sums: dict[tuple[str, date], tuple[float, int]] = {}
    for created, row in stored:
        for answer in row:
            if answer["id"] in {q.id for q in SCALES}:
                key = (answer["id"], first_day(created, zone, interval))
                total, count = sums.get(key, (0.0, 0))
                sums[key] = (total + answer["value"], count + 1)
    return sums


@pytest.fixture
def survey_of_questions(project, make_survey):
    return make_survey(project, name="Seven questions", questions=QUESTIONS)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stored=st.lists(st.tuples(moments(), answer_lists()), max_size=30),
    zone_name=st.sampled_from(ZONES),
    interval=st.sampled_from(list(TRUNCS)),
)
def test_the_sums_per_period_are_those_counted_in_python(
    survey_of_questions, stored, zone_name, interval
):
    survey, zone = survey_of_questions, ZoneInfo(zone_name)
    with transaction.atomic():
        user = EndUser.objects.create(project=survey.project, user_id="u")
        Response.objects.bulk_create(
            Response(project=survey.project, survey=survey, user=user, answers=row, created=at)
            for at, row in stored
        )
        found = answers.sums_by_period(
            Response.objects.filter(survey=survey),
            list(PARSED.values()),
            TRUNCS[interval]("created", tzinfo=zone),
        )
        transaction.set_rollback(True)
    flat = {
        (question_id, day): sums
        for (survey_id, question_id), by_period in found.items()
        for day, sums in by_period.items()
        if survey_id == survey.pk
    }
    assert flat == reference(stored, zone, interval)
    assert all(survey_id == survey.pk for survey_id, _ in found)


def test_the_dashboard_trend_follows_the_nps_trends_periods(
    project, survey_of_questions, make_response
):
    """Weeks from the range's first day (a Wednesday), then Mondays; empty weeks included;
    the days are the project's (Kolkata's 2 April starts at 18:30 UTC on 1 April)."""
    project.time_zone = "Asia/Kolkata"
    project.save()
    at = [
        (datetime(2024, 3, 27, 12, tzinfo=UTC), 2),  # Wednesday 27 March
        (datetime(2024, 3, 31, 12, tzinfo=UTC), 4),  # Sunday 31 March: the same week
        (datetime(2024, 4, 1, 19, tzinfo=UTC), 5),  # Tuesday 2 April in Kolkata
        (datetime(2024, 4, 20, 12, tzinfo=UTC), 1),  # after the range
    ]
    for created, value in at:
        make_response(
            survey_of_questions, answers=[{"id": "plain", "value": value}], created=created
        )
    filters = dashboard.Filters(
        start=date(2024, 3, 27), end=date(2024, 4, 14), survey=survey_of_questions
    )
    selected = dashboard.responses(project, filters)
    trends = dashboard.question_trends(project, filters, selected, list(PARSED.values()))
    assert list(trends) == ["plain"]  # the other scales have no answers
    assert trends["plain"] == [
        {"period": date(2024, 3, 27), "average": 3.0, "answered": 2},
        {"period": date(2024, 4, 1), "average": 5.0, "answered": 1},
        {"period": date(2024, 4, 8), "average": None, "answered": 0},
    ]
