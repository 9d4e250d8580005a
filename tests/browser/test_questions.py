"""Surveys of several questions in the widget: after the rating, a CSAT scale, a smiley, a
single choice shown to detractors and passives only, a multiple choice and a long text, one
question at a time, in every skin, on a phone, right to left and with the keyboard alone.
Each answer is saved as it is given; the server's response and the host page's `progress`
and `complete` events are checked. Screenshots go to artifacts/screenshots/."""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response, Survey

from .conftest import DESKTOP, PHONE, axe_violations, dangling_idrefs, html_page, snippet
from .test_csp import complaints, strict_page

pytestmark = pytest.mark.browser


def texts(en: tuple[str, ...], ar: tuple[str, ...]) -> dict[str, dict[str, str]]:
    keys = ("label", "low", "high")
    return {"en": dict(zip(keys, en, strict=False)), "ar": dict(zip(keys, ar, strict=False))}


def choice(cid: str, en: str, ar: str) -> dict[str, Any]:
    return {"id": cid, "texts": {"en": en, "ar": ar}}


QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {
        "id": "reports",
        "type": "scale",
        "metric": "csat",
        "required": True,
        "texts": texts(
            ("How satisfied are you with the reports?", "Very unsatisfied", "Very satisfied"),
            ("ما مدى رضاك عن التقارير؟", "غير راضٍ إطلاقًا", "راضٍ جدًا"),
        ),
    },
    {
        "id": "mood",
        "type": "smiley",
        "texts": texts(
            ("How do you feel about the app today?",), ("ما شعورك تجاه التطبيق اليوم؟",)
        ),
    },
    {
        "id": "reason",
        "type": "single-choice",
        "required": True,
        "texts": texts(("What should we improve first?",), ("ما الذي يجب أن نحسّنه أولًا؟",)),
        "choices": [
            choice("price", "Price", "السعر"),
            choice("speed", "Speed", "السرعة"),
            choice("support", "Support", "الدعم"),
        ],
        "condition": {"question": "SM_rating", "values": ["detractor", "passive"]},
    },
    {
        "id": "features",
        "type": "multiple-choice",
        "texts": texts(("Which features do you use?",), ("ما الميزات التي تستخدمها؟",)),
        "choices": [
            choice("exports", "Exports", "التصدير"),
            choice("alerts", "Alerts", "التنبيهات"),
            choice("api", "API", "الواجهة البرمجية"),
        ],
    },
    {
        "id": "wish",
        "type": "long-text",
        "texts": texts(("Anything else you wish for?",), ("هل تتمنى شيئًا آخر؟",)),
    },
]

# What a user answers on each question, in English and in Arabic: the names to click.
ENGLISH = {
    "reports": ("How satisfied are you with the reports?", "4"),
    "mood": ("How do you feel about the app today?", "5"),
    "reason": ("What should we improve first?", "Speed"),
    "features": ("Which features do you use?", ("Exports", "API")),
    "wish": ("Anything else you wish for?", "Dark mode, please."),
}
ARABIC = {
    "reports": ("ما مدى رضاك عن التقارير؟", "4"),
    "mood": ("ما شعورك تجاه التطبيق اليوم؟", "5"),
    "reason": ("ما الذي يجب أن نحسّنه أولًا؟", "السرعة"),
    "features": ("ما الميزات التي تستخدمها؟", ("التصدير", "الواجهة البرمجية")),
    "wish": ("هل تتمنى شيئًا آخر؟", "الوضع الداكن من فضلك."),
}
STORED = [
    {"id": "reports", "value": 4},
    {"id": "mood", "value": 5},
    {"id": "reason", "value": "speed"},
    {"id": "features", "value": ["exports", "api"]},
    {"id": "wish", "value": "Dark mode, please."},
]

# The host page keeps what the widget tells it.
EVENTS = """{
  progress: function (e) { (window.progress = window.progress || []).push(e); },
  complete: function (e) { window.completed = e; }
}"""


@pytest.fixture
def survey(nps: Survey) -> Survey:
    nps.questions = QUESTIONS
    nps.save()
    return nps


def show(page: Any, live_server: Any, host_site: Any, survey: Survey, name: str, **extra: Any):
    options = {"writeKey": survey.project.write_key, "userId": name, **extra}
    source = snippet(live_server.url, options).replace(
        f'"userId": "{name}"', f'"userId": "{name}",\n  "events": {EVENTS}'
    )
    page.goto(host_site.add(f"{name}.html", html_page("<h1>Customer app</h1>" + source)))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def accessible(page: Any) -> None:
    """No serious or critical axe-core violation, no ARIA reference to a missing id."""
    found = axe_violations(page) + dangling_idrefs(page)
    assert not found, "\n".join(found)


