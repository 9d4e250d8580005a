"""The exports of responses, JSON and CSV: every response of a queryset, oldest first, streamed
in constant memory; and the CSV of a numbered page.

The bytes are those of ``json.dumps`` (compact, UTF-8) and ``csv.writer`` of the response
object (:func:`~satismeter_app.representations.row_object`) to the last one, whichever way they
are written (tests/api/test_export_bytes.py, tests/api/test_export_text.py).

On PostgreSQL the database writes them: each row comes as a few texts, the JSON of the object
or the cells of the CSV line with the JSON columns left out (:func:`object_texts`,
:func:`line_texts`), and the JSON columns as PostgreSQL's text of them. Python only writes the
JSON columns compactly (PostgreSQL's text has a space after each ``,`` and ``:``), once per
distinct text (:class:`Written`), and splices them in: no object, dict or cell per row. The
time is within 2× of PostgreSQL's own ``COPY`` of the same rows, with the parallel workers
PostgreSQL gives the query by default (bench/README.md). The rows are streamed in chunks
(libpq 17's chunked rows mode: the server reads the next rows while this process writes the
last ones); on an older libpq, from a server-side cursor.

Elsewhere (SQLite) the rows are read by Django and written here, as a page is.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, NamedTuple, TypeVar

import orjson
import psycopg
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.functions import Cast

from ..models import Response, Survey
from ..questions import COMMENT_QUESTION, RATING_QUESTION
from ..representations import VERDICTS, row_object
from .answers import asked, surveys_of
from .reporting import CHUNK_SIZE, NumberedPage, response_rows, with_iso_times

OBJECTS_PER_WRITE = 1000  # response objects or CSV lines joined into one chunk of the body

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))
# csv.writer quotes a cell that holds one of these (QUOTE_MINIMAL, "\r\n" lines).
CSV_QUOTED = (",", '"', "\r", "\n")

CSV_COLUMNS = (
    *("id", "created", "project", "campaign", "user", "userId", "name", "email", "rating"),
    *("category", "score", "feedback", "dismissed", "pending", "completed", "method"),
    *("language", "referrer", "deviceOs", "deviceType", "answers", "traits"),
)
BUILT_IN_ANSWERS = (RATING_QUESTION, COMMENT_QUESTION)


# --- exact JSON -----------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """The JSON of the exports: json.dumps, compact, UTF-8, dates in ISO-8601."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def exact_json(value: Any) -> bytes:
    return dumps(value).encode()


def compact_json(text: str) -> str:
    """:func:`dumps` of the value of PostgreSQL's text of a JSON column, read as ``json.loads``
    reads it. orjson writes it, but where orjson may write otherwise: floats under 1e-4
    (orjson writes ``0.00001`` for ``1e-05``), which PostgreSQL's text, in plain decimal,
    shows as ``.0000``; and integers past 64 bits, which orjson reads as floats and writes
    with ``e+``. Any ``+`` in the output costs that text the slow way: looking for one
    character costs next to nothing."""
    if ".0000" not in text:
        body = orjson.dumps(orjson.loads(text))
        if b"+" not in body:
            return body.decode()
    return dumps(json.loads(text))


