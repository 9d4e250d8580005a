"""Project scoping for every admin page: the user's access (permissions.py), applied to querysets,
forms, filters and permission checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import permissions
from ..models import Project
from ..permissions import ANY_ROLE, Roles
from .widgets import LabelledSplitDateTime

# Tenancy, read once per request ------------------------------------------------------------


def access(request: HttpRequest) -> permissions.Access:
    """The user's access (see permissions.py), read once per request.

    The admin asks for permissions dozens of times per page (every model of the sidebar), so
    the memberships are cached on the request rather than queried each time.
    """
    cached = getattr(request, "_satismeter_access", None)
    if cached is None:
        cached = permissions.Access.of(request.user)
        request._satismeter_access = cached  # type: ignore[attr-defined]
    return cached


def is_superuser(request: HttpRequest) -> bool:
    return access(request).superuser


def sees_one_project(request: HttpRequest) -> bool:
    """Whether the user sees a single project (then lists leave its column out), read once
    per request."""
    cached = getattr(request, "_satismeter_one_project", None)
    if cached is None:
        allowed = access(request)
        if allowed.superuser:
            cached = Project.objects.order_by()[:2].count() == 1
        else:
            cached = len(allowed.project_ids()) == 1
        request._satismeter_one_project = cached  # type: ignore[attr-defined]
    return cached


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


# The base classes --------------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under a project's object and never edited there: whoever may see the parent
    object sees them; nobody adds, changes or deletes them from the parent's page.

    ``parent_project_id`` names the parent's attribute that holds its project's id.
    """

    parent_project_id = "project_id"
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return True
        return obj is not None and access(request).may(getattr(obj, self.parent_project_id))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProjectScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose objects belong to a project; see the module docstring for the rules.

    Subclasses set ``view_roles`` (who sees the objects) and ``edit_roles`` (who adds, changes
    and deletes them); ``project_lookup`` is the path from the model to its Project.
    """

    form = ProjectScopedForm
    project_lookup = "project"

    class Media:
        css = {"all": ("satismeter_app/admin_lists.css",)}

    view_roles: Roles = ANY_ROLE
    edit_roles: Roles = ANY_ROLE

    # Scope ----------------------------------------------------------------------------------

    def project_id_of(self, obj: models.Model) -> int:
        return obj.project_id  # type: ignore[attr-defined]

    def may(self, request: HttpRequest, roles: Roles, obj: models.Model | None = None) -> bool:
        """Whether the user holds one of ``roles`` in obj's project (or in any, without obj)."""
        if obj is None:
            return access(request).may_somewhere(roles)
        return access(request).may(self.project_id_of(obj), roles)

    def scoped(self, request: HttpRequest, queryset: QuerySet, roles: Roles) -> QuerySet:
        allowed = access(request)
        if allowed.superuser:
            return queryset
        return queryset.filter(**{f"{self.project_lookup}__in": allowed.project_ids(roles)})

    def editable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The part of ``queryset`` the user may change; actions act on nothing else."""
        return self.scoped(request, queryset, self.edit_roles)

    def related_scope(self, request: HttpRequest, model: type[models.Model], roles: Roles) -> Q:
        """Which rows of a related model the user may pick or filter by."""
        allowed = access(request)
        if allowed.superuser:
            return Q()
        if model is Project:
            return Q(pk__in=allowed.project_ids(roles))
        if any(field.name == "project" for field in model._meta.get_fields()):
            return Q(project__in=allowed.project_ids(roles))
        return Q()  # not project data (the auth user of a membership): superusers only edit it

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scoped(request, super().get_queryset(request), self.view_roles)

    # Forms ----------------------------------------------------------------------------------

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.DateTimeField) and "widget" not in kwargs:
            kwargs["widget"] = LabelledSplitDateTime(db_field.verbose_name)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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

    def get_list_display(self, request: HttpRequest) -> Any:
        """The list's columns; the project's is left out for staff who see one project, and
        clipped to its width for the others (lists fit beside the sidebar and filters)."""
        columns = list(super().get_list_display(request))
        if "project" not in columns:
            return columns
        if sees_one_project(request):
            return [column for column in columns if column != "project"]
        return ["project_name" if column == "project" else column for column in columns]

    @admin.display(description=_("project"), ordering="project__name")
    def project_name(self, obj: Any) -> str:
        return format_html('<span class="sm-clip">{}</span>', obj.project)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Django's list of what a delete takes along, where the rows staff only view (see
        :class:`ViewOnlyAdmin`) need no delete permission: they go with their survey, user or
        project."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        view_only = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ViewOnlyAdmin)
        }
        perms_needed = {name for name in perms_needed if str(name) not in view_only}
        return deleted, counts, perms_needed, protected

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
        return access(request).may_somewhere(ANY_ROLE)

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


class ViewOnlyAdmin(ProjectScopedAdmin):
    """Rows the customer's product wrote — responses, displays, events: whoever may see the
    project reads them; nobody adds, changes or deletes them here, superusers included. They
    go when their user is erased (the users' page), their survey or their project is deleted.
    Also the "NPS dashboards" list, which only links to each project's dashboard.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
