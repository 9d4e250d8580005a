"""The answers to a survey's own questions, counted: the one home of the per-question numbers
that the v2/v3 statistics and the dashboard show.

A response stores its answers to the questions other than the built-in rating and comment in
``Response.answers``, a JSON list of ``{id, label, value, type, metric?}``; a multiple-choice
value is a list of choice ids. One grouped query counts, for each survey, question and value,
the responses that gave it, in the database: each answer is spread into its values (a
multiple-choice answer into its choices, any other answer into itself) with PostgreSQL's
``jsonb_array_elements`` and ``jsonb_array_elements_text``, or SQLite's ``json_each`` (the
default ``make test`` database), and grouped. A long-text answer counts as one value, so that
the query groups no texts; :func:`latest_texts` reads the few latest ones.

What the numbers mean (docs/rest-api.md, "Statistics per question"):

- ``answered``: the responses that answered the question (an empty multiple choice is none);
- ``distribution``: for a scale, a smiley or a choice question, each value (every value of the
  range, every choice, in the question's order, zeros included) and how many responses gave it;
  a multiple-choice response counts once for each choice it holds;
- ``average``: the mean of a scale or a smiley;
- ``csat``: for a scale of metric ``csat`` (1–5), the share of 4s and 5s, in percent;
- ``ces``: for a scale of metric ``ces`` (1–7), the mean.

The trend of a scale or a smiley (:func:`sums_by_period`) is one more grouped query: per
survey, question and period (an expression of the response, such as its week in the project's
time zone), the sum and the number of its numeric answers, of which the dashboard draws the
average per period.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Expression, F, Func, QuerySet

from .. import questions
from ..models import Project, Response, Survey
from ..questions import CES, CHOICE_TYPES, CSAT, LONG_TEXT, Question

CSAT_SATISFIED = (4, 5)  # the answers of a 1–5 CSAT scale that count as satisfied
TEXTS_SHOWN = 5

# (survey id, question id) -> value as text -> responses that gave it
Counts = dict[tuple[int, str], dict[str, int]]
# (survey id, question id) -> responses that answered
Answered = dict[tuple[int, str], int]
# (survey id, question id) -> first day of a period -> (sum of the answers, how many)
PeriodSums = dict[tuple[int, str], dict[date, tuple[float, int]]]


@dataclass(frozen=True)
class QuestionNumbers:
    """One question's numbers (see the module docstring)."""

    survey_id: int
    question: Question
    label: str
    answered: int
    distribution: list[tuple[Any, int]] = field(default_factory=list)
    choice_labels: dict[str, str] = field(default_factory=dict)

    @property
    def average(self) -> float | None:
        if self.question.values is None or not self.answered:
            return None
        return sum(value * count for value, count in self.distribution) / self.answered

    @property
    def csat(self) -> float | None:
        if self.question.metric != CSAT or not self.answered:
            return None
        satisfied = sum(count for value, count in self.distribution if value in CSAT_SATISFIED)
        return satisfied * 100 / self.answered

    @property
    def ces(self) -> float | None:
        return self.average if self.question.metric == CES else None

    def as_dict(self) -> dict[str, Any]:
        """The question's entry in the statistics' ``questions``."""
        q = self.question
        entry: dict[str, Any] = {"campaign": str(self.survey_id), "id": q.id, "label": self.label}
        entry.update({"type": q.type, "metric": q.metric, "answered": self.answered})
        if q.type != LONG_TEXT:
            entry["distribution"] = [
                {"value": value, "count": count} for value, count in self.distribution
            ]
        if q.values is not None:
            entry["average"] = self.average
        if q.metric == CSAT:
            entry["csat"] = self.csat
        if q.metric == CES:
            entry["ces"] = self.ces
        return entry


def asked(survey: Survey) -> tuple[Question, ...]:
    """The survey's own questions: all but the built-in rating and comment."""
    return tuple(q for q in questions.of_survey(survey.questions, survey.type) if not q.built_in)


def numbers(
    responses: QuerySet[Response], surveys: Iterable[Survey], language: str
) -> list[QuestionNumbers]:
    """The numbers of each question of ``surveys`` (in their order, then the questions'),
    over ``responses``; labels in ``language``. One query (none without a question)."""
    asked_by_survey = [(survey, asked(survey)) for survey in surveys]
    wanted = [q for _, qs in asked_by_survey for q in qs]
    if not wanted:
        return []
    counts, answered = count_values(responses, wanted)
    return [
        _numbers_of(survey.pk, q, counts.get((survey.pk, q.id), {}), answered, language)
        for survey, qs in asked_by_survey
        for q in qs
    ]


