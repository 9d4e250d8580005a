"""What the read APIs report: responses streamed as JSON or CSV, statistics, numbered pages
(``page[number]``) and cursor pages.

Exports are generators over ``QuerySet.iterator()`` (a server-side cursor on PostgreSQL), so
their memory does not grow with the number of responses; each response object is built from
one row of one query (the survey and the user are joined, their large columns left out).
Statistics are aggregates computed in SQL (:func:`nps.summarize`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from .. import nps, timeparse
from ..exceptions import InvalidInput
from ..models import DailyRollup, Display, Project, Response
from ..representations import COMMENT_QUESTION, RATING_QUESTION, response_object

CHUNK_SIZE = 2000  # rows fetched per round trip of the cursor
OBJECTS_PER_WRITE = 200  # response objects joined into one chunk of the HTTP body

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

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


# The columns the response object reads (representations.response_object): every other one costs
# decoding per row and is left in the database.
RESPONSE_OBJECT_FIELDS = (
    *("id", "project_id", "survey_id", "user_id", "created", "rating", "feedback", "answers"),
    *("method", "language", "referrer", "device", "traits", "dismissed", "pending", "completed"),
    *("survey__id", "survey__type"),
    *("user__id", "user__user_id", "user__anonymous_id", "user__name", "user__email"),
    *("user__created_at", "user__erased", "user__traits", "user__groups"),
)


def for_export(responses: QuerySet[Response]) -> QuerySet[Response]:
    """Oldest first, with what the response object needs joined in and nothing more."""
    return (
        responses.select_related("survey", "user")
        .only(*RESPONSE_OBJECT_FIELDS)
        .order_by("created", "pk")
    )


def iter_objects(
    responses: QuerySet[Response], *, extended: bool = False
) -> Iterator[dict[str, Any]]:
    for response in for_export(responses).iterator(chunk_size=CHUNK_SIZE):
        yield response_object(response, extended=extended)


@dataclass(frozen=True)
class NumberedPage:
    """Page ``number`` (from 1) of ``size`` responses, and how many there are in all."""

    objects: list[dict[str, Any]]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.size)


def numbered_page(
    responses: QuerySet[Response], number: int, size: int, *, extended: bool = False
) -> NumberedPage:
    """Two queries: the count, and the page's rows (oldest first, as the export)."""
    offset = (number - 1) * size
    rows = for_export(responses)[offset : offset + size]
    objects = [response_object(row, extended=extended) for row in rows]
    return NumberedPage(objects, number, size, responses.count())


# --- JSON -----------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def json_chunks(objects: Iterable[dict[str, Any]], key: str = "responses") -> Iterator[bytes]:
    """``{"<key>": [ ... ]}``, a few hundred objects per chunk; dates in ISO-8601."""
    yield f'{{"{key}":['.encode()
    separator, batch = "", []
    for obj in objects:
        batch.append(_dumps(obj))
        if len(batch) >= OBJECTS_PER_WRITE:
            yield (separator + ",".join(batch)).encode()
            separator, batch = ",", []
    if batch:
        yield (separator + ",".join(batch)).encode()
    yield b"]}"


# --- CSV ------------------------------------------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = _dumps(value)
    return csv_safe(value)


def csv_columns(*, extended: bool = False) -> tuple[str, ...]:
    """The columns; extended, the user's anonymousId after their userId."""
    if not extended:
        return CSV_COLUMNS
    at = CSV_COLUMNS.index("userId") + 1
    return (*CSV_COLUMNS[:at], "anonymousId", *CSV_COLUMNS[at:])


def csv_row(obj: dict[str, Any], columns: tuple[str, ...] = CSV_COLUMNS) -> list[Any]:
    user, device = obj["user"], obj["device"] or {}
    answers = [a for a in obj["answers"] if a["id"] not in (RATING_QUESTION, COMMENT_QUESTION)]
    flat = {
        **obj,
        "user": user["id"],
        "userId": user["userId"],
        "anonymousId": user.get("anonymousId"),
        "name": user["name"],
        "email": user["email"],
        "deviceOs": device.get("os"),
        "deviceType": device.get("type"),
        "answers": answers or None,
        "traits": user["traits"] or None,
    }
    return [csv_cell(flat[column]) for column in columns]


class _Line:
    """A file-like target for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(objects: Iterable[dict[str, Any]], *, extended: bool = False) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    columns = csv_columns(extended=extended)
    yield writer.writerow(columns).encode()
    batch: list[str] = []
    for obj in objects:
        batch.append(writer.writerow(csv_row(obj, columns)))
        if len(batch) >= OBJECTS_PER_WRITE:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


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
        summary += nps.summarize(Response.objects.filter(within, **scope))
        displays += Display.objects.filter(within, **scope).count()
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
    rows = list(for_export(responses)[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    last = Cursor(rows[-1].created, rows[-1].pk) if rows else cursor
    return Page([response_object(r, extended=extended) for r in rows], more, last)
