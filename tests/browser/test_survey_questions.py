"""The survey's questions in the survey form, in real Chromium: a single-choice question added
with two choices in two languages and a condition, moved with the keyboard, sent to the live
preview unsaved, then saved; the form with that question passes axe.

Screenshots (artifacts/screenshots/): survey-questions-desktop.png, its editor alone in
survey-questions-editor-desktop.png, and survey-questions-narrow.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from satismeter_app.models import Survey

from .conftest import Pages
from .test_accessibility import assert_clean
from .test_survey_form import NARROW, admin_user, open_form, save_and_continue  # noqa: F401

pytestmark = pytest.mark.usefixtures("admin_user")  # open_form logs in as admin

REASON = {
    "id": "reason",
    "type": "single-choice",
    "required": True,
    "texts": {"en": {"label": "What should we improve?"}, "de": {"label": "Was verbessern?"}},
    "choices": [
        {"id": "price", "texts": {"en": "Price", "de": "Preis"}},
        {"id": "speed", "texts": {"en": "Speed", "de": "Tempo"}},
    ],
    "condition": {"question": "SM_rating", "values": ["detractor", "passive"]},
}


def add_reason(page: Any) -> Any:
    """The question added at the end (third), filled in English then German."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Add a question").click()
    row = page.get_by_role("group", name="Question 3", exact=True)
    expect(row.get_by_label("Id", exact=True)).to_be_focused()
    expect(row.get_by_label("Id", exact=True)).to_have_value("question3")
    row.get_by_label("Id", exact=True).fill("reason")
    expect(row.get_by_label("Type")).to_have_value("single-choice")
    row.get_by_label("Required").check()
    row.get_by_label("Question text").fill("What should we improve?")
    for number, (cid, text) in enumerate((("price", "Price"), ("speed", "Speed")), start=1):
        choice = row.get_by_role("group", name=f"Choice {number}", exact=True)
        choice.get_by_label("Choice id").fill(cid)
        choice.get_by_label("Choice text").fill(text)
    page.get_by_label("Language of the texts").select_option("de")
    expect(row.get_by_label("Question text")).to_have_value("")
    expect(row.get_by_label("Question text")).to_have_attribute("lang", "de")
    row.get_by_label("Question text").fill("Was verbessern?")
    row.get_by_label("Choice text").nth(0).fill("Preis")
    row.get_by_label("Choice text").nth(1).fill("Tempo")
    page.get_by_label("Language of the texts").select_option("en")
    expect(row.get_by_label("Question text")).to_have_value("What should we improve?")
    row.get_by_label("Shown").select_option("SM_rating")
    row.get_by_label("Answers that show it").fill("detractor, passive")
    return row


def test_adding_a_choice_question_in_two_languages_moving_and_saving_it(
    new_page: Pages, live_server: Any, nps: Survey, screenshots: Path, settled: Any
) -> None:
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, nps)
    add_reason(page)

    # Moved above the comment with the keyboard; the focus stays on the arrow and the move is
    # announced; the preview is sent the unsaved question.
    up = page.get_by_role("button", name="Move up: Question 3")
    up.focus()
    with page.expect_request(lambda r: "/preview/" in r.url and r.method == "POST") as sent:
        page.keyboard.press("Enter")
    moved = page.get_by_role("group", name="Question 2", exact=True)
    expect(moved.get_by_label("Id", exact=True)).to_have_value("reason")
    expect(page.get_by_role("button", name="Move up: Question 2")).to_be_focused()
    expect(page.locator(".sm-q-status")).to_have_text("Question reason is now number 2.")
    form = parse_qs(sent.value.post_data or "")
    row = next(k[: -len("-id")] for k, v in form.items() if k.endswith("-id") and v == ["reason"])
    assert form[f"{row}-choice-1-id"] == ["speed"]
    assert form[f"{row}-label"] == ["What should we improve?"]
    assert list(form).index(f"{row}-id") < list(form).index("questions-1-id")  # before comment

    # The answers a condition may name are suggested: the choices of an earlier choice question.
    comment = page.get_by_role("group", name="Question 3", exact=True)
    comment.get_by_label("Shown").select_option("reason")
    expect(comment.get_by_label("Answers that show it")).to_have_attribute(
        "placeholder", "e.g. price, speed"
    )
    comment.get_by_label("Shown").select_option("")
    expect(moved.get_by_label("Answers that show it")).to_have_attribute(
        "placeholder", "e.g. detractor, passive"
    )
    assert_clean(page, "survey form with a choice question")
    page.screenshot(path=str(screenshots / "survey-questions-desktop.png"), full_page=True)
    editor = page.locator(".field-questions")
    editor.screenshot(path=str(screenshots / "survey-questions-editor-desktop.png"))

    save_and_continue(page)
    expect(page.locator(".messagelist .success")).to_be_visible()
    settled()
    nps.refresh_from_db()
    assert [q["id"] for q in nps.questions] == ["SM_rating", "reason", "SM_comment"]
    assert nps.questions[1] == REASON


