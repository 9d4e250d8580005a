"""The management API reads and writes a survey's questions, checked as the survey form checks
them: a 400 naming the question, nothing saved."""

import pytest
from rest_framework.authtoken.models import Token

from satismeter_app.models import Survey

pytestmark = pytest.mark.django_db

REASON = {
    "id": "reason",
    "type": "multiple-choice",
    "required": False,
    "texts": {"en": {"label": "What should we improve?"}, "fr": {"label": "Quoi améliorer ?"}},
    "choices": [
        {"id": "price", "texts": {"en": "Price", "fr": "Prix"}},
        {"id": "speed", "texts": {"en": "Speed"}},
    ],
    "condition": {"question": "SM_rating", "values": ["detractor"]},
}


@pytest.fixture
def token(make_staff, project) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=make_staff(project)).key}"}


def test_a_new_survey_asks_the_rating_then_the_comment(api_client, project, token):
    body = {"project": project.pk, "name": "Plain"}

    reply = api_client.post("/api/manage/surveys", body, format="json", **token)

    assert reply.status_code == 201, reply.content
    assert [q["id"] for q in reply.json()["questions"]] == ["SM_rating", "SM_comment"]


def test_questions_are_written_and_read_back(api_client, project, token, make_survey):
    survey = make_survey(project)
    questions = [survey.questions[0], REASON, survey.questions[1]]
    url = f"/api/manage/surveys/{survey.pk}"

    reply = api_client.patch(url, {"questions": questions}, format="json", **token)

    assert reply.status_code == 200, reply.content
    survey.refresh_from_db()
    assert survey.questions == questions
    assert api_client.get(url, **token).json()["questions"] == questions


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"choices": REASON["choices"][:1]}, "Question 'reason': give 2 to 30 choices."),
        ({"texts": {"xx": {"label": "?"}}}, "Question 'reason': unknown language 'xx'."),
        (
            {"condition": {"question": "SM_comment", "values": ["a"]}},
            "Question 'reason': its condition must name an earlier question.",
        ),
    ],
)
def test_a_wrong_question_is_a_400_naming_it(
    api_client, project, token, make_survey, change, named
):
    survey = make_survey(project)
    before = survey.questions
    questions = [survey.questions[0], {**REASON, **change}, survey.questions[1]]

    reply = api_client.patch(
        f"/api/manage/surveys/{survey.pk}", {"questions": questions}, format="json", **token
    )

    assert reply.status_code == 400
    assert reply.json()["questions"] == [named]
    assert Survey.objects.get(pk=survey.pk).questions == before
