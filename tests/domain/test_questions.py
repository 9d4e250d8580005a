"""A survey's questions: the stored list's validation, each type's answers, conditions, and
the migration that gave every older survey its rating and comment."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from satismeter_app import questions
from satismeter_app.questions import check_answer, is_shown, missing_required, parse

REASON = {
    "id": "reason",
    "type": "multiple-choice",
    "texts": {"en": {"label": "What should we improve?"}, "fr": {"label": "Quoi améliorer ?"}},
    "choices": [
        {"id": "price", "texts": {"en": "Price", "fr": "Prix"}},
        {"id": "speed", "texts": {"en": "Speed"}},
        {"id": "support", "texts": {"en": "Support"}},
    ],
    "condition": {"question": "SM_rating", "values": ["detractor", "passive"]},
}


def survey_list(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*questions.default_questions(), *extra]


def test_the_default_survey_asks_the_rating_then_the_comment() -> None:
    rating, comment = parse(questions.default_questions())
    assert (rating.id, rating.type, rating.metric, rating.required) == (
        "SM_rating",
        "scale",
        "nps",
        True,
    )
    assert (comment.id, comment.type, comment.required) == ("SM_comment", "long-text", False)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"id": "1st", "type": "scale"}, "the id must be a letter"),
        ({"id": "q", "type": "slider"}, "the type must be one of"),
        (
            {"id": "q", "type": "smiley", "metric": "nps"},
            "a metric (nps, csat, ces) is for a scale only",
        ),
        ({"id": "q", "type": "single-choice", "choices": [{"id": "a"}]}, "give 2 to 30 choices"),
        (
            {"id": "q", "type": "single-choice", "choices": [{"id": "a"}, {"id": "a"}]},
            "the choice 'a' is listed twice",
        ),
        ({"id": "q", "type": "long-text", "choices": [{"id": "a"}, {"id": "b"}]}, "only a choice"),
        ({"id": "q", "type": "scale", "texts": {"xx": {"label": "?"}}}, "unknown language 'xx'"),
        ({"id": "q", "type": "scale", "texts": {"en": {"title": "?"}}}, "take label, low, high"),
        ({"id": "q", "type": "scale", "required": "yes"}, "required must be true or false"),
        ({"id": "q", "type": "scale", "colour": "red"}, "unknown keys colour"),
        (
            {"id": "q", "type": "scale", "condition": {"question": "later", "values": [1]}},
            "must name an earlier question",
        ),
        (
            {"id": "q", "type": "scale", "condition": {"question": "SM_rating", "values": [9]}},
            "9 is not an answer of 'SM_rating' (use promoter, passive, detractor)",
        ),
        (
            {"id": "q", "type": "scale", "condition": {"question": "SM_comment", "values": ["x"]}},
            "cannot look at a long-text answer",
        ),
        ({"id": "SM_rating", "type": "scale"}, "is used twice"),
    ],
)
def test_a_wrong_question_is_refused_with_a_sentence_naming_it(
    extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="Question") as raised:
        parse(survey_list(extra), languages=["en", "fr"])
    assert message in str(raised.value)


def test_the_built_in_questions_keep_their_types() -> None:
    with pytest.raises(ValueError, match="SM_comment is the follow-up comment"):
        parse([{"id": "SM_rating", "type": "scale"}, {"id": "SM_comment", "type": "smiley"}])
    with pytest.raises(ValueError, match="at least one question"):
        parse([])


@pytest.mark.parametrize(
    ("question", "good", "bad", "message"),
    [
        (
            {"id": "q", "type": "scale", "metric": "csat"},
            [1, 5],
            [0, 6, True, "3", 2.5],
            "from 1 to 5",
        ),
        ({"id": "q", "type": "scale", "metric": "ces"}, [1, 7], [0, 8], "from 1 to 7"),
        ({"id": "q", "type": "scale", "metric": "nps"}, [0, 10], [-1, 11], "from 0 to 10"),
        ({"id": "q", "type": "smiley"}, [1, 5], [0, 6], "from 1 to 5"),
        ({"id": "q", "type": "long-text"}, ["", "Faster exports"], [3, ["a"]], "must be text"),
        (
            {"id": "q", "type": "single-choice", "choices": [{"id": "a"}, {"id": "b"}]},
            ["a", "b"],
            ["c", ["a"], 1],
            "must be one of a, b",
        ),
        (
            {"id": "q", "type": "multiple-choice", "choices": [{"id": "a"}, {"id": "b"}]},
            [[], ["b", "a"]],
            ["a", ["a", "a"], ["c"], [{"id": "a"}]],
            "list of distinct choices among a, b",
        ),
    ],
)
def test_each_type_takes_its_answers_and_says_what_it_takes(
    question: dict[str, Any], good: list[Any], bad: list[Any], message: str
) -> None:
    (parsed,) = parse([question])
    for value in good:
        assert check_answer(parsed, value) is not None
    for value in bad:
        with pytest.raises(ValueError, match=message):
            check_answer(parsed, value)
    assert check_answer(parsed, None) is None


def test_multiple_choices_are_kept_in_the_questions_order() -> None:
    (parsed,) = parse([{**REASON, "condition": None}])
    assert check_answer(parsed, ["support", "price"]) == ["price", "support"]


def test_the_survey_rating_is_0_to_10_whatever_its_metric() -> None:
    rating, _ = questions.of_survey(questions.default_questions(), "csat")
    assert rating.metric == "csat"
    assert check_answer(rating, 0) == 0 and check_answer(rating, 10) == 10


def test_a_condition_on_the_nps_rating_follows_its_category() -> None:
    parsed = parse(survey_list(REASON))
    by_id = {q.id: q for q in parsed}
    reason = by_id["reason"]
    assert not is_shown(reason, {}, by_id)  # not rated yet
    assert is_shown(reason, {"SM_rating": 3}, by_id)
    assert is_shown(reason, {"SM_rating": 8}, by_id)
    assert not is_shown(reason, {"SM_rating": 9}, by_id)


def test_a_condition_on_a_choice_matches_any_chosen_one() -> None:
    follow = {
        "id": "price_detail",
        "type": "long-text",
        "required": True,
        "condition": {"question": "reason", "values": ["price"]},
    }
    parsed = parse(survey_list(REASON, follow))
    by_id = {q.id: q for q in parsed}
    assert is_shown(by_id["price_detail"], {"SM_rating": 2, "reason": ["speed", "price"]}, by_id)
    assert not is_shown(by_id["price_detail"], {"SM_rating": 2, "reason": ["speed"]}, by_id)
    missing = missing_required(parsed, {"SM_rating": 2, "reason": ["price"]})
    assert [q.id for q in missing] == ["price_detail"]
    assert missing_required(parsed, {"SM_rating": 10}) == []


def test_texts_fall_back_from_the_language_to_the_default_then_english() -> None:
    (reason,) = parse([{**REASON, "condition": None}])
    assert reason.text("label", "fr-CA") == "Quoi améliorer ?"
    assert reason.text("label", "de", default_language="fr") == "Quoi améliorer ?"
    assert reason.text("label", "de") == "What should we improve?"
    speed = reason.choices[1]
    assert reason.choice_text(speed, "fr") == "Speed"


def test_a_stored_list_that_no_longer_parses_asks_the_default_questions() -> None:
    rating, comment = questions.of_survey([{"id": "q", "type": "slider"}], "ces")
    assert (rating.id, rating.metric, comment.id) == ("SM_rating", "ces", "SM_comment")


@pytest.mark.django_db(transaction=True)
def test_surveys_saved_before_questions_ask_their_rating_then_the_comment() -> None:
    executor = MigrationExecutor(connection)
    before = [("satismeter_app", "0009_outbox_drops_covered_indexes")]
    latest = executor.loader.graph.leaf_nodes("satismeter_app")
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    project = old.get_model("satismeter_app", "Project").objects.create(
        name="Old", write_key="wk_old_questions"
    )
    survey_model = old.get_model("satismeter_app", "Survey")
    nps_survey = survey_model.objects.create(project=project, name="NPS", type="nps")
    ces_survey = survey_model.objects.create(project=project, name="Effort", type="ces")

    executor = MigrationExecutor(connection)
    executor.migrate(latest)

    from satismeter_app.models import Survey

    assert Survey.objects.get(pk=nps_survey.pk).questions == questions.default_questions("nps")
    assert Survey.objects.get(pk=ces_survey.pk).questions == questions.default_questions("ces")


def test_built_in_questions_are_asked_in_the_catalogues_words_and_others_in_their_own() -> None:
    strings = {"HOW_LIKELY": "How likely?", "UNLIKELY": "No", "LIKELY": "Yes", "FOLLOWUP": "Why?"}
    rating, comment, reason = parse(survey_list({**REASON, "condition": None}))
    assert questions.texts_in(rating, "fr", "en", strings) == ("How likely?", "No", "Yes")
    assert questions.texts_in(comment, "fr", "en", strings) == ("Why?", "", "")
    assert (
        questions.texts_in(comment, "fr", "en", strings, followup="What hurt?")[0] == "What hurt?"
    )
    assert questions.texts_in(reason, "fr", "en", strings) == ("Quoi améliorer ?", "", "")
