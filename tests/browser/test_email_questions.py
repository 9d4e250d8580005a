"""Reminders of surveys that ask a choice first, in Chromium (issue #18): the email's links,
the landing page with the questions the answers show, in English and right to left.
Screenshots in artifacts/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response, Survey
from tests.services.test_reminder_questions import CHOICE_FIRST, MULTIPLE_FIRST

from .conftest import axe_violations, dangling_idrefs

pytestmark = pytest.mark.browser


@pytest.fixture
def asking(nps: Survey, reminded: Any) -> Any:
    """``reminded``, for the survey asking ``questions``."""

    def send(questions: list[dict[str, Any]], language: str) -> tuple[str, list[str]]:
        survey = Survey.objects.get(pk=nps.pk)
        survey.questions = questions
        survey.save()  # drops the cached configuration
        message, _ = reminded(language)
        html = message.alternatives[0][0]
        links = re.findall(r'href="([^"]+/email/r/[^"]+)"', html)
        return html, [link.replace("&amp;", "&") for link in links]

    return send


def test_the_email_has_a_button_per_choice(page, asking, screenshots) -> None:
    html, _ = asking(CHOICE_FIRST, "en")
    page.set_content(html)
    buttons = page.locator("a[href*='/email/r/']")
    expect(buttons).to_have_text(["Price", "Speed", "Documentation"])
    boxes = [buttons.nth(i).bounding_box() for i in range(3)]
    assert all(box and box["height"] >= 40 and box["width"] >= 300 for box in boxes)
    tops = [box["y"] for box in boxes if box]
    assert tops == sorted(tops)
    assert not axe_violations(page) + dangling_idrefs(page)
    page.screenshot(path=str(screenshots / "email-reminder-choice.png"), full_page=True)


def test_a_choice_link_opens_the_next_questions_and_they_complete_the_response(
    page, asking, settled, screenshots
) -> None:
    _, links = asking(CHOICE_FIRST, "en")
    page.goto(links[1])  # Speed

    rating = page.get_by_role("group", name=re.compile("How likely"))
    expect(rating.get_by_role("radio")).to_have_count(11)
    expect(page.get_by_role("textbox", name="What feels slow?")).to_be_visible()
    assert not axe_violations(page) + dangling_idrefs(page)
    page.screenshot(path=str(screenshots / "email-landing-questions.png"), full_page=True)
    rating.get_by_text("3", exact=True).click()
    page.get_by_role("textbox", name="What feels slow?").fill("The reports")
    page.get_by_role("button", name="Send").click()

    comment = page.get_by_role("textbox", name="What disappointed you, and how can we improve?")
    comment.fill("Faster exports")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message")).to_have_text("Thank you for your feedback!")
    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (3, "Faster exports", True)
    assert {a["id"]: a["value"] for a in response.answers} == {
        "reason": "speed",
        "slow": "The reports",
    }


def test_the_landing_page_runs_right_to_left_in_arabic(new_page, asking, screenshots) -> None:
    _, links = asking(CHOICE_FIRST, "ar")
    page = new_page({"width": 360, "height": 740})
    page.goto(links[0])
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    options = page.locator(".options.scale .option")
    expect(options).to_have_count(11)
    lefts = [box["x"] for i in range(11) if (box := options.nth(i).bounding_box())]
    assert lefts == sorted(lefts, reverse=True)  # 0 on the right, on one line at 360 px
    assert not axe_violations(page) + dangling_idrefs(page)
    page.screenshot(path=str(screenshots / "email-landing-questions-rtl.png"), full_page=True)


def test_the_button_of_a_multiple_choice_survey_opens_its_questions(page, asking, settled) -> None:
    html, links = asking(MULTIPLE_FIRST, "en")
    page.set_content(html)
    expect(page.locator("a[href*='/email/r/']")).to_have_text(["Answer the survey"])
    page.goto(links[0])
    page.get_by_role("checkbox", name="Reports").check()
    page.get_by_role("checkbox", name="Alerts").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message")).to_have_text("Thank you for your feedback!")
    settled()
    response = Response.objects.get()
    assert response.completed
    assert [a["value"] for a in response.answers] == [["reports", "alerts"]]