# --- CSV cells ------------------------------------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    """A value as its cell: JSON for objects and lists, ``true``/``false``, empty for None."""
    if isinstance(value, str):
        return csv_safe(value)
    if isinstance(value, (dict, list)):  # a tuple: ``dict | list`` would be made on every call
        return dumps(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_quoted(cell: str) -> str:
    """The cell as csv.writer writes it in a line of several."""
    if any(char in cell for char in CSV_QUOTED):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def other_answers(answers: Any) -> Any:
    """The answers of the ``answers`` cell: all but the rating and the comment, which have
    their columns."""
    return answers and [answer for answer in answers if answer["id"] not in BUILT_IN_ANSWERS]


ANONYMOUS_ID_AT = CSV_COLUMNS.index("userId") + 1


class QuestionColumn(NamedTuple):
    """A CSV column after the others: the answers to one question."""

    id: str
    header: str


def question_columns(surveys: Iterable[Survey], language: str) -> tuple[QuestionColumn, ...]:
    """A column per question of the surveys but the rating and the comment (which have
    theirs), in the surveys' order then the questions'; a question id that two surveys share
    is one column. Its header is the question's label in ``language`` (its id when it has
    none), followed by its id in brackets when another column has the same header."""
    labels: dict[str, str] = {}
    for survey in surveys:
        for question in asked(survey):
            labels.setdefault(
                question.id, question.text("label", language, language) or question.id
            )
    seen = Counter([*labels.values(), *CSV_COLUMNS, "anonymousId"])
    return tuple(
        QuestionColumn(qid, csv_safe(label if seen[label] == 1 else f"{label} ({qid})"))
        for qid, label in labels.items()
    )


def project_question_columns(
    project_id: int, survey_id: int | None = None
) -> tuple[QuestionColumn, ...]:
    """The question columns of the project's surveys (or the one), in its default language."""
    return question_columns(*surveys_of(project_id, survey_id))


Questions = Sequence[QuestionColumn]


def csv_columns(*, extended: bool = False, questions: Questions = ()) -> tuple[str, ...]:
    """The columns; extended, the user's anonymousId after their userId; then a column per
    question."""
    headers = tuple(column.header for column in questions)
    if not extended:
        return CSV_COLUMNS + headers
    at = ANONYMOUS_ID_AT
    return (*CSV_COLUMNS[:at], "anonymousId", *CSV_COLUMNS[at:], *headers)


def answer_cell(value: Any) -> Any:
    """An answer as its question's cell: the choice ids of a multiple choice joined by ``;``,
    any other value as :func:`csv_cell` writes it; empty for no answer."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return csv_safe(";".join(value))
    return csv_cell(value)


def question_cells(answers: Any, questions: Questions) -> list[Any]:
    """The cells of the question columns: each question's first answer among ``answers``."""
    given: dict[str, Any] = {}
    for answer in answers if isinstance(answers, list) else ():
        if isinstance(answer, dict) and isinstance(answer.get("id"), str):
            given.setdefault(answer["id"], answer.get("value"))
    return [answer_cell(given.get(column.id)) for column in questions]


BOOLEAN_CELLS = ("false", "true")


def csv_row(row: Sequence[Any], *, extended: bool = False, questions: Questions = ()) -> list[Any]:
    """The cells of a row of RESPONSE_COLUMNS: the response object, flattened; its answers
    without the rating and the comment, which have their columns; then the cell of each
    question column."""
    (pk, project_id, survey_id, created, rating, feedback, answers, dismissed, pending, completed,
     method, language, referrer, device, traits, _, user_pk, user_id, anonymous_id, name,
     email, *_) = row  # fmt: skip
    category, score = VERDICTS[rating]
    device = device or {}
    # csv_safe of the texts, in one loop rather than seven calls
    user_id, name, email, feedback, method, language, referrer = [
        "'" + text if text and text[:1] in FORMULA_STARTS else text
        for text in (user_id, name, email, feedback, method, language, referrer)
    ]
    cells = [
        *(pk, created, project_id, survey_id, user_pk, user_id, name, email, rating, category),
        *(score, feedback, BOOLEAN_CELLS[dismissed], BOOLEAN_CELLS[pending]),
        *(BOOLEAN_CELLS[completed], method, language, referrer),
        *(csv_cell(device.get("os")), csv_cell(device.get("type"))),
        *(csv_cell(other_answers(answers) or None), csv_cell(traits or None)),
    ]
    if extended:
        cells.insert(ANONYMOUS_ID_AT, csv_cell(anonymous_id))
    if questions:
        cells += question_cells(answers, questions)
    return cells


# --- written here: pages, and every row elsewhere than on PostgreSQL ------------------------------


def batches(rows: Iterable[Any], size: int = OBJECTS_PER_WRITE) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def json_chunks(objects: Iterable[dict[str, Any]], key: str = "responses") -> Iterator[bytes]:
    """``{"<key>": [ ... ]}``, a few hundred objects per chunk; dates in ISO-8601."""
    yield f'{{"{key}":['.encode()
    separator = b""
    for batch in batches(objects):
        yield separator + b",".join(exact_json(obj) for obj in batch)
        separator = b","
    yield b"]}"


def csv_chunks(
    row_batches: Iterable[list[list[Any]]], *, extended: bool = False, questions: Questions = ()
) -> Iterator[bytes]:
    """The header, then each batch of rows of cells (:func:`csv_row`) as a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_columns(extended=extended, questions=questions))
    for batch in row_batches:
        writer.writerows(batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if header_only := buffer.getvalue():
        yield header_only.encode()


def csv_page(page: NumberedPage, questions: Questions = ()) -> Iterator[bytes]:
    """The rows of a numbered page as CSV."""
    extended = page.extended
    cells = [csv_row(with_iso_times(r), extended=extended, questions=questions) for r in page.rows]
    return csv_chunks([cells], extended=extended, questions=questions)


def _django_rows(responses: QuerySet[Response]) -> Iterator[list[Any]]:
    rows = response_rows(responses).iterator(chunk_size=CHUNK_SIZE)
    return map(with_iso_times, rows)


# --- written by PostgreSQL: SQL -------------------------------------------------------------------


def literal(text: str) -> str:
    """A constant text in SQL (``%`` doubled: the query goes through psycopg's formatting)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


class Sql(Func):
    """Text that PostgreSQL computes: ``template`` with each ``{n}`` replaced by the SQL of
    the n-th expression (column names, :class:`Joined`...)."""

    output_field = TextField()

    def __init__(self, template: str, *expressions: Any) -> None:
        self.sql_template = template
        super().__init__(*expressions)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        compiled = [compiler.compile(e) for e in self.get_source_expressions()]
        sql, params = [], []
        for before, field, _, _ in string.Formatter().parse(self.sql_template):
            sql.append(before)
            if field is not None:
                part, part_params = compiled[int(field)]
                sql.append(f"({part})")
                params.extend(part_params)
        return "".join(sql), params


class Joined(Func):
    """Text that PostgreSQL writes: the parts one after the other (``||``), a str as it is,
    an expression as its text (which must not be NULL)."""

    output_field = TextField()

    def __init__(self, *parts: Any) -> None:
        self.parts = parts
        super().__init__(*(part for part in parts if not isinstance(part, str)))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        expressions = iter(self.get_source_expressions())
        sql, params = [], []
        for part in self.parts:
            if isinstance(part, str):
                sql.append(literal(part))
                continue
            part_sql, part_params = compiler.compile(next(expressions))
            sql.append(f"({part_sql})")
            params.extend(part_params)
        return "(" + " || ".join(sql) + ")", params


def iso_time(column: str) -> Sql:
    """A time as :func:`~satismeter_app.representations.iso_time` writes it: in UTC, ``Z``,
    microseconds unless there are none (as ``isoformat``); NULL for NULL."""
    utc_format = literal('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return Sql(
        f"replace(to_char({{0}} AT TIME ZONE 'UTC', {utc_format}), '.000000Z', 'Z')", F(column)
    )


def text(column: str) -> Sql:
    """The column's value as text (a number, ``true``/``false``); NULL for NULL."""
    return Sql("{0}::text", F(column))


def json_string(column: str) -> Sql:
    """A text column as a JSON string, escaped as json.dumps does; ``null`` for NULL."""
    return Sql("coalesce(to_json({0})::text, 'null')", F(column))


def json_string_or_null(column: str) -> Sql:
    """``column or None`` as JSON: ``null`` for an empty text too."""
    return Sql("coalesce(to_json(NULLIF({0}, ''))::text, 'null')", F(column))


def json_time(column: str) -> Sql:
    return Sql("""coalesce('"' || {0} || '"', 'null')""", iso_time(column))


def verdict(write: Callable[[Any, Any], str]) -> Sql:
    """The category and the score of the rating (None: no rating) as ``write`` writes them,
    from :data:`~satismeter_app.representations.VERDICTS`."""
    cases = " ".join(
        f"WHEN {rating} THEN {literal(write(category, score))}"
        for rating, (category, score) in VERDICTS.items()
        if rating is not None
    )
    return Sql(f"CASE {{0}} {cases} ELSE {literal(write(*VERDICTS[None]))} END", F("rating"))


def json_verdict(category: str | None, score: int | None) -> str:
    return f'{dumps(category)},"score":{dumps(score)}'


def csv_verdict(category: str | None, score: int | None) -> str:
    return f"{csv_cell(category)},{csv_cell(score)}"


def json_column(column: str) -> Cast:
    return Cast(column, TextField())


def csv_text(column: str) -> Sql:
    """A text column as its cell: the formula guard (:func:`csv_safe`), then quoted as
    csv.writer quotes; empty for NULL."""
    starts = ", ".join(str(ord(start)) for start in sorted(FORMULA_STARTS))
    # ascii() and strpos() rather than left() and a regular expression: half the cost
    quoted = " OR ".join(f"strpos({{0}}, {literal(char)}) > 0" for char in CSV_QUOTED)
    guard = f"CASE WHEN ascii({{0}}) IN ({starts}) THEN '''' ELSE '' END"
    return Sql(
        f"CASE WHEN {quoted} THEN '\"' || {guard} || replace({{0}}, '\"', '\"\"') || '\"'"
        f" ELSE {guard} || coalesce({{0}}, '') END",
        F(column),
    )


# --- written by PostgreSQL: the response object and the CSV line --------------------------------


def object_texts(extended: bool) -> dict[str, Any]:
    """The response object (:func:`~satismeter_app.representations.row_object`) as texts
    around its JSON columns: ``head``, the answers' elements, ``middle``, the device, ``user``,
    the traits, ``,"groups":``, the groups and ``tail``."""
    return {
        "head": Joined(
            *('{"id":"', text("pk"), '","project":"', text("project_id"), '","campaign":"'),
            *(text("survey_id"), '","created":', json_time("created"), ',"rating":'),
            *(Sql("coalesce({0}::text, 'null')", F("rating")), ',"feedback":'),
            *(json_string("feedback"), ',"answers":[', built_in_answers()),
        ),
        "answers": json_column("answers"),
        "middle": Joined(
            *('],"category":', verdict(json_verdict), ',"dismissed":'),
            *(text("dismissed"), ',"pending":', text("pending"), ',"completed":'),
            *(text("completed"), ',"method":', json_string("method"), ',"language":'),
            *(json_string_or_null("language"), ',"referrer":'),
            *(json_string_or_null("referrer"), ',"device":'),
        ),
        "device": json_column("device"),
        "user": Joined(
            *(',"user":{"id":"', text("user_id"), '","userId":', json_string("user__user_id")),
            *(',"name":', json_string_or_null("user__name"), ',"email":'),
            *(json_string_or_null("user__email"), ',"createdAt":'),
            *(json_time("user__created_at"), ',"deleted":'),
            *(Sql("({0} IS NOT NULL)::text", F("user__erased")), ',"traits":'),
        ),
        "traits": json_column("traits"),
        "groups": json_column("user__groups"),
        "tail": (
            Joined(',"anonymousId":', json_string("user__anonymous_id"), "}}")
            if extended
            else Joined("}}")
        ),
    }


def built_in_answers() -> Sql:
    """The rating and the comment as the first answers (representations.answers_of), and a
    ``,`` when other answers follow them."""
    rating = Joined(
        '{"id":"' + RATING_QUESTION + '","label":"Rating","value":',
        text("rating"),
        ',"type":"scale","metric":',
        json_string("survey__type"),
        "}",
    )
    comment = Joined(
        '{"id":"' + COMMENT_QUESTION + '","label":"Feedback","value":',
        json_string("feedback"),
        ',"type":"long-text"}',
    )
    return Sql(
        "CASE WHEN {0} IS NULL THEN '' ELSE {1} END"
        " || CASE WHEN {2} = '' THEN '' WHEN {0} IS NULL THEN {3} ELSE ',' || {3} END"
        " || CASE WHEN ({0} IS NOT NULL OR {2} <> '') AND {4} <> '[]' THEN ',' ELSE '' END",
        *(F("rating"), rating, F("feedback"), comment, F("answers")),
    )


def line_texts(extended: bool, questions: Questions = ()) -> dict[str, Any]:
    """The CSV line (:func:`csv_row`) as its cells up to ``referrer`` and the ``,`` after it,
    then the JSON of the device's ``os`` and ``type`` (NULL when it has none), the answers
    and the traits; then the value of each question's answer (:func:`answer_value`)."""
    user = [csv_text("user__user_id"), ","]
    if extended:
        user += [csv_text("user__anonymous_id"), ","]
    return {
        "cells": Joined(
            *(text("pk"), ",", iso_time("created"), ",", text("project_id"), ","),
            *(text("survey_id"), ",", text("user_id"), ",", *user),
            *(csv_text("user__name"), ",", csv_text("user__email"), ","),
            *(Sql("coalesce({0}::text, '')", F("rating")), ",", verdict(csv_verdict), ","),
            *(csv_text("feedback"), ",", text("dismissed"), ",", text("pending"), ","),
            *(text("completed"), ",", csv_text("method"), ",", csv_text("language"), ","),
            *(csv_text("referrer"), ","),
        ),
        "os": Sql("({0} -> 'os')::text", F("device")),
        "type": Sql("({0} -> 'type')::text", F("device")),
        "answers": json_column("answers"),
        "traits": json_column("traits"),
        **{f"question_{n}": answer_value(column.id) for n, column in enumerate(questions)},
    }


# The response's first answer to the question $q, as question_cells finds it: the first such
# answer even when it has no value (a path ending in .value would skip to a later one).
FIRST_ANSWER = '$[*] ? (@.type() == "object" && @.id == $q)'


def answer_value(question: str) -> Sql:
    """PostgreSQL's text of the value of the response's first answer to ``question``; NULL
    without one, or when it has no value (or when the answers are not a list)."""
    return Sql(
        "(jsonb_path_query_first(CASE WHEN jsonb_typeof({0}) = 'array' THEN {0} ELSE '[]' END,"
        f" {literal(FIRST_ANSWER)}, jsonb_build_object('q', {literal(question)}::text))"
        " -> 'value')::text",
        F("answers"),
    )


# --- written by PostgreSQL: the JSON columns, in Python -------------------------------------------


_Text = TypeVar("_Text")


class Written(dict[Any, _Text]):
    """What each text of a JSON column writes, written once for the texts that come again (an
    empty object, the same device); at most :attr:`SIZE` of them kept, so that memory stays
    constant."""

    SIZE = 1024
    LONGEST = 512  # a longer text is written each time it comes

    def __init__(self, write: Callable[[Any], _Text]) -> None:
        super().__init__()
        self.write = write

    def __missing__(self, text: Any) -> _Text:
        written = self.write(text)
        if text is None or len(text) <= self.LONGEST:
            if len(self) >= self.SIZE:
                self.clear()
            self[text] = written
        return written


def answer_elements(text: str) -> str:
    """The other answers in the response object: their JSON without its brackets."""
    body = compact_json(text)
    if not body.startswith("["):
        raise TypeError(f"the answers of a response are a list, not {body[:40]}")
    return body[1:-1]


def value_cell(text: str | None) -> str:
    """The cell of a JSON value (:func:`csv_cell`), from its text; empty for none."""
    return csv_quoted(str(csv_cell(None if text is None else json.loads(text))))


def traits_cell(text: str) -> str:
    """``csv_cell(traits or None)``."""
    body = compact_json(text)
    if body[0] in "{[":
        return csv_quoted(body) if len(body) > 2 else ""
    return value_cell(text) if json.loads(text) else ""


def answers_cell(text: str) -> str:
    """``csv_cell(other_answers(answers) or None)``: an answer with the rating's or the
    comment's id can only be there when the text names it."""
    if not text.startswith("[") or any(f'"{name}"' in text for name in BUILT_IN_ANSWERS):
        return csv_quoted(str(csv_cell(other_answers(json.loads(text)) or None)))
    body = compact_json(text)
    return csv_quoted(body) if body != "[]" else ""


def question_value_cell(text: str | None) -> str:
    """The cell of a question column (:func:`answer_cell`), from PostgreSQL's text of the
    answer's value; empty for none."""
    return "" if text is None else csv_quoted(str(answer_cell(json.loads(text))))


def object_chunks(rows: Iterator[list[Sequence[str]]]) -> Iterator[bytes]:
    elements, value = Written(answer_elements), Written(compact_json)
    yield b'{"responses":['
    separator = ""
    for batch in rows:
        objects = ",".join(
            [
                f"{head}{elements[answers]}{middle}{value[device]}{user}{value[traits]}"
                f',"groups":{value[groups]}{tail}'
                for head, answers, middle, device, user, traits, groups, tail in batch
            ]
        )
        yield (separator + objects).encode()
        separator = ","
    yield b"]}"


def line_chunks(
    rows: Iterator[list[Sequence[str]]], extended: bool, questions: Questions = ()
) -> Iterator[bytes]:
    header = csv_columns(extended=extended, questions=questions)
    yield (",".join(csv_quoted(text) for text in header) + "\r\n").encode()
    if questions:
        yield from _lines_with_questions(rows, questions)
        return
    device, answers, traits = Written(value_cell), Written(answers_cell), Written(traits_cell)
    for batch in rows:
        lines = [
            f"{cells}{device[system]},{device[kind]},{answers[others]},{traits[values]}\r\n"
            for cells, system, kind, others, values in batch
        ]
        yield "".join(lines).encode()


def _lines_with_questions(
    rows: Iterator[list[Sequence[str]]], questions: Questions
) -> Iterator[bytes]:
    """:func:`line_chunks`' lines with the question columns' cells after the traits'."""
    device, answers, traits = Written(value_cell), Written(answers_cell), Written(traits_cell)
    values = Written(question_value_cell)
    for batch in rows:
        lines = [
            f"{cells}{device[system]},{device[kind]},{answers[others]},{traits[texts]}"
            + "".join(["," + values[value] for value in given])
            + "\r\n"
            for cells, system, kind, others, texts, *given in batch
        ]
        yield "".join(lines).encode()


def postgresql_rows(
    responses: QuerySet[Response], texts: dict[str, Any]
) -> Iterator[list[Sequence[str]]]:
    """Batches of the rows of ``texts``, oldest first."""
    names = {f"export_{name}": expression for name, expression in texts.items()}  # not fields
    rows = responses.order_by("created", "pk").annotate(**names).values_list(*names)
    if psycopg.pq.version() < 170000:
        return batches(rows.iterator(chunk_size=CHUNK_SIZE))
    return _streamed(rows)


def _streamed(rows: QuerySet[Response, tuple[Any, ...]]) -> Iterator[list[Any]]:
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    with connections[rows.db].cursor() as cursor:
        yield from batches(cursor.cursor.stream(sql, params, size=CHUNK_SIZE))


# --- the exports ----------------------------------------------------------------------------------


def json_export(responses: QuerySet[Response], *, extended: bool = False) -> Iterator[bytes]:
    """``{"responses": [ ... ]}`` of every response, oldest first, streamed."""
    if connections[responses.db].vendor == "postgresql":
        return object_chunks(postgresql_rows(responses, object_texts(extended)))
    return python_json_export(responses, extended=extended)


def csv_export(
    responses: QuerySet[Response], *, extended: bool = False, questions: Questions = ()
) -> Iterator[bytes]:
    """Every response as a CSV row, oldest first, streamed; a column per question of
    ``questions`` (:func:`question_columns`) after the others."""
    if connections[responses.db].vendor == "postgresql":
        texts = line_texts(extended, questions)
        return line_chunks(postgresql_rows(responses, texts), extended, questions)
    return python_csv_export(responses, extended=extended, questions=questions)


def python_json_export(responses: QuerySet[Response], *, extended: bool = False) -> Iterator[bytes]:
    """:func:`json_export` with every row read by Django and written here."""
    objects = (row_object(row, extended=extended) for row in _django_rows(responses))
    return json_chunks(objects)


def python_csv_export(
    responses: QuerySet[Response], *, extended: bool = False, questions: Questions = ()
) -> Iterator[bytes]:
    """:func:`csv_export` with every row read by Django and written here."""
    options: dict[str, Any] = {"extended": extended, "questions": questions}
    rows = (csv_row(row, **options) for row in _django_rows(responses))
    return csv_chunks(batches(rows), **options)
