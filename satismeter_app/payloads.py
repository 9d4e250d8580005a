"""The response object as SatisMeter's APIs and webhooks show it, and outbox event payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import EndUser, Response

RATING_QUESTION = "SM_rating"
COMMENT_QUESTION = "SM_comment"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_object(user: EndUser) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "userId": user.user_id,
        "anonymousId": user.anonymous_id,
        "name": user.name or None,
        "email": user.email or None,
        "createdAt": _iso(user.created_at),
        "deleted": user.erased is not None,
        "traits": user.traits,
        "groups": user.groups,
    }


def answers_of(response: Response) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    if response.rating is not None:
        answers.append(
            {
                "id": RATING_QUESTION,
                "label": "Rating",
                "value": response.rating,
                "type": "scale",
                "metric": response.survey.type,
            }
        )
    if response.feedback:
        answers.append(
            {
                "id": COMMENT_QUESTION,
                "label": "Feedback",
                "value": response.feedback,
                "type": "long-text",
            }
        )
    return answers + [dict(answer) for answer in response.answers]


def response_object(response: Response) -> dict[str, Any]:
    """Every field of SatisMeter's response object; needs ``user`` and ``survey`` loaded."""
    return {
        "id": str(response.pk),
        "project": str(response.project_id),
        "campaign": str(response.survey_id),
        "created": _iso(response.created),
        "rating": response.rating,
        "feedback": response.feedback,
        "answers": answers_of(response),
        "category": response.category,
        "score": response.score,
        "dismissed": response.dismissed,
        "pending": response.pending,
        "completed": response.completed,
        "method": response.method,
        "language": response.language or None,
        "referrer": response.referrer or None,
        "device": response.device,
        "user": {**user_object(response.user), "traits": response.traits},
    }


def lifecycle_payload(event: str, response: Response, when: datetime) -> dict[str, Any]:
    """What an outbox row carries: a snapshot taken when the event happened."""
    return {
        "event": event,
        "timestamp": _iso(when),
        "response": response_object(response),
        "traits": response.traits,
        "campaign": {"id": str(response.survey_id), "name": response.survey.name},
    }


def display_payload(
    user: EndUser, survey_id: int, survey_name: str, when: datetime, display_id: int
) -> dict[str, Any]:
    return {
        "event": "viewed",
        "timestamp": _iso(when),
        "display": str(display_id),
        "user": user_object(user),
        "traits": user.traits,
        "campaign": {"id": str(survey_id), "name": survey_name},
    }
