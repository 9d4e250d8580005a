"""The survey's questions in the survey form, as a browser without JavaScript posts them: rows
stored in the shape of satismeter_app.questions, texts per language through the hidden
inputs, built-in questions kept, a refused question named and marked in the staff member's
language with nothing saved, and the preview holding the unsaved questions for the widget."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from satismeter_app.models import Project, Survey
from satismeter_app.services import decisions
from satismeter_app.services.snapshots import project_config

from .test_survey_form import change_url, posted, preview_options

REASON = {
    "id": "reason",
    "type": "single-choice",
    "required": False,
    "texts": {"en": {"label": "What should we improve?"}, "de": {"label": "Was verbessern?"}},
    "choices": [
        {"id": "price", "texts": {"en": "Price", "de": "Preis"}},
        {"id": "speed", "texts": {"en": "Speed", "de": "Tempo"}},
    ],
    "condition": {"question": "SM_rating", "values": ["detractor", "passive"]},
}
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    REASON,
    {"id": "SM_comment", "type": "long-text", "required": False},
]


@pytest.fixture
def staff_client(client: Client, make_staff: Callable[..., Any], project: Project) -> Client:
    client.force_login(make_staff(project))
    return client


@pytest.fixture
def asking(project: Project, make_survey: Callable[..., Survey]) -> Survey:
    return make_survey(project, name="Asking", questions=json.loads(json.dumps(QUESTIONS)))


def errors_of(response: Any) -> list[str]:
    found = re.findall(r'class="errorlist[^"]*"[^>]*><li>(.*?)</li>', response.content.decode())
    return [html.unescape(error) for error in found]


def test_saving_unchanged_keeps_every_question_and_language(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()

    response = staff_client.post(change_url(asking), posted(page, _continue="1"))

    assert response.status_code == 302, errors_of(response)
    asking.refresh_from_db()
    assert asking.questions == QUESTIONS


def test_the_built_in_questions_cannot_be_removed_or_retyped(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    page = re.sub(r"<template.*?</template>", "", page, flags=re.S)  # the rows to add

    assert page.count('class="sm-q-button sm-remove-row sm-remove-question"') == 1  # reason only
    assert '<input type="hidden" name="questions-0-type" value="scale"' in page
    assert 'name="questions-1-id" value="reason" class="sm-q-id" maxlength="50"' in page
    assert re.search(r'name="questions-1-id"[^>]*readonly', page)  # saved answers use it
    assert 'value="detractor, passive" class="sm-q-values"' in page
    assert 'name="questions-2-values" value="" class="sm-q-values"' in page
    assert page.count('placeholder="e.g. detractor, passive"') == 1  # reason's, on SM_rating


def test_rows_posted_in_a_new_order_with_a_new_question_are_stored(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    data = posted(page, _continue="1")
    rows = {k: data.pop(k) for k in list(data) if k.startswith("questions-")}
    new = {
        "questions-7-id": "effort",
        "questions-7-type": "scale",
        "questions-7-metric": "ces",
        "questions-7-required": "1",
        "questions-7-label": "How easy was it?",
        "questions-7-low": "Hard",
        "questions-7-high": "Easy",
        "questions-7-others": json.dumps({"de": {"label": "Wie einfach?"}}),
        "questions-7-condition": "",
        "questions-7-values": "",
    }
    # The page posts rows in the order they are on screen: the comment first now.
    ordered = {k: v for k, v in rows.items() if k.startswith(("questions-language",))}
    for index in (2, 0, 1):
        ordered.update({k: v for k, v in rows.items() if k.startswith(f"questions-{index}-")})
    ordered.update(new)

    response = staff_client.post(change_url(asking), {**data, **ordered})

    assert response.status_code == 302, errors_of(response)
    asking.refresh_from_db()
    assert [q["id"] for q in asking.questions] == ["SM_comment", "SM_rating", "reason", "effort"]
    assert asking.questions[3] == {
        "id": "effort",
        "type": "scale",
        "metric": "ces",
        "required": True,
        "texts": {
            "de": {"label": "Wie einfach?"},
            "en": {"label": "How easy was it?", "low": "Hard", "high": "Easy"},
        },
    }
    assert asking.questions[2] == REASON


def test_the_texts_are_those_of_the_language_on_screen_and_the_hidden_inputs(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    changes = {
        "questions-language": "de",
        "questions-1-label": "Was sollen wir verbessern?",
        "questions-1-others": json.dumps({"en": {"label": "What to improve?"}}),
        "questions-1-choice-0-text": "Kosten",
        "questions-1-choice-0-others": json.dumps({"en": "Cost", "fr": "Prix"}),
        "questions-1-choice-1-text": "",
        "questions-1-choice-1-others": json.dumps({"en": "Speed"}),
    }

    response = staff_client.post(change_url(asking), posted(page, _continue="1", **changes))

    assert response.status_code == 302, errors_of(response)
    asking.refresh_from_db()
    reason = asking.questions[1]
    assert reason["texts"] == {
        "en": {"label": "What to improve?"},
        "de": {"label": "Was sollen wir verbessern?"},
    }
    assert reason["choices"] == [
        {"id": "price", "texts": {"en": "Cost", "fr": "Prix", "de": "Kosten"}},
        {"id": "speed", "texts": {"en": "Speed"}},
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"questions-1-condition": "SM_comment"},
            "Question 2 (reason): its condition must name an earlier question.",
        ),
        (
            {"questions-1-values": "detractor, grumpy"},
            "Question 2 (reason): 'grumpy' is not an answer of 'SM_rating'",
        ),
        ({"questions-1-values": ""}, "Question 2 (reason): give the answers that show it."),
        (
            {"questions-1-choice-1-id": "price"},
            "Question 2 (reason): the choice 'price' is listed twice.",
        ),
        (
            {"questions-2-id": "reason", "questions-2-type": "long-text"},
            "Question 3 (reason): the id 'reason' is used twice.",
        ),
    ],
)
def test_a_refused_question_is_named_and_marked_and_nothing_is_saved(
    staff_client: Client, asking: Survey, changes: dict[str, str], expected: str
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()

    response = staff_client.post(change_url(asking), posted(page, _continue="1", **changes))

    assert response.status_code == 200
    assert any(error.startswith(expected) for error in errors_of(response)), errors_of(response)
    page = response.content.decode()
    marked = re.findall(
        r'<div class="sm-question sm-row-error"[^>]*aria-label="Question (\d+)"', page
    )
    assert marked == [expected.split()[1]]
    asking.refresh_from_db()
    assert asking.questions == QUESTIONS


def test_the_error_is_in_the_staff_members_language(staff_client: Client, asking: Survey) -> None:
    page = staff_client.get(change_url(asking)).content.decode()

    response = staff_client.post(
        change_url(asking),
        posted(page, _continue="1", **{"questions-1-values": ""}),
        HTTP_ACCEPT_LANGUAGE="de",
    )

    assert "Frage 2 (reason): Geben Sie die Antworten an, bei denen sie gezeigt wird." in (
        errors_of(response)
    )


def test_a_new_survey_starts_with_the_rating_and_the_comment(
    staff_client: Client, project: Project
) -> None:
    page = staff_client.get(reverse("admin:satismeter_app_survey_add")).content.decode()
    data = posted(page, project=str(project.pk), name="New", _save="1")

    response = staff_client.post(reverse("admin:satismeter_app_survey_add"), data)

    assert response.status_code == 302, errors_of(response)
    survey = Survey.objects.get(name="New")
    assert [q["id"] for q in survey.questions] == ["SM_rating", "SM_comment"]


def test_a_page_without_the_questions_keeps_the_saved_ones(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    data = {k: v for k, v in posted(page, _continue="1").items() if not k.startswith("questions")}

    response = staff_client.post(change_url(asking), data)

    assert response.status_code == 302, errors_of(response)
    asking.refresh_from_db()
    assert asking.questions == QUESTIONS


def test_the_preview_holds_the_unsaved_questions_for_the_widgets_call(
    staff_client: Client, asking: Survey
) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    url = reverse("admin:satismeter_app_survey_preview", args=[asking.pk])
    edits = {"questions-1-label": "Anything to fix?", "questions-1-choice-1-id": "support"}

    preview = staff_client.post(url, posted(page, language="en", **edits)).content.decode()

    options = preview_options(preview)
    campaign = options["previewCampaign"]
    assert campaign.startswith(f"{asking.pk}:")
    config = project_config(asking.project.write_key)
    assert config is not None
    draft = decisions.preview_survey(config, campaign)
    assert draft is not None
    reason = draft.questions[1]
    assert reason.text("label", "en") == "Anything to fix?"
    assert [c.id for c in reason.choices] == ["price", "support"]
    # The widget's call with these options (the design stays in the page) shows the survey.
    call = {key: value for key, value in options.items() if key != "design"}
    answer = staff_client.post(
        "/api/widget", json.dumps(call), content_type="application/json"
    ).json()
    assert answer["widget"]["visible"] and answer["widget"]["campaign"] == str(asking.pk)
    assert decisions.preview_survey(config, str(asking.pk)).questions[1].choices[1].id == "speed"
    asking.refresh_from_db()
    assert asking.questions == QUESTIONS


def test_refused_questions_are_not_previewed(staff_client: Client, asking: Survey) -> None:
    page = staff_client.get(change_url(asking)).content.decode()
    url = reverse("admin:satismeter_app_survey_preview", args=[asking.pk])

    refused = posted(page, **{"questions-1-values": "x"})
    preview = staff_client.post(url, refused).content.decode()

    assert "Not previewed until fixed: Questions" in preview
    assert preview_options(preview)["previewCampaign"] == str(asking.pk)
