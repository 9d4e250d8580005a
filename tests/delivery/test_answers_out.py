"""The answers of a survey of several questions, out through the real loopback stand-ins for
Segment, Slack and a webhook receiver: SatisMeter's answer objects in every payload, a trait
per metric question, and Slack's message readable (choices by their text)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from satismeter_app import outbox
from satismeter_app.destinations.segment import MAX_MESSAGE_BYTES, message_size
from satismeter_app.models import Delivery, Integration, Project, Survey
from satismeter_app.services import responses
from satismeter_app.services.snapshots import project_config
from tests.delivery.harness import SegmentSink, Sink

pytestmark = pytest.mark.django_db

WRITE_KEY = "sk_test_answers_0123456789abcdef"
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {"id": "ease", "type": "scale", "metric": "ces", "texts": {"en": {"label": "How easy?"}}},
    {"id": "happy", "type": "scale", "metric": "csat", "texts": {"en": {"label": "Happy?"}}},
    {"id": "mood", "type": "smiley", "texts": {"en": {"label": "Your mood"}}},
    {
        "id": "reason",
        "type": "single-choice",
        "texts": {"en": {"label": "What should we improve?"}},
        "choices": [
            {"id": "price", "texts": {"en": "The price"}},
            {"id": "speed", "texts": {"en": "Speed & <uptime>"}},
        ],
    },
    {
        "id": "extras",
        "type": "multiple-choice",
        "texts": {"en": {"label": "Which extras?"}},
        "choices": [
            {"id": "api", "texts": {"en": "An API"}},
            {"id": "sso", "texts": {"en": "Single sign-on"}},
            {"id": "csv", "texts": {"en": "CSV files"}},
        ],
    },
    {"id": "SM_comment", "type": "long-text"},
    {"id": "story", "type": "long-text", "texts": {"en": {"label": "Anything else?"}}},
]
ANSWERS = [
    {"id": "ease", "value": 6},
    {"id": "happy", "value": 4},
    {"id": "mood", "value": 2},
    {"id": "reason", "value": "speed"},
    {"id": "extras", "value": ["csv", "api"]},
    {"id": "story", "value": "<!channel> call me"},
]


@pytest.fixture
def long_survey(project: Project, make_survey: Callable[..., Survey]) -> Survey:
    return make_survey(project, name="Onboarding", min_tenure_days=0, questions=QUESTIONS)


@pytest.fixture
def answer(
    project: Project, long_survey: Survey, make_end_user: Callable[..., Any]
) -> Callable[..., Any]:
    """The widget's way: the rating first, then the other answers, then completed."""

    def make(rating: int, answers: list[dict[str, Any]], feedback: str = "") -> Any:
        config = project_config(project.write_key)
        user = make_end_user(project, user_id="cust-7", name="Ann")
        first = responses.ResponseInput(rating=rating)
        response, token = responses.start_response(
            config, user, long_survey.pk, first, now=timezone.now()
        )
        rest = responses.ResponseInput(answers=answers, feedback=feedback, completed=True)
        return responses.update_response(response.pk, token, rest, now=timezone.now())

    return make


@pytest.fixture
def segment_sink() -> Iterator[SegmentSink]:
    sink = SegmentSink(WRITE_KEY).start()
    yield sink
    sink.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    yield server
    server.stop()


def integration(project: Project, kind: str, secret: str, **settings: Any) -> Integration:
    return Integration.objects.create(project=project, kind=kind, secret=secret, settings=settings)


STORED = [
    {"id": "SM_rating", "label": "Rating", "value": 3, "type": "scale", "metric": "nps"},
    {"id": "SM_comment", "label": "Feedback", "value": "Too slow", "type": "long-text"},
    {"id": "ease", "label": "How easy?", "value": 6, "type": "scale", "metric": "ces"},
    {"id": "happy", "label": "Happy?", "value": 4, "type": "scale", "metric": "csat"},
    {"id": "mood", "label": "Your mood", "value": 2, "type": "smiley"},
    {"id": "reason", "label": "What should we improve?", "value": "speed",
     "type": "single-choice"},
    {"id": "extras", "label": "Which extras?", "value": ["api", "csv"],
     "type": "multiple-choice"},
    {"id": "story", "label": "Anything else?", "value": "<!channel> call me",
     "type": "long-text"},
]  # fmt: skip


