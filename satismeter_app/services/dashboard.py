"""The NPS dashboard's numbers: filters in, SQL aggregates out.

Every number on a dashboard page comes from one SQL query per block (summary, previous
period, trend, displays, comments, trait breakdown), whatever the number of responses; no
response is loaded into Python except the few latest comments shown.

Margin of error
---------------
Each answered response scores +1 (promoter), 0 (passive) or −1 (detractor); NPS is their mean
(×100). With ``p`` the promoter share, ``d`` the detractor share and ``n`` answered responses,
the variance of one score is ``p + d − (p − d)²`` and, by the normal approximation, the 95 %
margin of error is ``1.96 × sqrt(variance / n) × 100`` NPS points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet, Sum, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import (
    Cast,
    Coalesce,
    TruncDate,
    TruncDay,
    TruncMonth,
    TruncWeek,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import nps
from ..models import DailyRollup, Display, Project, Response, Survey

DEFAULT_DAYS = 90
COMMENTS_SHOWN = 20
BREAKDOWN_VALUES = 10
Z_95 = 1.96
INTERVALS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
TRAIT_NAME = re.compile(r"[A-Za-z0-9_.$-]{1,64}")
# The days a filter may name. Python's dates stop at 0001-01-01 and 9999-12-31, and a page
# widens its period (the day after the end, the previous period of the same length): with
# these bounds every date it computes, and its time in any time zone, still exists.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which responses a dashboard page counts; ``end`` is the last day included."""

    start: date
    end: date
    survey: Survey | None = None
    method: str = ""
    language: str = ""
    category: str = ""
    trait: str = ""
    trait_value: str = ""
    search: str = ""
    interval: str = "week"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - _DAY)


_DAY = timedelta(days=1)