def of_project(
    responses: QuerySet[Response], project_id: int, survey_id: int | None = None
) -> list[QuestionNumbers]:
    """:func:`numbers` of the project's surveys (or the one), labels in its default language."""
    return numbers(responses, *surveys_of(project_id, survey_id))


def surveys_of(project_id: int, survey_id: int | None = None) -> tuple[list[Survey], str]:
    """The project's surveys (or the one), oldest first, and the project's default language,
    in which their questions are labelled in the statistics and the exports."""
    surveys = Survey.objects.filter(project_id=project_id).order_by("pk")
    if survey_id is not None:
        surveys = surveys.filter(pk=survey_id)
    language = Project.objects.values_list("default_language", flat=True).get(pk=project_id)
    return list(surveys.only("pk", "type", "questions")), language


def _numbers_of(
    survey_id: int, question: Question, counts: dict[str, int], answered: Answered, language: str
) -> QuestionNumbers:
    values: Sequence[Any]
    if question.values is not None:
        values = list(question.values)
    elif question.type in CHOICE_TYPES:
        values = [choice.id for choice in question.choices]
    else:
        values = []
    return QuestionNumbers(
        survey_id=survey_id,
        question=question,
        label=question.text("label", language, language) or question.id,
        answered=answered.get((survey_id, question.id), 0),
        distribution=[(value, counts.get(str(value), 0)) for value in values],
        choice_labels={c.id: question.choice_text(c, language, language) for c in question.choices},
    )


# --- the query ------------------------------------------------------------------------------------

# The values of one answer ``e`` (its ``id`` and ``value``) as rows ``v(value, ord)``: a list's
# elements, another value alone, a long text as one empty text (counted, not grouped by).
_POSTGRESQL = """
SELECT r.survey_id, e.answer ->> 'id', v.value, count(*), count(*) FILTER (WHERE v.ord = 1)
FROM ({responses}) r
CROSS JOIN LATERAL jsonb_array_elements(
  CASE WHEN jsonb_typeof(r.answers) = 'array' THEN r.answers ELSE '[]'::jsonb END
) AS e(answer)
CROSS JOIN LATERAL jsonb_array_elements_text(
  CASE
    WHEN e.answer ->> 'id' IN ({texts}) THEN
      CASE WHEN coalesce(e.answer ->> 'value', '') <> '' THEN '[""]'::jsonb ELSE '[]'::jsonb END
    WHEN jsonb_typeof(e.answer -> 'value') = 'array' THEN e.answer -> 'value'
    ELSE jsonb_build_array(e.answer -> 'value')
  END
) WITH ORDINALITY AS v(value, ord)
WHERE jsonb_typeof(e.answer) = 'object' AND e.answer ->> 'id' IN ({ids}) AND v.value IS NOT NULL
GROUP BY 1, 2, 3
"""
_SQLITE = """
SELECT r.survey_id, json_extract(e.value, '$.id'), v.value, count(*), sum(v.key = 0)
FROM ({responses}) r, json_each(r.answers) e, json_each(
  CASE
    WHEN e.type <> 'object' THEN '[]'
    WHEN json_extract(e.value, '$.id') IN ({texts}) THEN
      CASE WHEN coalesce(json_extract(e.value, '$.value'), '') <> '' THEN '[""]' ELSE '[]' END
    WHEN json_type(e.value, '$.value') = 'array' THEN json_extract(e.value, '$.value')
    ELSE json_array(json_extract(e.value, '$.value'))
  END
) v
WHERE e.type = 'object' AND json_extract(e.value, '$.id') IN ({ids}) AND v.value IS NOT NULL
GROUP BY 1, 2, 3
"""


def count_values(
    responses: QuerySet[Response], wanted: Sequence[Question]
) -> tuple[Counts, Answered]:
    """How many responses gave each value of each question id of ``wanted``, per survey, and
    how many answered each: one grouped query over the responses' answers."""
    rows = responses.order_by().values_list("survey_id", "answers")
    sub_sql, sub_params = rows.query.get_compiler(using=rows.db).as_sql()
    ids = sorted({q.id for q in wanted})
    texts = sorted({q.id for q in wanted if q.type == LONG_TEXT}) or [""]
    connection = connections[rows.db]
    template = _POSTGRESQL if connection.vendor == "postgresql" else _SQLITE
    # replace(), not format(): the responses' SQL is no template
    sql = template.replace("{texts}", ", ".join(["%s"] * len(texts)))
    sql = sql.replace("{ids}", ", ".join(["%s"] * len(ids))).replace("{responses}", sub_sql)
    counts: Counts = {}
    answered: Answered = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sub_params, *texts, *ids])
        for survey_id, question_id, value, given, first in cursor.fetchall():
            counts.setdefault((survey_id, question_id), {})[str(value)] = given
            answered[survey_id, question_id] = answered.get((survey_id, question_id), 0) + first
    return counts, answered


