"""What the widget, the APIs and the admin do. Each public function that writes is one
transaction, and writes the outbox rows (``Delivery``) for the lifecycle events it causes.

Lifecycle events: ``viewed`` (the survey was shown), ``closed`` (dismissed without a rating),
``answered`` (a rating was given) and ``completed`` (the follow-up is done, or the user closed
the survey after rating).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from . import history, i18n, keys, outbox, targeting
from .conf import app_settings
from .config import ProjectConfig, SurveyConfig, project_config, survey_config
from .exceptions import DuplicateResponse, InvalidInput, ResponseClosed
from .models import Delivery, Display, EndUser, Response, Survey, UserEvent
from .payloads import COMMENT_QUESTION, RATING_QUESTION, display_payload, lifecycle_payload

# last_seen is refreshed at most this often, so that page views of a known user write nothing.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)

# When a response is inserted, these gates do not make it a duplicate: they concern when a
# survey is shown, and the user may answer a survey shown earlier or on another page.
_GATES_NOT_FOR_RESPONSES = {
    targeting.Reason.IGNORED,
    targeting.Reason.NO_EVENT,
    targeting.Reason.EVENT_EXPIRED,
    targeting.Reason.PAGE,
    targeting.Reason.DEVICE,
    targeting.Reason.SURVEY_GAP,
}


@dataclass(frozen=True)
class Identity:
    user_id: str | None = None
    anonymous_id: str | None = None


# --- identifying users ------------------------------------------------------------------------


def user_columns(traits: Mapping[str, Any]) -> dict[str, Any]:
    """The EndUser columns that the well-known traits set; raises InvalidInput."""
    columns: dict[str, Any] = {}
    if "createdAt" in traits and traits["createdAt"] not in (None, ""):
        columns["created_at"] = targeting.parse_timestamp(traits["createdAt"])
        if columns["created_at"] is None:
            raise InvalidInput(
                "traits.createdAt",
                "use an ISO-8601 date-time or epoch seconds or milliseconds",
            )
    for trait, column, limit in (("email", "email", 254), ("name", "name", 255)):
        if trait in traits and traits[trait] is not None:
            columns[column] = _short_text(traits[trait], f"traits.{trait}", limit)
    if traits.get("language") is not None:
        columns["language"] = _short_text(traits["language"], "traits.language", 35)
    if "translation" in traits and not isinstance(traits["translation"], dict | type(None)):
        raise InvalidInput("traits.translation", "must be an object of strings")
    return columns


def _short_text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    if len(value) > limit:
        raise InvalidInput(name, f"must be at most {limit} characters")
    return value


def check_traits_size(traits: Mapping[str, Any]) -> None:
    size = len(json.dumps(traits, separators=(",", ":"), default=str).encode())
    if size > app_settings.MAX_TRAITS_BYTES:
        limit = app_settings.MAX_TRAITS_BYTES
        raise InvalidInput("traits", f"is {size} bytes of JSON; the limit is {limit}")


def identify(
    project_id: int,
    identity: Identity,
    traits: Mapping[str, Any] | None = None,
    *,
    url: str = "",
    now: datetime,
    seen: bool = True,
) -> EndUser:
    """Find or create the user and merge what this call says about them. ``seen`` is false
    for calls from the customer's back end: they update the user without making them active."""
    traits = dict(traits or {})
    check_traits_size(traits)
    columns = user_columns(traits)
    user = _find_user(project_id, identity)
    if user is None:
        return _create_user(project_id, identity, traits, columns, url, now)
    _refresh_user(user, identity, traits, columns, url, now, seen=seen)
    return user


def set_survey_date(user: EndUser, when: datetime | None) -> None:
    """Per-user override of when the next survey is due (``surveyDate``)."""
    if user.survey_date != when:
        user.survey_date = when
        user.save(update_fields=["survey_date"])


def _find_user(project_id: int, identity: Identity) -> EndUser | None:
    # Unique lookups: no ORDER BY (Meta.ordering would add one), at most one row.
    users = EndUser.objects.filter(project_id=project_id).order_by()
    if identity.user_id is not None:
        user = next(iter(users.filter(user_id=identity.user_id)[:1]), None)
        if user is not None or identity.anonymous_id is None:
            return user
    # An anonymous visitor who now identifies keeps their history: the row is claimed below.
    anonymous = users.filter(user_id__isnull=True, anonymous_id=identity.anonymous_id)
    return next(iter(anonymous[:1]), None)