def answer_by_pointer(page: Any, words: dict[str, Any], shots: str | None = None) -> None:
    """Answers each question after the rating as `words` say, with clicks, through Send;
    each step is checked by axe-core and photographed (`shots`: the file names' start)."""
    steps = [("reports", "radio"), ("mood", "radio"), ("reason", "radio"), ("features", None)]
    for qid, role in steps:
        group = page.get_by_role("group", name=words[qid][0])
        expect(group).to_be_visible()
        if role:
            with page.expect_response(lambda r: r.request.method == "PUT"):
                group.get_by_role("radio", name=words[qid][1]).click()
        else:
            for name in words[qid][1]:
                with page.expect_response(lambda r: r.request.method == "PUT"):
                    group.get_by_role("checkbox", name=name).check()
        accessible(page)
        if shots:
            page.screenshot(path=f"{shots}-{qid}.png")
        page.locator(".sm-ask .sm-send").click()
    page.get_by_role("textbox", name=words["wish"][0]).fill(words["wish"][1])
    accessible(page)
    if shots:
        page.screenshot(path=f"{shots}-wish.png")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.locator(".sm-ask .sm-send").click()


def fits(dialog: Any, viewport: dict[str, int]) -> None:
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5


def stored(settled: Any) -> Response:
    settled()
    return Response.objects.get()


