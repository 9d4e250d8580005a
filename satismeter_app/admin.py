"""The Django admin for projects, surveys and their results, scoped by project.

Who may do what
---------------
Superusers see and change everything, as Django's admin always lets them.

For every other staff user, **a Membership is the permission**. Django's model permissions
cannot say "this project, not that one", so for this app's models they are not consulted for
non-superusers at all; the Membership rows of the user decide, per project:

- any member (role ``member`` or ``admin``) sees the project and everything in it, and may add,
  change and delete its surveys, users, events, displays, responses and unsubscribed addresses,
  and retry or delete its outbox deliveries;
- a member with role ``admin`` may also change the project's settings, issue, rename and revoke
  its API keys, set up its integrations (they send answers and secrets elsewhere), and see
  who the members are;
- only superusers create or delete projects and add, change or remove memberships: granting
  access is the one thing a project admin cannot do for themselves.

Every admin below inherits this from ``ProjectScopedAdmin``: its changelists and change views
only find objects of the user's projects (another project's object is "missing", so Django
redirects as it does for a deleted one), its foreign-key dropdowns and list filters only offer
the user's projects and their surveys and users, its forms reject a survey or user of another
project, and its actions only touch what the user may change.

API keys are issued with ``ApiKey.issue``: the clear-text key appears once, in the success
message after "Save", and is never stored; afterwards only its prefix is shown. The project's
verification secret and an integration's secret are shown as their first four characters;
the "rotate" action shows a new verification secret once, in the same way, and an
integration's secret is typed in and never rendered back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from . import charts, i18n, keys, nps, outbox
from .conf import app_settings
from .models import (
    ApiKey,
    Delivery,
    DeliveryAttempt,
    Display,
    EndUser,
    Integration,
    Membership,
    Project,
    Response,
    Survey,
    Unsubscribe,
    UserEvent,
)
from .services import dashboard, decisions, privacy, reporting

ANY_ROLE = frozenset(Membership.Role.values)
ADMIN_ROLE = frozenset({Membership.Role.ADMIN})
NO_ROLE: frozenset[str] = frozenset()  # superusers only

Roles = frozenset[str]


# Tenancy helpers ---------------------------------------------------------------------------


def is_superuser(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


def project_roles(request: HttpRequest) -> dict[int, str]:
    """The user's role in each of their projects, read once per request.

    The admin asks for permissions dozens of times per page (every model of the sidebar), so
    the memberships are cached on the request rather than queried each time.
    """
    roles = getattr(request, "_satismeter_project_roles", None)
    if roles is None:
        user = request.user
        rows = Membership.objects.none()
        if user.is_active and user.is_staff:
            rows = Membership.objects.filter(user_id=user.pk)
        roles = dict(rows.values_list("project_id", "role"))
        request._satismeter_project_roles = roles  # type: ignore[attr-defined]
    return roles


def project_ids(request: HttpRequest, roles: Roles) -> set[int]:
    return {pk for pk, role in project_roles(request).items() if role in roles}


# Widgets, forms and filters that respect the scope ------------------------------------------


class ScopedRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw-id input that names the chosen object only when the user may see it.

    Ids are guessable: without this, ``add/?user=123`` would print another project's user.
    """

    def __init__(self, rel: Any, admin_site: admin.AdminSite, queryset: QuerySet, **kwargs: Any):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        try:
            visible = self.queryset.filter(pk=value).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        return super().label_and_url_for_value(value) if visible else ("", "")


