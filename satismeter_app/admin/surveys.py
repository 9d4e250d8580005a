"""Surveys: their form, state actions and the live widget preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from .. import i18n, outbox
from ..design import Skin
from ..models import (
    Survey,
)
from ..services import reminders
from .figures import RecentFigures
from .scoping import (
    ProjectScopedAdmin,
    project_filter,
)

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


# Survey editing: the live widget preview ---------------------------------------------------


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
        if skin in Skin.values:
            options["design"] = {"skin": skin}
        context = {"survey": survey, "options": options}
        return TemplateResponse(request, "admin/satismeter_app/survey/preview.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "preview_skins": Skin.values,
            "preview_languages": i18n.language_choices(),
        }
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


@admin.register(Survey)
class SurveyAdmin(RecentFigures, SurveyPreviewViews, ProjectScopedAdmin):
    list_display = ("name", "state", "recent_responses", "recent_nps", "project")
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
        context = {
            "survey": survey,
            "integrations": outbox.integrations_for(survey.project_id, survey.pk),
        }
        return render_to_string("admin/satismeter_app/survey/integration_list.html", context)

    @admin.display(description=_("reminders sent / answered"))
    def reminder_counts(self, survey: Survey) -> str:
        if survey.pk is None:
            return "—"
        counts = reminders.counts(survey.pk)
        return f"{counts['sent']} / {counts['answered']}"
