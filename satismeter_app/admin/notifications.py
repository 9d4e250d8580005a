"""Staff members' email notifications (docs/staff-email.md): detractor alerts and digests.

Each staff member manages their own: the list shows only theirs, and a new one is theirs, for
a project they are a member of. Superusers see everyone's and pick whose a new one is (a
member of its project still: the model checks it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import StaffSubscription
from .scoping import ProjectScopedAdmin, is_superuser, project_filter

OWN_FIELDS = ("project", "survey", "detractor_alerts", "alert_interval", "digest", "language")


@admin.register(StaffSubscription)
class StaffSubscriptionAdmin(ProjectScopedAdmin):
    list_display = (
        "scope",
        "detractor_alerts",
        "alert_interval",
        "digest",
        "language",
        "last_alert_at",
        "digested_until",
        "project",
    )
    list_filter = ("detractor_alerts", "digest", project_filter())
    readonly_fields = ("last_alert_at", "digested_until")
    list_select_related = ("project", "survey", "user")

    @admin.display(description=StaffSubscription._meta.get_field("survey").verbose_name)
    def scope(self, obj: StaffSubscription) -> str:
        return str(obj.survey or obj.project)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if is_superuser(request) else queryset.filter(user=request.user)

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        return ["user", *columns] if is_superuser(request) else columns

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        own = [*OWN_FIELDS, "last_alert_at", "digested_until"]
        return ["user", *own] if is_superuser(request) else own

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """A member's form is theirs before it is validated (the model checks membership)."""
        form = super().get_form(request, obj, change, **kwargs)
        if is_superuser(request):
            return form
        user = request.user

        class OwnForm(form):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                if self.instance.user_id is None:
                    self.instance.user = user

        return OwnForm

    def _own(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or is_superuser(request) or obj.user_id == request.user.pk

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._own(request, obj) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._own(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._own(request, obj) and super().has_delete_permission(request, obj)
