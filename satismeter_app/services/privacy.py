"""A user's data on request: everything stored about them, and erasure.

Erasure anonymises by default: the user's identity, traits, groups, pages and events go, and so
do the free text of their responses (comments, text answers, the traits snapshot, the page);
the ratings stay, with their dates, survey, method, language and device, so that the NPS of
the past does not change. ``mode="delete"`` removes the user and their responses outright.
Staff's replies to the user keep only their dates, author and state. Either way, outbox
messages not delivered (pending, being sent, or dead) are dropped with
their attempts, and the delivered ones keep only their state, dates and statuses: their
payloads carry the user's name, email, traits and comment, and their error texts may quote
them (rows logged before errors left out the receiver's answer). An unsubscribed address stays
on the project's unsubscribe list: it is what keeps survey email from reaching it again.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..exceptions import InvalidInput
from ..models import (
    Delivery,
    DeliveryAttempt,
    Display,
    EndUser,
    Reply,
    Response,
    Unsubscribe,
    UserEvent,
)
from ..representations import iso_time, response_object, user_record

Mode = Literal["anonymise", "delete"]
ANONYMISE: Final = "anonymise"
DELETE: Final = "delete"
MODES: tuple[Mode, ...] = (ANONYMISE, DELETE)

# Answer types whose value the user chose from the survey's options rather than typed.
_CHOSEN_ANSWER_TYPES = {"scale", "smiley", "single-choice", "multiple-choice"}
_UNDELIVERED = (Delivery.State.PENDING, Delivery.State.SENDING, Delivery.State.DEAD)
_SCRUBBED = {"erased": True}
_SCRUBBED_ERROR = "(erased with the user's data)"


def erased_user_id(user: EndUser) -> str:
    """What stands in for an erased user's id: opaque, unique, not theirs."""
    return f"erased-{user.pk}"


@transaction.atomic
def erase_user(user: EndUser, mode: Mode = ANONYMISE) -> None:
    if mode not in MODES:
        raise InvalidInput("mode", f"is one of {', '.join(MODES)}")
    locked = EndUser.objects.select_for_update().get(pk=user.pk)
    _forget_deliveries(locked)
    if mode == DELETE:
        locked.delete()
        return
    UserEvent.objects.filter(user=locked).delete()
    Display.objects.filter(user=locked).update(url="")
    responses = list(Response.objects.filter(user=locked).only("pk", "answers"))
    for response in responses:
        response.feedback, response.traits, response.referrer = "", {}, ""
        response.answers = _chosen_answers(response.answers)
    Response.objects.bulk_update(responses, ["feedback", "traits", "referrer", "answers"])
    # Staff's replies stay on the timeline as dated entries, without the address or the text
    # (which may quote the comment or name the user).
    Reply.objects.filter(response__user=locked).update(to_email="", subject="", body="")
    _anonymise(locked)
    user.refresh_from_db()


def _anonymise(user: EndUser) -> None:
    user.user_id = erased_user_id(user)
    user.anonymous_id = None
    user.email = ""
    user.name = ""
    user.created_at = None
    user.survey_date = None
    user.traits = {}
    user.trait_times = {}
    user.groups = {}
    user.last_url = ""
    # What stays of the history is when surveys were shown and answered, which targeting
    # needs and which says nothing about who the user is.
    user.history = {k: v for k, v in user.history.items() if k != "events"}
    user.erased = timezone.now()
    user.save()


def _chosen_answers(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers with a typed value (free text) go; ratings and chosen options stay."""
    return [
        a
        for a in answers
        if a.get("type") in _CHOSEN_ANSWER_TYPES
        or (a.get("type") is None and not isinstance(a.get("value"), str))
    ]


def deliveries_of(user: EndUser) -> QuerySet[Delivery]:
    """Outbox rows about the user: of their responses, and of displays to them."""
    return Delivery.objects.filter(
        Q(response__user=user) | Q(response__isnull=True, payload__user__id=str(user.pk)),
        project_id=user.project_id,
    )


def _forget_deliveries(user: EndUser) -> None:
    # A dead row is never sent; retried, it would carry nothing but the scrubbed payload.
    deliveries_of(user).filter(state__in=_UNDELIVERED).delete()
    delivered = deliveries_of(user)
    delivered.exclude(last_error="").update(last_error=_SCRUBBED_ERROR)
    delivered.update(payload=_SCRUBBED)
    attempts = DeliveryAttempt.objects.filter(delivery__in=delivered).exclude(error="")
    attempts.update(error=_SCRUBBED_ERROR)


# --- export ---------------------------------------------------------------------------------------


def export_user(user: EndUser) -> dict[str, Any]:
    """Everything stored about one user, as JSON-ready data."""
    responses = (
        Response.objects.filter(user=user).select_related("survey", "user").order_by("created")
    )
    return {
        "user": user_record(user),
        "responses": [
            {
                **response_object(r),
                "updated": iso_time(r.updated),
                "completedAt": iso_time(r.completed_at),
            }
            for r in responses
        ],
        "displays": [
            {"campaign": str(d.survey_id), "url": d.url, "created": iso_time(d.created)}
            for d in Display.objects.filter(user=user).order_by("created")
        ],
        "events": [
            {"event": e.name, "properties": e.properties, "timestamp": iso_time(e.timestamp)}
            for e in UserEvent.objects.filter(user=user).order_by("timestamp")
        ],
        "unsubscribes": _unsubscribes(user),
        "deliveries": [
            {
                "destination": d.destination,
                "event": d.event,
                "state": d.state,
                "created": iso_time(d.created),
                "payload": d.payload,
            }
            for d in deliveries_of(user).order_by("created")
        ],
    }


def _unsubscribes(user: EndUser) -> list[dict[str, Any]]:
    if not user.email:
        return []
    rows = Unsubscribe.objects.filter(project_id=user.project_id, email__iexact=user.email)
    return [{"email": u.email, "source": u.source, "created": iso_time(u.created)} for u in rows]
