"""Each resource as SatisMeter shows it, built in one place: the response object, the user
(in a response, in the users API, and everything stored), the project and the campaign; and the
payloads of outbox events, which carry them.

The SatisMeter-compatible routes answer SatisMeter's documented keys and no others: strict
consumers (a JSON schema with ``additionalProperties: false``, a typed struct that refuses
unknown fields) break on one more. What we know beyond them (the user's ``anonymousId``, the
user's ``surveyDate``) is ``extended``: after the documented keys, for the v3 and management
routes, the outbox payloads, the data export, and ``?extended=1`` (docs/rest-api.md).

Plain functions over model instances, so that an export can build millions of objects without
a serializer per row; ``satismeter_app.api.serializers`` describes each one for the OpenAPI
schema through a serializer that calls the function here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import nps
from .models import EndUser, Project, Response, Survey
from .questions import COMMENT_QUESTION, RATING_QUESTION


def iso_time(value: datetime | None) -> str | None:
    """ISO-8601 with microseconds, UTC written ``Z``; None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- the user -------------------------------------------------------------------------------------


def user_snapshot(user: EndUser, *, extended: bool = False) -> dict[str, Any]:
    """The user inside a response object or an event: who they are, not their activity."""
    return snapshot(
        (user.pk, user.user_id, user.anonymous_id, user.name, user.email),
        (iso_time(user.created_at), user.erased, user.traits, user.groups),
        extended=extended,
    )


def snapshot(
    names: tuple[Any, Any, Any, Any, Any],
    facts: tuple[Any, Any, Any, Any],
    *,
    extended: bool = False,
) -> dict[str, Any]:
    """:func:`user_snapshot` from the columns themselves: (pk, user_id, anonymous_id, name,
    email) and (created_at written by :func:`iso_time`, erased, traits, groups)."""
    pk, user_id, anonymous_id, name, email = names
    created_at, erased, traits, groups = facts
    user = {
        "id": str(pk),
        "userId": user_id,
        "name": name or None,
        "email": email or None,
        "createdAt": created_at,
        "deleted": erased is not None,
        "traits": traits,
        "groups": groups,
    }
    if extended:
        user["anonymousId"] = anonymous_id
    return user


def user_object(user: EndUser, *, extended: bool = False) -> dict[str, Any]:
    """SatisMeter's user object (``/api/users``). Its dates stay datetimes: the JSON encoder
    of the route writes them."""
    obj = {
        "id": str(user.pk),
        "project": str(user.project_id),
        "userId": user.user_id,
        "name": user.name or None,
        "email": user.email or None,
        "traits": user.traits,
        "unsubscribed": user.unsubscribed,
        "lastSeen": user.last_seen,
        "created": user.first_seen,
    }
    if extended:
        obj["surveyDate"] = user.survey_date
    return obj


def user_record(user: EndUser) -> dict[str, Any]:
    """Everything stored about the user, for their data access request."""
    record = {
        **user_snapshot(user, extended=True),
        "project": str(user.project_id),
        "firstSeen": iso_time(user.first_seen),
        "lastSeen": iso_time(user.last_seen),
        "language": user.language or None,
        "lastUrl": user.last_url or None,
        "unsubscribed": user.unsubscribed,
        "surveyDate": iso_time(user.survey_date),
        "history": user.history,
        "erased": iso_time(user.erased),
    }
    del record["deleted"]  # "erased" says it, and when
    return record


# --- the response ---------------------------------------------------------------------------------


# A response object is made of these columns, in this order: pages read them straight from the
# database cursor as tuples (services/reporting.py), the rest from a model instance
# (:func:`response_row`); :func:`row_object` builds the object either way, from rows whose times
# (``created``, ``user__created_at``) are already text, as :func:`iso_time` writes them. On
# PostgreSQL the exports have the database write the same bytes (services/exporting.py).
RESPONSE_COLUMNS = (
    *("id", "project_id", "survey_id", "created", "rating", "feedback", "answers"),
    *("dismissed", "pending", "completed", "method", "language", "referrer", "device", "traits"),
    "survey__type",
    *("user_id", "user__user_id", "user__anonymous_id", "user__name", "user__email"),
    *("user__created_at", "user__erased", "user__groups"),
)
# Category and score of each rating, looked up rather than computed once per exported row.
VERDICTS = {rating: (nps.category(rating), nps.score(rating)) for rating in (None, *nps.SCORES)}