def _create_user(
    project_id: int,
    identity: Identity,
    traits: dict[str, Any],
    columns: dict[str, Any],
    url: str,
    now: datetime,
) -> EndUser:
    user = EndUser(
        project_id=project_id,
        user_id=identity.user_id,
        anonymous_id=identity.anonymous_id,
        traits=traits,
        first_seen=now,
        last_seen=now,
        last_url=url,
        **columns,
    )
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        # Another request created the same user a moment ago.
        found = _find_user(project_id, identity)
        if found is None:
            raise
        _refresh_user(found, identity, traits, columns, url, now)
        return found
    return user


def _refresh_user(
    user: EndUser,
    identity: Identity,
    traits: dict[str, Any],
    columns: dict[str, Any],
    url: str,
    now: datetime,
    *,
    seen: bool = True,
) -> None:
    changed: set[str] = set()
    if identity.user_id is not None and user.user_id is None:
        user.user_id = identity.user_id
        changed.add("user_id")
    merged = {**user.traits, **traits}
    if merged != user.traits:
        user.traits = merged
        changed.add("traits")
    for column, value in columns.items():
        if getattr(user, column) != value:
            setattr(user, column, value)
            changed.add(column)
    if url and url != user.last_url:
        user.last_url = url
        changed.add("last_url")
    if seen and (changed or now - user.last_seen >= LAST_SEEN_RESOLUTION):
        user.last_seen = max(now, user.first_seen)
        changed.add("last_seen")
    if changed:
        user.save(update_fields=sorted(changed))


def add_group(user: EndUser, group_id: str, traits: Mapping[str, Any]) -> None:
    check_traits_size(traits)
    merged = {**user.groups.get(group_id, {}), **traits}
    if user.groups.get(group_id) != merged:
        user.groups = {**user.groups, group_id: merged}
        user.save(update_fields=["groups"])


@transaction.atomic
def track(user: EndUser, name: str, properties: Mapping[str, Any], when: datetime) -> UserEvent:
    """Record an event; it may trigger a survey waiting for it."""
    locked = EndUser.objects.select_for_update().get(pk=user.pk)
    event = UserEvent.objects.create(
        project_id=user.project_id,
        user=locked,
        name=name,
        properties=dict(properties),
        timestamp=when,
    )
    history.add_event(locked.history, name, when)
    locked.save(update_fields=["history"])
    user.history = locked.history
    return event


# --- deciding -----------------------------------------------------------------------------------


def user_state(user: EndUser) -> targeting.UserState:
    return targeting.UserState(
        key=user.user_id or user.anonymous_id or str(user.pk),
        identified=user.user_id is not None,
        first_seen=user.first_seen,
        created_at=user.created_at,
        traits=user.traits,
        survey_date=user.survey_date,
    )


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
        user_state(user),
        history.as_targeting(user.history),
        context,
        now,
        survey_gap_days=config.survey_gap_days,
    )
    survey = next((s for s in candidates if chosen and s.id == chosen.id), None)
    return Verdict(survey=survey, decisions=decisions)


def preview_survey(config: ProjectConfig, survey_id: Any) -> SurveyConfig | None:
    """Any survey of the project, drafts included, for staff previews."""
    try:
        survey = Survey.objects.get(project_id=config.id, pk=int(survey_id))
    except (Survey.DoesNotExist, TypeError, ValueError):
        return None
    return survey_config(survey)


def survey_for_widget(
    config: ProjectConfig,
    survey: SurveyConfig,
    user: EndUser,
    browser_languages: Iterable[str] = (),
) -> dict[str, Any]:
    """The survey as the widget needs it: texts resolved to the user's language, the design."""
    language = i18n.choose_language(
        [user.language or None, *browser_languages, config.default_language],
        default=app_settings.DEFAULT_LANGUAGE,
    )
    translation = user.traits.get("translation")
    strings = i18n.resolve_strings(
        language,
        survey_texts=survey.texts,
        user_translation=translation if isinstance(translation, dict) else None,
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
    }


