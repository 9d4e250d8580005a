"""The reminder email in Chromium: its HTML as a mail client shows it (screenshots in
artifacts/screenshots/), and the landing page a score link opens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from satismeter_app.models import Display, EndUser, Reminder, Response, Survey
from satismeter_app.services import reminders

pytestmark = pytest.mark.browser


@pytest.fixture
def reminded(nps: Survey, live_server: Any, settings: Any, mailoutbox: list[Any]) -> Any:
    """Send a reminder to a user of ``language``; returns its message and row."""
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": live_server.url}
    Survey.objects.filter(pk=nps.pk).update(
        reminders_enabled=True,
        reminder_sender_name="Acme Team",
        reminder_sender_email="team@acme.test",
    )

    def send(language: str) -> tuple[Any, Reminder]:
        user = EndUser.objects.create(
            project=nps.project,
            user_id=f"mail-{language}",
            email=f"{language}@example.com",
            language=language,
            first_seen=timezone.now() - timedelta(days=60),
        )
        when = timezone.now() - timedelta(days=10)
        Display.objects.create(project=nps.project, survey=nps, user=user, created=when)
        reminders.send_all()
        return mailoutbox[-1], Reminder.objects.get(user=user)

    return send


def test_the_email_renders_in_chromium(page, reminded, screenshots) -> None:
    for language, name, direction in (
        ("en", "email-reminder", "ltr"),
        ("ar", "email-reminder-rtl", "rtl"),
    ):
        message, _ = reminded(language)
        page.set_content(message.alternatives[0][0])
        buttons = page.locator("a[href*='/email/r/']")
        expect(buttons).to_have_count(11)
        boxes = [buttons.nth(i).bounding_box() for i in range(11)]
        assert all(box and box["width"] >= 30 and box["height"] >= 30 for box in boxes)
        lefts = [box["x"] for box in boxes if box]
        assert lefts == sorted(lefts, reverse=direction == "rtl")
        expect(page.locator("a[href*='/email/h/']")).to_be_hidden()
        expect(page.locator("a[href*='/email/u/']")).to_be_visible()
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_a_score_link_opens_the_followup_and_saves_the_answer(page, reminded, settled) -> None:
    _, reminder = reminded("en")
    page.goto(reminders.link(reminder, "score", 4))
    expect(page.get_by_role("heading")).to_have_text(
        "What disappointed you, and how can we improve?"
    )
    page.get_by_role("textbox").fill("Too slow on Mondays")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message")).to_have_text("Thank you for your feedback!")
    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.method) == (
        4,
        "Too slow on Mondays",
        "Email",
    )
    assert response.completed
