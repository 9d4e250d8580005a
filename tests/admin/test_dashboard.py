"""The NPS dashboard in the admin: its numbers, its charts, its CSV export and its tenancy."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from satismeter_app import nps
from satismeter_app.models import Display, Project, Response, Survey
from satismeter_app.services import dashboard


def dashboard_url(project: Project) -> str:
    return reverse("admin:satismeter_app_project_dashboard", args=[project.pk])


def export_url(project: Project) -> str:
    return reverse("admin:satismeter_app_project_dashboard_export", args=[project.pk])


def csv_rows(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def answers(survey: Survey, make_response: Callable[..., Response]) -> list[Response]:
    """6 promoters, 2 passives, 2 detractors (NPS 40) in the last week, plus a dismissal."""
    now = timezone.now()
    ratings = [10, 10, 9, 9, 9, 9, 8, 7, 3, 0]
    made = [
        make_response(
            survey,
            rating=rating,
            created=now - timedelta(days=i % 5),
            feedback=f"comment {i}" if i % 2 == 0 else "",
            traits={"plan": "pro" if i < 5 else "free"},
            language="en" if i < 8 else "de",
        )
        for i, rating in enumerate(ratings)
    ]
    made.append(make_response(survey, dismissed=True, created=now - timedelta(days=1)))
    return made


@pytest.fixture
def superuser_client(client: Any, make_staff: Callable[..., Any]) -> Any:
    client.force_login(make_staff(superuser=True))
    return client


# --- the service ----------------------------------------------------------------------------


def test_margin_of_error_is_the_normal_one_with_a_response_of_each_category_added() -> None:
    summary = nps.Summary(answered=100, promoters=50, passives=30, detractors=20)
    p, d = 51 / 103, 21 / 103
    variance = p + d - (p - d) ** 2
    assert dashboard.margin_of_error(summary) == pytest.approx(
        1.96 * math.sqrt(variance / 103) * 100
    )
    standard = 1.96 * math.sqrt((0.5 + 0.2 - 0.3**2) / 100) * 100
    assert dashboard.margin_of_error(summary) == pytest.approx(standard, abs=0.2)
    assert dashboard.margin_of_error(nps.Summary()) is None
    # One promoter alone is not 100 ± 0.
    one = dashboard.margin_of_error(nps.Summary(answered=1, promoters=1))
    assert one == pytest.approx(1.96 * math.sqrt((0.75 - 0.25**2) / 4) * 100) and one > 70


def test_previous_period_has_the_same_length() -> None:
    today = timezone.localdate()
    filters = dashboard.Filters(start=today - timedelta(days=6), end=today)
    previous = filters.previous()
    assert previous.days == filters.days == 7
    assert previous.end == filters.start - timedelta(days=1)


def test_overview_counts_this_and_the_previous_period(
    project: Project,
    survey: Survey,
    answers: list[Response],
    make_response: Callable[..., Response],
) -> None:
    make_response(survey, rating=0, created=timezone.now() - timedelta(days=100))
    Display.objects.create(project=project, survey=survey, user=answers[0].user)
    today = timezone.localdate()
    filters = dashboard.Filters(start=today - timedelta(days=59), end=today)
    overview = dashboard.overview(project, filters)
    assert overview.summary.nps == 40
    assert overview.summary.dismissed == 1
    assert overview.previous.nps == -100  # the old detractor, 60–119 days ago
    assert overview.change == 140
    assert overview.displays == 1
    assert overview.shares == {"promoter": 60, "passive": 20, "detractor": 20}


def test_filters_narrow_by_category_language_and_trait(
    project: Project, answers: list[Response]
) -> None:
    today = timezone.localdate()
    base = dashboard.Filters(start=today - timedelta(days=30), end=today)
    detractors = dashboard.Filters(**{**base.__dict__, "category": nps.DETRACTOR})
    assert dashboard.overview(project, detractors).summary.answered == 2
    german = dashboard.Filters(**{**base.__dict__, "language": "de"})
    assert dashboard.overview(project, german).summary.detractors == 2
    pro = dashboard.Filters(**{**base.__dict__, "trait": "plan", "trait_value": "pro"})
    assert dashboard.overview(project, pro).summary.promoters == 5


def test_trend_breakdown_and_comments(project: Project, answers: list[Response]) -> None:
    today = timezone.localdate()
    filters = dashboard.Filters(
        start=today - timedelta(days=30), end=today, interval="day", trait="plan"
    )
    trend = dashboard.trend(project, filters)
    assert sum(row["answered"] for row in trend) == 10
    assert len(trend) == 31  # every day of the range, empty ones too
    assert len([row for row in trend if row["answered"]]) == 5  # five distinct days
    assert all(row["nps"] is None and row["margin"] is None for row in trend if not row["answered"])
    breakdown = {row["value"]: row["nps"] for row in dashboard.breakdown(project, filters)}
    assert breakdown == {"pro": 100, "free": -20}
    searched = replace(filters, search="8")
    assert [c.feedback for c in dashboard.comments(project, searched)] == ["comment 8"]


def test_the_comment_search_narrows_every_number(project: Project, answers: list[Response]) -> None:
    """ "comment contains" selects the responses that every figure counts, not only the
    comments listed: answer 8 (a 3, plan free) is the only one whose comment has an 8."""
    today = timezone.localdate()
    filters = dashboard.Filters(start=today - timedelta(days=30), end=today, search="8")
    page = dashboard.numbers(project, replace(filters, trait="plan"))
    assert (page.overview.summary.answered, page.overview.summary.nps) == (1, -100)
    assert sum(row["answered"] for row in page.trend) == 1
    assert [(b["value"], b["answered"]) for b in page.breakdown] == [("free", 1)]
    assert list(dashboard.responses(project, filters)) == [answers[8]]


def test_a_category_narrows_the_counts_not_the_nps(
    project: Project, answers: list[Response]
) -> None:
    today = timezone.localdate()
    filters = dashboard.Filters(start=today - timedelta(days=30), end=today, category="detractor")
    page = dashboard.numbers(project, filters)
    assert page.overview.summary.nps == 40 and page.overview.summary.answered == 10
    assert page.counted.summary.answered == 2 and page.counted.summary.nps == -100
    assert sum(row["answered"] for row in page.trend) == 10  # the trend is of every category
    everyone = dashboard.numbers(project, replace(filters, category=""))
    assert (page.overview, page.trend) == (everyone.overview, everyone.trend)


def test_a_trait_value_is_compared_with_every_other_response(
    superuser_client: Any, project: Project, answers: list[Response]
) -> None:
    page = superuser_client.get(dashboard_url(project), {"trait": "plan", "trait_value": "pro"})
    html = page.content.decode()
    assert page.context["overview"].summary.answered == 5
    chosen, rest = page.context["breakdown"]
    assert (chosen["value"], chosen["answered"], chosen["nps"]) == ("pro", 5, 100)
    assert (rest["rest"], rest["answered"], rest["nps"]) == (True, 5, -20)  # free: 9 8 7 3 0
    assert "All other responses" in html and ">pro</a>" not in html
    assert 'href="?trait=plan">NPS by every value of plan</a>' in html


def test_dashboard_links_from_project_pages(superuser_client: Any, project: Project) -> None:
    changelist = superuser_client.get(reverse("admin:satismeter_app_project_changelist"))
    assert dashboard_url(project) in changelist.content.decode()
    change = superuser_client.get(reverse("admin:satismeter_app_project_change", args=[project.pk]))
    assert dashboard_url(project) in change.content.decode()


def test_invalid_filters_are_reported_and_left_out(
    superuser_client: Any, project: Project, answers: list[Response]
) -> None:
    page = superuser_client.get(dashboard_url(project), {"category": "nobody", "trait": "a b"})
    assert page.status_code == 200
    assert page.context["overview"].summary.answered == 10
    assert "errornote" in page.content.decode()


def test_csv_export_is_exactly_the_filtered_responses(
    superuser_client: Any, project: Project, answers: list[Response]
) -> None:
    response = superuser_client.get(export_url(project), {"category": nps.PROMOTER})
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert sorted(int(row["id"]) for row in rows) == sorted(
        r.pk for r in answers if r.rating is not None and r.rating >= 9
    )


@pytest.mark.parametrize("extra", [0, 300])
def test_overview_page_runs_a_bounded_number_of_queries(
    superuser_client: Any,
    project: Project,
    survey: Survey,
    answers: list[Response],
    extra: int,
    django_assert_max_num_queries: Any,
) -> None:
    user = answers[0].user
    now = timezone.now()
    Response.objects.bulk_create(
        Response(
            project=project,
            survey=survey,
            user=user,
            rating=i % 11,
            feedback=f"more {i}",
            traits={"plan": f"plan-{i % 20}"},
            created=now - timedelta(days=i % 80),
        )
        for i in range(extra)
    )
    # 13: with NPS by tag (one query for every tag) and the tag filter's choices.
    with django_assert_max_num_queries(13):
        page = superuser_client.get(dashboard_url(project), {"trait": "plan", "interval": "day"})
    assert page.status_code == 200
    assert page.context["overview"].summary.answered == 10 + extra


# --- tenancy --------------------------------------------------------------------------------


@pytest.fixture
def other(make_project: Callable[..., Project]) -> Project:
    return make_project(name="Globex")


@pytest.fixture
def other_survey(
    other: Project, make_survey: Callable[..., Survey], make_response: Callable[..., Response]
) -> Survey:
    survey = make_survey(other, name="Globex secret survey")
    for rating in (0, 1, 2):
        make_response(survey, rating=rating, feedback="globex only")
    return survey


@pytest.fixture
def member_client(client: Any, make_staff: Callable[..., Any], project: Project) -> Any:
    client.force_login(make_staff(project))
    return client


def test_member_cannot_open_another_projects_dashboard(
    member_client: Any, other: Project, other_survey: Survey
) -> None:
    assert member_client.get(dashboard_url(other)).status_code == 404
    assert member_client.get(export_url(other)).status_code == 404


def test_member_sees_only_their_projects_numbers_and_surveys(
    member_client: Any, project: Project, answers: list[Response], other_survey: Survey
) -> None:
    page = member_client.get(dashboard_url(project))
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["overview"].summary.answered == 10
    assert "Quarterly NPS" in html
    assert "Globex secret survey" not in html and "globex only" not in html


def test_another_projects_survey_id_is_ignored_by_page_and_export(
    member_client: Any, project: Project, answers: list[Response], other_survey: Survey
) -> None:
    page = member_client.get(dashboard_url(project), {"survey": other_survey.pk})
    assert page.context["filters"].survey is None
    assert page.context["overview"].summary.answered == 10
    rows = csv_rows(member_client.get(export_url(project), {"survey": other_survey.pk}))
    assert len(rows) == len(answers)
    assert {row["project"] for row in rows} == {str(project.pk)}
    assert "globex only" not in {row["feedback"] for row in rows}


def test_staff_without_membership_cannot_see_any_dashboard(
    client: Any, make_staff: Callable[..., Any], project: Project
) -> None:
    client.force_login(make_staff())
    assert client.get(dashboard_url(project)).status_code == 404
    assert client.get(export_url(project)).status_code == 404


def test_anonymous_is_sent_to_the_login_page(client: Any, project: Project) -> None:
    response = client.get(dashboard_url(project))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- survey editing: the live preview ---------------------------------------------------------


def preview_url(survey: Survey) -> str:
    return reverse("admin:satismeter_app_survey_preview", args=[survey.pk])


def test_survey_form_shows_the_preview_and_a_dashboard_link(
    superuser_client: Any, project: Project, survey: Survey
) -> None:
    page = superuser_client.get(reverse("admin:satismeter_app_survey_change", args=[survey.pk]))
    html = page.content.decode()
    assert f'src="{preview_url(survey)}"' in html
    assert f"{dashboard_url(project)}?survey={survey.pk}" in html
    assert 'name="skin"' in html and '<option value="ar">' in html


def test_preview_runs_the_widget_with_preview_campaign_skin_and_language(
    superuser_client: Any, survey: Survey
) -> None:
    page = superuser_client.get(preview_url(survey), {"skin": "bar", "language": "de"})
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    options = page.context["options"]
    assert options["previewCampaign"] == str(survey.pk)
    assert options["design"] == {"skin": "bar"} and options["traits"] == {"language": "de"}
    assert reverse("satismeter:script") in page.content.decode()


def test_preview_ignores_unknown_skins_and_languages(superuser_client: Any, survey: Survey) -> None:
    options = superuser_client.get(preview_url(survey), {"skin": "x", "language": "zz"}).context[
        "options"
    ]
    # An unknown language is the project's default one.
    assert "design" not in options and options["traits"] == {"language": "en"}


def test_member_cannot_preview_another_projects_survey(
    member_client: Any, other_survey: Survey
) -> None:
    assert member_client.get(preview_url(other_survey)).status_code == 404


# --- the trend chart ------------------------------------------------------------------------


def test_the_trend_chart_breaks_at_gaps_bands_margins_and_fits_its_axis() -> None:
    from satismeter_app.admin import charts

    points = [
        charts.TrendPoint("w1", None, None, 0),
        charts.TrendPoint("w2", 30, 8, 120),
        charts.TrendPoint("w3", 40, 7, 130),
        charts.TrendPoint("w4", None, None, 0),
        charts.TrendPoint("w5", 50, 40, 3),
    ]
    html = charts.nps_line("NPS trend", "desc", points)
    assert html.count('class="sm-line"') == 2  # broken at the empty week
    assert html.count('class="sm-band"') == 2  # the lone week has its band too
    assert html.count('class="sm-dot"') == 2 and html.count('class="sm-dot-thin"') == 1
    ticks = [int(t) for t in re.findall(r'text-anchor="end">(-?\d+)<', html)]
    assert (min(ticks), max(ticks)) == (0, 100)  # 22…90 with margins, not −100…100
    assert "<td>—</td><td>—</td><td>0</td>" in html  # the empty weeks in the data table
    assert "w5: NPS 50 ± 40 (3 answered)" in html
    assert charts.nps_line("t", "d", [charts.TrendPoint("w", None, None, 0)]).count("sm-line") == 0
