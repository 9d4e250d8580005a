"""Deciding for the widget: the one survey to show a user now, and its texts in their language."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .. import history, i18n, questions, shared_cache, targeting
from ..conf import app_settings
from ..models import EndUser, Survey
from .snapshots import ProjectConfig, SurveyConfig, survey_config


@dataclass(frozen=True)
class Verdict:
    survey: SurveyConfig | None
    decisions: list[tuple[targeting.SurveyRules, targeting.Decision]] = field(default_factory=list)


def decide(
    config: ProjectConfig,
    user: EndUser,
    context: targeting.Context,
    now: datetime,
    *,
    preview: SurveyConfig | None = None,
) -> Verdict:
    """The one survey to show this user now, if any."""
    candidates = [preview] if preview else list(config.surveys)
    chosen, decisions = targeting.choose(
        [s.rules for s in candidates],
        targeting.UserState.from_user(user),
        history.as_targeting(user.history),
        context,
        now,
        survey_gap_days=config.survey_gap_days,
    )
    survey = next((s for s in candidates if chosen and s.id == chosen.id), None)
    return Verdict(survey=survey, decisions=decisions)


def preview_survey(config: ProjectConfig, survey_id: Any) -> SurveyConfig | None:
    """Any survey of the project, drafts included, for staff previews. ``<id>:<draft>`` (see
    :func:`hold_preview_draft`) is the survey with the unsaved questions of the admin's form."""
    match = re.fullmatch(r"(\d{1,12})(?::([\w-]{8,32}))?", str(survey_id))
    if match is None:
        return None
    survey = Survey.objects.filter(project_id=config.id, pk=int(match[1])).first()
    if survey is None:
        return None
    preview = survey_config(survey)
    draft = _held_draft(survey.pk, match[2]) if match[2] else None
    if draft is not None:
        preview = replace(preview, questions=questions.of_survey(draft, survey.type))
    return preview


# How long the admin's preview of unsaved questions lasts: the page reloads it on every edit.
PREVIEW_DRAFT_SECONDS = 3600


def _draft_key(survey_id: int, token: str) -> str:
    return f"satismeter:preview-draft:{survey_id}:{token}"


def hold_preview_draft(survey_id: int, draft_questions: list[dict[str, Any]]) -> str:
    """Keeps the unsaved questions of the admin's survey form for the widget's preview call
    (it names them by the ``previewCampaign`` this returns); the survey's own id when the
    cache cannot be reached (the preview then shows the saved questions)."""
    token = secrets.token_urlsafe(12)

    def store(cache: Any) -> bool:
        cache.set(_draft_key(survey_id, token), draft_questions, PREVIEW_DRAFT_SECONDS)
        return True

    return f"{survey_id}:{token}" if shared_cache.use(store, False) else str(survey_id)


def _held_draft(survey_id: int, token: str) -> Any:
    return shared_cache.use(lambda cache: cache.get(_draft_key(survey_id, token)), None)


def widget_language(
    config: ProjectConfig, user: EndUser, browser_languages: Iterable[str] = ()
) -> str:
    """The language the widget shows a survey in: the user's ``language`` trait, then the
    browser's, then the project's default (i18n.choose_language)."""
    return i18n.choose_language(
        [user.language or None, *browser_languages, config.default_language],
        default=app_settings.DEFAULT_LANGUAGE,
    )


def survey_for_widget(
    config: ProjectConfig,
    survey: SurveyConfig,
    user: EndUser,
    browser_languages: Iterable[str] = (),
    translation: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The survey as the widget needs it: texts resolved to the user's language, the design.

    ``translation`` is the ``translation`` trait *of this call*, if it sent one: it overrides
    this answer's texts only. The stored trait never does, so that whoever identifies as a
    user (anyone with the write key, without identity verification) cannot change what that
    user is shown later."""
    language = widget_language(config, user, browser_languages)
    strings = i18n.resolve_strings(
        language,
        survey_texts=survey.texts,
        user_translation=translation,
        service_name=str(survey.design.get("serviceName") or config.name),
    )
    return {
        "id": str(survey.id),
        "name": survey.name,
        "type": survey.type,
        "language": language,
        "direction": i18n.direction(language),
        "translation": strings,
        "design": survey.design,
        "questions": [
            _widget_question(q, language, config.default_language, strings)
            for q in survey.questions or _plain(survey.type)
        ],
    }


def _widget_question(
    question: questions.Question, language: str, default_language: str, strings: Mapping[str, str]
) -> dict[str, Any]:
    """One question as the widget asks it, its texts in ``language``. The built-in rating and
    comment keep the texts the widget has always shown (the catalogue's, the survey's
    ``texts``, the call's ``translation``); the widget picks the follow-up by category."""
    label, low, high = questions.texts_in(question, language, default_language, strings)
    values = question.values
    condition = question.condition
    return {
        "id": question.id,
        "type": question.type,
        "metric": question.metric,
        "required": question.required,
        "label": label,
        "low": low,
        "high": high,
        "min": values[0] if values else None,
        "max": values[-1] if values else None,
        "choices": [
            {"id": c.id, "label": question.choice_text(c, language, default_language)}
            for c in question.choices
        ],
        "condition": None
        if condition is None
        else {"question": condition.question, "values": list(condition.values)},
    }


def asks_more(survey: SurveyConfig) -> bool:
    """Whether the survey asks more than the rating then an optional comment: the widget then
    loads its questions script (``views.questions_script``) to ask them. A configuration
    without questions asks the default ones."""
    asked = tuple(replace(q, texts={}) for q in survey.questions)
    return bool(asked) and asked != _plain(survey.type)


@functools.cache
def _plain(survey_type: str) -> tuple[questions.Question, ...]:
    """The default questions of a survey of this type (its rating's metric)."""
    return questions.parse(questions.default_questions(survey_type))


def explain(user: EndUser, now: datetime) -> list[tuple[Survey, targeting.Decision]]:
    """For staff: would this user see each survey of their project now, and why (not)."""
    surveys = list(Survey.objects.filter(project_id=user.project_id).order_by("-priority", "pk"))
    project = user.project
    _, decisions = targeting.choose(
        [survey_config(s).rules for s in surveys],
        targeting.UserState.from_user(user),
        history.as_targeting(user.history),
        targeting.Context(),
        now,
        survey_gap_days=project.survey_gap_days,
    )
    by_id = {rules.id: decision for rules, decision in decisions}
    return [(survey, by_id[survey.pk]) for survey in surveys]


# --- displays and responses ---------------------------------------------------------------------