def test_a_refused_question_is_marked_after_saving_and_the_built_ins_stay(
    new_page: Pages, live_server: Any, nps: Survey, screenshots: Path, settled: Any
) -> None:
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, nps, NARROW)
    rating = page.get_by_role("group", name="Question 1", exact=True)
    expect(rating.get_by_role("button", name="Remove: Question 1")).to_have_count(0)
    expect(rating.get_by_role("button", name="Move up: Question 1")).to_be_disabled()
    row = add_reason(page)
    row.get_by_label("Answers that show it").fill("grumpy")

    save_and_continue(page)
    error = page.locator(".field-questions .errorlist")
    expect(error).to_contain_text("Question 3 (reason): 'grumpy' is not an answer of 'SM_rating'")
    marked = page.locator(".sm-question.sm-row-error")
    expect(marked).to_have_attribute("aria-label", "Question 3")
    expect(marked.get_by_label("Choice text").nth(1)).to_have_value("Speed")
    page.screenshot(path=str(screenshots / "survey-questions-narrow.png"), full_page=True)
    settled()
    nps.refresh_from_db()
    assert [q["id"] for q in nps.questions] == ["SM_rating", "SM_comment"]


def test_the_preview_steps_through_the_unsaved_questions(
    new_page: Pages, live_server: Any, nps: Survey, screenshots: Path, settled: Any
) -> None:
    """The live preview asks the question just added, before it is saved: a detractor's
    rating brings it, in the preview's own widget, with its choices."""
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, nps)
    add_reason(page)
    # The preview reloads with the form (debounced): wait for its widget call of that reload.
    widget_call = page.expect_response(
        lambda r: "/api/widget" in r.url and r.request.method == "POST"
    )
    preview_post = page.expect_request(lambda r: "/preview/" in r.url and r.method == "POST")
    with widget_call, preview_post:
        page.get_by_role("button", name="Move up: Question 3").click()
    frame = page.frame_locator("iframe[name=sm-preview-frame]")
    # By keyboard: the preview's frame shows the widget where a page would, partly below the
    # frame's fold at this size.
    frame.get_by_role("radio", name="3 out of 10").press("Enter")
    question = frame.get_by_role("group", name="What should we improve?")
    expect(question.get_by_role("radio", name="Price")).to_be_attached()
    question.get_by_role("radio", name="Speed").press("Space")
    expect(question.get_by_role("radio", name="Speed")).to_be_checked()
    expect(frame.get_by_role("button", name="Continue")).to_be_attached()
    page.screenshot(path=str(screenshots / "survey-questions-preview.png"), full_page=True)
    settled()
    nps.refresh_from_db()
    assert [q["id"] for q in nps.questions] == ["SM_rating", "SM_comment"]  # not saved
    assert not nps.responses.exists()  # a preview stores no answer