# --- the trend of a scale or a smiley -------------------------------------------------------------

# The numeric answers of each response, summed and counted per survey, period and question.
_POSTGRESQL_SUMS = """
SELECT r.survey_id, r.period, e.answer ->> 'id', sum((e.answer ->> 'value')::numeric), count(*)
FROM ({responses}) r
CROSS JOIN LATERAL jsonb_array_elements(
  CASE WHEN jsonb_typeof(r.answers) = 'array' THEN r.answers ELSE '[]'::jsonb END
) AS e(answer)
WHERE jsonb_typeof(e.answer) = 'object' AND e.answer ->> 'id' IN ({ids})
  AND jsonb_typeof(e.answer -> 'value') = 'number'
GROUP BY 1, 2, 3
"""
_SQLITE_SUMS = """
SELECT r.survey_id, r.period, json_extract(e.value, '$.id'),
  sum(json_extract(e.value, '$.value')), count(*)
FROM ({responses}) r, json_each(r.answers) e
WHERE e.type = 'object' AND json_extract(e.value, '$.id') IN ({ids})
  AND json_type(e.value, '$.value') IN ('integer', 'real')
GROUP BY 1, 2, 3
"""


def sums_by_period(
    responses: QuerySet[Response], wanted: Sequence[Question], period: Expression
) -> PeriodSums:
    """The sum and the number of the answers to each scale or smiley of ``wanted``, per survey
    and ``period`` (a date or date-time expression of the response, e.g.
    ``TruncWeek("created", tzinfo=zone)``: a period is known by its first day): one grouped
    query. Answers that are not numbers are left out."""
    ids = sorted({q.id for q in wanted if q.values is not None})
    if not ids:
        return {}
    rows = (
        responses.order_by().annotate(period=period).values_list("survey_id", "period", "answers")
    )
    sub_sql, sub_params = rows.query.get_compiler(using=rows.db).as_sql()
    connection = connections[rows.db]
    template = _POSTGRESQL_SUMS if connection.vendor == "postgresql" else _SQLITE_SUMS
    # replace(), not format(): the responses' SQL is no template
    sql = template.replace("{ids}", ", ".join(["%s"] * len(ids)))
    sql = sql.replace("{responses}", sub_sql)
    sums: PeriodSums = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sub_params, *ids])
        for survey_id, first_day, question_id, total, answered in cursor.fetchall():
            by_period = sums.setdefault((survey_id, question_id), {})
            by_period[_day(first_day)] = (float(total), answered)
    return sums


def _day(value: Any) -> date:
    """A period's first day as the database gives it: a date, a date-time or ISO text."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- a filter and the latest texts ----------------------------------------------------------------


class AnswerIncludes(Func):
    """True for a response whose answer to ``question`` is ``choice`` or a list holding it
    (``responses.filter(AnswerIncludes("reason", "price"))``); with no choice, for a response
    that has an answer to ``question`` (which may be empty)."""

    output_field = BooleanField()

    def __init__(self, question: str, choice: str | None = None) -> None:
        super().__init__(F("answers"))
        self.question, self.choice = question, choice

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.get_source_expressions()[0])
        # the column's SQL from the compiler; every value goes as a parameter
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) a WHERE "  # noqa: S608
        sql += "json_extract(a.value, '$.id') = %s"
        if self.choice is None:
            return sql + ")", [*params, self.question]
        sql += (
            " AND (json_extract(a.value, '$.value') = %s OR (json_type(a.value, '$.value') ="
            " 'array' AND EXISTS (SELECT 1 FROM json_each(a.value, '$.value') c"
            " WHERE c.value = %s))))"
        )
        return sql, [*params, self.question, self.choice, self.choice]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.get_source_expressions()[0])
        if self.choice is None:
            return f"({column} @> %s::jsonb)", [*params, json.dumps([{"id": self.question}])]
        one = json.dumps([{"id": self.question, "value": self.choice}])
        many = json.dumps([{"id": self.question, "value": [self.choice]}])
        return f"({column} @> %s::jsonb OR {column} @> %s::jsonb)", [*params, one, *params, many]


def latest_texts(
    responses: QuerySet[Response], question: str, limit: int = TEXTS_SHOWN
) -> list[tuple[Response, str]]:
    """The latest non-empty answers to the long-text ``question``, newest first, with their
    responses (and users): one query."""
    latest = responses.filter(AnswerIncludes(question)).select_related("user")
    found = []
    for response in latest.order_by("-created", "-pk")[:limit]:
        text = next((a.get("value") for a in response.answers if a.get("id") == question), None)
        if isinstance(text, str) and text:
            found.append((response, text))
    return found