def within_supported_days(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise forms.ValidationError(
            _("Pick a day from %(first)s to %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
            code="out_of_range",
        )


DAY_INPUT = {"type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}


class FilterForm(forms.Form):
    """The dashboard's GET form; invalid fields are left out of the filters (and reported)."""

    start = forms.DateField(
        label=_("from"),
        required=False,
        widget=forms.DateInput(DAY_INPUT),
        validators=[within_supported_days],
    )
    end = forms.DateField(
        label=_("to"),
        required=False,
        widget=forms.DateInput(DAY_INPUT),
        validators=[within_supported_days],
    )
    survey = forms.ModelChoiceField(
        label=_("survey"), queryset=Survey.objects.none(), required=False, empty_label=_("All")
    )
    method = forms.ChoiceField(label=_("method"), required=False)
    language = forms.CharField(label=_("language"), required=False, max_length=35)
    category = forms.ChoiceField(
        label=_("category"),
        required=False,
        choices=[("", _("All")), *nps.CATEGORY_CHOICES],
    )
    trait = forms.RegexField(
        label=_("trait"),
        regex=TRAIT_NAME,
        required=False,
        help_text=_("A trait name, e.g. plan: NPS is broken down by its values."),
    )
    trait_value = forms.CharField(label=_("trait value"), required=False, max_length=200)
    search = forms.CharField(label=_("comment contains"), required=False, max_length=200)
    interval = forms.ChoiceField(
        label=_("trend by"),
        required=False,
        choices=[("day", _("day")), ("week", _("week")), ("month", _("month"))],
    )

    def __init__(self, project: Project, data: Any, today: date | None = None) -> None:
        # The defaults are shown in the form: the last 90 days (of the project's days), by week.
        self.today = today or timezone.localdate(timezone=project.zone)
        end = self.today
        defaults = {
            "end": end.isoformat(),
            "start": (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "interval": "week",
        }
        data = data.copy()
        for name, value in defaults.items():
            if not data.get(name):
                data[name] = value
        super().__init__(data)
        survey = self.fields["survey"]
        assert isinstance(survey, forms.ModelChoiceField)
        # Only this project's surveys: another project's survey id is an invalid choice.
        survey.queryset = Survey.objects.filter(project=project).order_by("name")
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [("", _("All")), *Response.Method.choices]

    def filters(self) -> Filters:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        end = data.pop("end", None) or self.today
        start = data.pop("start", None) or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        return Filters(start=start, end=end, **data)


# --- querysets ------------------------------------------------------------------------------


def _bounds(project: Project, filters: Filters) -> tuple[datetime, datetime]:
    """The period's first instant and the first instant after it: midnights in the project's
    time zone (a day of a daylight-saving change is 23 or 25 hours long)."""
    start = datetime.combine(filters.start, time.min, tzinfo=project.zone)
    return start, datetime.combine(filters.end + _DAY, time.min, tzinfo=project.zone)


def trait_text(name: str) -> Cast:
    """A trait of the response as text (a number 5 reads "5"), comparable with a typed value."""
    return Cast(KeyTextTransform(name, "traits"), output_field=TextField())


def responses(project: Project, filters: Filters) -> QuerySet[Response]:
    """The project's responses the filters select (the comment search is not a filter)."""
    start, end = _bounds(project, filters)
    qs: QuerySet[Response] = Response.objects.filter(
        _counted(filters), project=project, created__gte=start, created__lt=end
    )
    if filters.survey is not None:
        qs = qs.filter(survey=filters.survey)
    if filters.trait and filters.trait_value:
        qs = qs.annotate(_trait=trait_text(filters.trait)).filter(_trait=filters.trait_value)
    return qs


def _counted(filters: Filters) -> Q:
    """The method, language and category filters: the same on responses and on rollups."""
    q = Q()
    if filters.method:
        q &= Q(method=filters.method)
    if filters.language:
        q &= Q(language=filters.language)
    if filters.category:
        q &= nps.category_q(filters.category)
    return q


def displays(project: Project, filters: Filters) -> QuerySet[Display]:
    """Displays in the period (and survey); method, language and traits are not known of a
    display, so those filters do not narrow it."""
    start, end = _bounds(project, filters)
    qs = Display.objects.filter(project=project, created__gte=start, created__lt=end)
    return qs if filters.survey is None else qs.filter(survey=filters.survey)


def rollups(project: Project, filters: Filters) -> QuerySet[DailyRollup]:
    """The daily rollups of the period's days (and survey), displays' rows included."""
    qs = DailyRollup.objects.filter(project=project, day__gte=filters.start, day__lte=filters.end)
    return qs if filters.survey is None else qs.filter(survey=filters.survey)


def from_rollups(filters: Filters) -> bool:
    """Whether rollups can serve the numbers: all but a trait value, which only the
    responses know (the trait breakdown and the comments always read the responses)."""
    return not (filters.trait and filters.trait_value)


# --- numbers --------------------------------------------------------------------------------


def margin_of_error(summary: nps.Summary) -> float | None:
    """The 95 % margin of error of the NPS, in points (see the module docstring)."""
    n = summary.answered
    if n == 0:
        return None
    p, d = summary.promoters / n, summary.detractors / n
    variance = max(p + d - (p - d) ** 2, 0.0)
    return Z_95 * math.sqrt(variance / n) * 100


def share(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


@dataclass(frozen=True)
class Overview:
    summary: nps.Summary
    previous: nps.Summary
    displays: int

    @property
    def margin(self) -> float | None:
        return margin_of_error(self.summary)

    @property
    def change(self) -> float | None:
        now, before = self.summary.nps, self.previous.nps
        return None if now is None or before is None else now - before

    @property
    def shares(self) -> dict[str, float | None]:
        s = self.summary
        return {
            nps.PROMOTER: share(s.promoters, s.answered),
            nps.PASSIVE: share(s.passives, s.answered),
            nps.DETRACTOR: share(s.detractors, s.answered),
        }

    @property
    def funnel(self) -> list[tuple[str, int]]:
        s = self.summary
        return [
            (str(_("Displays")), self.displays),
            (str(_("Answered")), s.answered),
            (str(_("Completed")), s.completed),
            (str(_("Dismissed")), s.dismissed),
        ]


def overview(project: Project, filters: Filters) -> Overview:
    """One query over the rollups of both periods (with a trait value, see :func:`numbers`)."""
    if not from_rollups(filters):
        return _from_responses(project, filters).overview
    previous = filters.previous()
    counted = _counted(filters)
    now, before = Q(day__gte=filters.start), Q(day__lte=previous.end)
    both = replace(filters, start=previous.start)
    row = rollups(project, both).aggregate(
        **nps.rollup_sums(counted & now, "now_"),
        **nps.rollup_sums(counted & before, "before_"),
        displays=Coalesce(Sum("displays", filter=now), 0),
    )
    return Overview(
        summary=nps.summary_of(row, "now_"),
        previous=nps.summary_of(row, "before_"),
        displays=row["displays"],
    )


def _rollup_totals(project: Project, filters: Filters) -> tuple[nps.Summary, int]:
    """The period's summary without the trait filter, and its displays: one aggregate over
    the rollups."""
    row = rollups(project, filters).aggregate(
        **nps.rollup_sums(_counted(filters)), displays=Coalesce(Sum("displays"), 0)
    )
    return nps.summary_of(row), int(row["displays"])


def _with_nps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["nps"] = nps.nps_value(row["promoters"], row["detractors"], row["answered"])
    return rows


CATEGORY_SUMS = ("answered", "promoters", "passives", "detractors")


def trend(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """NPS per day, week or month of the period (in the project's time zone), one grouped
    query over the rollups (with a trait value, see :func:`numbers`); ``period`` is the first
    day of each, weeks start on Monday."""
    if not from_rollups(filters):
        return _from_responses(project, filters).trend
    trunc = INTERVALS.get(filters.interval, TruncWeek)
    sums = nps.rollup_sums(_counted(filters))
    grouped: QuerySet[Any] = (
        rollups(project, filters)
        .filter(_counted(filters), responses__gt=0)
        .order_by()
        .annotate(period=trunc("day"))
        .values("period")
        .annotate(**{name: sums[name] for name in CATEGORY_SUMS})
    )
    rows = [dict(row) for row in grouped.order_by("period")]
    for row in rows:
        if isinstance(row["period"], datetime):
            row["period"] = row["period"].date()
    return _with_nps(rows)


def breakdown(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """NPS per value of the chosen trait, the most answered values first (ties by value): one
    grouped query over the responses. With a trait value, the chosen value next to every
    other response instead (see :func:`numbers`)."""
    if not filters.trait:
        return []
    if not from_rollups(filters):
        return _from_responses(project, filters).breakdown
    grouped: QuerySet[Any] = (
        responses(project, filters)
        .order_by()
        .annotate(value=trait_text(filters.trait))
        .filter(value__isnull=False, rating__isnull=False)
        .values("value")
        .annotate(**nps.category_counts())
    )
    return _top_values(grouped.order_by("-answered", "value")[:BREAKDOWN_VALUES])


def _top_values(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answered values, most answered first, ties in the order of the values' text."""
    answered = [{**row, "rest": False} for row in rows if row["answered"]]
    answered.sort(key=lambda row: (-row["answered"], row["value"]))
    return _with_nps(answered[:BREAKDOWN_VALUES])


@dataclass(frozen=True)
class Numbers:
    """A page's numbers but its comments."""

    overview: Overview
    trend: list[dict[str, Any]]
    breakdown: list[dict[str, Any]]


def numbers(project: Project, filters: Filters) -> Numbers:
    """The overview, the trend and the trait breakdown of a page.

    Without a trait value: two queries over the rollups (overview, trend) and, with a trait
    name, one grouped query over the responses (breakdown: the ten most answered values).
    With a trait value, which only the responses know: one grouped query over the chosen
    value's responses gives the summary, the previous period and the trend, and one aggregate
    over the rollups the displays and the period's totals; the breakdown then compares the
    chosen value with every other response (see :func:`_from_responses`).
    """
    if not from_rollups(filters):
        return _from_responses(project, filters)
    return Numbers(
        overview=overview(project, filters),
        trend=trend(project, filters),
        breakdown=breakdown(project, filters),
    )


def _from_responses(project: Project, filters: Filters) -> Numbers:
    """A trait value's numbers: its responses of both periods by local day, and the period's
    totals without the trait filter, from the rollups.

    The chosen value's days add up to the summary (this period) and the previous period, and
    into the trend's days, weeks or months (in Python: at most two rows per day of the
    period). The breakdown is the chosen value and the rest of the period's responses (the
    rollups' totals less the chosen value's): every figure on the page follows the filter,
    and the comparison costs no scan of the other values.
    """
    days = _trait_value_days(project, filters)
    now = [row for row in days if row["day"] >= filters.start]
    periods: dict[date, nps.Summary] = {}
    for row in now:
        period = period_of(row["day"], filters.interval)
        periods[period] = periods.get(period, nps.Summary()) + nps.summary_of(row)
    chosen = _total(now)
    everyone, displays = _rollup_totals(project, filters)
    return Numbers(
        overview=Overview(
            summary=chosen,
            previous=_total(row for row in days if row["day"] < filters.start),
            displays=displays,
        ),
        trend=_with_nps(
            [{"period": period, **_categories(periods[period])} for period in sorted(periods)]
        ),
        breakdown=_with_nps(
            [
                {"value": filters.trait_value, "rest": False, **_categories(chosen)},
                {"value": "", "rest": True, **_rest(everyone, chosen)},
            ]
        ),
    )


def _trait_value_days(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """The one grouped query over the responses of :func:`_from_responses`: the chosen
    value's responses of both periods, counted per local day.

    Only the chosen value's rows are grouped: PostgreSQL expects few rows of one trait value
    and hashes them per worker. (Grouped by value and day together, it expected a group per
    response and sorted every row of both periods: four times the raw aggregate on a million
    responses.)
    """
    both = replace(filters, start=filters.previous().start)
    grouped: QuerySet[Any] = (
        responses(project, both)
        .order_by()
        .annotate(day=TruncDate("created", tzinfo=project.zone))
        .values("day")
        .annotate(**nps.summary_counts())
    )
    return list(grouped)


def period_of(day: date, interval: str) -> date:
    """The first day of the trend's period (day, week from Monday, month) that holds ``day``:
    what ``TruncDay``, ``TruncWeek`` and ``TruncMonth`` give."""
    if interval == "day":
        return day
    return day.replace(day=1) if interval == "month" else day - timedelta(days=day.weekday())


def _total(rows: Iterable[dict[str, Any]]) -> nps.Summary:
    return sum((nps.summary_of(row) for row in rows), nps.Summary())


def _categories(summary: nps.Summary) -> dict[str, int]:
    return {name: getattr(summary, name) for name in CATEGORY_SUMS}


def _rest(everyone: nps.Summary, chosen: nps.Summary) -> dict[str, int]:
    """The categories of the responses in ``everyone`` that are not in ``chosen``."""
    return {name: getattr(everyone, name) - getattr(chosen, name) for name in CATEGORY_SUMS}


def comments(project: Project, filters: Filters, limit: int = COMMENTS_SHOWN) -> list[Response]:
    """The latest comments, with the comment search applied: one query."""
    qs = responses(project, filters).exclude(feedback="")
    if filters.search:
        qs = qs.filter(feedback__icontains=filters.search)
    qs = qs.select_related("survey", "user").order_by("-created", "-pk")
    return list(qs[:limit])
