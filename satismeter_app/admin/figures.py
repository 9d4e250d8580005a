"""Responses and NPS of the last 90 days beside each survey or project of an admin list.

The figures of a whole page come from the daily rollups in one query, after the page's rows
are read (:class:`RecentFiguresChangeList`), whatever the number of rows. The period is the
dashboard's default one, in each project's days, so the dashboard a figure links to shows the
same number.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import nps
from ..models import Project
from ..routers import reading_reports
from ..services import reporting

NO_FIGURE = "—"


class RecentFiguresChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        model_admin: Any = self.model_admin
        with reading_reports("dashboard"):  # the dashboard's numbers, from the same place
            model_admin.attach_recent_figures(self.result_list)


def dashboard_url(project_id: int, survey_id: int | None = None) -> str:
    url = reverse("admin:satismeter_app_project_dashboard", args=[project_id])
    return url if survey_id is None else f"{url}?survey={survey_id}"


class RecentFigures:
    """For the ModelAdmin of surveys or of projects: the list columns ``recent_responses``
    (answered responses: the NPS denominator) and ``recent_nps``, which links to the
    dashboard (of the survey, for a survey)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RecentFiguresChangeList

    def attach_recent_figures(self, rows: Any) -> None:
        rows = list(rows)
        if not rows:
            return
        if isinstance(rows[0], Project):
            summaries = reporting.recent_summaries(rows, "project_id")
        else:
            summaries = reporting.recent_summaries(
                [row.project for row in rows], "survey_id", surveys=[row.pk for row in rows]
            )
        for row in rows:
            row.recent_summary = summaries.get(row.pk, nps.Summary())

    @admin.display(description=_("responses, 90 days"))
    def recent_responses(self, obj: Any) -> int:
        return _summary(obj).answered

    @admin.display(description=_("NPS, 90 days"))
    def recent_nps(self, obj: Any) -> str:
        value = _summary(obj).nps
        if value is None:
            return NO_FIGURE
        if isinstance(obj, Project):
            url = dashboard_url(obj.pk)
        else:
            url = dashboard_url(obj.project_id, obj.pk)
        return format_html('<a href="{}">{}</a>', url, round(value))


def _summary(obj: Any) -> nps.Summary:
    # A row shown outside a list page (none today) has no figures: zero, not an error.
    return getattr(obj, "recent_summary", None) or nps.Summary()
