"""Issue #17 in real Chromium, on the demo data, as a staff member sees it at 1280 px with the
admin's sidebar open: the dashboards in reach (3), lists that fit (4), the product's data
view-only (5), previews that make no user and one date format (7).

Screenshots (artifacts/screenshots/), each at 1280 px (``-desktop``) and 390 px (``-narrow``):
admin-index, dashboards-picker, dashboard-picker, surveys-list, responses-list, users-list,
displays-list, events-list, projects-list, response-page, user-page, survey-preview.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from project.demo.management.commands import satismeter_demo
from satismeter_app.models import EndUser, Project, Response, Survey

from .conftest import DESKTOP, Pages, log_in
from .test_dashboard import NARROW

pytestmark = pytest.mark.browser

LONG_COMMENT = "The export is slow and the reports page times out on large teams. " * 6
LISTS = {
    "responses": "response",
    "users": "enduser",
    "displays": "display",
    "events": "userevent",
    "surveys": "survey",
    "projects": "project",
}


@pytest.fixture
def demo(live_server: Any) -> Project:
    """The demo data, a second project (the admin sees both) and a long comment."""
    call_command(satismeter_demo.Command(), "--json", stdout=io.StringIO())
    Survey.objects.create(project=Project.objects.create(name="Mobile app"), name="App NPS")
    project = Project.objects.get(name="Demo product")
    response = Response.objects.filter(project=project, rating__isnull=False).latest("created")
    response.feedback = LONG_COMMENT
    response.save()
    return project


def admin_path(model: str, view: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:satismeter_app_{model}_{view}", args=args)


def shoot(page: Any, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def both_widths(page: Any, live_server: Any, screenshots: Path, name: str, path: str) -> None:
    """Screenshots of a page at 390 px, then at 1280 px, where the page stays."""
    for size, suffix in ((NARROW, "narrow"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}{path}")
        shoot(page, screenshots, f"{name}-{suffix}")


def logged_in(new_page: Pages, live_server: Any) -> Any:
    page = new_page(DESKTOP)
    log_in(page, live_server)
    return page


def test_the_dashboards_are_in_reach(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = logged_in(new_page, live_server)
    both_widths(page, live_server, screenshots, "dashboards-picker", admin_path("projectdashboard"))
    both_widths(page, live_server, screenshots, "admin-index", "/admin/")
    page.locator("#content-main").get_by_role("link", name="NPS dashboards").click()
    expect(page.locator("#result_list")).to_contain_text("Mobile app")
    row = page.locator("#result_list tbody tr", has_text="Demo product")
    expect(row.locator("td.field-recent_responses")).not_to_have_text("0")

    row.get_by_role("link", name="Demo product").click()
    page.get_by_role("heading", name="NPS trend").wait_for()
    # The sidebar of every page links the dashboards too.
    expect(page.locator("#nav-sidebar").get_by_role("link", name="NPS dashboards")).to_be_visible()
    page.get_by_label("Project").select_option(label="Mobile app")
    page.get_by_role("button", name="Open its dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mobile app")
    dashboard = admin_path("project", "dashboard", demo.pk)
    both_widths(page, live_server, screenshots, "dashboard-picker", dashboard)


def test_the_survey_list_shows_the_last_90_days(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = logged_in(new_page, live_server)
    both_widths(page, live_server, screenshots, "surveys-list", admin_path("survey"))
    row = page.locator("#result_list tbody tr", has_text="How likely are you to recommend us?")
    nps = row.locator("td.field-recent_nps a")
    shown = nps.inner_text()
    nps.click()
    expect(page.get_by_test_id("nps")).to_have_text(shown)  # the same 90 days, same survey


def overflow(page: Any) -> dict[str, int]:
    return page.evaluate(
        """() => {
          const table = document.querySelector('#result_list');
          const results = document.querySelector('.results');
          return {table: Math.ceil(table.getBoundingClientRect().width),
                  area: Math.floor(results.getBoundingClientRect().width),
                  page: document.documentElement.scrollWidth, view: window.innerWidth};
        }"""
    )


@pytest.mark.parametrize("name", list(LISTS))
def test_lists_fit_beside_the_sidebar(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, name: str
) -> None:
    page = logged_in(new_page, live_server)
    both_widths(page, live_server, screenshots, f"{name}-list", admin_path(LISTS[name]))
    expect(page.locator("#nav-sidebar")).to_be_visible()
    sizes = overflow(page)
    assert sizes["table"] <= sizes["area"], sizes  # nothing off screen or scrolled sideways
    assert sizes["page"] <= sizes["view"], sizes
    assert page.get_by_role("link", name=re.compile(r"^Add ")).count() == (
        1 if name in ("surveys", "projects") else 0
    )


def test_lists_fit_in_german_too(new_page: Pages, live_server: Any, demo: Project) -> None:
    """Longer words and dates ("1. Dezember 2026"): the same lists still fit."""
    page = new_page(DESKTOP, locale="de-DE")
    log_in(page, live_server)
    for name, model in LISTS.items():
        page.goto(f"{live_server.url}{admin_path(model)}")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        sizes = overflow(page)
        assert sizes["table"] <= sizes["area"], (name, sizes)


def test_the_responses_list_shows_category_and_comment_clipped(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = logged_in(new_page, live_server)
    page.goto(f"{live_server.url}{admin_path('response')}?q=reports+page")
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers] == ["created", "survey", "user", "score", "comment"]
    cell = page.locator("#result_list td.field-comment").first
    clipped = cell.evaluate("cell => cell.scrollWidth > cell.clientWidth")
    assert clipped, "the long comment is cut to its column"
    expect(page.locator("#result_list td.field-score .sm-badge").first).to_have_text(
        re.compile("promoter|passive|detractor")
    )

    page.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    expect(page.locator(".field-feedback .readonly")).to_have_text(LONG_COMMENT.strip())
    fields = "#response_form :is(input[type=text], textarea, select)"
    assert page.locator(fields).count() == 0  # the reply form is a form of its own
    assert page.get_by_role("button", name=re.compile("Save|Delete")).count() == 0
    response_page = page.url[len(live_server.url) :]
    both_widths(page, live_server, screenshots, "response-page", response_page)


def test_a_users_page_shows_the_products_data_read_only(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    user = EndUser.objects.filter(project=demo, traits__has_key="plan").first()
    assert user is not None
    page = logged_in(new_page, live_server)
    both_widths(
        page, live_server, screenshots, "user-page", admin_path("enduser", "change", user.pk)
    )

    fields = page.locator("#enduser_form :is(input, textarea, select):not([type=hidden])")
    names = set(fields.evaluate_all("els => els.map(e => e.name)"))
    assert names == {"survey_date_0", "survey_date_1", "unsubscribed", "_save", "_continue"}
    traits = page.locator(".field-traits_table table")
    expect(traits.locator("th", has_text="plan")).to_be_visible()
    # One date format: every date on the page reads like the admin's own ("Feb. 19, 2026,
    # 10:24 a.m."), the createdAt trait and the history included; no ISO time is shown.
    text = page.locator("#content-main").inner_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", text), "an ISO time is shown"
    page.locator("#fieldsetcollapser4, summary", has_text="Survey history").first.click()
    history = page.locator(".field-history_table").inner_text()
    assert re.search(r"[A-Z][a-z]+\.? \d{1,2}, \d{4}", history), history


def test_the_survey_preview_makes_no_user(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    survey = Survey.objects.get(project=demo, name="How likely are you to recommend us?")
    users = EndUser.objects.count()
    page = logged_in(new_page, live_server)
    for size, suffix in ((NARROW, "narrow"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}{admin_path('survey', 'change', survey.pk)}")
        frame = page.frame_locator("iframe[name=sm-preview-frame]")
        expect(frame.get_by_role("dialog")).to_be_visible()
        shoot(page, screenshots, f"survey-preview-{suffix}")
    assert EndUser.objects.count() == users
    assert not EndUser.objects.filter(user_id__startswith="satismeter-admin-preview").exists()
