"""What users answered: displays and responses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .. import nps
from ..models import (
    Display,
    Response,
)
from .scoping import (
    ProjectScopedAdmin,
    project_filter,
)


@admin.register(Display)
class DisplayAdmin(ProjectScopedAdmin):
    list_display = ("created", "survey", "user", "project", "url")
    list_filter = (project_filter("survey"), project_filter())
    list_select_related = ("survey", "user", "project")
    search_fields = ("=user__user_id", "url")
    date_hierarchy = "created"
    raw_id_fields = ("user",)
    readonly_fields = ("created",)
    show_full_result_count = False


class CategoryFilter(admin.SimpleListFilter):
    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(nps.CATEGORY_CHOICES)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        return None if value is None else queryset.filter(nps.category_q(value))


@admin.register(Response)
class ResponseAdmin(ProjectScopedAdmin):
    list_display = (
        "created",
        "survey",
        "user",
        "rating",
        "category",
        "short_feedback",
        "method",
        "dismissed",
        "completed",
        "project",
    )
    list_filter = (
        CategoryFilter,
        "method",
        "dismissed",
        "completed",
        project_filter("survey"),
        project_filter(),
    )
    list_select_related = ("survey", "user", "project")
    search_fields = ("feedback", "=user__user_id", "^user__email")
    date_hierarchy = "created"
    raw_id_fields = ("user",)
    readonly_fields = ("created", "updated", "completed_at")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("project", "survey", "user", "method", "language")}),
        (
            _("Answer"),
            {"fields": ("rating", "feedback", "answers", "dismissed", "pending", "completed")},
        ),
        (_("Context"), {"fields": ("referrer", "device", "traits")}),
        (_("History"), {"fields": ("created", "updated", "completed_at")}),
    )

    @admin.display(description=_("category"))
    def category(self, obj: Response) -> str:
        return obj.category or "—"

    @admin.display(description=_("feedback"))
    def short_feedback(self, obj: Response) -> str:
        return Truncator(obj.feedback).chars(80)