def test_segment_events_carry_the_answers_and_a_trait_per_metric(
    project: Project, segment_sink: SegmentSink, answer: Callable[..., Any]
) -> None:
    integration(project, "segment", WRITE_KEY, host=segment_sink.url)
    answer(3, ANSWERS, feedback="Too slow")

    outbox.send_all_due()

    assert segment_sink.problems == []
    answered, identify, completed = segment_sink.messages
    assert answered["event"] == "Answered NPS Survey"
    assert answered["properties"]["answers"] == STORED[:1]  # what was answered then
    assert completed["event"] == "Completed NPS Survey"
    assert completed["properties"]["answers"] == STORED
    traits = identify["traits"]
    assert {k: v for k, v in traits.items() if k != "NPS_date"} == {
        "NPS_rating": 3,
        "NPS_comment": "Too slow",
        "CSAT_rating": 4,
        "CES_rating": 6,
    }


def test_a_metric_trait_is_left_out_when_its_question_was_not_answered(
    project: Project, segment_sink: SegmentSink, answer: Callable[..., Any]
) -> None:
    integration(project, "segment", WRITE_KEY, host=segment_sink.url)
    answer(9, [{"id": "reason", "value": "price"}])

    outbox.send_all_due()

    (identify,) = [m for m in segment_sink.messages if m["type"] == "identify"]
    assert set(identify["traits"]) == {"NPS_rating", "NPS_comment", "NPS_date"}


def test_long_texts_are_shortened_until_the_message_fits_32_kb(
    project: Project, segment_sink: SegmentSink, answer: Callable[..., Any]
) -> None:
    integration(project, "segment", WRITE_KEY, host=segment_sink.url)
    emoji = "🎉" * 5000  # 12 bytes each once the client escapes it: 60 KB a text
    answer(10, [{"id": "story", "value": emoji}], feedback=emoji)

    outbox.send_all_due()

    assert segment_sink.problems == []
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    completed = segment_sink.messages[-1]
    assert all(message_size(m) <= MAX_MESSAGE_BYTES for m in segment_sink.messages)
    story = completed["properties"]["answers"][-1]["value"]
    comment = completed["properties"]["comment"]
    assert story.endswith("…") and comment.endswith("…")
    assert 500 < len(story) < 5000  # shortened, not dropped


def test_slack_lists_the_other_answers_readably(
    project: Project, sink: Sink, answer: Callable[..., Any]
) -> None:
    integration(project, "slack", f"{sink.url}/services/T0/B0/tok")
    answer(3, ANSWERS, feedback="Too slow")

    outbox.send_all_due()

    (request,) = sink.received
    sections = [b["text"]["text"] for b in request.json()["blocks"] if "text" in b][1:]
    assert sections == [
        ">Too slow",
        "*How easy?*\n6",
        "*Happy?*\n4",
        "*Your mood*\n2",
        "*What should we improve?*\nSpeed &amp; &lt;uptime&gt;",
        "*Which extras?*\nAn API, CSV files",
        "*Anything else?*\n>&lt;!channel&gt; call me",  # typed text never notifies
    ]


def test_webhooks_carry_satismeters_answer_objects(
    project: Project, sink: Sink, answer: Callable[..., Any]
) -> None:
    integration(project, "webhook", "whsec_abc", url=f"{sink.url}/hook")
    answer(3, ANSWERS, feedback="Too slow")

    outbox.send_all_due()

    (request,) = sink.received
    body = json.loads(request.body)
    assert set(body) == {"event", "response", "traits", "campaign"}
    assert body["event"] == "completed"
    assert body["response"]["answers"] == STORED


def test_slack_titles_a_response_to_a_survey_without_rating_plainly(
    project: Project, sink: Sink, make_survey: Callable[..., Survey], make_end_user: Any
) -> None:
    integration(project, "slack", f"{sink.url}/services/T0/B0/tok")
    survey = make_survey(project, min_tenure_days=0, questions=QUESTIONS[4:6])
    data = responses.ResponseInput(answers=[{"id": "reason", "value": "price"}], completed=True)
    config = project_config(project.write_key)
    responses.start_response(config, make_end_user(project), survey.pk, data, now=timezone.now())

    outbox.send_all_due()

    (request,) = sink.received
    blocks = request.json()["blocks"]
    assert blocks[0]["text"]["text"] == "New response"
    assert blocks[3]["text"]["text"] == "*What should we improve?*\nThe price"
