"""Displays and responses: each public function that writes is one transaction, and writes
the outbox rows (``Delivery``) for the lifecycle events it causes.

Lifecycle events: ``viewed`` (the survey was shown), ``closed`` (dismissed without a rating),
``answered`` (a rating was given) and ``completed`` (the follow-up is done, or the user closed
the survey after rating).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from .. import history, keys, outbox, targeting
from ..conf import app_settings
from ..exceptions import DuplicateResponse, InvalidInput, ResponseClosed
from ..models import Display, EndUser, Response, Survey
from ..questions import COMMENT_QUESTION, RATING_QUESTION
from ..representations import display_payload, lifecycle_payload
from . import identity
from .decisions import preview_survey, widget_language
from .snapshots import ProjectConfig, SurveyConfig

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
    locked = identity.lock(user)
    display = Display.objects.create(
        project_id=config.id,
        survey_id=survey.id,
        user=locked,
        url=url,
        created=now,
        is_test=locked.is_test,
    )
    wait = timedelta(days=survey.rules.dismiss_wait_days)
    history.add_display(locked.history, survey.id, now, ignored_wait=wait)
    locked.save(update_fields=["history"])
    payload = display_payload(locked, survey.id, survey.name, now, display.pk)
    outbox.write(
        config.id, survey.id, [("viewed", f"display:{display.pk}", payload)], response=None
    )
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
    # The browser's languages (Accept-Language), best first: without ``language`` the
    # response takes the one the widget call would have shown the survey in.
    browser_languages: tuple[str, ...] = ()


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
        locked = identity.lock(user)
        if not forced:
            _refuse_duplicate(config, survey, locked, now)
        response = Response(
            project_id=config.id,
            survey_id=survey.id,
            user=locked,
            method=data.method or Response.Method.IN_APP,
            # Stored as shown, so that every destination says it (never null).
            language=data.language or widget_language(config, locked, data.browser_languages),
            referrer=data.referrer or "",
            device=data.device or {},
            traits=locked.traits,
            edit_token_hash=keys.hash_api_key(token),
            created=now,
            is_test=locked.is_test,
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
        targeting.UserState.from_user(user),
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
    outbox.write(
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
    elif finishing and (rated or bool(response.answers)):  # a survey may ask no rating
        response.completed, response.completed_at = True, now
        events.append("completed")
    response.pending = not (rated or response.dismissed or response.completed)
    return events


def _split_answers(data: ResponseInput) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """The built-in questions may come as ``answers`` too (SM_rating, SM_comment)."""
    rating, feedback, others = data.rating, data.feedback, []
    for answer in data.answers or []:
        if answer["id"] == RATING_QUESTION:
            rating = _rating(answer.get("value"), RATING_QUESTION)
        elif answer["id"] == COMMENT_QUESTION:
            feedback = _comment(answer.get("value"))
        else:
            others.append(answer)
    if feedback is not None and len(feedback) > app_settings.MAX_FEEDBACK_LENGTH:
        limit = app_settings.MAX_FEEDBACK_LENGTH
        raise InvalidInput("feedback", f"is {len(feedback)} characters; the limit is {limit}")
    return rating, feedback, others


def _rating(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidInput(name, "must be a whole number from 0 to 10")
    return value


def _comment(value: Any) -> str:
    """The comment's text; anything but text (or null, which clears it) is refused, never
    stored as Python would print it."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(COMMENT_QUESTION, "must be text")
    return value or ""
