"""Replying to a respondent in Chromium: a staff member writes a reply on the response's page
and sees it on the page, pending, then sent; the email as a mail client shows it.

Screenshots (artifacts/screenshots/) at 1280 px (``-desktop``) and 390 px (``-narrow``):
reply-form (the page with a sent reply and the form), reply-email (German), reply-email-rtl
(Arabic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from satismeter_app import outbox
from satismeter_app.models import EndUser, Project, Reply, Response, Survey
from satismeter_app.services import replies

from .conftest import DESKTOP, Pages, log_in
from .test_dashboard import NARROW

pytestmark = pytest.mark.browser

STAFF_TEXT = "Danke, Ben!\nWir haben den Export <schneller> gemacht & melden uns."


def answered(project: Project, language: str, email: str) -> Response:
    survey = Survey.objects.filter(project=project).first()
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(
        reminder_sender_name="Demo Team", reminder_sender_email="team@demo.test"
    )
    user = EndUser.objects.create(
        project=project, user_id=f"reply-{language}", email=email, language=language
    )
    return Response.objects.create(
        project=project,
        survey=survey,
        user=user,
        rating=4,
        feedback="Der Export ist zu langsam.",
        language=language,
        completed=True,
        completed_at=user.first_seen,
    )


def shoot_both(page: Any, screenshots: Path, name: str) -> None:
    for size, suffix in ((DESKTOP, "desktop"), (NARROW, "narrow")):
        page.set_viewport_size(size)
        page.screenshot(path=str(screenshots / f"{name}-{suffix}.png"), full_page=True)


def test_staff_write_a_reply_and_see_it_on_the_responses_timeline(
    new_page: Pages, live_server: Any, demo: Project, screenshots: Path, mailoutbox: list[Any]
) -> None:
    response = answered(demo, "de", "ben@example.com")
    page = new_page(DESKTOP)
    log_in(page, live_server)
    url = reverse("admin:satismeter_app_response_change", args=[response.pk])
    page.goto(f"{live_server.url}{url}")
    section = page.locator("#replies")
    expect(section.get_by_role("heading")).to_have_text("Reply to the respondent")
    expect(section.get_by_label("Subject")).to_have_value(
        "Re: Wie wahrscheinlich ist es, dass Sie Demo product einem Freund oder Kollegen empfehlen?"
    )
    section.get_by_label("Message").fill(STAFF_TEXT)
    section.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Your reply to ben@example.com is on its way."
    )
    entry = section.locator(".sm-reply")
    expect(entry).to_have_count(1)
    expect(entry.locator(".sm-reply-state")).to_have_text("Pending")
    expect(entry.locator(".sm-reply-body")).to_have_text(STAFF_TEXT.replace("\n", ""))

    outbox.send_all_due()  # what the worker does once the transaction has committed
    assert [message.to for message in mailoutbox] == [["ben@example.com"]]
    page.reload()
    expect(entry.locator(".sm-reply-state")).to_have_text("Sent")
    section.scroll_into_view_if_needed()
    shoot_both(page, screenshots, "reply-form")


def test_the_reply_email_renders_in_chromium(
    new_page: Pages, demo: Project, screenshots: Path
) -> None:
    page = new_page(DESKTOP)
    for language, name, greeting in (
        ("de", "reply-email", "Hallo,"),
        ("ar", "reply-email-rtl", "مرحبًا،"),
    ):
        response = answered(demo, language, f"{language}@example.com")
        reply = replies.send_reply(response, None, "", STAFF_TEXT)
        page.set_content(Reply.objects.get(pk=reply.pk).delivery.payload["html"])
        expect(page.locator(".greeting")).to_have_text(greeting)
        body = page.locator(".body")
        expect(body).to_have_text(STAFF_TEXT.replace("\n", ""))
        direction = "el => getComputedStyle(el).direction"
        assert page.locator(".greeting").evaluate(direction) == (
            "rtl" if language == "ar" else "ltr"
        )
        assert body.evaluate(direction) == "ltr"  # the staff's German text, in any email
        expect(page.locator("b, script")).to_have_count(0)
        shoot_both(page, screenshots, name)
