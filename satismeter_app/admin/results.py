"""What users answered: displays and responses, as the product recorded them (view only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import nps
from ..exceptions import ReplyRefused
from ..models import (
    Display,
    EndUser,
    Response,
)
from ..services import replies
from . import readonly
from .scoping import (
    ViewOnlyAdmin,
    project_filter,
)
from .work import WORK_FILTERS, ResponseWorkViews, chips

CATEGORY_LABELS = {
    nps.PROMOTER: _("promoter"),
    nps.PASSIVE: _("passive"),
    nps.DETRACTOR: _("detractor"),
}


def user_cell(user: EndUser) -> str:
    """The user of a row in a list: their id, marked when they are a test user."""
    if user.is_test:
        return format_html(
            '<span class="sm-clip">{}</span> <span class="sm-test">{}</span>', user, _("test")
        )
    return format_html('<span class="sm-clip">{}</span>', user)


def clipped(text: str) -> str:
    return format_html('<span class="sm-clip">{}</span>', text)


class SurveyColumn:
    """The survey of a response or display; for staff who see several projects, with its
    project under it (one column where two would not fit)."""

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        if "project_name" not in columns:
            return columns
        columns.remove("project_name")
        return ["survey_in_project" if column == "survey_name" else column for column in columns]

    @admin.display(description=_("survey"), ordering="survey__name")
    def survey_name(self, obj: Display | Response) -> str:
        return clipped(obj.survey.name)

    @admin.display(description=_("survey"), ordering="survey__name")
    def survey_in_project(self, obj: Display | Response) -> str:
        return format_html(
            '{}<br><span class="sm-clip sm-quiet">{}</span>', clipped(obj.survey.name), obj.project
        )


@admin.register(Display)
class DisplayAdmin(SurveyColumn, ViewOnlyAdmin):
    list_display = ("shown", "survey_name", "user_name", "page", "project")
    list_filter = (project_filter("survey"), project_filter(), "is_test")
    list_select_related = ("survey", "user", "project")
    search_fields = ("=user__user_id", "url")
    date_hierarchy = "created"
    fields = ("project", "survey", "user", "url", "created", "is_test")
    show_full_result_count = False

    @admin.display(description=_("shown"), ordering="created")
    def shown(self, obj: Display) -> str:
        return readonly.when_cell(obj.created)

    @admin.display(description=_("user"))
    def user_name(self, obj: Display) -> str:
        return user_cell(obj.user)

    @admin.display(description=_("page"))
    def page(self, obj: Display) -> str:
        return readonly.cell_text(obj.url)


class CategoryFilter(admin.SimpleListFilter):
    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(nps.CATEGORY_CHOICES)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        return None if value is None else queryset.filter(nps.category_q(value))


class ReplyForm(forms.Form):
    """Staff's reply to the respondent (services/replies.py)."""

    subject = forms.CharField(
        label=_("Subject"),
        max_length=replies.MAX_SUBJECT_LENGTH,
        required=False,
        help_text=_("Left empty: “Re:” and the survey's question, in the respondent's language."),
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=replies.MAX_BODY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text=_("Sent as written, between a greeting and a footer in their language."),
    )


class RepliesSection:
    """The response page's reply form and replies (their own template include), and the
    route the form posts to: whoever may see the response's project may reply."""

    opts: Any
    admin_site: Any
    get_queryset: Any

    def get_urls(self) -> list[Any]:
        reply = self.admin_site.admin_view(require_POST(self.reply_view))
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:object_id>/reply/", reply, name=f"{info}_reply"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def replies_context(self, request: HttpRequest, response: Response) -> dict[str, Any]:
        form = ReplyForm(initial={"subject": replies.default_subject(response)})
        return {
            "reply_form": form,
            "reply_refusal": replies.refusal(response),
            "reply_url": reverse("admin:satismeter_app_response_reply", args=[response.pk]),
            "reply_entries": replies.timeline(response),
            "reply_to": replies.reply_to_address(request.user),
        }

    def reply_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        response = get_object_or_404(
            self.get_queryset(request).select_related("user", "survey__project", "project"),
            pk=object_id,
        )
        back = reverse("admin:satismeter_app_response_change", args=[response.pk])
        form = ReplyForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(str(error) for error in errors))
            return HttpResponseRedirect(f"{back}#replies")
        data = form.cleaned_data
        try:
            reply = replies.send_reply(response, request.user, data["subject"], data["message"])
        except ReplyRefused as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(f"{back}#replies")
        messages.success(
            request, _("Your reply to %(address)s is on its way.") % {"address": reply.to_email}
        )
        return HttpResponseRedirect(f"{back}#replies")


