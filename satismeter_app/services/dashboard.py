"""The NPS dashboard's numbers: filters in, SQL aggregates out.

Every number on a dashboard page comes from one SQL query per block (summary, previous
period, trend, displays, comments, trait breakdown), whatever the number of responses; no
response is loaded into Python except the few latest comments shown and the latest responses'
traits and languages that the filters suggest.

Each filter narrows everything on the page that it can, and the page says what it does not
narrow: displays follow the date and survey filters only (a display has no method, language,
traits, rating or comment), and the category filter narrows the counts, scores, comments and
export but not the NPS, its trend or the trait breakdown (one category's NPS is always −100,
0 or +100): those are of every category.

Margin of error
---------------
Each answered response scores +1 (promoter), 0 (passive) or −1 (detractor); NPS is their mean
(×100). With ``p`` the promoter share, ``d`` the detractor share and ``n`` answered responses,
the variance of one score is ``p + d − (p − d)²`` and, by the normal approximation, the 95 %
margin of error is ``1.96 × sqrt(variance / n) × 100`` NPS points. The shares are taken with
one more response of each category (``p = (promoters + 1) / (n + 3)``, the same for ``d``,
and ``n + 3`` below the line), as Agresti and Coull do for a proportion: a week of one
promoter reads 100 ± 81, not 100 ± 0, and for hundreds of answers nothing visible changes.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Count, Q, QuerySet, Sum, TextField
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

from .. import nps, permissions
from ..models import DailyRollup, Display, Project, Response, Survey, Tag
from ..questions import CHOICE_TYPES, LONG_TEXT, Question
from . import answers, work

DEFAULT_DAYS = 90
COMMENTS_SHOWN = 20
BREAKDOWN_VALUES = 10
Z_95 = 1.96
INTERVALS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# The whole value: RegexField only searches, and "a b" holds a match.
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
TRAIT_NAME = re.compile(r"\A[A-Za-z0-9_.$-]{1,64}\Z")
# The trend's periods at most: a longer range is drawn by week, then by month, then only the
# months that have answers.
TREND_POINTS = 400
# The filters suggest the languages, trait names and values of this many latest responses.
SUGGESTION_SAMPLE = 2000
SUGGESTIONS = 50
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
    answer: str = ""  # "question:choice": responses whose answer includes the choice
    status: str = ""
    tag: Tag | None = None
    assignee: str = ""  # a staff user's id, or work.NOBODY

    @property
    def worked(self) -> bool:
        """Whether a filter of staff's work (status, tag, assignee) is set: only the
        responses know those."""
        return bool(self.status or self.tag or self.assignee)

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
    language = forms.CharField(
        label=_("language"),
        required=False,
        max_length=35,
        widget=forms.TextInput({"list": "sm-languages", "autocomplete": "off"}),
    )
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
        error_messages={
            "invalid": _(
                "A trait name is 1 to 64 letters, digits, dots, dashes, underscores or dollar "
                "signs, e.g. plan."
            )
        },
        widget=forms.TextInput({"list": "sm-trait-names", "autocomplete": "off"}),
    )
    trait_value = forms.CharField(
        label=_("trait value"),
        required=False,
        max_length=200,
        widget=forms.TextInput({"list": "sm-trait-values", "autocomplete": "off"}),
    )
    search = forms.CharField(
        label=_("comment contains"),
        required=False,
        max_length=200,
        help_text=_("Only responses whose comment contains this text are counted and listed."),
    )
    answer = forms.ChoiceField(
        label=_("answer includes"),
        required=False,
        help_text=_("Pick a survey first: only its responses with this choice are counted."),
    )
    status = forms.ChoiceField(
        label=_("status"), required=False, choices=[("", _("All")), *Response.Status.choices]
    )
    tag = forms.ModelChoiceField(
        label=_("tag"), queryset=Tag.objects.none(), required=False, empty_label=_("All")
    )
    assignee = forms.ChoiceField(label=_("assignee"), required=False)
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
        answer = self.fields["answer"]
        assert isinstance(answer, forms.ChoiceField)
        answer.choices = [("", _("All")), *answer_choices(project, data.get("survey"))]
        self._offer_work_choices(project)

    def _offer_work_choices(self, project: Project) -> None:
        """The project's tags and the people its responses can be assigned to."""
        tag = self.fields["tag"]
        assert isinstance(tag, forms.ModelChoiceField)
        tag.queryset = Tag.objects.filter(project=project).order_by("name")
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        people = permissions.people_of([project.pk])
        assignee.choices = [
            ("", _("All")),
            (work.NOBODY, _("nobody")),
            *((str(user.pk), work.person_name(user)) for user in people),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("trait_value") and not data.get("trait") and "trait" not in self.errors:
            self.add_error("trait_value", _("A trait value needs a trait name."))
        return data

    def filters(self) -> Filters:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        end = data.pop("end", None) or self.today
        start = data.pop("start", None) or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        return Filters(start=start, end=end, **data)


def answer_choices(project: Project, survey_id: Any) -> list[tuple[str, str]]:
    """The choices of the survey's choice questions, as the answer filter offers them:
    ``("question:choice", "Question label: Choice label")``; none without a survey."""
    text = str(survey_id or "")
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        return []
    survey = Survey.objects.filter(project=project, pk=int(text)).first()
    language = project.default_language
    return [
        (f"{q.id}:{c.id}", f"{label}: {q.choice_text(c, language, language)}")
        for q in (answers.asked(survey) if survey else ())
        if q.type in CHOICE_TYPES
        for label in [q.text("label", language, language) or q.id]
        for c in q.choices
    ]


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
    """The project's responses the filters select: what the page counts, lists and exports."""
    start, end = _bounds(project, filters)
    qs: QuerySet[Response] = Response.objects.counted().filter(
        _counted(filters), project=project, created__gte=start, created__lt=end
    )
    if filters.survey is not None:
        qs = qs.filter(survey=filters.survey)
    if filters.trait and filters.trait_value:
        qs = qs.annotate(_trait=trait_text(filters.trait)).filter(_trait=filters.trait_value)
    if filters.search:
        qs = qs.filter(feedback__icontains=filters.search)
    if filters.answer:
        question, choice = filters.answer.split(":", 1)
        qs = qs.filter(answers.AnswerIncludes(question, choice))
    if filters.worked:
        tags = [filters.tag] if filters.tag else []
        qs = work.narrowed(qs, status=filters.status, tags=tags, assignee=filters.assignee or None)
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
    qs = Display.objects.counted().filter(project=project, created__gte=start, created__lt=end)
    return qs if filters.survey is None else qs.filter(survey=filters.survey)


def rollups(project: Project, filters: Filters) -> QuerySet[DailyRollup]:
    """The daily rollups of the period's days (and survey), displays' rows included."""
    qs = DailyRollup.objects.filter(project=project, day__gte=filters.start, day__lte=filters.end)
    return qs if filters.survey is None else qs.filter(survey=filters.survey)


def from_rollups(filters: Filters) -> bool:
    """Whether rollups can serve the numbers: all but a trait value, the comment search, an
    answer and staff's work (status, tag, assignee), which only the responses know (the trait
    breakdown and the comments always read the responses)."""
    return not (filters.trait and filters.trait_value) and not _responses_only(filters)


def _responses_only(filters: Filters) -> bool:
    """Whether a filter other than the trait value is one the rollups cannot count."""
    return bool(filters.search or filters.answer or filters.worked)


# --- numbers --------------------------------------------------------------------------------


def margin_of_error(summary: nps.Summary) -> float | None:
    """The 95 % margin of error of the NPS, in points (see the module docstring)."""
    if summary.answered == 0:
        return None
    n = summary.answered + 3  # one more promoter, passive and detractor
    p, d = (summary.promoters + 1) / n, (summary.detractors + 1) / n
    variance = p + d - (p - d) ** 2
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
    """One query over the rollups of both periods (with a trait value or a comment search,
    see :func:`numbers`)."""
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
    """The period's summary without the trait value and the comment search, and its
    displays: one aggregate over the rollups."""
    row = rollups(project, filters).aggregate(
        **nps.rollup_sums(_counted(filters)), displays=Coalesce(Sum("displays"), 0)
    )
    return nps.summary_of(row), int(row["displays"])


def _with_nps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["nps"] = nps.nps_value(row["promoters"], row["detractors"], row["answered"])
    return rows


CATEGORY_SUMS = ("answered", "promoters", "passives", "detractors")


# --- the trend ------------------------------------------------------------------------------


def trend_interval(filters: Filters) -> str:
    """The interval the trend is drawn by: the chosen one, or the next longer one whose
    periods are at most ``TREND_POINTS`` (months at last)."""
    order = ("day", "week", "month")
    first = order.index(filters.interval) if filters.interval in order else 1
    for interval in order[first:]:
        if _periods(filters, interval):
            return interval
    return "month"


def _periods(filters: Filters, interval: str) -> list[date]:
    """The first day of each period of the range, empty ones too: the range's first day,
    then each next day, Monday or first of the month up to the range's last day; none when
    they are more than ``TREND_POINTS``."""
    periods: list[date] = []
    day = filters.start
    while day <= filters.end:
        if len(periods) == TREND_POINTS:
            return []
        periods.append(day)
        day = _next_period(day, interval)
    return periods


def _next_period(day: date, interval: str) -> date:
    if interval == "day":
        return day + _DAY
    if interval == "month":
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return day + timedelta(days=7 - day.weekday())


def period_of(day: date, interval: str, filters: Filters) -> date:
    """The first day of the trend's period (day, week from Monday, month) that holds ``day``:
    what ``TruncDay``, ``TruncWeek`` and ``TruncMonth`` give, but never before the range."""
    if interval == "month":
        first = day.replace(day=1)
    else:
        first = day if interval == "day" else day - timedelta(days=day.weekday())
    return max(first, filters.start)


def _trend_rows(sums: dict[date, dict[str, int]], filters: Filters) -> list[dict[str, Any]]:
    """A row per period, empty ones included (no answers: NPS and margin None), with the
    period's answered responses and the 95 % margin of error of its NPS. A range of more
    than ``TREND_POINTS`` months has a row per month with responses only."""
    empty = dict.fromkeys(CATEGORY_SUMS, 0)
    periods = _periods(filters, trend_interval(filters)) or sorted(sums)
    rows = _with_nps([{"period": p, **sums.get(p, empty)} for p in periods])
    for row in rows:
        row["margin"] = margin_of_error(nps.Summary(**{k: row[k] for k in CATEGORY_SUMS}))
    return rows


def trend(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """NPS per day, week or month of the period (in the project's time zone; every period,
    see :func:`_periods`), one grouped query over the rollups (with a trait value or a comment
    search, see :func:`numbers`); ``period`` is the first day of each."""
    if not from_rollups(filters):
        return _from_responses(project, filters).trend
    interval = trend_interval(filters)
    trunc = INTERVALS[interval]
    sums = nps.rollup_sums(_counted(filters))
    grouped: QuerySet[Any] = (
        rollups(project, filters)
        .filter(_counted(filters), responses__gt=0)
        .order_by()
        .annotate(period=trunc("day"))
        .values("period")
        .annotate(**{name: sums[name] for name in CATEGORY_SUMS})
    )
    by_period = {}
    for row in grouped:
        period = row.pop("period")
        day = period.date() if isinstance(period, datetime) else period
        by_period[period_of(day, interval, filters)] = row
    return _trend_rows(by_period, filters)


# --- the trait breakdown --------------------------------------------------------------------


def breakdown(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """NPS per value of the chosen trait, the most answered values first (ties by value): one
    grouped query over the responses. With a trait value, the chosen value next to every
    other response instead (see :func:`numbers`)."""
    if not filters.trait:
        return []
    if filters.trait_value:
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


def _compared(
    project: Project, filters: Filters, chosen: nps.Summary, everyone: nps.Summary
) -> list[dict[str, Any]]:
    """The chosen trait value next to every other response the other filters select: the
    rollups' totals (or, with a comment search, the responses') less the chosen value's."""
    if _responses_only(filters):
        everyone = nps.summarize(responses(project, replace(filters, trait_value="")))
    rest = {name: getattr(everyone, name) - getattr(chosen, name) for name in CATEGORY_SUMS}
    return _with_nps(
        [
            {"value": filters.trait_value, "rest": False, **_categories(chosen)},
            {"value": "", "rest": True, **rest},
        ]
    )


# --- NPS by tag -----------------------------------------------------------------------------


def by_tag(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """Each tag of the project with the responses the filters select that carry it, their
    answered count, categories and NPS, the most answered first: one query. Of every
    category, as the NPS is (one category's NPS says nothing)."""
    selected = responses(project, replace(filters, category="")).order_by().values("pk")
    inside = Q(responses__in=selected)
    rows = (
        Tag.objects.filter(project=project)
        .annotate(
            count=Count("responses", filter=inside), **nps.category_counts("responses__", inside)
        )
        .values("pk", "name", "color", "count", *CATEGORY_SUMS)
        .order_by("-answered", "-count", "name")
    )
    # A colour written around the form's check (by SQL, say) never reaches the page's CSS.
    return _with_nps([{**row, "color": _colour(row["color"])} for row in rows])


def _colour(value: str) -> str:
    return value if COLOUR.fullmatch(value or "") else "#64748b"


# --- a page's numbers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    """A page's numbers but its comments.

    With a category filter, ``overview``, ``trend`` and ``breakdown`` are of every category
    (one category's NPS says nothing) and ``category`` is the overview of the chosen one's.
    """

    overview: Overview
    trend: list[dict[str, Any]]
    breakdown: list[dict[str, Any]]
    category: Overview | None = None

    @property
    def counted(self) -> Overview:
        """The overview of the responses the filters select, the category's included."""
        return self.category or self.overview


def numbers(project: Project, filters: Filters) -> Numbers:
    """The overview, the trend and the trait breakdown of a page.

    Without a trait value or a comment search: two queries over the rollups (overview,
    trend) and, with a trait name, one grouped query over the responses (breakdown: the ten
    most answered values). With either, which only the responses know: one grouped query over
    the responses they select gives the summary, the previous period and the trend, and one
    aggregate over the rollups the displays and the period's totals; with a trait value, the
    breakdown compares it with every other response (see :func:`_from_responses`). A
    category filter adds the overview of its responses (see :class:`Numbers`).
    """
    if filters.category:
        every = numbers(project, replace(filters, category=""))
        return replace(every, category=overview(project, filters))
    if not from_rollups(filters):
        return _from_responses(project, filters)
    return Numbers(
        overview=overview(project, filters),
        trend=trend(project, filters),
        breakdown=breakdown(project, filters),
    )


def _from_responses(project: Project, filters: Filters) -> Numbers:
    """The numbers of a trait value or a comment search: the responses they select, of both
    periods by local day, and the period's totals without them, from the rollups.

    The days add up to the summary (this period) and the previous period, and into the
    trend's days, weeks or months (in Python: at most two rows per day of the period). With
    a trait value, the breakdown is the value and the rest of the period's responses (the
    totals less the value's): every figure on the page follows the filter, and the
    comparison costs no scan of the other values.
    """
    days = _days(project, filters)
    now = [row for row in days if row["day"] >= filters.start]
    interval = trend_interval(filters)
    periods: dict[date, nps.Summary] = {}
    for row in now:
        period = period_of(row["day"], interval, filters)
        periods[period] = periods.get(period, nps.Summary()) + nps.summary_of(row)
    chosen = _total(now)
    everyone, displays = _rollup_totals(project, filters)
    return Numbers(
        overview=Overview(
            summary=chosen,
            previous=_total(row for row in days if row["day"] < filters.start),
            displays=displays,
        ),
        trend=_trend_rows({p: _categories(periods[p]) for p in periods}, filters),
        breakdown=(
            _compared(project, filters, chosen, everyone)
            if filters.trait and filters.trait_value
            else breakdown(project, filters)
        ),
    )


def _days(project: Project, filters: Filters) -> list[dict[str, Any]]:
    """The one grouped query over the responses of :func:`_from_responses`: the responses
    the filters select, of both periods, counted per local day.

    Only the selected rows are grouped: PostgreSQL expects few rows of one trait value (or
    comment text) and hashes or sorts them per worker. (Grouped by value and day together, it
    expected a group per response and sorted every row of both periods: four times the raw
    aggregate on a million responses.)
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


def _total(rows: Iterable[dict[str, Any]]) -> nps.Summary:
    return sum((nps.summary_of(row) for row in rows), nps.Summary())


def _categories(summary: nps.Summary) -> dict[str, int]:
    return {name: getattr(summary, name) for name in CATEGORY_SUMS}


def comments(project: Project, filters: Filters, limit: int = COMMENTS_SHOWN) -> list[Response]:
    """The latest comments of the responses the filters select: one query."""
    qs = responses(project, filters).exclude(feedback="")
    qs = qs.select_related("survey", "user").order_by("-created", "-pk")
    return list(qs[:limit])


# --- the survey's questions -----------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSection:
    """A question of the chosen survey on the page: its numbers (:mod:`.answers`), for a
    long text its latest answers, and for a scale or a smiley with answers its trend (see
    :func:`question_trends`)."""

    numbers: answers.QuestionNumbers
    texts: list[tuple[Response, str]]
    trend: list[dict[str, Any]] = field(default_factory=list)


def question_sections(project: Project, filters: Filters) -> list[QuestionSection]:
    """A section per question of the chosen survey but the rating and the comment (none
    without a survey), over the responses the filters select: one grouped query, one more
    for the trends of its scales and smileys, and one per long-text question for its latest
    answers."""
    if filters.survey is None:
        return []
    selected = responses(project, filters)
    found = answers.numbers(selected, [filters.survey], project.default_language)
    trends = question_trends(project, filters, selected, [n.question for n in found])
    return [
        QuestionSection(
            numbers,
            answers.latest_texts(selected, numbers.question.id)
            if numbers.question.type == LONG_TEXT
            else [],
            trends.get(numbers.question.id, []),
        )
        for numbers in found
    ]


def question_trends(
    project: Project, filters: Filters, selected: QuerySet[Response], wanted: list[Question]
) -> dict[str, list[dict[str, Any]]]:
    """The average answer to each scale and smiley of ``wanted`` that has answers, per period
    of the NPS trend (the same interval, days of the project's time zone, the first period
    from the range's first day, empty periods included): ``{question id: [{period, average,
    answered}, ...]}``, one grouped query over ``selected`` (the responses of one survey)."""
    interval = trend_interval(filters)
    period = INTERVALS[interval]("created", tzinfo=project.zone)
    sums = answers.sums_by_period(selected, wanted, period)
    return {
        question_id: _average_rows(by_period, filters, interval)
        for (_, question_id), by_period in sums.items()
    }


def _average_rows(
    sums: dict[date, tuple[float, int]], filters: Filters, interval: str
) -> list[dict[str, Any]]:
    """A row per period of the trend (as :func:`_trend_rows`): the average and how many
    answered (no answers: average None)."""
    folded: dict[date, tuple[float, int]] = {}
    for first_day, (total, answered) in sums.items():
        period = period_of(first_day, interval, filters)
        before = folded.get(period, (0.0, 0))
        folded[period] = (before[0] + total, before[1] + answered)
    rows = []
    for period in _periods(filters, interval) or sorted(folded):
        total, answered = folded.get(period, (0.0, 0))
        rows.append(
            {
                "period": period,
                "average": total / answered if answered else None,
                "answered": answered,
            }
        )
    return rows


# --- what the filters suggest ---------------------------------------------------------------


@dataclass(frozen=True)
class Suggestions:
    """Values seen, most frequent first, for the filters' lists (``<datalist>``)."""

    languages: list[str]
    traits: list[str]
    values: list[str]


def suggestions(project: Project, trait: str = "") -> Suggestions:
    """The languages, trait names and values of ``trait`` of the project's latest responses
    (``SUGGESTION_SAMPLE``, newest first through the project-and-time index): one query."""
    latest = (
        Response.objects.counted()
        .filter(project=project)
        .order_by("-created")
        .values_list("language", "traits")[:SUGGESTION_SAMPLE]
    )
    languages: Counter[str] = Counter()
    names: Counter[str] = Counter()
    values: Counter[str] = Counter()
    for language, traits in latest:
        languages[language] += bool(language)
        traits = traits if isinstance(traits, dict) else {}
        names.update(name for name in traits if TRAIT_NAME.match(name))
        if traits.get(trait) is not None:
            values[_as_text(traits[trait])] += 1
    return Suggestions(*(_most_common(c) for c in (languages, names, values)))


def _most_common(counter: Counter[str]) -> list[str]:
    return [value for value, count in counter.most_common(SUGGESTIONS) if value and count]


def _as_text(value: Any) -> str:
    """A trait's value as :func:`trait_text` reads it: a string as it is, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
