"""What the read APIs report: responses streamed as JSON or CSV, statistics, numbered pages
(``page[number]``) and cursor pages.

Exports read rows straight from the database as tuples of
:data:`~satismeter_app.representations.RESPONSE_COLUMNS` (no model instance per row): on
PostgreSQL streamed in chunks, with the times written as text by ``to_char`` and the JSON
columns as text that orjson parses; each object is written by orjson. Memory stays constant
and the time is within a few times PostgreSQL's own ``COPY`` of the same rows (bench/api.py).
The bytes are those of ``json.dumps`` and ``csv.writer`` to the last one
(tests/api/test_export_bytes.py): a row that holds a number orjson may write otherwise (a float
under 1e-4, an integer past 64 bits) is written again the exact way (:func:`_written`).
Statistics are aggregates computed in SQL (:func:`nps.summarize`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import Func, Q, QuerySet, Sum, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from .. import nps, timeparse
from ..exceptions import InvalidInput
from ..models import DailyRollup, Display, Project, Response
from ..representations import (
    COMMENT_QUESTION,
    RATING_QUESTION,
    RESPONSE_COLUMNS,
    VERDICTS,
    iso_time,
    row_object,
)
from . import dashboard

CHUNK_SIZE = 2000  # rows fetched per round trip of the cursor
OBJECTS_PER_WRITE = 1000  # response objects joined into one chunk of the HTTP body

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))

CSV_COLUMNS = (
    "id",
    "created",
    "project",
    "campaign",
    "user",
    "userId",
    "name",
    "email",
    "rating",
    "category",
    "score",
    "feedback",
    "dismissed",
    "pending",
    "completed",
    "method",
    "language",
    "referrer",
    "deviceOs",
    "deviceType",
    "answers",
    "traits",
)


# --- which responses ------------------------------------------------------------------------------


# The columns the single response read loads (representations.response_row): every other one
# costs decoding and is left in the database.
RESPONSE_OBJECT_FIELDS = (
    *("id", "project_id", "survey_id", "user_id", "created", "rating", "feedback", "answers"),
    *("method", "language", "referrer", "device", "traits", "dismissed", "pending", "completed"),
    *("survey__id", "survey__type"),
    *("user__id", "user__user_id", "user__anonymous_id", "user__name", "user__email"),
    *("user__created_at", "user__erased", "user__groups"),
)
JSON_COLUMNS = ("answers", "device", "traits", "user__groups")
JSON_INDEXES = tuple(RESPONSE_COLUMNS.index(column) for column in JSON_COLUMNS)
_json_texts = itemgetter(*JSON_INDEXES)
TIME_COLUMNS = ("created", "user__created_at")
TIME_INDEXES = tuple(RESPONSE_COLUMNS.index(column) for column in TIME_COLUMNS)


def for_export(responses: QuerySet[Response]) -> QuerySet[Response]:
    """Oldest first, with what the response object needs joined in and nothing more."""
    return (
        responses.select_related("survey", "user")
        .only(*RESPONSE_OBJECT_FIELDS)
        .order_by("created", "pk")
    )


def response_rows(responses: QuerySet[Response]) -> QuerySet[Response, tuple[Any, ...]]:
    """Oldest first, as rows of RESPONSE_COLUMNS with their JSON decoded as json.loads does and
    their times still datetimes (:func:`with_iso_times` writes them)."""
    return responses.order_by("created", "pk").values_list(*RESPONSE_COLUMNS)


def with_iso_times(row: Sequence[Any]) -> list[Any]:
    row = list(row)
    for index in TIME_INDEXES:
        row[index] = iso_time(row[index])
    return row


class IsoTime(Func):
    """A time as :func:`~satismeter_app.representations.iso_time` writes it, written by
    PostgreSQL: in UTC, ``Z``, microseconds unless there are none (as ``isoformat``)."""

    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        time, params = compiler.compile(self.source_expressions[0])
        utc = f"({time} AT TIME ZONE 'UTC')"
        sql = (
            f"to_char({utc}, CASE WHEN date_trunc('second', {utc}) = {utc}"
            """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
        )
        return sql, [*params, *params, *params]


