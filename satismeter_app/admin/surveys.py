"""Surveys: their form, state actions and the live widget preview."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from .. import i18n, outbox, targeting
from ..design import CTA_CATEGORIES, FLAG_DEFAULTS, Skin
from ..models import Survey
from ..services import audience, decisions, reminders
from .figures import RecentFigures
from .scoping import ProjectScopedAdmin, project_filter
from .survey_form import SCHEDULE_FIELDS, TARGETING_FIELDS, SurveyForm

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


# Survey editing: the live preview of unsaved edits, and the audience estimate -------------


def draft_form(modeladmin: Any, request: HttpRequest, survey: Survey | None) -> ModelForm:
    """The survey form as the page posted it, checked and never saved: the preview and the
    audience estimate read the unsaved edits from it (``survey`` takes them on, in memory)."""
    form_class = modeladmin.get_form(request, survey, change=survey is not None)
    form = form_class(request.POST, request.FILES, instance=survey)
    form.is_valid()
    return form


def preview_design(design: dict[str, Any]) -> dict[str, Any]:
    """The widget's ``design`` option for a preview of unsaved edits. The widget lays the
    option over the saved design, so every key the edited design leaves out is set to what
    the widget does without it: a colour or link removed in the form is gone from the preview
    too."""
    unset: dict[str, Any] = {"skin": "", "position": "", "colors": {}, "serviceName": ""}
    unset.update(ctaText="", ctaUrl="", ctaFor=list(CTA_CATEGORIES), **FLAG_DEFAULTS)
    return {**unset, **design}


class SurveyEditingViews:
    """Two helpers of the survey form, both staff-only admin views of the user's projects:

    - ``<id>/preview/``: a page that runs the real widget script with ``previewCampaign``
      (nothing is saved). Opened with GET it shows the saved survey; the form's script POSTs
      the unsaved form to it, and it shows the edited texts (as the call's ``translation``
      trait, resolved for the preview's language) and design (the ``design`` option). The
      change form shows it in an iframe, with skin and language pickers. The unsaved questions
      are held for the widget's call (``decisions.hold_preview_draft``), which names them.
    - ``<id>/audience/`` and ``audience/`` (a new survey): POST the unsaved form, get the
      audience estimate of its targeting as JSON (services/audience.py).
    """

    admin_site: admin.AdminSite
    opts: Any
    get_queryset: Callable[[HttpRequest], QuerySet]
    has_add_permission: Callable[[HttpRequest], bool]
    has_view_or_change_permission: Callable[..., bool]

    def get_urls(self) -> list[Any]:
        preview = xframe_options_sameorigin(self.admin_site.admin_view(self.preview_view))
        estimate = self.admin_site.admin_view(require_POST(self.audience_view))
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:object_id>/preview/", preview, name=f"{info}_preview"),
            path("<int:object_id>/audience/", estimate, name=f"{info}_audience"),
            path("audience/", estimate, name=f"{info}_audience_new"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        survey = get_object_or_404(
            self.get_queryset(request).select_related("project"), pk=object_id
        )
        data = request.POST if request.method == "POST" else request.GET
        language = i18n.choose_language([data.get("language"), survey.project.default_language])
        edits, unusable = {"texts": survey.texts, "design": survey.design, "questions": None}, []
        if request.method == "POST":
            form = draft_form(self, request, survey)
            for name in edits:
                if name in form.errors:
                    unusable.append(form[name].label)
                elif form.cleaned_data.get(name) is not None:
                    edits[name] = form.cleaned_data[name]
        options = self.preview_options(request, survey, language, edits["texts"], edits["design"])
        if edits["questions"] is not None:
            # The widget's call names the unsaved questions: its answer is built from them
            # (decisions.preview_survey, then survey_for_widget), as a user's would be.
            options["previewCampaign"] = decisions.hold_preview_draft(survey.pk, edits["questions"])
        skin = data.get("skin", "")
        if skin in Skin.values:
            options["design"] = {**options.get("design", {}), "skin": skin}
        context = {"survey": survey, "options": options, "unusable": unusable}
        return TemplateResponse(request, "admin/satismeter_app/survey/preview.html", context)

    @staticmethod
    def preview_options(
        request: HttpRequest, survey: Survey, language: str, texts: Any, design: Any
    ) -> dict[str, Any]:
        """The widget's options: the preview's user, language, and the edits when posted."""
        traits: dict[str, Any] = {"language": language}
        options = {
            "writeKey": survey.project.write_key,
            "userId": f"satismeter-admin-preview-{request.user.pk}",
            "traits": traits,
            "previewCampaign": str(survey.pk),
        }
        if request.method == "POST":
            name = str(design.get("serviceName") or survey.project.name)
            strings = i18n.resolve_strings(language, survey_texts=texts, service_name=name)
            traits["translation"] = {key: text for key, text in strings.items() if text}
            options["design"] = preview_design(design)
        return options

    def audience_view(self, request: HttpRequest, object_id: int | None = None) -> HttpResponse:
        survey = None
        if object_id is not None:
            survey = get_object_or_404(
                self.get_queryset(request).select_related("project"), pk=object_id
            )
        allowed = (
            self.has_view_or_change_permission(request, survey)
            if survey
            else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form = draft_form(self, request, survey)
        refused = self.refused_rules(form)
        if refused:
            return JsonResponse(refused, status=400)
        draft = form.instance
        rules = targeting.SurveyRules.from_survey(draft)
        result = audience.estimate(
            dataclasses.replace(rules, id=draft.pk or 0),
            survey_gap_days=draft.project.survey_gap_days,
            now=timezone.now(),
        )
        return JsonResponse(estimate_json(result, draft))

    @staticmethod
    def refused_rules(form: ModelForm) -> dict[str, Any] | None:
        """What keeps the estimate from being counted: a rule the form refuses (its row, for
        rows), or no project yet."""
        names = ("project", *SCHEDULE_FIELDS, *TARGETING_FIELDS)
        errors = {
            name: [str(e) for e in form.errors[name]] for name in names if name in form.errors
        }
        if errors:
            rows = {
                name: row
                for name in errors
                if (row := getattr(form.fields[name].widget, "error_row", None))
            }
            text = gettext("Fix the targeting marked below to count its audience.")
            return {"text": text, "errors": errors, "rows": rows}
        if form.instance.project_id is None:
            return {"text": gettext("Choose a project to count its users."), "errors": {}}
        return None


def estimate_json(result: audience.Estimate, survey: Survey) -> dict[str, Any]:
    return {
        "text": estimate_text(result, str(survey.audience)),
        "note": estimate_note(result, survey),
        "population": result.population,
        "shownNow": result.shown_now,
        "dueSoon": result.due_soon,
        "judged": result.judged,
        "exact": result.exact,
        "traits": [{"name": name, "type": kind} for name, kind in result.traits.items()],
    }


def estimate_text(result: audience.Estimate, audience_kind: str) -> str:
    """'Would be shown to N of M identified users now; K more become due in the next 7 days'."""
    total = result.population
    if audience_kind == Survey.Audience.IDENTIFIED:
        people = ngettext("%(total)s identified user", "%(total)s identified users", total)
    elif audience_kind == Survey.Audience.ANONYMOUS:
        people = ngettext("%(total)s anonymous visitor", "%(total)s anonymous visitors", total)
    else:
        people = ngettext("%(total)s user or visitor", "%(total)s users and visitors", total)
    if result.exact:
        sentence = gettext(
            "Would be shown to %(shown)s of %(people)s now; %(soon)s more become due in the "
            "next %(days)s days."
        )
    else:
        sentence = gettext(
            "Would be shown to about %(shown)s of %(people)s now; about %(soon)s more become "
            "due in the next %(days)s days."
        )
    return sentence % {
        "shown": _number(result.shown_now),
        "people": people % {"total": _number(total)},
        "soon": _number(result.due_soon),
        "days": result.horizon_days,
    }


def estimate_note(result: audience.Estimate, survey: Survey) -> str:
    notes = [gettext("Page and device rules are not counted: they depend on the visit.")]
    if survey.state != Survey.State.ACTIVE:
        notes.append(gettext("Counted as if the survey were active."))
    if not result.exact:
        notes.append(
            gettext("Estimated from a fixed sample of %(judged)s of them.")
            % {"judged": _number(result.judged)}
        )
    return " ".join(notes)


def _number(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def estimate_box(url: str) -> str:
    """Where the form's script shows the estimate, at the top of the Targeting section."""
    return format_html(
        '<div class="sm-estimate" data-url="{}"><h3>{}</h3>'
        '<p class="sm-estimate-text" role="status" aria-live="polite">{}</p>'
        '<p class="sm-estimate-note"></p></div>',
        url,
        gettext("Audience estimate"),
        gettext("Counting…"),
    )


@admin.register(Survey)
class SurveyAdmin(RecentFigures, SurveyEditingViews, ProjectScopedAdmin):
    form = SurveyForm
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
            _("Questions"),
            {
                "fields": ("questions",),
                "description": _(
                    "The rating and the follow-up comment are built in; add questions around "
                    "them, move them with the arrow buttons."
                ),
                "classes": ("sm-questions-section",),
            },
        ),
        (
            _("Texts & design"),
            {
                "fields": ("texts", "design"),
                "description": _(
                    "Built-in texts exist for every supported language; set only what you "
                    "want to change."
                ),
                "classes": ("sm-texts-design",),
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
                "classes": ("sm-targeting",),
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

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The sections, with the audience estimate at the top of Targeting."""
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            if "sm-targeting" in options.get("classes", ()):
                view = "audience" if obj is not None else "audience_new"
                url = reverse(f"admin:satismeter_app_survey_{view}", args=[obj.pk] if obj else [])
                description = format_html("{}{}", options["description"], estimate_box(url))
                options = {**options, "description": description}
            fieldsets.append((name, options))
        return fieldsets

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "preview_skins": Skin.choices,
            "preview_languages": i18n.language_choices(),
        }
        return super().change_view(request, object_id, form_url, extra_context)

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
