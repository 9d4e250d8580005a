"""Statistics per question: v3's campaign statistics carry ``questions``; v2's only with
``extended=1`` (its documented attributes stay exact otherwise)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

CHOICES = [
    {"id": "price", "texts": {"en": "Price", "fr": "Prix"}},
    {"id": "speed", "texts": {"en": "Speed", "fr": "Vitesse"}},
]
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {
        "id": "sat",
        "type": "scale",
        "metric": "csat",
        "texts": {"en": {"label": "How satisfied?"}, "fr": {"label": "Satisfait ?"}},
    },
    {"id": "effort", "type": "scale", "metric": "ces", "texts": {"en": {"label": "Effort"}}},
    {"id": "improve", "type": "multiple-choice", "choices": CHOICES},
    {"id": "why", "type": "long-text", "texts": {"en": {"label": "Why?"}}},
]


def stored(question: str, value, kind: str, metric: str | None = None) -> dict:
    answer = {"id": question, "label": question, "value": value, "type": kind}
    return {**answer, "metric": metric} if metric else answer


@pytest.fixture
def multi(project, make_survey, make_response):
    project.default_language = "fr"
    project.save()
    survey = make_survey(project, name="Several", questions=QUESTIONS)
    rows = [
        (5, 2, ["price", "speed"], "Great"),
        (4, 6, ["price"], ""),
        (2, 7, [], "Too slow"),
    ]
    for sat, effort, improve, why in rows:
        answers = [
            stored("sat", sat, "scale", "csat"),
            stored("effort", effort, "scale", "ces"),
            stored("improve", improve, "multiple-choice"),
            stored("why", why, "long-text"),
        ]
        make_response(survey, rating=9, answers=answers)
    old = timezone.now() - timedelta(days=40)
    make_response(survey, rating=1, created=old, answers=[stored("sat", 1, "scale", "csat")])
    return survey


def by_id(questions: list[dict]) -> dict[str, dict]:
    return {q["id"]: q for q in questions}


def test_the_campaign_statistics_give_each_questions_numbers(api_client, project, key, multi):
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    url = f"/api/v3/projects/{project.pk}/campaigns/{multi.pk}/statistics?startDate={since}"
    reply = api_client.get(url, **auth_headers("bearer", key))
    assert reply.status_code == 200, reply.content
    questions = by_id(reply.json()["data"]["attributes"]["questions"])
    assert list(questions) == ["sat", "effort", "improve", "why"]  # no SM_rating: it has its own
    sat = questions["sat"]
    assert (sat["label"], sat["answered"], sat["csat"]) == (
        "Satisfait ?",
        3,
        pytest.approx(200 / 3),
    )
    assert sat["average"] == pytest.approx(11 / 3)
    assert [d["count"] for d in sat["distribution"]] == [0, 1, 0, 1, 1]
    assert questions["effort"]["ces"] == pytest.approx(5.0)
    assert questions["improve"]["answered"] == 2  # an empty choice list is no answer
    assert questions["improve"]["distribution"] == [
        {"value": "price", "count": 2},
        {"value": "speed", "count": 1},
    ]
    assert questions["why"] == {
        "campaign": str(multi.pk),
        "id": "why",
        "label": "Why?",  # no French label: English
        "type": "long-text",
        "metric": None,
        "answered": 2,
    }


def test_v2_carries_the_questions_only_when_extended(api_client, key, multi):
    headers = auth_headers("basic", key)
    plain = api_client.get("/api/v2/response-statistics", **headers).json()
    assert "questions" not in plain["data"][0]["attributes"]
    reply = api_client.get("/api/v2/response-statistics?extended=1", **headers)
    questions = by_id(reply.json()["data"][0]["attributes"]["questions"])
    assert questions["sat"]["answered"] == 4  # no window: the old response too
    assert questions["sat"]["campaign"] == str(multi.pk)
    bad = api_client.get("/api/v2/response-statistics?extended=maybe", **headers)
    assert bad.status_code == 400 and bad.json()["field"] == "extended"


def test_a_survey_of_the_default_questions_has_none(
    api_client, project, key, survey, make_response
):
    make_response(survey, rating=10, feedback="Nice")
    url = f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/statistics"
    attributes = api_client.get(url, **auth_headers("bearer", key)).json()["data"]["attributes"]
    assert attributes["questions"] == [] and attributes["responses"] == 1
