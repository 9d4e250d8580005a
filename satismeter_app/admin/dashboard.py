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
from django.utils.translation import gettext_lazy as _

from .. import nps
from ..models import (
    Project,
)
from ..services import dashboard, reporting
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
            "export_url": reverse(
                "admin:satismeter_app_project_dashboard_export", args=[project.pk]
            )
            + ("?" + request.GET.urlencode() if request.GET else ""),
        }
        return TemplateResponse(request, "admin/satismeter_app/project/dashboard.html", context)

    def dashboard_export_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        project = self.dashboard_project(request, object_id)
        filters = dashboard.FilterForm(project, request.GET).filters()
        rows = reporting.csv_export(dashboard.responses(project, filters))
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
    return period.strftime("%b %Y" if interval == "month" else "%d %b")


def dashboard_context(project: Project, filters: dashboard.Filters) -> dict[str, Any]:
    """Everything the dashboard template shows (the queries: :func:`dashboard.numbers`, and
    one for the comments)."""
    numbers = dashboard.numbers(project, filters)
    overview = numbers.overview
    frequency = overview.summary.frequency
    trend = numbers.trend
    trend_points = [
        charts.Point(_period_label(row["period"], filters.interval), row["nps"]) for row in trend
    ]
    score_points = [charts.Point(str(n), frequency[n], nps.category(n) or "") for n in nps.SCORES]
    funnel_points = [charts.Point(label, value) for label, value in overview.funnel]
    intervals = dict(dashboard.FilterForm.base_fields["interval"].choices)  # type: ignore[attr-defined]
    interval_label = intervals.get(filters.interval, filters.interval)
    return {
        "filters": filters,
        "overview": overview,
        "trend_chart": charts.nps_line(
            str(_("NPS trend")),
            str(_("NPS by %(interval)s, from −100 to 100.") % {"interval": interval_label}),
            trend_points,
        ),
        "score_chart": charts.bars(
            str(_("Scores 0–10")),
            str(_("How many answered responses gave each score.")),
            score_points,
            str(_("Responses")),
        ),
        "funnel_chart": charts.bars(
            str(_("Funnel")),
            str(_("Displays, then answered, completed and dismissed responses.")),
            funnel_points,
            str(_("Count")),
        ),
        "comments": dashboard.comments(project, filters),
        "breakdown": numbers.breakdown,
    }
