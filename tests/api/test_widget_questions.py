"""The widget call's survey carries its questions, their texts in the widget's language, and,
when it asks more than a rating and a comment, the script that asks them."""

import gzip
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from satismeter_app.models import EndUser, Survey
from satismeter_app.services import decisions, snapshots
from satismeter_app.views import questions_script

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {
        "id": "reason",
        "type": "single-choice",
        "required": True,
        "texts": {"en": {"label": "What should we improve?"}, "de": {"label": "Was verbessern?"}},
        "choices": [
            {"id": "price", "texts": {"en": "Price", "de": "Preis"}},
            {"id": "speed", "texts": {"en": "Speed"}},
        ],
        "condition": {"question": "SM_rating", "values": ["detractor", "passive"]},
    },
    {
        "id": "ease",
        "type": "scale",
        "metric": "ces",
        "texts": {"en": {"label": "How easy was it?", "low": "Hard", "high": "Easy"}},
    },
    {"id": "mood", "type": "smiley"},
    {"id": "SM_comment", "type": "long-text"},
]


def shown(client: Any, project: Any, **body: Any) -> dict[str, Any]:
    reply = client.post(
        "/api/widget", {"writeKey": project.write_key, "userId": "u", **body}, format="json"
    )
    assert reply.status_code == 200, reply.content
    return reply.json()["widget"]["survey"]


def test_the_default_questions_are_the_rating_and_comment_as_shown_today(
    api_client, project, survey
) -> None:
    body = shown(api_client, project)

    rating, comment = body["questions"]
    strings = body["translation"]
    assert rating == {
        "id": "SM_rating",
        "type": "scale",
        "metric": "nps",
        "required": True,
        "label": strings["HOW_LIKELY"],
        "low": strings["UNLIKELY"],
        "high": strings["LIKELY"],
        "min": 0,
        "max": 10,
        "choices": [],
        "condition": None,
    }
    assert (comment["id"], comment["type"], comment["label"]) == (
        "SM_comment",
        "long-text",
        strings["FOLLOWUP"],
    )
    assert "script" not in body  # the widget asks these two itself


def test_other_questions_in_the_widget_language_with_the_script(
    api_client, project, make_survey
) -> None:
    make_survey(project, min_tenure_days=0, questions=QUESTIONS, texts={"de": {"SUBMIT": "Los"}})
    body = shown(api_client, project, traits={"language": "de-AT"})

    assert body["language"] == "de"
    by_id = {q["id"]: q for q in body["questions"]}
    assert list(by_id) == ["SM_rating", "reason", "ease", "mood", "SM_comment"]
    reason = by_id["reason"]
    assert reason["label"] == "Was verbessern?"
    # A choice without German text falls back to the project's language, then English.
    assert reason["choices"] == [
        {"id": "price", "label": "Preis"},
        {"id": "speed", "label": "Speed"},
    ]
    assert reason["condition"] == {"question": "SM_rating", "values": ["detractor", "passive"]}
    assert reason["required"] is True
    ease = by_id["ease"]
    assert (ease["label"], ease["low"], ease["high"], ease["min"], ease["max"]) == (
        "How easy was it?",
        "Hard",
        "Easy",
        1,
        7,
    )
    assert (by_id["mood"]["min"], by_id["mood"]["max"], by_id["mood"]["label"]) == (1, 5, "")
    assert body["script"] == f"/js/questions?v={questions_script().version}"


def test_a_survey_of_a_rating_alone_loads_the_script_too(api_client, project, make_survey) -> None:
    """Without the comment the widget itself would ask it: the script asks the rating only."""
    make_survey(project, min_tenure_days=0, questions=QUESTIONS[:1])
    body = shown(api_client, project)
    assert [q["id"] for q in body["questions"]] == ["SM_rating"]
    assert "script" in body


def test_a_staff_preview_carries_the_questions(
    api_client, project, make_survey, make_staff
) -> None:
    draft = make_survey(project, state=Survey.State.DRAFT, questions=QUESTIONS)
    api_client.force_login(make_staff(project))
    body = shown(api_client, project, previewCampaign=str(draft.pk))
    assert [q["id"] for q in body["questions"]][1] == "reason"
    assert "script" in body


def test_the_questions_script_is_served_like_the_widget(client: Client) -> None:
    script = questions_script()
    versioned = client.get(f"/js/questions?v={script.version}", HTTP_ACCEPT_ENCODING="gzip")

    assert versioned.status_code == 200
    assert versioned["Content-Type"] == "application/javascript; charset=utf-8"
    assert versioned["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned["Access-Control-Allow-Origin"] == "*"
    assert gzip.decompress(versioned.content) == script.body
    assert b"satismeter.ask" in script.body
    plain = client.get("/js/questions", HTTP_IF_NONE_MATCH=f'"{script.version}"')
    assert plain.status_code == 304
    assert client.get("/js/questions?v=old")["Cache-Control"] == "public, max-age=300"


def test_the_questions_script_builds_the_page_without_html_strings() -> None:
    """Question texts and choices are the survey's: the DOM is built with textContent only."""
    text = questions_script().body.decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text
    assert "node.textContent = text" in text


def test_a_configuration_without_questions_asks_the_default_ones(project, survey) -> None:
    """A SurveyConfig built without questions (the dataclass's default) is not a survey of
    the rating alone: the widget asks the rating and the comment itself."""
    config = replace(snapshots.survey_config(survey), questions=())
    user = EndUser.objects.create(project=project, user_id="u")

    body = decisions.survey_for_widget(snapshots.project_config(project.write_key), config, user)

    assert [q["id"] for q in body["questions"]] == ["SM_rating", "SM_comment"]
    assert not decisions.asks_more(config)
