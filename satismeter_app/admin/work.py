"""Working a response in the admin: the project's tags, and on a response's page its status,
assignee, tags and notes (through :mod:`..services.work`, as the management API), with its
timeline; in the responses list, coloured tag chips and filters by status, assignee and tag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import permissions
from ..exceptions import InvalidInput
from ..models import Response, Tag
from ..services import work
from .scoping import (
    ProjectScopedAdmin,
    ProjectScopedForm,
    access,
    project_filter,
    sees_one_project,
)

TIMELINE = "admin/satismeter_app/response/timeline.html"
WORK_PANEL = "admin/satismeter_app/response/work.html"


def person(user: Any) -> str:
    """A staff member as the pages name them: their full name, else their login."""
    return str(_("nobody")) if user is None else work.person_name(user)


def ink_on(color: str) -> str:
    """Dark or white text, whichever reads better on the colour (#rrggbb)."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#111" if (299 * red + 587 * green + 114 * blue) / 1000 > 150 else "#fff"


def chip(tag: Tag) -> str:
    return format_html(
        '<span class="sm-chip" style="background:{};color:{}">{}</span>',
        tag.color,
        ink_on(tag.color),
        tag.name,
    )


def chips(tags: Any) -> str:
    return format_html_join(" ", "{}", ((chip(tag),) for tag in tags))


# --- the project's tags ---------------------------------------------------------------------


class TagForm(ProjectScopedForm):
    class Meta:
        model = Tag
        fields = ("project", "name", "color", "keywords")
        widgets = {"color": forms.TextInput({"type": "color"})}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        project = cleaned.get("project")
        project_id = project.pk if project else self.instance.project_id
        name = cleaned.get("name")
        # The project is read-only once saved, so the model's constraint check skips it.
        others = Tag.objects.filter(project_id=project_id, name=name).exclude(pk=self.instance.pk)
        if name and project_id and others.exists():
            self.add_error("name", _("The project has a tag of this name already."))
        return cleaned


@admin.register(Tag)
class TagAdmin(ProjectScopedAdmin):
    """A project's tags: any member adds, renames, recolours and deletes them (deleting a tag
    takes it off its responses)."""

    form = TagForm
    list_display = ("chip_cell", "keywords", "project")
    list_filter = (project_filter(),)
    list_select_related = ("project",)
    search_fields = ("name",)
    ordering = ("project__name", "name")

    @admin.display(description=_("tag"), ordering="name")
    def chip_cell(self, obj: Tag) -> str:
        return chip(obj)


# --- the responses list ---------------------------------------------------------------------


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        people = [(str(user.pk), person(user)) for user in _people(request)]
        return [("me", _("me")), (work.NOBODY, _("nobody")), *people]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == work.NOBODY:
            return work.narrowed(queryset, assignee=work.NOBODY)
        return queryset.filter(assignee_id=int(value)) if value.isdigit() else queryset.none()


def _people(request: HttpRequest) -> QuerySet[Any]:
    """The staff who see any of the user's projects: whom their responses can be assigned to."""
    allowed = access(request)
    return permissions.people_of(None if allowed.superuser else allowed.project_ids())


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        tags = Tag.objects.filter(model_admin.related_scope(request, Tag, model_admin.view_roles))
        if sees_one_project(request):
            return [(str(tag.pk), tag.name) for tag in tags.order_by("name")]
        tags = tags.select_related("project").order_by("project__name", "name")
        return [(str(tag.pk), f"{tag.name} ({tag.project})") for tag in tags]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        return queryset.filter(work.tagged(int(value))) if value.isdigit() else queryset.none()


WORK_FILTERS = ("status", AssigneeFilter, TagFilter)


# --- a response's page ----------------------------------------------------------------------


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person(obj)


class WorkForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=Response.Status.choices)
    assignee = PersonChoice(
        label=_("assignee"), queryset=Tag.objects.none(), required=False, empty_label=_("nobody")
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("tags"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    prefix = "work"

    def __init__(self, response: Response, data: Any = None) -> None:
        initial: dict[str, Any] = {"status": response.status, "assignee": response.assignee_id}
        initial["tags"] = [tag.pk for tag in response.tags.all()]
        super().__init__(data, initial=initial)
        # Only the project's people and tags are offered; the service checks them again.
        self.fields["assignee"].queryset = permissions.people_of([response.project_id])  # type: ignore[attr-defined]
        self.fields["tags"].queryset = Tag.objects.filter(project_id=response.project_id)  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("note"),
        max_length=work.NOTE_MAX_CHARACTERS,
        widget=forms.Textarea({"rows": 3}),
    )

    prefix = "note"


class ResponseWorkViews:
    """For the responses' ModelAdmin: the page's work panel and timeline, and the two
    ``POST`` routes behind them (``<id>/work/`` and ``<id>/note/``). Any staff member who sees
    the response works it; the response is found in the admin's scoped queryset, so another
    project's response is a 404."""

    admin_site: admin.AdminSite
    opts: Any
    get_queryset: Callable[[HttpRequest], QuerySet]
    message_user: Callable[..., None]
    log_change: Callable[..., Any]

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/work/", view(self.work_view), name=f"{info}_work"),
            path("<int:object_id>/note/", view(self.note_view), name=f"{info}_note"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def worked_response(self, request: HttpRequest, object_id: int) -> Response:
        return get_object_or_404(self.get_queryset(request), pk=object_id)

    def work_view(self, request: HttpRequest, object_id: int) -> HttpResponseRedirect:
        response = self.worked_response(request, object_id)
        form = WorkForm(response, request.POST if request.method == "POST" else None)
        if form.is_valid() and self._write(
            request, lambda: work.update(response, **form.cleaned_data)
        ):
            self.log_change(request, response, _("Worked: %s") % _summary(form))
        elif form.is_bound and not form.is_valid():
            self.message_user(request, _("Nothing changed: %s") % _errors(form), messages.ERROR)
        return _back_to(response)

    def note_view(self, request: HttpRequest, object_id: int) -> HttpResponseRedirect:
        response = self.worked_response(request, object_id)
        form = NoteForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            text = form.cleaned_data["text"]
            if self._write(request, lambda: work.add_note(response, request.user, text)):
                self.log_change(request, response, _("Added a note."))
        elif form.is_bound:
            self.message_user(request, _("The note was not added: write it first."), messages.ERROR)
        return _back_to(response)

    def _write(self, request: HttpRequest, write: Callable[[], Any]) -> bool:
        """Whether ``write`` went through; says so, or why not, to the staff member."""
        try:
            write()
        except InvalidInput as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return False
        self.message_user(request, _("Saved."), messages.SUCCESS)
        return True

    def work_context(self, request: HttpRequest, response: Response) -> dict[str, Any]:
        """The panel and the timeline of the response's page."""
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        panel = {
            "work_form": WorkForm(response),
            "note_form": NoteForm(),
            "work_url": reverse(f"{info}_work", args=[response.pk]),
            "note_url": reverse(f"{info}_note", args=[response.pk]),
        }
        entries = work.timeline(response)
        return {
            "work_panel": render_to_string(WORK_PANEL, panel, request=request),
            "timeline": render_to_string(TIMELINE, {"entries": entries}, request=request),
        }


def _summary(form: WorkForm) -> str:
    """What the work form set, for the response's history."""
    data = form.cleaned_data
    tags = ", ".join(tag.name for tag in data["tags"]) or "—"
    return f"{data['status']}; {person(data['assignee'])}; {tags}"


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}"
        for name, errors in form.errors.items()
    )


def _back_to(response: Response) -> HttpResponseRedirect:
    url = reverse("admin:satismeter_app_response_change", args=[response.pk])
    return HttpResponseRedirect(f"{url}#sm-work")