def response_row(response: Response) -> tuple[Any, ...]:
    """The :data:`RESPONSE_COLUMNS` of a response with ``user`` and ``survey`` loaded, its
    times written by :func:`iso_time`."""
    user = response.user
    return (
        *(response.pk, response.project_id, response.survey_id, iso_time(response.created)),
        *(response.rating, response.feedback, [dict(answer) for answer in response.answers]),
        *(response.dismissed, response.pending, response.completed, response.method),
        *(response.language, response.referrer, response.device, response.traits),
        response.survey.type,
        *(user.pk, user.user_id, user.anonymous_id, user.name, user.email),
        *(iso_time(user.created_at), user.erased, user.groups),
    )


def answers_of(rating: int | None, feedback: str, metric: str, others: list[Any]) -> list[Any]:
    """The rating and the comment as SatisMeter's first two answers, then the others."""
    answers: list[Any] = []
    if rating is not None:
        answers.append(
            {
                "id": RATING_QUESTION,
                "label": "Rating",
                "value": rating,
                "type": "scale",
                "metric": metric,
            }
        )
    if feedback:
        answers.append(
            {"id": COMMENT_QUESTION, "label": "Feedback", "value": feedback, "type": "long-text"}
        )
    return answers + others


def response_object(response: Response, *, extended: bool = False) -> dict[str, Any]:
    """Every field of SatisMeter's response object; needs ``user`` and ``survey`` loaded.

    The user carries the traits they had when they answered, not their traits today.
    """
    return row_object(response_row(response), extended=extended)


def row_object(row: Sequence[Any], *, extended: bool = False) -> dict[str, Any]:
    """:func:`response_object` from a row of :data:`RESPONSE_COLUMNS`, its times written by
    :func:`iso_time`."""
    (pk, project_id, survey_id, created, rating, feedback, answers, dismissed, pending, completed,
     method, language, referrer, device, traits, metric, user_pk, user_id, anonymous_id, name,
     email, created_at, erased, groups) = row  # fmt: skip
    category, score = VERDICTS[rating]
    return {
        "id": str(pk),
        "project": str(project_id),
        "campaign": str(survey_id),
        "created": created,
        "rating": rating,
        "feedback": feedback,
        "answers": answers_of(rating, feedback, metric, answers),
        "category": category,
        "score": score,
        "dismissed": dismissed,
        "pending": pending,
        "completed": completed,
        "method": method,
        "language": language or None,
        "referrer": referrer or None,
        "device": device,
        # The snapshot taken when they answered: the response's traits, not the user's today.
        "user": snapshot(
            (user_pk, user_id, anonymous_id, name, email),
            (created_at, erased, traits, groups),
            extended=extended,
        ),
    }


# --- the project and its campaigns ----------------------------------------------------------------


def project_object(project: Project) -> dict[str, Any]:
    return {
        "id": str(project.pk),
        "name": project.name,
        "defaultLanguage": project.default_language,
        "identityVerification": project.identity_verification,
        "created": iso_time(project.created),
    }


def campaign_object(survey: Survey) -> dict[str, Any]:
    """A survey, as SatisMeter calls it: a campaign."""
    return {
        "id": str(survey.pk),
        "project": str(survey.project_id),
        "name": survey.name,
        "type": survey.type,
        "state": survey.state,
        "priority": survey.priority,
        "startsAt": iso_time(survey.starts_at),
        "endsAt": iso_time(survey.ends_at),
        "created": iso_time(survey.created),
        "updated": iso_time(survey.updated),
    }


# --- outbox events --------------------------------------------------------------------------------


def lifecycle_payload(
    event: str,
    response: Response,
    when: datetime,
    *,
    choice_labels: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """What an outbox row carries: a snapshot taken when the event happened.

    ``choiceLabels`` (question id → choice id → text, in the project's default language)
    lets a message people read (Slack) show the choices answered by their text; the
    response object keeps SatisMeter's shape, choices by id."""
    return {
        "event": event,
        "timestamp": iso_time(when),
        # Extended: the destinations address an anonymous visitor by its anonymousId.
        "response": response_object(response, extended=True),
        "traits": response.traits,
        "campaign": {"id": str(response.survey_id), "name": response.survey.name},
        "choiceLabels": choice_labels or {},
    }


def display_payload(
    user: EndUser, survey_id: int, survey_name: str, when: datetime, display_id: int
) -> dict[str, Any]:
    return {
        "event": "viewed",
        "timestamp": iso_time(when),
        "display": str(display_id),
        "user": user_snapshot(user, extended=True),
        "traits": user.traits,
        "campaign": {"id": str(survey_id), "name": survey_name},
    }