def raw_rows(responses: QuerySet[Response]) -> tuple[Iterator[list[Any]], bool]:
    """Like :func:`response_rows` in :func:`batches`, the JSON columns left as text and the
    times written as text; and whether that text is PostgreSQL's, which writes numbers in plain
    decimal (:func:`_written`).

    On PostgreSQL the rows are streamed in chunks (libpq 17's chunked rows mode): the server
    reads the next rows while this process writes the last ones; on an older libpq, from a
    server-side cursor. Elsewhere Django reads them and the times are written here.
    """
    streamed = connections[responses.db].vendor == "postgresql"
    texts = {f"{column.replace('__', '_')}_text": column for column in JSON_COLUMNS}
    if streamed:
        texts |= {f"{column.replace('__', '_')}_iso": column for column in TIME_COLUMNS}
    names = {column: name for name, column in texts.items()}
    rows = (
        responses.order_by("created", "pk")
        .annotate(
            **{
                name: (IsoTime(column) if column in TIME_COLUMNS else Cast(column, TextField()))
                for name, column in texts.items()
            }
        )
        .values_list(*(names.get(column, column) for column in RESPONSE_COLUMNS))
    )
    if not streamed:
        return batches(map(with_iso_times, rows.iterator(chunk_size=CHUNK_SIZE))), False
    if psycopg.pq.version() < 170000:
        return batches(rows.iterator(chunk_size=CHUNK_SIZE)), True
    return _streamed(rows), True


def _streamed(rows: QuerySet[Response, tuple[Any, ...]]) -> Iterator[list[Any]]:
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    with connections[rows.db].cursor() as cursor:
        yield from batches(cursor.cursor.stream(sql, params, size=CHUNK_SIZE))


