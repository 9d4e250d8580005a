"""The exports of a survey of several questions: the JSON carries every answer in SatisMeter's
shape after the rating and the comment; the CSV keeps its columns and adds one per question,
headed by its label in the project's default language (docs/rest-api.md)."""

import csv
import io
import json

import pytest

from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

CHOICES = [{"id": "price", "texts": {"en": "Price"}}, {"id": "speed", "texts": {"en": "Speed"}}]
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {"id": "SM_comment", "type": "long-text"},
    {"id": "mood", "type": "smiley", "texts": {"en": {"label": "Mood"}, "de": {"label": "Laune"}}},
    {"id": "reason", "type": "single-choice", "choices": CHOICES},
    {
        "id": "improve",
        "type": "multiple-choice",
        "choices": CHOICES,
        "texts": {"en": {"label": "Mood"}},
    },
    {"id": "why", "type": "long-text", "texts": {"en": {"label": "Why, tell us"}}},
]
ANSWERS = [
    {"id": "mood", "label": "Mood", "value": 4, "type": "smiley"},
    {"id": "reason", "label": "reason", "value": "speed", "type": "single-choice"},
    {"id": "improve", "label": "Mood", "value": ["price", "speed"], "type": "multiple-choice"},
    {"id": "why", "label": "Why, tell us", "value": '=cmd "x"', "type": "long-text"},
]


@pytest.fixture
def answered(project, make_survey, make_response, make_end_user):
    survey = make_survey(project, name="Several", questions=QUESTIONS)
    user = make_end_user(project, user_id="u1")
    make_response(survey, user=user, rating=8, feedback="Good", answers=ANSWERS)
    make_response(survey, user=user, rating=3, answers=[ANSWERS[1]])
    return survey


def export(api_client, key, fmt: str, **params) -> bytes:
    reply = api_client.get(
        "/api/responses", {"format": fmt, **params}, **auth_headers("bearer", key)
    )
    assert reply.status_code == 200, reply
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


def test_the_json_export_carries_every_answer(api_client, key, answered):
    first = json.loads(export(api_client, key, "json"))["responses"][0]
    assert first["answers"] == [
        {"id": "SM_rating", "label": "Rating", "value": 8, "type": "scale", "metric": "nps"},
        {"id": "SM_comment", "label": "Feedback", "value": "Good", "type": "long-text"},
        *ANSWERS,
    ]


def test_the_csv_export_has_a_column_per_question(api_client, key, answered, make_survey):
    make_survey(answered.project)  # a survey of the default questions adds no column
    rows = list(csv.reader(io.StringIO(export(api_client, key, "csv").decode())))
    assert rows[0][:3] == ["id", "created", "project"]
    assert rows[0][-6:] == [
        "answers",
        "traits",
        "Mood (mood)",
        "reason",
        "Mood (improve)",
        "Why, tell us",
    ]
    assert rows[1][-4:] == ["4", "speed", "price;speed", '\'=cmd "x"']
    assert rows[2][-4:] == ["", "speed", "", ""]
    assert json.loads(rows[1][rows[0].index("answers")]) == ANSWERS  # the answers cell as before


def test_the_headers_are_in_the_projects_default_language(api_client, key, answered):
    answered.project.default_language = "de"
    answered.project.save()
    header = export(api_client, key, "csv", **{"page[size]": "1"}).decode().splitlines()[0]
    assert header.endswith(',traits,Laune,reason,Mood,"Why, tell us"')
    extended = export(api_client, key, "csv", extended="1").decode().splitlines()[0]
    assert ",userId,anonymousId," in extended and extended.endswith(',Mood,"Why, tell us"')