class ProjectScopedForm(forms.ModelForm):
    """Rejects a survey, user or response that belongs to another project than the object."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        project = cleaned.get("project")
        project_id = project.pk if project else getattr(self.instance, "project_id", None)
        if project_id is None:
            return cleaned
        for name, value in list(cleaned.items()):
            related_project_id = getattr(value, "project_id", project_id)
            if name != "project" and related_project_id != project_id:
                self.add_error(name, _("This belongs to another project."))
        return cleaned


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A related-object filter listing only the projects (or their surveys) the user sees."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list:
        ordering = self.field_admin_ordering(field, request, model_admin)
        scope = model_admin.related_scope(request, field.related_model, model_admin.view_roles)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=scope)


def project_filter(field: str = "project") -> tuple[str, type[ScopedRelatedFilter]]:
    return (field, ScopedRelatedFilter)


# The base class ----------------------------------------------------------------------------


class ProjectScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose objects belong to a project; see the module docstring for the rules.

    Subclasses set ``view_roles`` (who sees the objects) and ``edit_roles`` (who adds, changes
    and deletes them); ``project_lookup`` is the path from the model to its Project.
    """

    form = ProjectScopedForm
    project_lookup = "project"
    view_roles: Roles = ANY_ROLE
    edit_roles: Roles = ANY_ROLE

    # Scope ----------------------------------------------------------------------------------

    def project_id_of(self, obj: models.Model) -> int:
        return obj.project_id  # type: ignore[attr-defined]

    def may(self, request: HttpRequest, roles: Roles, obj: models.Model | None = None) -> bool:
        """Whether the user holds one of ``roles`` in obj's project (or in any, without obj)."""
        allowed = project_ids(request, roles)
        return bool(allowed) if obj is None else self.project_id_of(obj) in allowed

    def scoped(self, request: HttpRequest, queryset: QuerySet, roles: Roles) -> QuerySet:
        if is_superuser(request):
            return queryset
        return queryset.filter(**{f"{self.project_lookup}__in": project_ids(request, roles)})

    def editable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The part of ``queryset`` the user may change; actions act on nothing else."""
        return self.scoped(request, queryset, self.edit_roles)

    def allowed_projects(self, request: HttpRequest, roles: Roles) -> QuerySet[Project]:
        projects = Project.objects.for_staff(request.user)
        if is_superuser(request):
            return projects
        return projects.filter(pk__in=project_ids(request, roles))

    def related_scope(self, request: HttpRequest, model: type[models.Model], roles: Roles) -> Q:
        """Which rows of a related model the user may pick or filter by."""
        if is_superuser(request):
            return Q()
        if model is Project:
            return Q(pk__in=self.allowed_projects(request, roles))
        if any(field.name == "project" for field in model._meta.get_fields()):
            return Q(project__in=self.allowed_projects(request, roles))
        return Q()  # not project data (the auth user of a membership): superusers only edit it

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scoped(request, super().get_queryset(request), self.view_roles)

    # Forms ----------------------------------------------------------------------------------

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        model, db = db_field.related_model, kwargs.get("using")
        # Start from Django's choice (it carries the related admin's ordering), then scope it.
        queryset = self.get_field_queryset(db, db_field, request)
        if queryset is None:
            queryset = model._default_manager.using(db).all()
        queryset = queryset.filter(self.related_scope(request, model, self.edit_roles))
        kwargs.setdefault("queryset", queryset)
        if db_field.name in self.raw_id_fields:
            kwargs.setdefault(
                "widget",
                ScopedRawIdWidget(db_field.remote_field, self.admin_site, queryset, using=db),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Moving a survey or a user to another project would leave its responses behind.
        if obj is not None and self.project_lookup == "project":
            readonly += ("project",)
        return readonly

    # Permissions: memberships, not model permissions, for non-superusers --------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_superuser(request):
            return super().has_module_permission(request)
        return bool(project_roles(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_view_permission(request, obj)
        return self.may(request, self.view_roles, obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        if is_superuser(request):
            return super().has_add_permission(request)
        return self.may(request, self.edit_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_change_permission(request, obj)
        return self.may(request, self.edit_roles, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_delete_permission(request, obj)
        return self.may(request, self.edit_roles, obj)


# Projects and access -----------------------------------------------------------------------


class ApiKeyInline(admin.TabularInline):
    """The project's keys, read only: keys are issued and revoked on the API key pages."""

    model = ApiKey
    fields = ("prefix", "name", "created", "last_used", "revoked")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request) or (obj is not None and obj.pk in project_roles(request))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The NPS dashboard (issue #8) ---------------------------------------------------------------


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
            "export_url": reverse(
                "admin:satismeter_app_project_dashboard_export", args=[project.pk]
            )
            + ("?" + request.GET.urlencode() if request.GET else ""),
        }
        return TemplateResponse(request, "admin/satismeter_app/project/dashboard.html", context)

    def dashboard_export_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        project = self.dashboard_project(request, object_id)
        filters = dashboard.FilterForm(project, request.GET).filters()
        rows = reporting.csv_chunks(reporting.iter_objects(dashboard.responses(project, filters)))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        name = f"responses-{project.pk}-{filters.start}-{filters.end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _period_label(period: Any, interval: str) -> str:
    return period.strftime("%b %Y" if interval == "month" else "%d %b")


