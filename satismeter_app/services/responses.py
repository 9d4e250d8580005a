"""Displays and responses: each public function that writes is one transaction, and writes
the outbox rows (``Delivery``) for the lifecycle events it causes.

Lifecycle events: ``viewed`` (the survey was shown), ``closed`` (dismissed without a rating),
``answered`` (a rating was given) and ``completed`` (the follow-up is done, or the user closed
the survey after rating).

Answers are checked against the survey's questions (:mod:`satismeter_app.questions`) before
anything is written: an unknown question or a wrong value refuses the whole request, naming
the question (``answers[reason]: must be one of price, speed``). The built-in questions keep
their columns (``rating``, ``feedback``); every other answer is stored in ``Response.answers``
as ``{id, label, value, type, metric?}``, in the survey's order, merged by id with earlier
saves (a null value clears one).
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
from ..questions import (
    COMMENT_QUESTION,
    LONG_TEXT,
    RATING_QUESTION,
    Question,
    check_answer,
    of_survey,
)
from ..representations import display_payload, lifecycle_payload
from . import identity, tagging
from .decisions import preview_survey, widget_language
from .snapshots import ProjectConfig, SurveyConfig, project_config

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
    asked = Asked(survey.questions, config.default_language)
    answers = check_answers(asked, data)  # before anything is written
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
        _save_with_events(response, locked, (data, asked, answers), now, creating=True)
        if _says_more(answers):
            tagging.tag_response(response, config.tag_rules)
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
            .select_related("survey", "user", "project")
            .filter(pk=response_id)
            .first()
        )
        if response is None or not keys.api_key_matches(token or "", response.edit_token_hash):
            raise InvalidInput("auth-token", "unknown response or wrong auth-token")
        if response.completed or response.dismissed:
            raise ResponseClosed("This response is finished and can no longer change.")
        survey = response.survey
        asked = Asked(of_survey(survey.questions, survey.type), response.project.default_language)
        answers = check_answers(asked, data)
        _save_with_events(response, response.user, (data, asked, answers), now, creating=False)
        if _says_more(answers):
            tagging.tag_response(response, _tag_rules(response))
    return response


def _says_more(answers: Answers) -> bool:
    """Whether a save brings words that may call for a tag: a comment or a long-text answer."""
    if answers.feedback:
        return True
    return any(a is not None and a.get("type") == LONG_TEXT for a in answers.others.values())


def _tag_rules(response: Response) -> tuple[tuple[int, str], ...]:
    """The project's keyword tags, from its cached configuration (no query when held)."""
    config = project_config(response.project.write_key)
    return config.tag_rules if config is not None else ()


