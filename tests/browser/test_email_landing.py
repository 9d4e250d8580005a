"""The reminder email in Chromium: its HTML as a mail client shows it (screenshots in
artifacts/screenshots/), and the landing page a score link opens."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response
from satismeter_app.services import reminders

pytestmark = pytest.mark.browser


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