def dashboard_context(project: Project, filters: dashboard.Filters) -> dict[str, Any]:
    """Everything the dashboard template shows; one SQL query per block."""
    overview = dashboard.overview(project, filters)
    frequency = overview.summary.frequency
    trend = dashboard.trend(project, filters)
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
        "breakdown": dashboard.breakdown(project, filters),
    }


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
        (None, {"fields": ("name", "default_language", "survey_gap_days")}),
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


# Users of the host product and what they did ----------------------------------------------


@admin.register(EndUser)
class EndUserAdmin(ProjectScopedAdmin):
    list_display = ("__str__", "project", "email", "name", "language", "last_seen", "unsubscribed")
    list_filter = (project_filter(), "unsubscribed", ("erased", admin.EmptyFieldListFilter))
    list_select_related = ("project",)
    # Ids match exactly and names by prefix: that is how staff look a user up, and it keeps
    # the search from scanning for substrings across millions of users.
    search_fields = ("=user_id", "=anonymous_id", "^email", "^name")
    show_full_result_count = False  # a second COUNT(*) over millions of rows per page
    actions = ("erase_anonymise", "export_data")
    # Written by the widget and the services; targeting reads them.
    readonly_fields = (
        "first_seen",
        "last_seen",
        "last_url",
        "history",
        "erased",
        "survey_eligibility",
    )
    fieldsets = (
        (
            None,
            {"fields": ("project", "user_id", "anonymous_id", "name", "email", "language")},
        ),
        (
            _("Surveys"),
            {"fields": ("created_at", "survey_date", "unsubscribed", "survey_eligibility")},
        ),
        (_("Traits"), {"fields": ("traits", "groups")}),
        (_("Activity"), {"fields": ("first_seen", "last_seen", "last_url", "erased")}),
        (_("Survey history"), {"fields": ("history",), "classes": ("collapse",)}),
    )

    @admin.action(description=_("Erase (anonymise) selected users"), permissions=["change"])
    def erase_anonymise(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Identity, traits and comments go; the ratings stay (privacy.erase_user)."""
        users = list(self.editable(request, queryset).filter(erased__isnull=True))
        for user in users:
            privacy.erase_user(user)
        self.message_user(
            request,
            ngettext("%(count)d user was erased.", "%(count)d users were erased.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Export data of selected users (JSON)"), permissions=["view"])
    def export_data(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        users = self.scoped(request, queryset, self.view_roles)
        data = [privacy.export_user(user) for user in users]
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json",
        )
        response["Content-Disposition"] = 'attachment; filename="users.json"'
        return response

    @admin.display(description=_("Would see now"))
    def survey_eligibility(self, obj: EndUser) -> str:
        """Each survey's targeting decision for this user, with the reason, for staff."""
        if obj.pk is None:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (
                    survey.name,
                    _("yes") if decision.show else _("no"),
                    decision.reason,
                    decision.detail,
                )
                for survey, decision in decisions.explain(obj, timezone.now())
            ),
        )
        note = _("Page rules and device types are checked when a page asks.")
        return format_html(
            '<table class="sm-eligibility"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            '<th>{}</th></tr></thead><tbody>{}</tbody></table><p class="help">{}</p>',
            _("Survey"),
            _("Shown"),
            _("Reason"),
            _("Why"),
            rows,
            note,
        )


@admin.register(UserEvent)
class UserEventAdmin(ProjectScopedAdmin):
    list_display = ("name", "user", "project", "timestamp")
    list_filter = (project_filter(),)
    list_select_related = ("user", "project")
    search_fields = ("name", "=user__user_id")
    date_hierarchy = "timestamp"
    raw_id_fields = ("user",)
    readonly_fields = ("timestamp",)
    show_full_result_count = False


# Surveys and their results -----------------------------------------------------------------


def _survey_state_action(state: Survey.State, description: Any) -> Callable[..., None]:
    @admin.action(description=description, permissions=["change"])
    def action(modeladmin: SurveyAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        surveys = list(modeladmin.editable(request, queryset).exclude(state=state))
        # save(), not update(): receivers that refresh the widget's survey cache must run.
        for survey in surveys:
            survey.state = state
            survey.save(update_fields=["state", "updated"])
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d survey is now %(state)s.",
                "%(count)d surveys are now %(state)s.",
                len(surveys),
            )
            % {"count": len(surveys), "state": state.label},
            messages.SUCCESS,
        )

    action.__name__ = f"make_{state.value}"
    return action


# Survey editing: the live widget preview (issue #8) -----------------------------------------


PREVIEW_SKINS = ("dialog", "panel", "bar")