def explain(user: EndUser, now: datetime) -> list[tuple[Survey, targeting.Decision]]:
    """For staff: would this user see each survey of their project now, and why (not)."""
    surveys = list(Survey.objects.filter(project_id=user.project_id).order_by("-priority", "pk"))
    project = user.project
    _, decisions = targeting.choose(
        [survey_config(s).rules for s in surveys],
        user_state(user),
        history.as_targeting(user.history),
        targeting.Context(),
        now,
        survey_gap_days=project.survey_gap_days,
    )
    by_id = {rules.id: decision for rules, decision in decisions}
    return [(survey, by_id[survey.pk]) for survey in surveys]


# --- displays and responses ---------------------------------------------------------------------


def _active_survey(config: ProjectConfig, survey_id: Any, *, forced: bool = False) -> SurveyConfig:
    """An active survey of the project; with ``forced`` (staff preview) drafts count too."""
    survey = config.survey(survey_id) or (preview_survey(config, survey_id) if forced else None)
    if survey is None:
        raise InvalidInput("campaign", f"no active survey {survey_id!r} in this project")
    return survey


@transaction.atomic
def record_display(
    config: ProjectConfig,
    user: EndUser,
    survey_id: Any,
    *,
    url: str,
    now: datetime,
    forced: bool = False,
) -> Display:
    """The widget showed the survey: count it for targeting and tell the destinations."""
    survey = _active_survey(config, survey_id, forced=forced)
    locked = EndUser.objects.select_for_update().get(pk=user.pk)
    display = Display.objects.create(
        project_id=config.id, survey_id=survey.id, user=locked, url=url, created=now
    )
    wait = timedelta(days=survey.rules.dismiss_wait_days)
    history.add_display(locked.history, survey.id, now, ignored_wait=wait)
    locked.save(update_fields=["history"])
    payload = display_payload(locked, survey.id, survey.name, now, display.pk)
    _enqueue(config.id, survey.id, [("viewed", f"display:{display.pk}", payload)], response=None)
    return display


@dataclass(frozen=True)
class ResponseInput:
    """What a client may set on a response; None means "not sent"."""

    rating: int | None = None
    feedback: str | None = None
    answers: list[dict[str, Any]] | None = None
    dismissed: bool | None = None
    completed: bool | None = None
    method: str | None = None
    language: str | None = None
    referrer: str | None = None
    device: dict[str, str] | None = None


def start_response(
    config: ProjectConfig,
    user: EndUser,
    survey_id: Any,
    data: ResponseInput,
    *,
    now: datetime,
    forced: bool = False,
) -> tuple[Response, str]:
    """Create a response; returns it and the token that authorises later saves. A ``forced``
    response (staff preview) skips the duplicate check and may answer a draft survey."""
    survey = _active_survey(config, survey_id, forced=forced)
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        # Checked under the user's row lock, so that two answers sent at once cannot both pass.
        locked = EndUser.objects.select_for_update().get(pk=user.pk)
        if not forced:
            _refuse_duplicate(config, survey, locked, now)
        response = Response(
            project_id=config.id,
            survey_id=survey.id,
            user=locked,
            method=data.method or Response.Method.IN_APP,
            language=data.language or locked.language,
            referrer=data.referrer or "",
            device=data.device or {},
            traits=locked.traits,
            edit_token_hash=keys.hash_api_key(token),
            created=now,
        )
        # A stand-in with what the payloads read, from the cached configuration: no query.
        response.survey = Survey(pk=survey.id, name=survey.name, type=survey.type)
        _save_with_events(response, locked, data, now, creating=True)
    return response, token


def _refuse_duplicate(
    config: ProjectConfig, survey: SurveyConfig, user: EndUser, now: datetime
) -> None:
    decision = targeting.decide(
        survey.rules,
        user_state(user),
        history.as_targeting(user.history),
        targeting.Context(),
        now,
        survey_gap_days=config.survey_gap_days,
    )
    if not decision.show and decision.reason not in _GATES_NOT_FOR_RESPONSES:
        raise DuplicateResponse(decision.reason)


