"""The NPS dashboard and the survey preview in real Chromium, on the demo data.

Screenshots (artifacts/screenshots/): dashboard-desktop.png, dashboard-narrow.png,
dashboard-filtered-desktop.png, dashboard-dark-desktop.png, survey-edit-preview.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import Project, Survey

from .conftest import DESKTOP, Pages, log_in

NARROW = {"width": 390, "height": 844}


def open_dashboard(page: Any, live_server: Any, project: Project) -> None:
    page.goto(
        f"{live_server.url}{reverse('admin:satismeter_app_project_dashboard', args=[project.pk])}"
    )
    page.get_by_role("heading", name="NPS trend").wait_for()


def test_dashboard_on_the_demo_data_with_filters(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = new_page(DESKTOP)
    log_in(page, live_server)
    open_dashboard(page, live_server, demo)
    assert page.locator("svg[role=img]").count() == 3
    assert page.get_by_test_id("answered").inner_text() != "0"
    page.screenshot(path=str(screenshots / "dashboard-desktop.png"), full_page=True)

    start = timezone.localdate() - timedelta(days=180)
    page.fill("#id_start", start.isoformat())
    page.select_option("#id_category", "detractor")
    page.fill("#id_trait", "plan")
    page.select_option("#id_interval", "month")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**category=detractor**")
    # One category's NPS is always -100: the page keeps the NPS of every category.
    assert page.get_by_test_id("nps").inner_text() != "-100"
    assert page.get_by_test_id("nps-note").inner_text() == "Of every category."
    assert page.locator(".sm-breakdown tbody tr").count() >= 2
    assert page.locator(".sm-comments .sm-badge.sm-detractor").count() >= 1
    assert page.locator(".sm-comments .sm-badge.sm-promoter").count() == 0
    page.screenshot(path=str(screenshots / "dashboard-filtered-desktop.png"), full_page=True)


def test_dashboard_in_a_narrow_window(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = new_page(NARROW)
    log_in(page, live_server)
    open_dashboard(page, live_server, demo)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, "the page scrolls sideways"
    page.screenshot(path=str(screenshots / "dashboard-narrow.png"), full_page=True)


def test_survey_form_with_the_live_preview(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    survey = Survey.objects.filter(project=demo).first()
    assert survey is not None
    page = new_page({"width": 1440, "height": 900})
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('admin:satismeter_app_survey_change', args=[survey.pk])}")
    frame = page.frame_locator("iframe[name=sm-preview-frame]")
    frame.locator(".sm").first.wait_for()
    page.select_option("#sm-preview-skin", "bar")
    page.select_option("#sm-preview-language", "de")  # each choice shows at once
    frame.locator(".sm-bar[lang=de]").wait_for()
    page.locator(".sm-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "survey-edit-preview.png"), full_page=True)


def test_dashboard_follows_the_admins_dark_mode(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path
) -> None:
    page = new_page(DESKTOP, color_scheme="dark")
    log_in(page, live_server)
    open_dashboard(page, live_server, demo)
    card = page.locator(".sm-card").first
    background = card.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    page.screenshot(path=str(screenshots / "dashboard-dark-desktop.png"))
