"""Answers to a survey's questions through the widget routes: each type checked against the
survey (a 400 naming the question, nothing stored), stored as SatisMeter's answer objects in
the project's default language, saved progressively, and old clients unchanged."""

from typing import Any

import pytest

from satismeter_app.models import Delivery, Integration, Response

pytestmark = pytest.mark.django_db


def choices(*ids: str) -> list[dict[str, Any]]:
    return [{"id": cid, "texts": {"en": cid.title(), "de": f"{cid.title()} (de)"}} for cid in ids]


def label(en: str, de: str) -> dict[str, Any]:
    return {"en": {"label": en}, "de": {"label": de}}


QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {"id": "ease", "type": "scale", "metric": "ces", "texts": label("Easy?", "Einfach?")},
    {"id": "happy", "type": "scale", "metric": "csat", "texts": label("Happy?", "Zufrieden?")},
    {"id": "again", "type": "scale", "metric": "nps", "texts": label("Again?", "Wieder?")},
    {"id": "mood", "type": "smiley", "texts": label("Mood?", "Laune?")},
    {
        "id": "reason",
        "type": "single-choice",
        "texts": label("Improve?", "Verbessern?"),
        "choices": choices("price", "speed"),
    },
    {
        "id": "extras",
        "type": "multiple-choice",
        "texts": label("Extras?", "Extras (de)?"),
        "choices": choices("api", "sso", "csv"),
    },
    {"id": "SM_comment", "type": "long-text"},
    {"id": "story", "type": "long-text", "texts": {"en": {"label": "Tell us more"}}},
]


@pytest.fixture
def long_survey(project, make_survey):
    project.default_language = "de"
    project.save()
    return make_survey(project, name="Five questions", min_tenure_days=0, questions=QUESTIONS)


@pytest.fixture
def integration(project) -> Integration:
    # Segment: the kind that sends all four lifecycle events.
    return Integration.objects.create(project=project, kind=Integration.Kind.SEGMENT)


def start(client, project, survey, **body: Any) -> Any:
    body = {"writeKey": project.write_key, "campaign": str(survey.pk), "userId": "u", **body}
    return client.post("/api/responses", body, format="json")


def put(client, started, **body: Any) -> Any:
    return client.put(
        started["Location"], body, format="json", HTTP_AUTH_TOKEN=started["auth-token"]
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"id": "ease", "value": 8}, "answers[ease]: must be a whole number from 1 to 7"),
        ({"id": "ease", "value": 0}, "answers[ease]: must be a whole number from 1 to 7"),
        ({"id": "happy", "value": 6}, "answers[happy]: must be a whole number from 1 to 5"),
        ({"id": "happy", "value": 4.5}, "answers[happy]: must be a whole number from 1 to 5"),
        ({"id": "again", "value": 11}, "answers[again]: must be a whole number from 0 to 10"),
        ({"id": "again", "value": True}, "answers[again]: must be a whole number from 0 to 10"),
        ({"id": "mood", "value": "3"}, "answers[mood]: must be a whole number from 1 to 5"),
        ({"id": "reason", "value": "cheap"}, "answers[reason]: must be one of price, speed"),
        ({"id": "reason", "value": ["price"]}, "answers[reason]: must be one of price, speed"),
        (
            {"id": "extras", "value": "api"},
            "answers[extras]: must be a list of distinct choices among api, sso, csv",
        ),
        (
            {"id": "extras", "value": ["api", "api"]},
            "answers[extras]: must be a list of distinct choices among api, sso, csv",
        ),
        ({"id": "story", "value": 42}, "answers[story]: must be text"),
        (
            {"id": "story", "value": "x" * 5001},
            "answers[story]: is 5001 characters; the limit is 5000",
        ),
        ({"id": "nope", "value": 1}, "answers[nope]: is not a question of this survey"),
    ],
)
def test_a_wrong_answer_is_refused_naming_the_question(
    api_client, project, long_survey, answer, message
):
    reply = start(
        api_client, project, long_survey, answers=[{"id": "mood", "value": 4}, answer], rating=9
    )

    assert reply.status_code == 400, reply.content
    assert reply.json()["error"] == message
    assert reply.json()["field"] == message.split(":")[0]
    assert not Response.objects.exists()
    assert not Delivery.objects.exists()


