"""The widget asks a survey's questions in the survey's order: a choice before the rating (the
rating then comes second, on its own page, with its usual look), and a survey that asks no
rating at all (a CSAT scale then a long text). Each is answered through to the end; the
server's response and the host page's `progress` and `complete` events are checked."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Survey

from .conftest import PHONE
from .test_questions import QUESTIONS, accessible, fits, show, stored

pytestmark = pytest.mark.browser

REASON = QUESTIONS[3] | {"condition": None}  # "What should we improve first?", unconditional
REPORTS = QUESTIONS[1]  # a CSAT scale, required
WISH = QUESTIONS[5]  # a long text


def after_rating(qid: str, label: str, categories: list[str]) -> dict[str, Any]:
    """A yes/no question shown for some categories of the rating."""
    return {
        "id": qid,
        "type": "single-choice",
        "texts": {"en": {"label": label}},
        "choices": [{"id": "yes", "texts": {"en": "Yes"}}, {"id": "no", "texts": {"en": "No"}}],
        "condition": {"question": "SM_rating", "values": categories},
    }


ORDERED = [
    REASON,
    QUESTIONS[0],
    after_rating("share", "Would you share a review?", ["promoter"]),
    after_rating("call", "May we call you about it?", ["passive", "detractor"]),
    {"id": "SM_comment", "type": "long-text"},
]


def test_a_choice_first_then_the_rating(
    page, live_server, host_site, nps: Survey, screenshots, settled
) -> None:
    """The rating second, then a question for promoters (skipped for an 8), one for the
    others (asked under the rating, as when the rating is first) and the comment."""
    nps.questions = ORDERED
    nps.save()
    dialog = show(page, live_server, host_site, nps, "order-choice-first")

    reason = page.get_by_role("group", name="What should we improve first?")
    expect(reason.get_by_role("radio").first).to_be_focused()  # the first question, not the rating
    expect(dialog).to_have_accessible_name("What should we improve first?")
    expect(page.get_by_role("radiogroup")).to_be_hidden()
    continue_ = page.get_by_role("button", name="Continue")  # the rating is still to come
    expect(continue_).to_have_attribute("aria-disabled", "true")  # required
    accessible(page)
    with page.expect_response(lambda r: r.url.endswith("/api/responses") and r.status == 201):
        page.keyboard.press("ArrowDown")  # checks Speed
    expect(reason.get_by_role("radio", name="Speed")).to_be_checked()
    page.screenshot(path=screenshots / "order-choice-first.png")
    page.keyboard.press("Tab")
    expect(continue_).to_be_focused()
    page.keyboard.press("Enter")

    # The rating, alone on its page, as a survey shows it first.
    zero = page.get_by_role("radio", name="0 out of 10", exact=True)
    expect(zero).to_be_focused()
    expect(reason).to_have_count(0)
    expect(dialog).to_have_accessible_name(re.compile("^How likely are you to recommend"))
    accessible(page)
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.get_by_role("radio", name="8 out of 10").click()
    call = page.get_by_role("group", name="May we call you about it?")  # not "share": a passive
    expect(call.get_by_role("radio", name="Yes")).to_be_focused()
    page.screenshot(path=screenshots / "order-choice-first-rating.png")
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.keyboard.press("Space")
    page.get_by_role("button", name="Continue").click()
    comment = page.get_by_role("textbox", name="What could we do to make it better?")  # a passive's
    expect(comment).to_be_focused()
    expect(page.get_by_role("radiogroup")).to_be_hidden()
    comment.fill("Faster exports.")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    response = stored(settled)
    assert (response.rating, response.feedback, response.completed) == (8, "Faster exports.", True)
    assert [(a["id"], a["value"]) for a in response.answers] == [
        ("reason", "speed"),
        ("call", "yes"),
    ]
    completed = page.evaluate("window.completed")
    assert [(a["id"], a["value"]) for a in completed["answers"]] == [
        ("reason", "speed"),
        ("SM_rating", 8),
        ("call", "yes"),
        ("SM_comment", "Faster exports."),
    ]
    assert completed["answers"][1]["label"].startswith("How likely")
    progress = page.evaluate("window.progress")
    assert [[a["id"] for a in e["answers"]] for e in progress] == [
        ["reason"],
        ["reason", "SM_rating"],
        ["reason", "SM_rating", "call"],
        ["reason", "SM_rating", "call", "SM_comment"],
    ]


@pytest.mark.parametrize("skin", ["dialog", "panel", "bar"])
def test_a_survey_without_a_rating(
    new_page, live_server, host_site, nps: Survey, screenshots, settled, skin
) -> None:
    """On a phone, right to left, in each skin: no rating is shown, saved or announced."""
    nps.questions = [REPORTS, WISH]
    nps.design = {**nps.design, "skin": skin}
    nps.save()
    page = new_page(PHONE)
    dialog = show(
        page, live_server, host_site, nps, f"order-no-rating-{skin}", traits={"language": "ar"}
    )
    expect(dialog).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("radiogroup")).to_be_hidden()
    reports = page.get_by_role("group", name="ما مدى رضاك عن التقارير؟")
    expect(reports.get_by_role("radio").first).to_be_focused()
    one = reports.locator("label").nth(0).bounding_box()
    five = reports.locator("label").nth(4).bounding_box()
    assert one["x"] > five["x"]  # the scale runs from the right
    fits(dialog, PHONE)
    accessible(page)
    page.get_by_role("heading", name="Customer app").click()  # the focus leaves the survey
    page.keyboard.press("Alt+Shift+R")  # the shortcut brings it back to the question
    expect(reports.get_by_role("radio").first).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/api/responses") and r.status == 201):
        reports.get_by_role("radio", name="4").click()
    page.get_by_role("button", name="متابعة").click()

    wish = page.get_by_role("textbox", name="هل تتمنى شيئًا آخر؟")
    expect(wish).to_be_focused()
    wish.fill("الوضع الداكن من فضلك.")
    accessible(page)
    page.screenshot(path=screenshots / f"order-no-rating-{skin}.png")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="إرسال").click()
    expect(page.get_by_role("status")).to_contain_text("شكرًا")
    fits(dialog, PHONE)

    response = stored(settled)
    assert (response.rating, response.completed, response.language) == (None, True, "ar")
    assert [(a["id"], a["value"]) for a in response.answers] == [
        ("reports", 4),
        ("wish", "الوضع الداكن من فضلك."),
    ]
    completed = page.evaluate("window.completed")
    assert [(a["id"], a["value"]) for a in completed["answers"]] == [
        ("reports", 4),
        ("wish", "الوضع الداكن من فضلك."),
    ]
    progress = page.evaluate("window.progress")
    assert [[a["id"] for a in e["answers"]] for e in progress] == [["reports"], ["reports", "wish"]]