class SurveyPreviewViews:
    """``/admin/satismeter_app/survey/<id>/preview/?skin=…&language=…``: a page that runs the
    real widget script with ``previewCampaign`` (nothing is saved) and a ``design`` override
    for the skin. The survey change form shows it in an iframe beside a GET form of skin and
    language pickers, so switching needs no JavaScript of the admin's own."""

    admin_site: admin.AdminSite
    opts: Any
    get_queryset: Callable[[HttpRequest], QuerySet]

    def get_urls(self) -> list[Any]:
        view = xframe_options_sameorigin(self.admin_site.admin_view(self.preview_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_preview"
        return [
            path("<int:object_id>/preview/", view, name=name),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        survey = get_object_or_404(
            self.get_queryset(request).select_related("project"), pk=object_id
        )
        skin = request.GET.get("skin", "")
        language = request.GET.get("language", "")
        options = {
            "writeKey": survey.project.write_key,
            "userId": f"satismeter-admin-preview-{request.user.pk}",
            "traits": {"language": language} if language in i18n.available_languages() else {},
            "previewCampaign": str(survey.pk),
        }
        if skin in PREVIEW_SKINS:
            options["design"] = {"skin": skin}
        context = {"survey": survey, "options": options}
        return TemplateResponse(request, "admin/satismeter_app/survey/preview.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "preview_skins": PREVIEW_SKINS,
            "preview_languages": i18n.language_choices(),
        }
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


@admin.register(Survey)
class SurveyAdmin(SurveyPreviewViews, ProjectScopedAdmin):
    list_display = ("name", "project", "type", "state", "priority", "starts_at", "ends_at")
    list_filter = ("state", "type", project_filter())
    list_select_related = ("project",)
    search_fields = ("name",)
    readonly_fields = ("created", "updated", "reminder_counts", "integration_list")
    actions = (
        _survey_state_action(Survey.State.ACTIVE, _("Activate selected surveys")),
        _survey_state_action(Survey.State.PAUSED, _("Pause selected surveys")),
        _survey_state_action(Survey.State.ARCHIVED, _("Archive selected surveys")),
    )
    fieldsets = (
        (
            _("General"),
            {"fields": ("project", "name", "type", "state", "priority", "starts_at", "ends_at")},
        ),
        (
            _("Texts & design"),
            {
                "fields": ("texts", "design"),
                "description": _(
                    "Built-in texts exist for every supported language; set only what you "
                    "want to change."
                ),
            },
        ),
        (
            _("Targeting"),
            {
                "fields": (
                    "audience",
                    ("min_tenure_days", "tenure_basis"),
                    "trait_conditions",
                    ("trigger_event", "event_window_days"),
                    "url_rules",
                    "device_types",
                    "sample_percent",
                    ("resurvey_days", "dismiss_wait_days"),
                    "max_displays",
                ),
                "description": _("A user sees the survey only when every rule here holds."),
            },
        ),
        (
            _("Reminders"),
            {
                "fields": (
                    "reminders_enabled",
                    "reminder_delay_days",
                    ("reminder_sender_name", "reminder_sender_email"),
                    "reminder_counts",
                ),
                "description": _(
                    "Email users who ignored or closed the in-app survey, after the delay."
                ),
            },
        ),
        (
            _("Integrations"),
            {
                "fields": ("integration_list",),
                "description": _(
                    "Where this survey's feedback goes: the project's integrations, or this "
                    "survey's own, which replace the project's of the same kind."
                ),
            },
        ),
        (_("History"), {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("sends to"))
    def integration_list(self, survey: Survey) -> str:
        if survey.pk is None:
            return _("Save the survey first.")
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> — {}{}</li>',
            (
                (
                    reverse("admin:satismeter_app_integration_change", args=[i.pk]),
                    i,
                    i.get_kind_display(),
                    "" if i.survey_id else _(" (project-wide)"),
                )
                for i in outbox.integrations_for(survey.project_id, survey.pk)
            ),
        )
        add = reverse("admin:satismeter_app_integration_add")
        return format_html(
            '<ul class="sm-integrations">{}</ul>'
            '<a class="addlink" href="{}?project={}&amp;survey={}">{}</a>',
            rows or format_html("<li>{}</li>", _("None: feedback stays here.")),
            add,
            survey.project_id,
            survey.pk,
            _("Add an integration for this survey"),
        )

    @admin.display(description=_("reminders sent / answered"))
    def reminder_counts(self, survey: Survey) -> str:
        if survey.pk is None:
            return "—"
        from .services import reminders

        counts = reminders.counts(survey.pk)
        return f"{counts['sent']} / {counts['answered']}"


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
        return [
            (nps.PROMOTER, _("Promoters (9–10)")),
            (nps.PASSIVE, _("Passives (7–8)")),
            (nps.DETRACTOR, _("Detractors (0–6)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() is None:
            return None
        # nps.category() stays the one definition of which rating is which category.
        ratings = [rating for rating in nps.SCORES if nps.category(rating) == self.value()]
        return queryset.filter(rating__in=ratings)


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


class IntegrationForm(ProjectScopedForm):
    """Settings as form fields per kind; the secret is write-only (typed in, never rendered
    back; empty keeps the current one)."""

    events = forms.MultipleChoiceField(
        label=_("events"),
        required=False,
        choices=[(event, event) for event in Integration.EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "None ticked: the kind's default (Segment: all four; Slack: completed; webhook: "
            "closed and completed). Webhooks send only closed (as dismissed) and completed; "
            "Slack only answered and completed."
        ),
    )
    secret = forms.CharField(
        label=_("secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Segment: the source's write key. Slack: the incoming-webhook URL. Webhook: the "
            "signing secret. Leave empty to keep the current one."
        ),
    )
    segment_region = forms.ChoiceField(label=_("region"), required=False, choices=())
    segment_host = forms.URLField(
        label=_("host"),
        required=False,
        assume_scheme="https",
        help_text=_("Any other endpoint, without /v1; it takes the place of the region."),
    )
    segment_traits = forms.MultipleChoiceField(
        label=_("identify traits"),
        required=False,
        choices=[(name, name) for name in Integration.SEGMENT_TRAITS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Sent with identify on completion; none ticked: no identify call."),
    )
    slack_filter = forms.ChoiceField(
        label=_("post"), required=False, choices=Integration.SlackFilter.choices
    )
    webhook_url = forms.URLField(label=_("URL"), required=False, assume_scheme="https")

    class Meta:
        model = Integration
        # ``settings`` is assembled from the fields of the integration's kind (clean()).
        fields = ("project", "survey", "kind", "name", "enabled", "events", "secret")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["segment_region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = [(name, name.upper()) for name in app_settings.SEGMENT_HOSTS]
        settings_ = self.instance.settings or {}
        self.initial.setdefault("segment_region", settings_.get("region", "us"))
        self.initial.setdefault("segment_host", settings_.get("host", ""))
        traits = settings_.get("traits", list(Integration.SEGMENT_TRAITS))
        self.initial.setdefault("segment_traits", traits)
        self.initial.setdefault("slack_filter", settings_.get("filter", "all"))
        self.initial.setdefault("webhook_url", settings_.get("url", ""))

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"] or self.instance.secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The model validates the settings dict; the form only assembles it for the kind.
        self.instance.settings = self.settings_for(cleaned.get("kind"), cleaned)
        return cleaned

    @staticmethod
    def settings_for(kind: str | None, cleaned: dict[str, Any]) -> dict[str, Any]:
        if kind == Integration.Kind.SEGMENT:
            settings_ = {"region": cleaned.get("segment_region") or "us"}
            if cleaned.get("segment_host"):
                settings_["host"] = cleaned["segment_host"]
            return settings_ | {"traits": list(cleaned.get("segment_traits") or [])}
        if kind == Integration.Kind.SLACK:
            return {"filter": cleaned.get("slack_filter") or "all"}
        if kind == Integration.Kind.WEBHOOK and cleaned.get("webhook_url"):
            return {"url": cleaned["webhook_url"]}
        return {}


@admin.register(Integration)
class IntegrationAdmin(ProjectScopedAdmin):
    # Integrations send every answer and a secret elsewhere: project admins set them up.
    edit_roles = ADMIN_ROLE
    form = IntegrationForm
    list_display = ("__str__", "kind", "project", "survey", "enabled", "setup", "updated")
    list_filter = ("kind", "enabled", project_filter())
    list_select_related = ("project", "survey")
    search_fields = ("name",)
    readonly_fields = ("secret_hint", "delivery_log", "created", "updated")
    actions = ("send_test_message",)
    fieldsets = (
        (None, {"fields": ("project", "survey", "kind", "name", "enabled", "events")}),
        (_("Connection"), {"fields": ("secret", "secret_hint", "delivery_log")}),
        (
            _("Segment"),
            {
                "fields": ("segment_region", "segment_host", "segment_traits"),
                "description": _(
                    "Events and identify traits go to the Segment source of the write key. "
                    "US: api.segment.io; EU: events.eu1.segmentapis.com."
                ),
            },
        ),
        (
            _("Slack"),
            {
                "fields": ("slack_filter",),
                "description": _("A message per completed response, in the webhook's channel."),
            },
        ),
        (
            _("Webhook"),
            {
                "fields": ("webhook_url",),
                "description": _(
                    "A signed POST per completed or dismissed response; see "
                    "docs/integrations.md for the verification recipe."
                ),
            },
        ),
        (_("History"), {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("current secret"))
    def secret_hint(self, obj: Integration) -> str:
        """Enough to tell secrets apart; a Slack URL shows only its host."""
        if not obj.secret:
            return "—"
        parts = urlsplit(obj.secret)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/…"
        return f"{obj.secret[:4]}…"

    @admin.display(description=_("setup"))
    def setup(self, obj: Integration) -> str:
        missing = obj.missing()
        text = _("missing %(what)s") % {"what": ", ".join(missing)} if missing else _("complete")
        return str(text)

    @admin.display(description=_("deliveries"))
    def delivery_log(self, obj: Integration) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:satismeter_app_delivery_changelist")
        return format_html(
            '<a href="{}?integration__id__exact={}">{}</a>', url, obj.pk, _("Delivery log")
        )

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        missing = obj.missing()
        if obj.enabled and missing:
            messages.warning(
                request,
                _("%(integration)s sends nothing until it has its %(what)s.")
                % {"integration": obj, "what": ", ".join(missing)},
            )

    @admin.action(description=_("Send a test message"), permissions=["change"])
    def send_test_message(self, request: HttpRequest, queryset: QuerySet) -> None:
        integrations = list(self.editable(request, queryset))
        for integration in integrations:
            outbox.send_test_message(integration)
        self.message_user(
            request,
            ngettext(
                "%(count)d test message is on its way; see the delivery log.",
                "%(count)d test messages are on their way; see the delivery log.",
                len(integrations),
            )
            % {"count": len(integrations)},
            messages.SUCCESS,
        )


@admin.register(Unsubscribe)
class UnsubscribeAdmin(ProjectScopedAdmin):
    list_display = ("email", "project", "source", "created")
    list_filter = ("source", project_filter())
    list_select_related = ("project",)
    search_fields = ("email",)
    readonly_fields = ("source", "created")

    def save_model(self, request: HttpRequest, obj: Unsubscribe, form: Any, change: bool) -> None:
        if not change:
            obj.source = Unsubscribe.Source.ADMIN
        super().save_model(request, obj, form, change)


class DeliveryAttemptInline(admin.TabularInline):
    """Every attempt of a delivery: when, how long, the HTTP status and the error."""

    model = DeliveryAttempt
    fields = ("started", "duration_ms", "status_code", "outcome", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request) or (
            obj is not None and obj.project_id in project_roles(request)
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ProjectScopedAdmin):
    """The outbox, read only: services write it with what caused each message.

    Staff read it, delete rows, and retry: "retry now" makes pending and dead rows due with a
    fresh retry window and asks a worker to send them at once.
    """

    list_display = (
        "created",
        "destination",
        "event",
        "state",
        "attempts",
        "last_status",
        "short_error",
        "next_attempt_at",
        "delivered_at",
        "integration",
        "project",
    )
    list_filter = (
        "state",
        "destination",
        "event",
        ("created", admin.DateFieldListFilter),
        project_filter("integration"),
        project_filter(),
    )
    list_select_related = ("project", "integration")
    search_fields = ("=message_id", "destination", "event")
    date_hierarchy = "created"
    readonly_fields = (
        "payload",
        "message_id",
        "attempts",
        "last_status",
        "last_error",
        "retry_until",
        "created",
        "delivered_at",
    )
    inlines = (DeliveryAttemptInline,)
    show_full_result_count = False
    actions = ("retry",)

    @admin.display(description=_("last error"))
    def short_error(self, obj: Delivery) -> str:
        return Truncator(obj.last_error).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a hand-written message would skip the payload builders and message ids

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request) or self.may(request, self.edit_roles)

    @admin.action(description=_("Retry selected deliveries now"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox.retry_now(self.editable(request, queryset))
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be retried.",
                "%(count)d deliveries will be retried.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