def test_every_type_is_stored_as_satismeters_answer_in_the_default_language(
    api_client, project, long_survey
):
    answers = [
        {"id": "story", "value": "Ünïcödé, <b>as typed</b>"},
        {"id": "extras", "value": ["csv", "api"]},
        {"id": "reason", "value": "speed"},
        {"id": "mood", "value": 5},
        {"id": "again", "value": 0},
        {"id": "happy", "value": 1},
        # Whatever label the client sends, the survey's is stored.
        {"id": "ease", "value": 7, "label": "Mine", "type": "smiley"},
        {"id": "SM_rating", "value": 10},
    ]
    reply = start(api_client, project, long_survey, answers=answers)

    assert reply.status_code == 201, reply.content
    response = Response.objects.get()
    assert response.rating == 10
    assert response.answers == [  # in the survey's order; choices in the question's order
        {"id": "ease", "label": "Einfach?", "value": 7, "type": "scale", "metric": "ces"},
        {"id": "happy", "label": "Zufrieden?", "value": 1, "type": "scale", "metric": "csat"},
        {"id": "again", "label": "Wieder?", "value": 0, "type": "scale", "metric": "nps"},
        {"id": "mood", "label": "Laune?", "value": 5, "type": "smiley"},
        {"id": "reason", "label": "Verbessern?", "value": "speed", "type": "single-choice"},
        {
            "id": "extras",
            "label": "Extras (de)?",
            "value": ["api", "csv"],
            "type": "multiple-choice",
        },
        # No German label: the English one.
        {"id": "story", "label": "Tell us more", "value": "Ünïcödé, <b>as typed</b>",
         "type": "long-text"},
    ]  # fmt: skip


def test_answers_saved_one_by_one_complete_when_the_widget_says_so(
    api_client, project, long_survey
):
    started = start(api_client, project, long_survey, answers=[{"id": "SM_rating", "value": 3}])
    steps = [
        {"answers": [{"id": "reason", "value": "price"}]},
        {"answers": [{"id": "extras", "value": ["sso"]}]},
        {"feedback": "Too slow"},  # the comment is not the last question here: not done yet
        {"answers": [{"id": "reason", "value": "speed"}, {"id": "mood", "value": 2}]},
        {"answers": [{"id": "extras", "value": None}]},  # null clears an answer
    ]
    for body in steps:
        saved = put(api_client, started, **body)
        assert (saved.status_code, saved.json()["completed"]) == (200, False), saved.content
    refused = put(api_client, started, answers=[{"id": "mood", "value": 9}], completed=True)
    response = Response.objects.get()
    stored = {a["id"]: a["value"] for a in response.answers}
    assert refused.status_code == 400
    assert (stored, response.completed) == ({"mood": 2, "reason": "speed"}, False)

    done = put(api_client, started, answers=[{"id": "story", "value": "ok"}], completed=True)

    assert done.json() == {"id": str(response.pk), "completed": True}
    response.refresh_from_db()
    assert [a["id"] for a in response.answers] == ["mood", "reason", "story"]
    assert (response.rating, response.feedback) == (3, "Too slow")
    events = list(Delivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == []  # no integration: nothing to tell
    assert put(api_client, started, answers=[{"id": "mood", "value": 1}]).status_code == 409


def test_each_step_writes_its_event_once(api_client, project, long_survey, integration):
    started = start(api_client, project, long_survey, answers=[{"id": "mood", "value": 4}])
    put(api_client, started, rating=8)
    put(api_client, started, feedback="fine")
    put(api_client, started, answers=[{"id": "reason", "value": "price"}], completed=True)

    events = list(Delivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["answered", "completed"]
    completed = Delivery.objects.get(event="completed").payload
    ids = [a["id"] for a in completed["response"]["answers"]]
    assert ids == ["SM_rating", "SM_comment", "mood", "reason"]
    assert completed["choiceLabels"] == {"reason": {"price": "Price (de)", "speed": "Speed (de)"}}


def test_a_survey_without_a_rating_is_answered_by_its_first_answer(
    api_client, project, make_survey, integration
):
    survey = make_survey(project, min_tenure_days=0, questions=QUESTIONS[4:6])
    started = start(api_client, project, survey, answers=[{"id": "mood", "value": 1}])
    response = Response.objects.get()
    assert (response.pending, response.completed) == (False, False)

    put(api_client, started, answers=[{"id": "reason", "value": "speed"}], completed=True)

    response.refresh_from_db()
    assert response.completed
    events = list(Delivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["answered", "completed"]
    again = start(api_client, project, survey, answers=[{"id": "mood", "value": 5}])
    assert again.json()["error"] == "Duplicate response"  # the answer counts for resurveying


def test_old_clients_rating_then_comment_work_as_before(api_client, project, survey):
    started = start(api_client, project, survey, rating=6)
    assert Response.objects.get().completed is False

    put(api_client, started, feedback="Slow exports")

    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (6, "Slow exports", True)
    assert response.answers == []


def test_a_default_survey_refuses_answers_it_does_not_ask(api_client, project, survey):
    reply = start(api_client, project, survey, rating=9, answers=[{"id": "q2", "value": "x"}])

    assert reply.status_code == 400
    assert reply.json()["error"] == "answers[q2]: is not a question of this survey"
    assert not Response.objects.exists()
