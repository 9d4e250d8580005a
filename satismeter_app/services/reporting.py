"""What the read APIs report: statistics, numbered pages (``page[number]``) and cursor pages
of response objects. The streamed exports are in :mod:`.exporting`.

Pages read rows straight from the database as tuples of
:data:`~satismeter_app.representations.RESPONSE_COLUMNS` (no model instance per row).
Statistics are aggregates computed in SQL (:func:`nps.summarize`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import nps, timeparse
from ..exceptions import InvalidInput
from ..models import DailyRollup, Display, Project, Response
from ..representations import RESPONSE_COLUMNS, iso_time, row_object
from . import answers, dashboard

CHUNK_SIZE = 2000  # rows fetched per round trip of the cursor


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


def question_statistics(
    project_id: int,
    *,
    survey_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """The numbers of each question of the project's surveys (or the one) but the built-in
    rating and comment, over the responses of ``[start, end)`` that answered it, whether
    completed, pending or dismissed later: one grouped query (:mod:`.answers`)."""
    responses = Response.objects.counted().filter(project_id=project_id).between(start, end)
    if survey_id is not None:
        responses = responses.filter(survey_id=survey_id)
    return [n.as_dict() for n in answers.of_project(responses, project_id, survey_id)]


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
        raw = json.dumps([self.created.isoformat(), self.pk], separators=(",", ":")).encode()
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
