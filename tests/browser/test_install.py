"""The install page and the dashboard's NPS by tag in real Chromium, on the demo data.

The install page's snippet, pasted as shown into a customer's page on another origin, makes
a widget call that the page's live check shows a few seconds later, without a reload.

Screenshots (artifacts/screenshots/): install-page-desktop.png, install-page-narrow.png,
dashboard-nps-by-tag-desktop.png, dashboard-nps-by-tag-narrow.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from satismeter_app.models import Project, Response, Tag
from satismeter_app.services import tagging

from .conftest import DESKTOP, HostSite, Pages, axe_violations, html_page, log_in

pytestmark = pytest.mark.browser

NARROW = {"width": 390, "height": 844}


def open_install(page: Any, live_server: Any, project: Project) -> None:
    page.goto(
        f"{live_server.url}{reverse('admin:satismeter_app_project_install', args=[project.pk])}"
    )
    page.get_by_role("heading", name="Live check").wait_for()


def test_staff_see_the_snippet_work_on_a_customers_page(
    new_page: Pages, live_server: Any, demo: Project, host_site: HostSite, screenshots: Path
) -> None:
    Project.objects.filter(pk=demo.pk).update(identity_verification=False)
    staff = new_page(DESKTOP)
    log_in(staff, live_server)
    open_install(staff, live_server, demo)
    expect(staff.get_by_test_id("write-key")).to_have_text(demo.write_key)
    live = staff.locator('[data-live="widget"]')
    expect(live).to_contain_text("Nothing yet")

    # The customer pastes the snippet as the page shows it, with a user id of theirs.
    shown = staff.get_by_test_id("snippet").inner_text()
    assert f'"writeKey": "{demo.write_key}"' in shown and f"{live_server.url}/js" in shown
    customer = new_page(DESKTOP)
    url = host_site.add("installed.html", html_page(shown.replace("USER_ID", "install-42")))
    with customer.expect_response(re.compile(r"/api/widget$")) as called:
        customer.goto(url)
    assert called.value.status == 200

    # Within a refresh of the live check (every 5 s), without reloading the page.
    expect(live).to_contain_text(f"from {host_site.url}", timeout=12_000)
    expect(live).to_contain_text(re.compile(r"Received \d+ s ago .*Chrome \d+"))
    assert axe_violations(staff) == []
    staff.get_by_test_id("live").scroll_into_view_if_needed()
    staff.screenshot(path=str(screenshots / "install-page-desktop.png"), full_page=True)

    narrow = new_page(NARROW)
    log_in(narrow, live_server)
    open_install(narrow, live_server, demo)
    expect(narrow.locator('[data-live="widget"]')).to_contain_text(host_site.url)
    width = narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, "the page scrolls sideways"
    narrow.screenshot(path=str(screenshots / "install-page-narrow.png"), full_page=True)


def test_the_copy_button_copies_the_snippet(
    new_page: Pages, live_server: Any, demo: Project
) -> None:
    page = new_page(DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    log_in(page, live_server)
    open_install(page, live_server, demo)
    page.locator('[data-copy="sm-snippet"]').click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert demo.write_key in copied and copied.startswith("<script>")


@pytest.fixture
def tagged_demo(demo: Project) -> Project:
    """The demo's comments, tagged by keywords as the command would tag them."""
    keywords = {
        "pricing": ("#d13438", "pricing|billing|charged|steep"),
        "speed": ("#1d4ed8", "slow|timing out"),
        "support": ("#2e8540", "support|onboarding"),
    }
    for name, (color, words) in keywords.items():
        Tag.objects.create(project=demo, name=name, color=color, keywords=words)
    tagging.apply_to_old(demo.pk)
    return demo


def test_the_dashboard_shows_nps_by_tag(
    new_page: Pages, live_server: Any, tagged_demo: Project, screenshots: Path
) -> None:
    assert Response.tags.through.objects.exists(), "the demo's comments name no keyword"
    for name, viewport in (("desktop", DESKTOP), ("narrow", NARROW)):
        page = new_page(viewport)
        log_in(page, live_server)
        page.goto(
            f"{live_server.url}"
            f"{reverse('admin:satismeter_app_project_dashboard', args=[tagged_demo.pk])}"
        )
        section = page.get_by_test_id("nps-by-tag")
        expect(section.get_by_test_id("tag-row")).to_have_count(3)
        expect(section.get_by_role("rowheader").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, "the page scrolls sideways"
        assert axe_violations(page, "[data-testid=nps-by-tag]") == []
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(screenshots / f"dashboard-nps-by-tag-{name}.png"))
