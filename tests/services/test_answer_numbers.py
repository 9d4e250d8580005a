"""The numbers of each question (services/answers.py), computed by the database over the
responses' answers, equal the numbers computed here in Python from the same random answers:
the distribution, the average, the CSAT score (% of 4 and 5) and the CES score (the mean)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satismeter_app import questions
from satismeter_app.models import EndUser, Response
from satismeter_app.services import answers

pytestmark = pytest.mark.django_db

CHOICES = [{"id": c, "texts": {"en": c.title()}} for c in ("price", "speed", "support")]
QUESTIONS = [
    *questions.default_questions(),
    {"id": "csat", "type": "scale", "metric": "csat", "texts": {"en": {"label": "Satisfied?"}}},
    {"id": "ces", "type": "scale", "metric": "ces", "texts": {"en": {"label": "Effort?"}}},
    {"id": "plain", "type": "scale", "texts": {"en": {"label": "Plain"}}},
    {"id": "mood", "type": "smiley", "texts": {"en": {"label": "Mood"}}},
    {"id": "one", "type": "single-choice", "choices": CHOICES},
    {"id": "many", "type": "multiple-choice", "choices": CHOICES},
    {"id": "why", "type": "long-text", "texts": {"en": {"label": "Why?"}}},
]
PARSED = {q.id: q for q in questions.parse(QUESTIONS)}


def value_of(question: questions.Question) -> st.SearchStrategy[Any]:
    if question.values is not None:
        return st.sampled_from(list(question.values))
    ids = [c.id for c in question.choices]
    if question.type == questions.SINGLE_CHOICE:
        return st.sampled_from(ids)
    if question.type == questions.MULTIPLE_CHOICE:
        return st.lists(st.sampled_from(ids), unique=True)
    # PostgreSQL stores no NUL in a jsonb string
    return st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=12
    )


def answer_lists() -> st.SearchStrategy[list[dict[str, Any]]]:
    own = [q for q in PARSED.values() if not q.built_in]
    answer = st.sampled_from(own).flatmap(
        lambda q: value_of(q).map(
            lambda v: {"id": q.id, "label": q.id, "value": v, "type": q.type, "metric": q.metric}
        )
    )
    return st.lists(answer, max_size=7, unique_by=lambda a: a["id"])


def reference(stored: list[list[dict[str, Any]]], question: questions.Question) -> dict:
    """The question's numbers, counted here."""
    values = [a["value"] for row in stored for a in row if a["id"] == question.id]
    values = [v for v in values if v not in ("", [], None)]
    numbers: dict[str, Any] = {"answered": len(values)}
    if question.type == questions.LONG_TEXT:
        return numbers
    spread = [x for v in values for x in (v if isinstance(v, list) else [v])]
    possible = question.values or [c.id for c in question.choices]
    numbers["distribution"] = [{"value": p, "count": spread.count(p)} for p in possible]
    if question.values is not None:
        numbers["average"] = sum(values) / len(values) if values else None
    if question.metric == "csat":
        numbers["csat"] = sum(v >= 4 for v in values) * 100 / len(values) if values else None
    if question.metric == "ces":
        numbers["ces"] = sum(values) / len(values) if values else None
    return numbers


@pytest.fixture
def survey_of_questions(project, make_survey):
    return make_survey(project, name="Seven questions", questions=QUESTIONS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stored=st.lists(answer_lists(), max_size=25))
def test_each_questions_numbers_are_those_counted_in_python(survey_of_questions, stored):
    survey = survey_of_questions
    with transaction.atomic():
        user = EndUser.objects.create(project=survey.project, user_id="u")
        Response.objects.bulk_create(
            Response(project=survey.project, survey=survey, user=user, rating=9, answers=row)
            for row in stored
        )
        found = answers.numbers(Response.objects.filter(survey=survey), [survey], "en")
        transaction.set_rollback(True)
    assert [n.question.id for n in found] == ["csat", "ces", "plain", "mood", "one", "many", "why"]
    for number in found:
        entry = number.as_dict()
        expected = reference(stored, number.question)
        scores = {k: expected.pop(k) for k in ("average", "csat", "ces") if k in expected}
        assert {k: entry[k] for k in expected} == expected, number.question.id
        assert {k: entry[k] for k in scores} == pytest.approx(scores), number.question.id


def test_another_surveys_answers_and_other_ids_are_not_counted(
    project, survey_of_questions, make_survey, make_response
):
    other = make_survey(project, questions=QUESTIONS)
    make_response(survey_of_questions, rating=3, answers=[{"id": "one", "value": "price"}])
    make_response(other, rating=3, answers=[{"id": "one", "value": "speed"}])
    make_response(survey_of_questions, rating=3, answers=[{"id": "unknown", "value": "price"}])
    found = answers.of_project(Response.objects.all(), project.pk, survey_of_questions.pk)
    one = next(n for n in found if n.question.id == "one")
    assert one.answered == 1
    assert one.distribution == [("price", 1), ("speed", 0), ("support", 0)]
    assert one.label == "one"  # no label: its id
    assert one.choice_labels == {"price": "Price", "speed": "Speed", "support": "Support"}


def test_a_filter_by_choice_finds_single_and_multiple_answers(survey_of_questions, make_response):
    single = make_response(survey_of_questions, rating=9, answers=[{"id": "one", "value": "speed"}])
    multiple = make_response(
        survey_of_questions, rating=9, answers=[{"id": "many", "value": ["price", "speed"]}]
    )
    make_response(survey_of_questions, rating=9, answers=[{"id": "many", "value": ["price"]}])
    make_response(survey_of_questions, rating=9, answers=[{"id": "why", "value": "speed"}])
    responses = Response.objects.all()
    assert list(responses.filter(answers.AnswerIncludes("one", "speed"))) == [single]
    assert list(responses.filter(answers.AnswerIncludes("many", "speed"))) == [multiple]
    assert responses.filter(answers.AnswerIncludes("many", "price")).count() == 2
    assert not responses.filter(answers.AnswerIncludes("one", "price")).exists()


def test_the_latest_texts_are_the_newest_non_empty_ones(survey_of_questions, make_response):
    for text in ("first", "", "second", "third"):
        make_response(survey_of_questions, rating=9, answers=[{"id": "why", "value": text}])
    make_response(survey_of_questions, rating=9, answers=[{"id": "one", "value": "price"}])
    texts = answers.latest_texts(Response.objects.all(), "why", limit=2)
    assert [text for _, text in texts] == ["third", "second"]
