"""Projects, their API keys and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import keys
from ..models import (
    ApiKey,
    Membership,
    Project,
)
from ..permissions import ADMIN_ROLE, NO_ROLE
from .dashboard import ProjectDashboardViews
from .scoping import (
    ProjectScopedAdmin,
    ReadOnlyInline,
    is_superuser,
    project_filter,
)

# Projects and access -----------------------------------------------------------------------


class ApiKeyInline(ReadOnlyInline):
    """The project's keys, read only: keys are issued and revoked on the API key pages."""

    model = ApiKey
    parent_project_id = "pk"
    fields = ("prefix", "name", "created", "last_used", "revoked")
    readonly_fields = fields
    show_change_link = True


@admin.register(Project)
class ProjectAdmin(ProjectDashboardViews, ProjectScopedAdmin):
    project_lookup = "pk"
    edit_roles = ADMIN_ROLE
    list_display = (
        "name",
        "write_key",
        "default_language",
        "identity_verification",
        "created",
        "dashboard_link",
    )
    list_filter = ("identity_verification",)
    search_fields = ("name", "=write_key")
    readonly_fields = ("write_key", "verification_secret_hint", "created", "updated")
    fieldsets = (
        (None, {"fields": ("name", "default_language", "time_zone", "survey_gap_days")}),
        (
            _("Widget"),
            {"fields": ("write_key", "identity_verification", "verification_secret_hint")},
        ),
        (_("History"), {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )
    inlines = (ApiKeyInline,)
    actions = ("rotate_verification_secret",)

    def project_id_of(self, obj: models.Model) -> int:
        return obj.pk

    @admin.display(description=_("dashboard"))
    def dashboard_link(self, obj: Project) -> str:
        url = reverse("admin:satismeter_app_project_dashboard", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("NPS dashboard"))

    @admin.display(description=_("verification secret"))
    def verification_secret_hint(self, obj: Project) -> str:
        # Enough to tell secrets apart; the whole secret would let anyone forge userHash.
        return f"{obj.verification_secret[:4]}…" if obj.verification_secret else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request) and super().has_delete_permission(request, obj)

    @admin.action(
        description=_("Rotate the verification secret (shown once)"), permissions=["change"]
    )
    def rotate_verification_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for project in self.editable(request, queryset):
            project.verification_secret = keys.new_verification_secret()
            project.save(update_fields=["verification_secret", "updated"])
            messages.success(
                request,
                _(
                    "New verification secret of %(project)s: %(secret)s — copy it now, it will "
                    "not be shown again. userHash made with the old secret no longer verifies."
                )
                % {"project": project, "secret": project.verification_secret},
            )


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked__isnull=self.value() == "active")
        return None


def _adopt(target: models.Model, source: models.Model) -> None:
    """Make the admin's unsaved instance stand for a row that other code saved."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


API_KEY_FIELDS = ("project", "name", "prefix", "created", "last_used", "revoked")


@admin.register(ApiKey)
class ApiKeyAdmin(ProjectScopedAdmin):
    edit_roles = ADMIN_ROLE
    list_display = ("__str__", "name", "project", "created", "last_used", "revoked")
    list_filter = (ApiKeyStatusFilter, project_filter())
    list_select_related = ("project",)
    search_fields = ("prefix", "name")
    fields = API_KEY_FIELDS
    readonly_fields = ("prefix", "created", "last_used", "revoked")
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Nothing about a key exists before it is issued but its project and name.
        return ("project", "name") if obj is None else API_KEY_FIELDS

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, key = ApiKey.issue(obj.project, obj.name)
        _adopt(obj, issued)
        messages.success(
            request,
            _("The new API key is %(key)s — copy it now, it will not be shown again.")
            % {"key": key},
        )

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        active = self.editable(request, queryset).filter(revoked__isnull=True)
        count = 0
        # One save per key, not update(): signal receivers (e.g. a key cache) must see it.
        for api_key in active:
            api_key.revoked = now
            api_key.save(update_fields=["revoked"])
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d API key was revoked.", "%(count)d API keys were revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Membership)
class MembershipAdmin(ProjectScopedAdmin):
    view_roles = ADMIN_ROLE
    edit_roles = NO_ROLE
    list_display = ("user", "project", "role", "created")
    list_filter = ("role", project_filter())
    list_select_related = ("user", "project")
    search_fields = ("user__username", "user__email", "project__name")
    raw_id_fields = ("user",)
    readonly_fields = ("created",)
