"""A date alone in the statistics' ``startDate``/``endDate`` is the project's day: from its
midnight in the project's time zone to the next one, a 23- or 25-hour day on a daylight-saving
change, checked against the responses counted by their local day."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from satismeter_app import timeparse
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db


def every_half_hour(first: datetime, hours: int) -> list[datetime]:
    return [first + timedelta(minutes=30 * n) for n in range(2 * hours)]


def scattered(first: datetime, hours: int) -> list[datetime]:
    """Moments unevenly spread, so that a UTC day and a local day hold different numbers."""
    rng = random.Random(16)
    return [first + timedelta(minutes=rng.randint(0, hours * 60 - 1)) for _ in range(300)]


def seeded(project, survey, make_response, zone: str, moments: list[datetime]) -> ZoneInfo:
    project.time_zone = zone
    project.save()
    for moment in moments:
        make_response(survey, rating=10, created=moment)
    return ZoneInfo(zone)


def counted(moments: list[datetime], zone: ZoneInfo, first: date, last: date) -> int:
    return sum(first <= moment.astimezone(zone).date() <= last for moment in moments)


def statistics(client, key, **window) -> dict:
    reply = client.get("/api/v2/response-statistics", window, **auth_headers("bearer", key))
    assert reply.status_code == 200, reply.content
    return reply.json()["data"][0]["attributes"]


def test_a_date_is_the_projects_day_in_kolkata(api_client, project, key, survey, make_response):
    """Kolkata is 5:30 ahead of UTC: its 2 March runs from 18:30 UTC on 1 March."""
    moments = scattered(datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 72)
    zone = seeded(project, survey, make_response, "Asia/Kolkata", moments)
    for day in [date(2024, 3, 1), date(2024, 3, 2)]:
        expected = counted(moments, zone, day, day)
        assert expected != counted(moments, UTC, day, day)  # the test tells them apart
        stats = statistics(api_client, key, startDate=day.isoformat(), endDate=day.isoformat())
        assert stats["responses"] == expected
    stats = statistics(api_client, key, startDate="2024-03-02", endDate="2024-03-03")
    assert stats["responses"] == counted(moments, zone, date(2024, 3, 2), date(2024, 3, 3))
    only_start = statistics(api_client, key, startDate="2024-03-02")
    assert only_start["responses"] == sum(
        m >= datetime(2024, 3, 1, 18, 30, tzinfo=UTC) for m in moments
    )


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2024, 3, 31), 23), (date(2024, 10, 27), 25)], ids=["spring", "autumn"]
)
def test_a_daylight_saving_day_in_berlin(
    api_client, project, key, survey, make_response, day, hours
):
    moments = every_half_hour(
        datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=1), 72
    )
    zone = seeded(project, survey, make_response, "Europe/Berlin", moments)
    stats = statistics(api_client, key, startDate=day.isoformat(), endDate=day.isoformat())
    assert stats["responses"] == counted(moments, zone, day, day) == 2 * hours
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    stats = statistics(api_client, key, startDate=before.isoformat(), endDate=after.isoformat())
    assert stats["responses"] == counted(moments, zone, before, after)


def test_the_campaign_statistics_read_dates_alike(api_client, project, key, survey, make_response):
    moments = scattered(datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 72)
    zone = seeded(project, survey, make_response, "Asia/Kolkata", moments)
    reply = api_client.get(
        f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/statistics",
        {"startDate": "2024-03-02", "endDate": "2024-03-02"},
        **auth_headers("bearer", key),
    )
    expected = counted(moments, zone, date(2024, 3, 2), date(2024, 3, 2))
    assert expected != counted(moments, UTC, date(2024, 3, 2), date(2024, 3, 2))
    assert reply.json()["data"]["attributes"]["responses"] == expected


def test_a_date_time_keeps_its_own_offset(api_client, project, key, survey, make_response):
    moments = scattered(datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 72)
    seeded(project, survey, make_response, "Asia/Kolkata", moments)
    stats = statistics(
        api_client, key, startDate="2024-03-02T00:00:00Z", endDate="2024-03-03T00:00:00Z"
    )
    assert stats["responses"] == counted(moments, UTC, date(2024, 3, 2), date(2024, 3, 2))


def test_the_first_and_last_days_in_any_zone() -> None:
    kolkata, new_york = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
    assert timeparse.parse_bound("0001-01-01", zone=kolkata) == datetime.min.replace(tzinfo=UTC)
    last = timeparse.parse_bound("9999-12-31", end=True, zone=new_york)
    assert last == datetime.max.replace(tzinfo=UTC)
    assert timeparse.parse_bound("2024-03-02", zone=kolkata) == datetime(
        2024, 3, 1, 18, 30, tzinfo=UTC
    )
    assert timeparse.parse_bound("2024-03-02", end=True) == datetime(2024, 3, 3, tzinfo=UTC)