def batches(rows: Iterable[Any], size: int = OBJECTS_PER_WRITE) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass(frozen=True)
class NumberedPage:
    """Page ``number`` (from 1) of ``size`` responses, and how many there are in all."""

    rows: list[tuple[Any, ...]]
    number: int
    size: int
    total: int
    extended: bool = False

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [row_object(with_iso_times(row), extended=self.extended) for row in self.rows]

    @property
    def pages(self) -> int:
        return -(-self.total // self.size)


def numbered_page(
    responses: QuerySet[Response], number: int, size: int, *, extended: bool = False
) -> NumberedPage:
    """Two queries: the count, and the page's rows (oldest first, as the export)."""
    offset = (number - 1) * size
    rows = list(response_rows(responses)[offset : offset + size])
    return NumberedPage(rows, number, size, responses.count(), extended)


# --- exact JSON, fast -----------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


class _Inexact(Exception):
    """orjson wrote a number otherwise than json.dumps would: the row is made again with json."""


def fast_json(value: Any) -> bytes:
    """orjson's bytes of a value that orjson.loads read from PostgreSQL's text of a JSON column
    without ``.0000`` (:func:`_written`); :class:`_Inexact` where they may not be json.dumps's:
    orjson.loads reads an integer past 64 bits as a float, which orjson.dumps writes with
    ``e+``. Any ``+`` costs its row the slow way; looking for one byte costs next to nothing."""
    body = orjson.dumps(value)
    if b"+" in body:
        raise _Inexact
    return body


def exact_json(value: Any) -> bytes:
    return _dumps(value).encode()


def _decoded(raw: Sequence[Any], loads: Callable[[Any], Any]) -> list[Any]:
    row = list(raw)
    a, b, c, d = JSON_INDEXES
    row[a], row[b], row[c], row[d] = loads(row[a]), loads(row[b]), loads(row[c]), loads(row[d])
    return row


def _written(raw: Sequence[Any], plain: bool, write: Callable[[Sequence[Any], bool], Any]) -> Any:
    """``write(row, fast)`` of a row of :func:`raw_rows`: decoded by orjson, or by json where
    orjson may differ. orjson writes floats under 1e-4 otherwise than json (``0.00001`` for
    ``1e-05``, ``1e-7`` for ``1e-07``); in PostgreSQL's text (``plain``), which writes numbers
    in plain decimal, such a float shows as ``.0000``."""
    a, b, c, d = _json_texts(raw)
    if plain and not (".0000" in a or ".0000" in b or ".0000" in c or ".0000" in d):
        try:
            return write(_decoded(raw, orjson.loads), True)
        except _Inexact:
            pass
    return write(_decoded(raw, json.loads), False)


# --- JSON -----------------------------------------------------------------------------------------


def json_chunks(objects: Iterable[dict[str, Any]], key: str = "responses") -> Iterator[bytes]:
    """``{"<key>": [ ... ]}``, a few hundred objects per chunk; dates in ISO-8601."""
    yield f'{{"{key}":['.encode()
    separator = b""
    for batch in batches(objects):
        yield separator + b",".join(exact_json(obj) for obj in batch)
        separator = b","
    yield b"]}"


def json_export(responses: QuerySet[Response], *, extended: bool = False) -> Iterator[bytes]:
    """``{"responses": [ ... ]}`` of every response, oldest first, streamed."""

    def write(row: Sequence[Any], fast: bool) -> bytes:
        return (fast_json if fast else exact_json)(row_object(row, extended=extended))

    row_batches, plain = raw_rows(responses)
    yield b'{"responses":['
    separator = b""
    for batch in row_batches:
        yield separator + b",".join([_written(raw, plain, write) for raw in batch])
        separator = b","
    yield b"]}"


# --- CSV ------------------------------------------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_cell(value: Any, fast: bool = False) -> Any:
    """A value as its cell: JSON for objects and lists, ``true``/``false``, empty for None;
    ``fast``: orjson may write the JSON (:func:`_written`)."""
    if isinstance(value, str):
        return csv_safe(value)
    if isinstance(value, (dict, list)):  # a tuple: ``dict | list`` would be made on every call
        return (fast_json if fast else exact_json)(value).decode()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if fast and isinstance(value, float):
        raise _Inexact  # maybe an integer past 64 bits, read by orjson as a float
    return value


ANONYMOUS_ID_AT = CSV_COLUMNS.index("userId") + 1


def csv_columns(*, extended: bool = False) -> tuple[str, ...]:
    """The columns; extended, the user's anonymousId after their userId."""
    if not extended:
        return CSV_COLUMNS
    at = ANONYMOUS_ID_AT
    return (*CSV_COLUMNS[:at], "anonymousId", *CSV_COLUMNS[at:])


BOOLEAN_CELLS = ("false", "true")
BUILT_IN_ANSWERS = (RATING_QUESTION, COMMENT_QUESTION)


def csv_row(row: Sequence[Any], fast: bool, *, extended: bool = False) -> list[Any]:
    """The cells of a row of RESPONSE_COLUMNS: the response object, flattened; its answers
    without the rating and the comment, which have their columns."""
    (pk, project_id, survey_id, created, rating, feedback, answers, dismissed, pending, completed,
     method, language, referrer, device, traits, _, user_pk, user_id, anonymous_id, name,
     email, *_) = row  # fmt: skip
    category, score = VERDICTS[rating]
    device = device or {}
    others = answers and [answer for answer in answers if answer["id"] not in BUILT_IN_ANSWERS]
    # csv_safe of the texts, in one loop rather than seven calls
    user_id, name, email, feedback, method, language, referrer = [
        "'" + text if text and text[:1] in FORMULA_STARTS else text
        for text in (user_id, name, email, feedback, method, language, referrer)
    ]
    cells = [
        *(pk, created, project_id, survey_id, user_pk, user_id, name, email, rating, category),
        *(score, feedback, BOOLEAN_CELLS[dismissed], BOOLEAN_CELLS[pending]),
        *(BOOLEAN_CELLS[completed], method, language, referrer),
        *(csv_cell(device.get("os"), fast), csv_cell(device.get("type"), fast)),
        *(csv_cell(others or None, fast), csv_cell(traits or None, fast)),
    ]
    if extended:
        cells.insert(ANONYMOUS_ID_AT, csv_cell(anonymous_id))
    return cells


def csv_chunks(
    row_batches: Iterable[list[list[Any]]], *, extended: bool = False
) -> Iterator[bytes]:
    """The header, then each batch of rows of cells (:func:`csv_row`) as a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_columns(extended=extended))
    for batch in row_batches:
        writer.writerows(batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if header_only := buffer.getvalue():
        yield header_only.encode()


def csv_export(responses: QuerySet[Response], *, extended: bool = False) -> Iterator[bytes]:
    """Every response as a CSV row, oldest first, streamed."""

    def write(row: Sequence[Any], fast: bool) -> list[Any]:
        return csv_row(row, fast, extended=extended)

    row_batches, plain = raw_rows(responses)
    cells = ([_written(raw, plain, write) for raw in batch] for batch in row_batches)
    return csv_chunks(cells, extended=extended)


def csv_page(page: NumberedPage) -> Iterator[bytes]:
    """The rows of a numbered page as CSV."""
    cells = [csv_row(with_iso_times(row), False, extended=page.extended) for row in page.rows]
    return csv_chunks([cells], extended=page.extended)


# --- statistics -----------------------------------------------------------------------------------


def statistics(
    project_id: int,
    *,
    survey_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """SatisMeter's response statistics, whatever the number of responses: the whole days of
    the window (the project's days) from the daily rollups in one query, and the hours at
    either end that are not a whole day from the responses and displays (two more queries,
    only when the window does not start and end at the project's midnights).

    ``responses`` counts answered (rated) responses, the NPS denominator; dismissed and pending
    ones are counted beside it, never in it.
    """
    scope = {"project_id": project_id}
    if survey_id is not None:
        scope["survey_id"] = survey_id
    days, edges = _whole_days(project_id, start, end)
    summary, displays = _rollup_totals(DailyRollup.objects.filter(**scope), days)
    if edges:
        within = Q()
        for low, high in edges:
            within |= Q(created__gte=low, created__lt=high)
        summary += nps.summarize(Response.objects.counted().filter(within, **scope))
        displays += Display.objects.counted().filter(within, **scope).count()
    return {
        "responses": summary.answered,
        "displays": displays,
        "dismissed": summary.dismissed,
        "pending": summary.pending,
        "commented": summary.commented,
        "promoters": summary.promoters,
        "passives": summary.passives,
        "detractors": summary.detractors,
        "nps": summary.nps,
        "frequency": summary.frequency,
    }


Days = tuple[date | None, date | None] | None
Edges = list[tuple[datetime, datetime]]


def _whole_days(
    project_id: int, start: datetime | None, end: datetime | None
) -> tuple[Days, Edges]:
    """The first and last whole days of the project's days within ``[start, end)`` (None:
    unbounded; the whole Days None: no whole day), and the parts of the window outside them."""
    if start is None and end is None:
        return (None, None), []
    zone = Project.zone_of(project_id)
    first = last = None
    edges: Edges = []
    if start is not None:
        first = start.astimezone(zone).date()
        if _midnight(first, zone) < start:
            first += timedelta(days=1)
    if end is not None:
        last = end.astimezone(zone).date() - timedelta(days=1)
    if first is not None and last is not None and first > last:
        assert start is not None and end is not None
        return None, [(start, end)]
    if start is not None and first is not None and start < _midnight(first, zone):
        edges.append((start, _midnight(first, zone)))
    if end is not None and last is not None and _midnight(last + timedelta(days=1), zone) < end:
        edges.append((_midnight(last + timedelta(days=1), zone), end))
    return (first, last), edges


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The day's first instant in the zone (where midnight is skipped, the moment it is)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def _rollup_totals(rollups: QuerySet[DailyRollup], days: Days) -> tuple[nps.Summary, int]:
    if days is None:
        return nps.Summary(), 0
    first, last = days
    if first is not None:
        rollups = rollups.filter(day__gte=first)
    if last is not None:
        rollups = rollups.filter(day__lte=last)
    row = rollups.aggregate(**nps.rollup_sums(), displays=Coalesce(Sum("displays"), 0))
    return nps.summary_of(row), int(row["displays"])


def recent_summaries(
    projects: Iterable[Project],
    group: str,
    *,
    days: int = dashboard.DEFAULT_DAYS,
    surveys: Iterable[int] | None = None,
) -> dict[int, nps.Summary]:
    """Each project's last ``days`` days, today included (the dashboard's default period, in
    the project's days), summed per ``group`` ("project_id" or "survey_id", of ``surveys``
    only when given) from the daily rollups: one query for a whole list page."""
    window = Q()
    for project in {project.pk: project for project in projects}.values():
        today = timezone.localdate(timezone=project.zone)
        window |= Q(
            project_id=project.pk, day__gte=today - timedelta(days=days - 1), day__lte=today
        )
    if not window:
        return {}
    rollups = DailyRollup.objects.filter(window)
    if surveys is not None:
        rollups = rollups.filter(survey_id__in=list(surveys))
    rows = rollups.order_by().values(group).annotate(**nps.rollup_sums())
    return {row[group]: nps.summary_of(row) for row in rows}


# --- cursor pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: pages are ordered by (created, id), so the next page starts
    strictly after it, whatever was inserted meanwhile."""

    created: datetime
    pk: int

    def encode(self) -> str:
        raw = _dumps([self.created.isoformat(), self.pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            created, pk = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidInput("pageCursor", "is not a cursor this API gave out") from None
        when = timeparse.parse_timestamp(created) if isinstance(created, str) else None
        if when is None or isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
            raise InvalidInput("pageCursor", "is not a cursor this API gave out")
        return cls(when, pk)


@dataclass(frozen=True)
class Page:
    objects: list[dict[str, Any]]
    has_next: bool
    # Where the next page starts; given on the last page too, so that a client can come back
    # later for what arrived since.
    next_cursor: Cursor | None


def page(
    responses: QuerySet[Response], cursor: Cursor | None, size: int, *, extended: bool = False
) -> Page:
    """One page of response objects after ``cursor``, oldest first; one query."""
    if cursor is not None:
        responses = responses.filter(
            Q(created__gt=cursor.created) | Q(created=cursor.created, pk__gt=cursor.pk)
        )
    rows = list(response_rows(responses)[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    created, pk = RESPONSE_COLUMNS.index("created"), RESPONSE_COLUMNS.index("id")
    last = Cursor(rows[-1][created], rows[-1][pk]) if rows else cursor
    objects = [row_object(with_iso_times(row), extended=extended) for row in rows]
    return Page(objects, more, last)
