"""Issue #20 in real Chromium, on the demo data: a staff member (a plain member of the demo
project) tags a response, closes it, assigns it, writes a note, then filters the responses
list by tag and status.

Screenshots (artifacts/screenshots/), at 1280 px (``-desktop``) and 390 px (``-narrow``):
response-work-page, response-work-list, response-work-tags, response-work-dashboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from satismeter_app.models import Membership, Project, Response, Tag

from .conftest import DESKTOP, Pages, axe_violations
from .test_admin_lists import both_widths

pytestmark = pytest.mark.browser


@pytest.fixture
def team(demo: Project) -> Any:
    """A plain member of the demo project, and the project's tags."""
    sam = get_user_model().objects.create_user(
        "sam", password="sam-password-1", is_staff=True, first_name="Sam", last_name="Rivera"
    )
    Membership.objects.create(user=sam, project=demo)
    Tag.objects.create(project=demo, name="price", color="#c62828", keywords="price|expensive")
    Tag.objects.create(project=demo, name="onboarding", color="#93c5fd")
    return sam


def log_in_as_sam(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "sam-password-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_a_member_works_a_response_then_finds_it_by_tag_and_status(
    new_page: Pages, live_server: Any, demo: Project, team: Any, screenshots: Path
) -> None:
    response = (
        Response.objects.filter(project=demo, rating__lte=6).exclude(feedback="").latest("created")
    )
    page = new_page(DESKTOP)
    log_in_as_sam(page, live_server)
    page_path = reverse("admin:satismeter_app_response_change", args=[response.pk])
    page.goto(f"{live_server.url}{page_path}")

    panel = page.locator(".sm-work-panel")
    panel.get_by_label("price").check()
    panel.get_by_label("Status").select_option(label="Closed")
    panel.get_by_label("Assignee").select_option(label="Sam Rivera")
    panel.get_by_role("button", name="Save status, assignee and tags").click()
    expect(page.locator(".messagelist")).to_contain_text("Saved.")
    expect(panel.get_by_label("Status")).to_have_value("closed")
    expect(panel.get_by_label("price")).to_be_checked()

    page.get_by_label("Add a note for your team").fill("Called them: the annual plan fixes it.")
    page.get_by_role("button", name="Add note").click()
    note = page.locator(".sm-entry-note").last
    expect(note).to_contain_text("Called them: the annual plan fixes it.")
    expect(note).to_contain_text("Sam Rivera")
    entries = page.locator(".sm-timeline .sm-entry").all_inner_texts()
    assert "Response received" in entries[0] and "Called them" in entries[-1]  # newest last
    assert axe_violations(page, "#sm-work") == []
    both_widths(page, live_server, screenshots, "response-work-page", page_path)

    response.refresh_from_db()
    assert (response.status, response.assignee) == ("closed", team)
    assert [tag.name for tag in response.tags.all()] == ["price"]

    # The list: filter by the tag, then by the status, with the filter sidebar's links.
    page.goto(f"{live_server.url}{reverse('admin:satismeter_app_response_changelist')}")
    filters = page.locator("#changelist-filter")
    filters.locator("details", has_text="By tag").get_by_role("link", name="price").click()
    filters.locator("details", has_text="By status").get_by_role("link", name="Closed").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    chip = rows.first.locator(".sm-chip")
    expect(chip).to_have_text("price")
    assert chip.evaluate("c => getComputedStyle(c).backgroundColor") == "rgb(198, 40, 40)"
    expect(rows.first.locator("td.field-work_cell")).to_contain_text("closed")
    listed = page.url[len(live_server.url) :]
    both_widths(page, live_server, screenshots, "response-work-list", listed)
    # Open responses tagged price: this one is no more among them.
    page.goto(f"{live_server.url}{listed.replace('status__exact=closed', 'status__exact=open')}")
    expect(page.locator("#changelist")).to_be_visible()
    expect(page.locator("#result_list tbody tr")).to_have_count(0)


def test_the_tags_page_and_the_dashboard_filtered_by_tag(
    new_page: Pages, live_server: Any, demo: Project, team: Any, screenshots: Path
) -> None:
    price = Tag.objects.get(project=demo, name="price")
    for response in Response.objects.filter(project=demo, rating__lte=6)[:5]:
        response.tags.add(price)
    page = new_page(DESKTOP)
    log_in_as_sam(page, live_server)
    tags = reverse("admin:satismeter_app_tag_changelist")
    both_widths(page, live_server, screenshots, "response-work-tags", tags)
    expect(page.locator("#result_list .sm-chip")).to_have_count(2)

    page.get_by_role("link", name="onboarding").click()
    colour = page.locator("input[type=color]")
    expect(colour).to_have_value("#93c5fd")
    colour.fill("#1d4ed8")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("onboarding")
    assert Tag.objects.get(project=demo, name="onboarding").color == "#1d4ed8"

    dashboard = reverse("admin:satismeter_app_project_dashboard", args=[demo.pk])
    page.goto(f"{live_server.url}{dashboard}")
    page.get_by_label("Tag", exact=True).select_option(label="price")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("scope")).to_contain_text("tagged price")
    path = page.url[len(live_server.url) :]
    both_widths(page, live_server, screenshots, "response-work-dashboard", path)
