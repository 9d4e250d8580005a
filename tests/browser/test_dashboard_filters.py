"""The dashboard's filters mean what they say, in real Chromium on the demo data (issue #17).

Each case of the issue: the comment search narrows every figure (and the page says so); a
category keeps the NPS of every category, its answered count says of how many, its score
chart has only its scores and the funnel says that it counts every category; the trend's
points carry their answered count and margin, empty periods are gaps, the axis fits the data
and the first period starts on the range's first day; the language and trait fields suggest
the values seen; a bad trait name is named.

Screenshots (artifacts/screenshots/), each at 1280 and 390 px wide:
dashboard-comment-search-{desktop,narrow}.png, dashboard-category-{desktop,narrow}.png,
dashboard-trend-gaps-{desktop,narrow}.png, dashboard-trait-value-{desktop,narrow}.png,
dashboard-bad-trait-{desktop,narrow}.png, dashboard-unknown-trait-{desktop,narrow}.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from satismeter_app.models import Project
from satismeter_app.services import dashboard

from .conftest import DESKTOP, Pages, log_in

NARROW = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "narrow": NARROW}


def logged_in(new_page: Pages, live_server: Any, viewport: dict[str, int]) -> Any:
    page = new_page(viewport)
    log_in(page, live_server)
    return page


def open_dashboard(page: Any, live_server: Any, project: Project, **params: str) -> None:
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    page.goto(f"{live_server.url}{url}?{urlencode(params)}")
    page.get_by_role("heading", name="NPS trend").wait_for()


def snap(page: Any, screenshots: Path, name: str, size: str) -> None:
    if size == "narrow":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"] + 1, "the page scrolls sideways"
    page.screenshot(path=str(screenshots / f"dashboard-{name}-{size}.png"), full_page=True)


def numbers(project: Project, **filters: Any) -> dashboard.Numbers:
    today = timezone.localdate(timezone=project.zone)
    start = today - timedelta(days=dashboard.DEFAULT_DAYS - 1)
    return dashboard.numbers(project, dashboard.Filters(start=start, end=today, **filters))


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_comment_search_narrows_every_figure_and_says_so(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, size: str
) -> None:
    page = logged_in(new_page, live_server, VIEWPORTS[size])
    open_dashboard(page, live_server, demo)
    everyone = int(page.get_by_test_id("answered").inner_text())
    page.fill("#id_search", "support")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**search=support**")
    found = numbers(demo, search="support").overview.summary
    assert 0 < found.answered < everyone
    assert page.get_by_test_id("answered").inner_text() == str(found.answered)
    assert page.get_by_test_id("nps").inner_text() == f"{found.nps:.0f}"
    scope = page.get_by_test_id("scope").inner_text()
    assert "comment contains “support” are counted, charted, listed and exported" in scope
    for quote in page.locator(".sm-comments q").all_inner_texts():
        assert "support" in quote.lower()
    href = page.get_by_role("link", name="Export these responses (CSV)").get_attribute("href")
    assert "search=support" in href
    snap(page, screenshots, "comment-search", size)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_category_keeps_the_nps_of_every_category(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, size: str
) -> None:
    page = logged_in(new_page, live_server, VIEWPORTS[size])
    open_dashboard(page, live_server, demo)
    nps_of_all = page.get_by_test_id("nps").inner_text()
    page.select_option("#id_category", "detractor")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**category=detractor**")
    every = numbers(demo)
    detractors = numbers(demo, category="detractor").counted.summary
    # Not "NPS −100 ±0.0": the NPS of every category, and the page says so.
    assert page.get_by_test_id("nps").inner_text() == nps_of_all != "-100"
    assert page.get_by_test_id("nps-note").inner_text() == "Of every category."
    assert page.get_by_test_id("answered").inner_text() == str(detractors.answered)
    of_all = page.get_by_test_id("answered-of").inner_text()
    assert of_all == f"of {every.overview.summary.answered} answered in every category"
    charts = page.locator("figure.sm-chart")
    scores, funnel = charts.nth(1), charts.nth(2)
    assert scores.locator("rect").count() == 7  # 0–6: no empty bars for 7–10
    assert funnel.locator("rect title").first.text_content().startswith("Displays")  # type: ignore[union-attr]
    answered_bar = funnel.locator("rect title").nth(1).text_content()
    assert answered_bar == f"Answered: {every.overview.summary.answered}"
    funnel_help = page.locator("section.sm-panel").nth(2).locator(".help").inner_text()
    assert "The funnel counts every category." in funnel_help
    assert "one category alone always scores" in page.get_by_test_id("scope").inner_text()
    snap(page, screenshots, "category", size)


def y_ticks(page: Any) -> list[int]:
    trend = page.locator("figure.sm-chart").first
    return [int(t) for t in trend.locator("text[text-anchor=end]").all_text_contents()]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_trend_shows_counts_margins_gaps_and_fits_its_axis(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, size: str
) -> None:
    """A range that starts on a Wednesday, before the demo's first answers and past today: the
    first week starts on the Wednesday, the empty weeks are gaps, and each point has its
    answered count and margin."""
    page = logged_in(new_page, live_server, VIEWPORTS[size])
    today = timezone.localdate(timezone=demo.zone)
    start = today - timedelta(days=500)
    start -= timedelta(days=(start.weekday() - 2) % 7)  # a Wednesday
    end = today + timedelta(days=60)
    open_dashboard(page, live_server, demo, start=start.isoformat(), end=end.isoformat())
    trend = page.locator("figure.sm-chart").first
    trend.locator("summary").click()
    rows = [r.split("\t") for r in trend.locator("tbody tr").all_inner_texts()]
    # not the Monday before the range; in the locale's format, as every date of the admin
    assert rows[0][0] == date_format(start, "MONTH_DAY_FORMAT")
    assert len(rows) == len({r[0] for r in rows}) >= 80  # every week, the empty ones too
    empty = [r for r in rows if r[3] == "0"]
    assert empty and all(r[1] == r[2] == "—" for r in empty)
    answered = [r for r in rows if r[3] != "0"]
    assert all(re.fullmatch(r"-?\d+(\.\d)?", r[1]) and float(r[2]) > 0 for r in answered)
    assert trend.locator("polyline.sm-line").count() >= 2  # broken at the empty weeks
    assert trend.locator("polygon.sm-band").count() >= 1
    dot = trend.locator("circle").first.locator("title").text_content()
    assert re.fullmatch(r".+: NPS -?\d+(\.\d)? ± \d+(\.\d)? \(\d+ answered\)", dot or "")
    # Monthly, the demo's NPS (about +30) with its margins stays well above −100.
    page.select_option("#id_interval", "month")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**interval=month**")
    ticks = y_ticks(page)
    assert min(ticks) > -100 and max(ticks) - min(ticks) < 200
    snap(page, screenshots, "trend-gaps", size)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_language_and_trait_filters_suggest_values_seen(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, size: str
) -> None:
    page = logged_in(new_page, live_server, VIEWPORTS[size])
    open_dashboard(page, live_server, demo)

    def options(list_id: str) -> list[str]:
        return page.locator(f"datalist#{list_id} option").evaluate_all(
            "options => options.map(o => o.value)"
        )

    assert page.locator("#id_language").get_attribute("list") == "sm-languages"
    assert {"en", "de"} <= set(options("sm-languages"))
    assert page.locator("#id_trait").get_attribute("list") == "sm-trait-names"
    assert {"plan", "seats", "language"} <= set(options("sm-trait-names"))
    assert options("sm-trait-values") == []  # no trait chosen yet
    page.fill("#id_trait", "plan")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**trait=plan**")
    assert set(options("sm-trait-values")) == {"free", "starter", "pro", "enterprise"}
    page.locator(".sm-breakdown").get_by_role("link", name="pro").click()
    page.wait_for_url("**trait_value=pro**")
    rows = page.locator(".sm-breakdown tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["pro", "All other responses"]
    scope = page.get_by_test_id("scope").inner_text()
    assert "Only responses with plan = pro are counted, charted, listed and exported." in scope
    assert page.get_by_role("link", name="NPS by every value of plan").is_visible()
    snap(page, screenshots, "trait-value", size)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_bad_trait_name_is_named(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, size: str
) -> None:
    page = logged_in(new_page, live_server, VIEWPORTS[size])
    open_dashboard(page, live_server, demo, trait="pl an", trait_value="pro")
    note = page.locator(".errornote").inner_text()
    assert "A trait name is 1 to 64 letters, digits, dots, dashes" in note
    assert "A trait value needs a trait name." not in note  # the name is what is wrong
    assert "Type a trait name in the filters" in page.locator(".sm-panel").nth(3).inner_text()
    described = page.locator("#id_trait").get_attribute("aria-describedby") or ""
    for ident in described.split():  # the help text and the error it points to exist
        assert page.locator(f"#{ident}").count() == 1, ident
    assert "A trait name is 1 to 64" in page.locator("#id_trait_error").inner_text()
    snap(page, screenshots, "bad-trait", size)
    open_dashboard(page, live_server, demo, trait="plna")
    missing = page.get_by_test_id("no-trait").inner_text()
    assert "has the trait “plna”" in missing and "plan" in missing
    snap(page, screenshots, "unknown-trait", size)