@pytest.mark.parametrize("skin", ["dialog", "panel", "bar"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_five_questions_in_each_skin(
    new_page, live_server, host_site, survey, screenshots, settled, skin, width
) -> None:
    survey.design = {**survey.design, "skin": skin}
    survey.save()
    viewport = DESKTOP if width == "desktop" else PHONE
    page = new_page(viewport)
    dialog = show(page, live_server, host_site, survey, f"questions-{skin}-{width}")

    with page.expect_response(lambda r: r.url.endswith("/api/responses") and r.status == 201):
        page.get_by_role("radio", name="6 out of 10").click()
    # The first question comes with the rating; the button moves on.
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    fits(dialog, viewport)
    answer_by_pointer(page, ENGLISH, shots=str(screenshots / f"questions-{skin}-{width}"))
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    fits(dialog, viewport)
    page.screenshot(path=screenshots / f"questions-{skin}-{width}-thanks.png")

    response = stored(settled)
    assert (response.rating, response.completed) == (6, True)
    assert [{"id": a["id"], "value": a["value"]} for a in response.answers] == STORED
    completed = page.evaluate("window.completed")
    assert completed["campaign"] == str(survey.pk)
    assert [(a["id"], a["value"]) for a in completed["answers"]] == [
        ("SM_rating", 6),
        *((a["id"], a["value"]) for a in STORED),
    ]
    assert completed["answers"][3]["label"] == "What should we improve first?"
    progress = page.evaluate("window.progress")
    # One event for the rating, one per choice made, one at the end with the text.
    assert [len(e["answers"]) for e in progress] == [1, 2, 3, 4, 5, 5, 6]


def test_right_to_left(new_page, live_server, host_site, survey, screenshots, settled) -> None:
    page = new_page(PHONE)
    dialog = show(page, live_server, host_site, survey, "questions-rtl", traits={"language": "ar"})
    expect(dialog).to_have_attribute("dir", "rtl")
    page.get_by_role("radio", name="7 من 10").click()
    expect(page.get_by_role("button", name="متابعة")).to_be_visible()
    group = page.get_by_role("group", name=ARABIC["reports"][0])
    one = group.locator("label").nth(0).bounding_box()
    five = group.locator("label").nth(4).bounding_box()
    assert one["x"] > five["x"]  # the scale runs from the right
    group.get_by_role("radio").first.focus()
    page.keyboard.press("ArrowLeft")  # towards higher values, in this direction
    expect(group.get_by_role("radio", name="2")).to_be_checked()
    answer_by_pointer(page, ARABIC, shots=str(screenshots / "questions-rtl"))
    expect(page.get_by_role("status")).to_contain_text("شكرًا")

    response = stored(settled)
    assert (response.rating, response.completed, response.language) == (7, True, "ar")
    values = {a["id"]: a["value"] for a in response.answers}
    assert values["wish"] == "الوضع الداكن من فضلك."
    assert values["features"] == ["exports", "api"]
    labels = [a["label"] for a in page.evaluate("window.completed")["answers"][1:]]
    assert labels == [words[0] for words in ARABIC.values()]


def test_keyboard_alone_and_a_condition_that_does_not_hold(
    page, live_server, host_site, survey, settled
) -> None:
    """A promoter: the question for detractors and passives is skipped. Arrow keys choose
    within a question, Tab reaches the button, Enter moves on and the focus follows."""
    show(page, live_server, host_site, survey, "questions-keyboard")
    expect(page.get_by_role("radio", name="0 out of 10", exact=True)).to_be_focused()
    page.keyboard.press("End")
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.keyboard.press("Space")

    reports = page.get_by_role("group", name=ENGLISH["reports"][0])
    expect(reports.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("ArrowRight")  # checks 2
    page.keyboard.press("ArrowRight")  # checks 3
    expect(reports.get_by_role("radio", name="3")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    page.keyboard.press("Enter")

    mood = page.get_by_role("group", name=ENGLISH["mood"][0])
    expect(mood.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("Tab")  # not required: moves on unanswered
    page.keyboard.press("Enter")

    features = page.get_by_role("group", name=ENGLISH["features"][0])  # no "reason" for a 10
    expect(features.get_by_role("checkbox", name="Exports")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # API
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    wish = page.get_by_role("textbox", name=ENGLISH["wish"][0])
    expect(wish).to_be_focused()
    expect(page.get_by_role("button", name="Send")).to_be_visible()  # the last question
    page.keyboard.type("Nothing, thanks.")
    page.keyboard.press("Tab")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    response = stored(settled)
    assert (response.rating, response.completed) == (10, True)
    assert {a["id"]: a["value"] for a in response.answers} == {
        "reports": 3,
        "features": ["exports", "api"],
        "wish": "Nothing, thanks.",
    }


def test_a_required_question_holds_the_button(page, live_server, host_site, survey) -> None:
    show(page, live_server, host_site, survey, "questions-required")
    page.get_by_role("radio", name="3 out of 10").click()
    button = page.get_by_role("button", name="Continue")
    expect(button).to_have_attribute("aria-disabled", "true")
    button.click(force=True)  # aria-disabled: Playwright would wait for it otherwise
    reports = page.get_by_role("group", name=ENGLISH["reports"][0])
    expect(reports.get_by_role("radio").first).to_be_focused()  # still here, focus on it
    reports.get_by_role("radio", name="2").click()
    expect(button).to_have_attribute("aria-disabled", "false")


def test_under_a_strict_content_security_policy(
    page, live_server, host_site, survey, settled
) -> None:
    """The questions script comes from the widget's server and styles the survey through an
    adopted stylesheet: a policy that allows the widget allows it, with no violation."""
    console = complaints(page)
    options = {"writeKey": survey.project.write_key, "userId": "questions-csp"}
    page.goto(strict_page(host_site, live_server, "questions-csp.html", options, "nothing-else"))
    page.get_by_role("radio", name="9 out of 10").click()
    reports = page.get_by_role("group", name=ENGLISH["reports"][0])
    reports.get_by_role("radio", name="5").click()
    expect(reports.get_by_text("5", exact=True)).to_have_css("color", "rgb(26, 26, 26)")
    for _ in range(3):  # the smiley, the features (no reason for a 9), the text
        page.get_by_role("button", name="Continue").click()
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    response = stored(settled)
    assert (response.rating, response.completed, response.answers[0]["value"]) == (9, True, 5)
    assert page.evaluate("window.__violations") == []
    assert console == []


def test_a_changed_rating_changes_the_questions_and_clears_an_answer(
    page, live_server, host_site, nps, settled
) -> None:
    """The first question follows the rating while the rating is on screen: a detractor's
    reason, answered, then the rating changed to a promoter's: the reason is cleared and the
    comment asks what a promoter is asked."""
    nps.questions = [QUESTIONS[0], QUESTIONS[3], {"id": "SM_comment", "type": "long-text"}]
    nps.save()
    show(page, live_server, host_site, nps, "questions-change")
    page.get_by_role("radio", name="3 out of 10").click()
    reason = page.get_by_role("group", name=ENGLISH["reason"][0])
    with page.expect_response(lambda r: r.request.method == "PUT"):
        reason.get_by_role("radio", name="Price").click()
    expect(page.get_by_role("button", name="Continue")).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.get_by_role("radio", name="10 out of 10").click()
    expect(reason).to_have_count(0)
    page.get_by_role("textbox", name="What do you like most about us?").fill("The exports.")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()

    response = stored(settled)
    assert (response.rating, response.feedback, response.completed) == (10, "The exports.", True)
    assert response.answers == []  # the answer the new rating hides was cleared (sent as null)
    rating, comment = page.evaluate("window.completed")["answers"]
    assert (rating["id"], rating["value"]) == ("SM_rating", 10)
    assert comment == {
        "id": "SM_comment",
        "label": "What do you like most about us?",
        "value": "The exports.",
    }
