"""The dashboard's "NPS by tag": each tag of the project with its responses, answered count,
categories and NPS over the responses the filters select, in one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import Project, Response, Survey, Tag
from satismeter_app.services import dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(project: Project, survey: Survey, make_response: Any) -> dict[str, Tag]:
    """pricing: 10, 9, 6, 3, 0 and a dismissal (3 detractors of 5: NPS -20); speed: 8, 9, 10
    (NPS 66.7) and one 60 days ago (10); vip: nothing; another project's tag: 10."""
    now = timezone.now()
    tags = {
        name: Tag.objects.create(project=project, name=name, color=color)
        for name, color in [("pricing", "#d13438"), ("speed", "#1d4ed8"), ("vip", "#64748b")]
    }

    def answer(rating: int | None, *names: str, days: int = 1, **fields: Any) -> Response:
        response = make_response(
            survey, rating=rating, created=now - timedelta(days=days), **fields
        )
        response.tags.add(*(tags[name] for name in names))
        return response

    for rating in (10, 9, 6, 3, 0):
        answer(rating, "pricing", language="de" if rating < 5 else "en")
    answer(None, "pricing", dismissed=True)
    for rating in (8, 9):
        answer(rating, "speed")
    answer(10, "speed", "pricing", days=60)
    answer(10, "speed", days=2)
    return tags


def week(**fields: Any) -> dashboard.Filters:
    today = timezone.localdate()
    return dashboard.Filters(start=today - timedelta(days=7), end=today, **fields)


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def test_numbers_per_tag_match_the_hand_count(project: Project, tagged: dict[str, Tag]) -> None:
    rows = dashboard.by_tag(project, week())
    assert [row["name"] for row in rows] == ["pricing", "speed", "vip"]  # most answered first
    pricing, speed, vip = rows
    assert (pricing["count"], pricing["answered"]) == (6, 5)
    assert (pricing["promoters"], pricing["passives"], pricing["detractors"]) == (2, 0, 3)
    assert pricing["nps"] == pytest.approx((2 - 3) * 100 / 5)
    assert (speed["count"], speed["answered"], speed["promoters"], speed["passives"]) == (
        3,
        3,
        2,
        1,
    )
    assert speed["nps"] == pytest.approx(200 / 3)
    assert (vip["count"], vip["answered"], vip["nps"]) == (0, 0, None)


def test_the_period_and_the_filters_narrow_it(project: Project, tagged: dict[str, Tag]) -> None:
    today = timezone.localdate()
    quarter = dashboard.Filters(start=today - timedelta(days=90), end=today)
    assert by_name(dashboard.by_tag(project, quarter))["speed"]["answered"] == 4
    assert by_name(dashboard.by_tag(project, quarter))["pricing"]["answered"] == 6
    german = by_name(dashboard.by_tag(project, week(language="de")))
    assert (german["pricing"]["answered"], german["pricing"]["nps"]) == (2, -100)
    # A category filter narrows the counts, never the NPS (as the overview's).
    detractors = by_name(dashboard.by_tag(project, week(category="detractor")))
    assert detractors["pricing"]["nps"] == pytest.approx(-20)


def test_it_is_one_query(
    project: Project, tagged: dict[str, Tag], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        dashboard.by_tag(project, week())


def test_the_page_shows_it(
    client: Any, make_staff: Any, project: Project, tagged: dict[str, Tag], make_project: Any
) -> None:
    other = make_project(name="Other")
    Tag.objects.create(project=other, name="elsewhere")
    client.force_login(make_staff(project))
    page = client.get(reverse("admin:satismeter_app_project_dashboard", args=[project.pk]))
    text = page.content.decode()
    assert "NPS by tag" in text and "pricing" in text and "elsewhere" not in text
    assert [row["name"] for row in page.context["tags"]] == ["pricing", "speed", "vip"]