@admin.register(Response)
class ResponseAdmin(ResponseWorkViews, RepliesSection, SurveyColumn, ViewOnlyAdmin):
    """What the user sent is view-only; staff work the response (status, assignee, tags,
    notes) in the panel under it (admin/work.py)."""

    change_form_template = "admin/satismeter_app/response/change_form.html"
    list_display = (
        "created_cell",
        "survey_name",
        "user_name",
        "score",
        "comment",
        "work_cell",
        "project",
    )
    list_filter = (
        *WORK_FILTERS,
        CategoryFilter,
        "method",
        "dismissed",
        "completed",
        project_filter("survey"),
        project_filter(),
        "is_test",
    )
    list_select_related = ("survey", "user", "project")
    search_fields = ("feedback", "=user__user_id", "^user__email")
    date_hierarchy = "created"
    show_full_result_count = False
    readonly_fields = ("category", "answers_table", "device_text", "traits_table")
    fieldsets = (
        (None, {"fields": ("project", "survey", "user", "method", "language", "is_test")}),
        (
            _("Answer"),
            {
                "fields": (
                    "rating",
                    "category",
                    "feedback",
                    "answers_table",
                    "dismissed",
                    "pending",
                    "completed",
                )
            },
        ),
        (_("Context"), {"fields": ("referrer", "device_text", "traits_table")}),
        (_("History"), {"fields": ("created", "updated", "completed_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("tags")  # the list's chips

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # One read of the response for the work panel, the timeline and the replies.
        related = ("survey__project", "user", "project")
        found = self.get_queryset(request).select_related(*related)
        response = found.filter(pk=object_id).first() if object_id.isdigit() else None
        context = dict(extra_context or {})
        if response is not None:
            context |= self.work_context(request, response)
            context |= self.replies_context(request, response)
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description=_("created"), ordering="created")
    def created_cell(self, obj: Response) -> str:
        return readonly.when_cell(obj.created)

    @admin.display(description=_("tags"))
    def work_cell(self, obj: Response) -> str:
        """The response's tag chips, after "closed" once it is."""
        closed = obj.status == Response.Status.CLOSED
        state = format_html('<span class="sm-state">{}</span> ', _("closed")) if closed else ""
        return format_html("{}{}", state, chips(obj.tags.all()))

    @admin.display(description=_("user"))
    def user_name(self, obj: Response) -> str:
        return user_cell(obj.user)

    @admin.display(description=_("score"), ordering="rating")
    def score(self, obj: Response) -> str:
        """The rating and its category; a response without one says why (closed, or not
        answered yet)."""
        if obj.rating is None:
            state = _("dismissed") if obj.dismissed else _("pending")
            return format_html('<span class="sm-state">{}</span>', state)
        category = obj.category or ""
        label = CATEGORY_LABELS.get(category, category)
        return format_html(
            '<span class="sm-rating">{}</span> <span class="sm-badge sm-{}">{}</span>',
            obj.rating,
            category,
            label,
        )

    @admin.display(description=_("category"))
    def category(self, obj: Response) -> str:
        return str(CATEGORY_LABELS.get(obj.category or "", readonly.NOTHING))

    @admin.display(description=_("comment"))
    def comment(self, obj: Response) -> str:
        return readonly.cell_text(obj.feedback)

    @admin.display(description=_("other answers"))
    def answers_table(self, obj: Response) -> str:
        return readonly.answers_table(obj.answers)

    @admin.display(description=_("device"))
    def device_text(self, obj: Response) -> str:
        return readonly.key_value_table(obj.device)

    @admin.display(description=_("traits when answered"))
    def traits_table(self, obj: Response) -> str:
        return readonly.key_value_table(obj.traits)