@dataclass(frozen=True)
class Asked:
    """A survey's questions, and the language its stored labels are written in (the
    project's default language: the one staff read the answers in)."""

    questions: tuple[Question, ...]
    language: str

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def only_built_in(self) -> bool:
        """Only the rating and the comment: a comment completes the response, as it always
        has; a survey of more questions completes when the widget says so."""
        return all(q.built_in for q in self.questions)

    @property
    def rates(self) -> bool:
        return self.question(RATING_QUESTION) is not None or not self.questions

    def stored(self, question: Question, value: Any) -> dict[str, Any]:
        """An answer as ``Response.answers`` keeps it: SatisMeter's answer object."""
        label = question.text("label", self.language, self.language) or question.id
        answer = {"id": question.id, "label": label, "value": value, "type": question.type}
        return answer | ({"metric": question.metric} if question.metric else {})

    def choice_labels(self, answers: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
        """The text of each choice of the choice questions answered, by question id then
        choice id, for messages people read (Slack)."""
        answered = {a.get("id") for a in answers}
        return {
            q.id: {c.id: q.choice_text(c, self.language, self.language) for c in q.choices}
            for q in self.questions
            if q.choices and q.id in answered
        }


@dataclass(frozen=True)
class Answers:
    """What one request answers, checked: the built-in questions' values (None: not sent)
    and the others' stored answers by id (None: cleared)."""

    rating: int | None
    feedback: str | None
    others: dict[str, dict[str, Any] | None]


def check_answers(asked: Asked, data: ResponseInput) -> Answers:
    """The request's answers checked against the survey's questions; ``InvalidInput`` naming
    the first one that is wrong. ``rating`` and ``feedback`` are the built-in questions too."""
    rating, feedback = data.rating, data.feedback
    others: dict[str, dict[str, Any] | None] = {}
    for answer in data.answers or []:
        qid, value = answer["id"], answer.get("value")
        if qid == RATING_QUESTION:
            rating = _rating(value, RATING_QUESTION)
        elif qid == COMMENT_QUESTION:
            feedback = _comment(value)
        else:
            question = asked.question(qid)
            if question is None:
                raise InvalidInput(f"answers[{qid}]", "is not a question of this survey")
            try:
                checked = check_answer(question, value)
            except ValueError as error:
                raise InvalidInput(f"answers[{qid}]", str(error)) from None
            others[qid] = None if checked is None else asked.stored(question, checked)
    if feedback is not None and len(feedback) > app_settings.MAX_FEEDBACK_LENGTH:
        limit = app_settings.MAX_FEEDBACK_LENGTH
        raise InvalidInput("feedback", f"is {len(feedback)} characters; the limit is {limit}")
    return Answers(rating, feedback, others)


def _save_with_events(
    response: Response,
    user: EndUser,
    given: tuple[ResponseInput, Asked, Answers],
    now: datetime,
    *,
    creating: bool,
) -> None:
    data, asked, answers = given
    events = _apply(response, data, asked, answers, now)
    response.user = user
    response.save(force_insert=creating)
    if "answered" in events:
        history.add_answer(user.history, response.survey_id, now)
    if "closed" in events:
        history.add_dismissal(user.history, response.survey_id, now)
    if {"answered", "closed"} & set(events):
        user.save(update_fields=["history"])
    labels = asked.choice_labels(response.answers)
    outbox.write(
        response.project_id,
        response.survey_id,
        [
            (
                event,
                f"response:{response.pk}:{event}",
                lifecycle_payload(event, response, now, choice_labels=labels),
            )
            for event in events
        ],
        response=response,
    )


def _apply(
    response: Response, data: ResponseInput, asked: Asked, answers: Answers, now: datetime
) -> list[str]:
    """Change the response as the input says; return the lifecycle events that happened."""
    was_answered = _is_answered(response, asked)
    _merge(response, asked, answers)
    events: list[str] = []
    answered = _is_answered(response, asked)
    if answered and not was_answered:
        events.append("answered")
    commented = asked.only_built_in and bool(response.feedback)
    finishing = data.completed or (answered and (data.dismissed or commented))
    if data.dismissed and not answered:
        response.dismissed = True
        events.append("closed")
    elif finishing and answered:
        response.completed, response.completed_at = True, now
        events.append("completed")
    response.pending = not (answered or response.dismissed or response.completed)
    return events


def _is_answered(response: Response, asked: Asked) -> bool:
    """Rated; for a survey that asks no rating, any answer."""
    if asked.rates:
        return response.rating is not None
    return bool(response.answers) or bool(response.feedback)


def _merge(response: Response, asked: Asked, answers: Answers) -> None:
    if answers.feedback is not None:
        response.feedback = answers.feedback
    if answers.rating is not None:
        response.rating = answers.rating
    if not answers.others:
        return
    kept = {a["id"]: a for a in response.answers}
    for qid, answer in answers.others.items():
        if answer is None:
            kept.pop(qid, None)
        else:
            kept[qid] = answer
    # In the survey's order; answers to questions since removed stay, after them.
    order = {q.id: position for position, q in enumerate(asked.questions)}
    response.answers = sorted(kept.values(), key=lambda a: order.get(a["id"], len(order)))


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