def update_response(
    response_id: Any, token: str, data: ResponseInput, *, now: datetime
) -> Response:
    """A later save of a response (rating first, comment later), authorised by its token."""
    with transaction.atomic():
        response = (
            # Locks the response and its user (history changes), not the shared survey row.
            Response.objects.select_for_update(of=("self", "user"))
            .select_related("survey", "user")
            .filter(pk=response_id)
            .first()
        )
        if response is None or not keys.api_key_matches(token or "", response.edit_token_hash):
            raise InvalidInput("auth-token", "unknown response or wrong auth-token")
        if response.completed or response.dismissed:
            raise ResponseClosed("This response is finished and can no longer change.")
        _save_with_events(response, response.user, data, now, creating=False)
    return response


def _save_with_events(
    response: Response, user: EndUser, data: ResponseInput, now: datetime, *, creating: bool
) -> None:
    events = _apply(response, data, now)
    response.user = user
    response.save(force_insert=creating)
    if "answered" in events:
        history.add_answer(user.history, response.survey_id, now)
    if "closed" in events:
        history.add_dismissal(user.history, response.survey_id, now)
    if {"answered", "closed"} & set(events):
        user.save(update_fields=["history"])
    _enqueue(
        response.project_id,
        response.survey_id,
        [
            (event, f"response:{response.pk}:{event}", lifecycle_payload(event, response, now))
            for event in events
        ],
        response=response,
    )


def _apply(response: Response, data: ResponseInput, now: datetime) -> list[str]:
    """Change the response as the input says; return the lifecycle events that happened."""
    rating, feedback, answers = _split_answers(data)
    events: list[str] = []
    if answers:
        kept = {a["id"]: a for a in response.answers}
        kept.update({a["id"]: a for a in answers})
        response.answers = list(kept.values())
    if feedback is not None:
        response.feedback = feedback
    if rating is not None:
        if response.rating is None:
            events.append("answered")
        response.rating = rating
    rated = response.rating is not None
    finishing = data.completed or (rated and (data.dismissed or bool(response.feedback)))
    if data.dismissed and not rated:
        response.dismissed = True
        events.append("closed")
    elif finishing and rated:
        response.completed, response.completed_at = True, now
        events.append("completed")
    response.pending = not (rated or response.dismissed or response.completed)
    return events


def _split_answers(data: ResponseInput) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """The built-in questions may come as ``answers`` too (SM_rating, SM_comment)."""
    rating, feedback, others = data.rating, data.feedback, []
    for answer in data.answers or []:
        if answer["id"] == RATING_QUESTION:
            rating = _rating(answer.get("value"))
        elif answer["id"] == COMMENT_QUESTION:
            feedback = str(answer.get("value") or "")
        else:
            others.append(answer)
    if feedback is not None and len(feedback) > app_settings.MAX_FEEDBACK_LENGTH:
        limit = app_settings.MAX_FEEDBACK_LENGTH
        raise InvalidInput("feedback", f"is {len(feedback)} characters; the limit is {limit}")
    return rating, feedback, others


def _rating(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidInput("rating", "must be a whole number from 0 to 10")
    return value


# --- the outbox ---------------------------------------------------------------------------------


def _message_id(source: str, integration_id: int) -> str:
    digest = hashlib.sha256(f"{source}:{integration_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _enqueue(
    project_id: int,
    survey_id: int,
    events: list[tuple[str, str, dict[str, Any]]],
    *,
    response: Response | None,
) -> None:
    """Write one Delivery per event and interested integration, in the caller's transaction;
    the outbox sends them once it commits."""
    if not events:
        return
    integrations = outbox.integrations_for(project_id, survey_id)
    rows = Delivery.objects.bulk_create(
        Delivery(
            project_id=project_id,
            response=response,
            integration=integration,
            destination=integration.kind,
            event=event,
            payload=payload,
            message_id=_message_id(source, integration.pk),
        )
        for event, source, payload in events
        for integration in integrations
        if integration.wants(event, payload)
    )
    outbox.schedule(row.integration_id for row in rows)


__all__ = [
    "Identity",
    "ResponseInput",
    "Verdict",
    "decide",
    "explain",
    "identify",
    "project_config",
    "record_display",
    "start_response",
    "survey_for_widget",
    "track",
    "update_response",
]
