"""The NPS dashboard's admin views: one project's figures, charts and CSV export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .. import nps
from ..models import (
    Project,
)
from ..routers import reads_reports
from ..services import dashboard, exporting
from . import charts

# The NPS dashboard -------------------------------------------------------------------------


class ProjectDashboardViews:
    """The dashboard and its CSV export, as admin pages of a project.

    ``/admin/satismeter_app/project/<id>/dashboard/`` and ``…/dashboard/export.csv`` take the
    same GET filters. The project is looked up in the admin's scoped queryset, so a staff user
    who is not a member gets a 404, and the survey filter only accepts the project's surveys.
    The numbers are SQL aggregates from :mod:`dashboard`; the page needs no JavaScript.
    """

    admin_site: admin.AdminSite
    opts: Any
    get_queryset: Callable[[HttpRequest], QuerySet]

    def get_urls(self) -> list[Any]:
        site = self.admin_site
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<int:object_id>/dashboard/",
                site.admin_view(self.dashboard_view),
                name=f"{info}_dashboard",
            ),
            path(
                "<int:object_id>/dashboard/export.csv",
                site.admin_view(self.dashboard_export_view),
                name=f"{info}_dashboard_export",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def dashboard_project(self, request: HttpRequest, object_id: int) -> Project:
        return get_object_or_404(self.get_queryset(request), pk=object_id)

    @reads_reports("dashboard")
    def dashboard_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        project = self.dashboard_project(request, object_id)
        form = dashboard.FilterForm(project, request.GET)
        filters = form.filters()
        context = {
            **self.admin_site.each_context(request),
            **dashboard_context(project, filters),
            "opts": self.opts,
            "title": _("NPS dashboard: %(project)s") % {"project": project},
            "project": project,
            "form": form,
            # The trait's values link to the page filtered to each; with a value chosen, the
            # breakdown links back to every value.
            "values_url": "?" + _without(request.GET, "trait_value"),
            # A choice's count links to the page filtered to the responses that chose it.
            "answer_url": "?" + _without(request.GET, "answer"),
            "export_url": reverse(
                "admin:satismeter_app_project_dashboard_export", args=[project.pk]
            )
            + ("?" + request.GET.urlencode() if request.GET else ""),
        }
        return TemplateResponse(request, "admin/satismeter_app/project/dashboard.html", context)

    @reads_reports("dashboard")
    def dashboard_export_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        project = self.dashboard_project(request, object_id)
        filters = dashboard.FilterForm(project, request.GET).filters()
        survey_id = filters.survey.pk if filters.survey else None
        rows = exporting.csv_export(
            dashboard.responses(project, filters),
            questions=exporting.project_question_columns(project.pk, survey_id),
        )
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        name = f"responses-{project.pk}-{filters.start}-{filters.end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _without(query: QueryDict, name: str) -> str:
    """The query string without ``name``."""
    rest = query.copy()
    rest.pop(name, None)
    return rest.urlencode()


def _period_label(period: Any, interval: str) -> str:
    """A trend point's period in the staff member's locale (the short forms of the date
    format every admin page uses: docs/dashboard.md, "Dates")."""
    return date_format(period, "YEAR_MONTH_FORMAT" if interval == "month" else "MONTH_DAY_FORMAT")


def dashboard_context(project: Project, filters: dashboard.Filters) -> dict[str, Any]:
    """Everything the dashboard template shows (the queries: :func:`dashboard.numbers`, one
    for the comments, one for NPS by tag and one for the filters' suggestions)."""
    numbers = dashboard.numbers(project, filters)
    overview, counted = numbers.overview, numbers.counted
    interval = dashboard.trend_interval(filters)
    frequency = counted.summary.frequency
    ratings = nps.ratings_of(filters.category) if filters.category else list(nps.SCORES)
    score_points = [charts.Point(str(n), frequency[n], nps.category(n) or "") for n in ratings]
    return {
        "filters": filters,
        "overview": overview,
        "counted": counted,
        "trend_chart": _trend_chart(numbers.trend, interval),
        "score_chart": charts.bars(
            str(_("Scores 0–10")),
            str(_("How many answered responses gave each score.")),
            score_points,
            str(_("Responses")),
        ),
        "funnel_chart": charts.bars(
            str(_("Funnel")),
            str(_("Displays, then answered, completed and dismissed responses.")),
            [charts.Point(label, value) for label, value in overview.funnel],
            str(_("Count")),
        ),
        "comments": dashboard.comments(project, filters),
        "breakdown": numbers.breakdown,
        "tags": dashboard.by_tag(project, filters),
        "suggestions": dashboard.suggestions(project, filters.trait),
        "scope": _scope(filters, interval) + _answer_scope(project, filters) + _work_scope(filters),
        "questions": [
            _question(section, interval)
            for section in dashboard.question_sections(project, filters)
        ],
    }


def _question(section: dashboard.QuestionSection, interval: str) -> dict[str, Any]:
    """A question's section: its numbers, the chart of its distribution (none for a long
    text), a scale's or smiley's average over time, its choices to filter by, and a long
    text's latest answers."""
    numbers = section.numbers
    labels = numbers.choice_labels
    points = [charts.Point(labels.get(str(v), str(v)), n) for v, n in numbers.distribution]
    chart = ""
    if points:
        desc = _("How many responses gave each answer to “%(label)s”.") % {"label": numbers.label}
        chart = charts.bars(numbers.label, str(desc), points, str(_("Responses")))
    choices = [(v, labels[v], n) for v, n in numbers.distribution if v in labels]
    return {
        "numbers": numbers,
        "chart": chart,
        "trend_title": _("Average by %(interval)s") % {"interval": _interval_name(interval)},
        "trend_chart": _average_chart(section, interval),
        "choices": choices,
        "texts": section.texts,
    }


def _average_chart(section: dashboard.QuestionSection, interval: str) -> str:
    """The average answer per period of a scale or a smiley that has answers ("" otherwise)."""
    scale = section.numbers.question.values
    if scale is None or not section.trend:
        return ""
    points = [
        charts.AveragePoint(_period_label(row["period"], interval), row["average"], row["answered"])
        for row in section.trend
    ]
    desc = _(
        "The average answer to “%(label)s” by %(interval)s, on its scale of %(low)s to "
        "%(high)s; a hollow dot: fewer than %(thin)s answers; a gap: none."
    ) % {
        "label": section.numbers.label,
        "interval": _interval_name(interval),
        "low": scale[0],
        "high": scale[-1],
        "thin": charts.THIN,
    }
    title = _("Average of “%(label)s”") % {"label": section.numbers.label}
    return charts.average_line(str(title), str(desc), points, scale)


def _answer_scope(project: Project, filters: dashboard.Filters) -> list[str]:
    """The answer filter's note, naming the answer as the filter's list does."""
    if not filters.answer:
        return []
    survey_id = filters.survey.pk if filters.survey else None
    names = dict(dashboard.answer_choices(project, survey_id))
    note = _(
        "Only responses whose answer includes %(answer)s are counted, charted, listed and exported."
    ) % {"answer": names.get(filters.answer, filters.answer)}
    return [str(note)]


def _work_scope(filters: dashboard.Filters) -> list[str]:
    """The note of the status, tag and assignee filters, as the form names their values."""
    if not filters.worked:
        return []
    named = []
    if filters.status:
        named.append(str(_("closed") if filters.status == "closed" else _("open")))
    if filters.tag:
        named.append(str(_("tagged %(tag)s") % {"tag": filters.tag.name}))
    if filters.assignee:
        named.append(str(_("with the chosen assignee")))
    note = _("Only responses %(which)s are counted, charted, listed and exported.")
    return [str(note % {"which": ", ".join(named)})]


def _interval_name(interval: str) -> str:
    intervals = dict(dashboard.FilterForm.base_fields["interval"].choices)  # type: ignore[attr-defined]
    return str(intervals.get(interval, interval))


def _trend_chart(trend: list[dict[str, Any]], interval: str) -> str:
    points = [
        charts.TrendPoint(
            _period_label(row["period"], interval), row["nps"], row["margin"], row["answered"]
        )
        for row in trend
    ]
    desc = _(
        "NPS by %(interval)s with its 95 %% margin of error as a band; a hollow dot: fewer "
        "than %(thin)s answers; a gap: none."
    ) % {"interval": _interval_name(interval), "thin": charts.THIN}
    return charts.nps_line(str(_("NPS trend")), desc, points)


def _scope(filters: dashboard.Filters, interval: str) -> list[str]:
    """What the filters narrow, where a reader could take it otherwise."""
    notes = []
    if filters.trait and filters.trait_value:
        notes.append(
            _(
                "Only responses with %(trait)s = %(value)s are counted, charted, listed and "
                "exported."
            )
            % {"trait": filters.trait, "value": filters.trait_value}
        )
    if filters.search:
        notes.append(
            _(
                "Only responses whose comment contains “%(text)s” are counted, charted, listed "
                "and exported."
            )
            % {"text": filters.search}
        )
    if filters.category:
        notes.append(
            str(
                _(
                    "The category narrows the answered count, the scores, the comments and the "
                    "export. NPS, its trend, the funnel and the trait table are of every category: "
                    "one category alone always scores −100, 0 or +100."
                )
            )
        )
    if interval != filters.interval:
        notes.append(
            _(
                "The trend is drawn by %(interval)s: the range is too long for a point per "
                "%(chosen)s."
            )
            % {"interval": _interval_name(interval), "chosen": _interval_name(filters.interval)}
        )
    return notes
