"""Projects, their API keys and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import keys
from ..models import (
    ApiKey,
    Membership,
    Project,
    ProjectDashboard,
)
from ..permissions import ADMIN_ROLE, NO_ROLE
from . import readonly
from .dashboard import ProjectDashboardViews
from .figures import RecentFigures, dashboard_url
from .install import ProjectInstallViews
from .scoping import (
    ProjectScopedAdmin,
    ReadOnlyInline,
    ViewOnlyAdmin,
    access,
    is_superuser,
    project_filter,
)

PICKER_SIZE = 200  # projects offered by the dashboard's picker; the list of dashboards has all

# Projects and access -----------------------------------------------------------------------


class ApiKeyInline(ReadOnlyInline):
    """The project's keys, read only: keys are issued and revoked on the API key pages."""

    model = ApiKey
    parent_project_id = "pk"
    fields = ("prefix", "name", "created", "last_used", "revoked")
    readonly_fields = fields
    show_change_link = True


class ProjectPicker:
    """The dashboard page's project picker, for staff who see several projects."""

    def dashboard_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        response = super().dashboard_view(request, object_id)  # type: ignore[misc]
        if isinstance(response, TemplateResponse) and response.context_data is not None:
            projects = list(access(request).projects().order_by("name", "pk")[:PICKER_SIZE])
            response.context_data["picker_projects"] = projects if len(projects) > 1 else []
        return response


@admin.register(Project)
class ProjectAdmin(ProjectPicker, ProjectInstallViews, ProjectDashboardViews, ProjectScopedAdmin):
    project_lookup = "pk"
    edit_roles = ADMIN_ROLE
    list_display = ("name", "dashboard_link", "write_key", "identity_verification")
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
        return format_html('<a href="{}">{}</a>', dashboard_url(obj.pk), _("NPS dashboard"))

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


@admin.register(ProjectDashboard)
class ProjectDashboardAdmin(RecentFigures, ViewOnlyAdmin):
    """ "NPS dashboards" in the admin's index and sidebar: the projects the staff member sees,
    each with its responses and NPS of the last 90 days, and a link to its dashboard; straight
    to the dashboard when there is one project. ``?project=<id>`` opens that project's
    dashboard (the dashboard's own project picker sends it)."""

    project_lookup = "pk"
    list_display = ("dashboard_link", "recent_responses", "recent_nps")
    list_display_links = None
    search_fields = ("name",)
    actions = None

    def project_id_of(self, obj: models.Model) -> int:
        return obj.pk

    @admin.display(description=_("project"), ordering="name")
    def dashboard_link(self, obj: Project) -> str:
        return format_html('<a href="{}">{}</a>', dashboard_url(obj.pk), obj.name)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        wanted = request.GET.get("project", "")
        if wanted:
            project = get_object_or_404(self.get_queryset(request), pk=_int_or_none(wanted))
            return redirect(dashboard_url(project.pk))
        only = list(self.get_queryset(request).order_by()[:2])
        if len(only) == 1 and not request.GET:
            return redirect(dashboard_url(only[0].pk))
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        project = get_object_or_404(self.get_queryset(request), pk=_int_or_none(object_id))
        return redirect(dashboard_url(project.pk))


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


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
    list_display = ("__str__", "name", "project", "last_used_cell", "revoked_cell")
    list_filter = (ApiKeyStatusFilter, project_filter())
    list_select_related = ("project",)
    search_fields = ("prefix", "name")
    fields = API_KEY_FIELDS
    readonly_fields = ("prefix", "created", "last_used", "revoked")
    actions = ("revoke",)

    @admin.display(description=_("last used"), ordering="last_used")
    def last_used_cell(self, obj: ApiKey) -> str:
        return readonly.when_cell(obj.last_used)

    @admin.display(description=_("revoked"), ordering="revoked")
    def revoked_cell(self, obj: ApiKey) -> str:
        return readonly.when_cell(obj.revoked)

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
