"""Segment messages in: identify, track, page, screen and group, one at a time or in batches.

A batch is validated message by message: an invalid message is reported with its index and
``messageId`` and the valid ones are kept. The valid ones are then applied in a constant,
small number of SQL queries whatever their number: one ``SELECT … FOR UPDATE`` of the users
they name, one ``INSERT`` of the users that are new, one ``UPDATE`` of the users that changed
and one ``INSERT`` of the tracked events — with the rules of
:mod:`.identity` that every widget call follows (one :class:`identity.Directory` finds,
claims and creates the users; ``merge_traits``, ``merge_group`` and ``record_visit`` change
them), and each event also lands in ``EndUser.history``, where targeting reads it (a survey
may be waiting for it).

Each ``messageId`` is applied once per project, whatever the message's type and route: the
same transaction records the ids of the messages it applies (one ``INSERT … ON CONFLICT DO
NOTHING RETURNING``, :class:`~satismeter_app.models.InboundMessage`), and a message whose id was
recorded before (Segment delivered it again, or someone replays a captured body) is
acknowledged and skipped. The ids are kept for ``SEGMENT_MESSAGE_ID_RETENTION``; a webhook
message that Segment received longer ago than that is refused, as a replay of it could no
longer be told from a delivery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import history, storable, timeparse
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..models import EndUser, InboundMessage, UserEvent
from . import identity, installation, privacy

TYPES = ("identify", "track", "page", "screen", "group")
MAX_ID_LENGTH = 255
MAX_EVENT_LENGTH = 200
MAX_MESSAGE_ID_LENGTH = 100
MAX_URL_LENGTH = 4096
MAX_BATCH_MESSAGES = 2500  # Segment's own limit per batch
ATTEMPTS = 3  # a batch racing another one that creates the same users is run again

# --- messages -------------------------------------------------------------------------------------


@dataclass
class Message:
    """One valid message, reduced to what it does to the user."""

    index: int
    type: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    message_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)
    event: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    group_id: str = ""
    group_traits: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    @property
    def identity(self) -> identity.Identity:
        return identity.Identity(self.user_id, self.anonymous_id)


@dataclass(frozen=True)
class Rejected:
    index: int
    message_id: str | None
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "error": self.error}


@dataclass
class Result:
    """``accepted``: the valid messages, applied now or before; ``duplicates``: those of them
    whose messageId had been applied before, and were skipped."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[Rejected] = field(default_factory=list)


def message_size(raw: Any) -> int:
    text = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def _identifier(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(name, "must be a string")
    return storable.checked_text(str(value), name, MAX_ID_LENGTH)


def _object(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(name, "must be an object")
    return value


def _text(raw: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(name, "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(name, "must be a string")
    return storable.checked_text(str(value), name, limit)


def event_time(raw: Mapping[str, Any], now: datetime) -> datetime:
    """The message's ``timestamp``, never later than ``now``; ``now`` when absent."""
    value = raw.get("timestamp")
    if value in (None, ""):
        return now
    when = timeparse.parse_loose(value)
    if when is None:
        raise InvalidInput("timestamp", "use an ISO-8601 date-time or epoch seconds")
    return min(when, now)  # a clock ahead of ours must not put events in the future


def _user_traits(traits: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The traits, with createdAt as an ISO string when only Segment's looser forms parse it,
    and the user columns they set."""
    created = traits.get("createdAt")
    if created not in (None, "") and timeparse.parse_timestamp(created) is None:
        when = timeparse.parse_loose(created)
        if when is not None:
            traits = {**traits, "createdAt": when.isoformat()}
    identity.check_traits_size(traits)
    return traits, identity.user_columns(traits)


def parse_message(
    raw: Any,
    index: int,
    now: datetime,
    *,
    type_: str | None = None,
    webhook: bool = False,
) -> Message:
    """Validate one message; raises InvalidInput saying what is wrong. From the Webhooks
    destination (``webhook``), a ``delete`` message is one too, and an old message is not."""
    _check_envelope(raw)
    kind = type_ or raw.get("type")
    if webhook:
        _check_not_too_old(raw, now)
        if kind == "delete":
            return _deletion(raw, index, now)
    if kind not in TYPES:
        raise InvalidInput("type", f"must be one of {', '.join(TYPES)}, not {kind!r}")
    user_id, anonymous_id = _identifier(raw, "userId"), _identifier(raw, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise InvalidInput("userId", "a userId or an anonymousId is required")
    context = _object(raw, "context")
    traits = {
        **_object(context, "traits"),
        **(_object(raw, "traits") if kind == "identify" else {}),
    }
    storable.check(traits, "traits")
    traits, columns = _user_traits(traits)
    message = Message(
        index=index,
        type=kind,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=event_time(raw, now),
        message_id=_message_id(raw),
        traits=traits,
        columns=columns,
    )
    _parse_by_type(message, raw, context)
    return message


def _check_envelope(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise InvalidInput("message", "must be an object")
    limit = app_settings.MAX_MESSAGE_BYTES
    if (size := message_size(raw)) > limit:
        raise InvalidInput("message", f"is {size} bytes of JSON; the limit is {limit}")


def _message_id(raw: Mapping[str, Any]) -> str | None:
    return _text(raw, "messageId", MAX_MESSAGE_ID_LENGTH) or None


def _parse_by_type(message: Message, raw: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    if message.type == "track":
        message.event = _text(raw, "event", MAX_EVENT_LENGTH, required=True)
        message.properties = _object(raw, "properties")
        storable.check(message.properties, "properties")
    elif message.type == "group":
        message.group_id = _text(raw, "groupId", MAX_ID_LENGTH, required=True)
        message.group_traits = _object(raw, "traits")
        storable.check(message.group_traits, "traits")
        identity.check_traits_size(message.group_traits)
    elif message.type in ("page", "screen"):
        properties, page = _object(raw, "properties"), _object(context, "page")
        url = properties.get("url") or page.get("url") or ""
        url = str(url)[:MAX_URL_LENGTH]
        message.url = storable.checked_text(url, "properties.url", MAX_URL_LENGTH)


def _deletion(raw: Mapping[str, Any], index: int, now: datetime) -> Message:
    """Segment's ``delete`` message: a deletion request for a userId."""
    user_id = _identifier(raw, "userId")
    if user_id is None:
        raise InvalidInput("userId", "a delete message names the userId to erase")
    return Message(index, "delete", user_id, None, now, message_id=_message_id(raw))


def _check_not_too_old(raw: Mapping[str, Any], now: datetime) -> None:
    """Refuses a message Segment received (``receivedAt``, else ``sentAt``) before the oldest
    messageId still kept: its id may be forgotten, so a replay would apply. ``timestamp`` says
    nothing here: a library may set it to any time in the past."""
    kept = timedelta(seconds=app_settings.SEGMENT_MESSAGE_ID_RETENTION)
    name = "receivedAt" if raw.get("receivedAt") not in (None, "") else "sentAt"
    when = timeparse.parse_loose(raw.get(name))
    if when is not None and when < now - kept:
        hours = kept.total_seconds() / 3600
        raise InvalidInput(name, f"is more than {hours:g} hours ago; a replay is refused")


def parse_batch(
    raws: Sequence[Any],
    now: datetime,
    defaults: Mapping[str, Any] | None = None,
    *,
    webhook: bool = False,
) -> tuple[list[Message], list[Rejected]]:
    """The valid messages and the errors. A batch's top-level ``context`` and
    ``integrations`` are merged into each message, the message's own keys winning."""
    messages, errors = [], []
    for index, raw in enumerate(raws):
        if isinstance(raw, dict) and defaults:
            raw = _with_defaults(raw, defaults)
        try:
            messages.append(parse_message(raw, index, now, webhook=webhook))
        except InvalidInput as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            errors.append(Rejected(index, _short_id(message_id), str(exc)))
    return messages, errors


def _with_defaults(raw: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(raw)
    for key in ("context", "integrations"):
        if isinstance(defaults.get(key), dict) and isinstance(raw.get(key, {}), dict):
            merged[key] = {**defaults[key], **raw.get(key, {})}
    return merged


def _short_id(value: Any) -> str | None:
    return str(value)[:MAX_MESSAGE_ID_LENGTH] if isinstance(value, str | int) else None


# --- applying them --------------------------------------------------------------------------------


def _apply(users: identity.Directory, user: EndUser, message: Message) -> UserEvent | None:
    """What one message does to its user, by the same rules as a widget call."""
    changed = identity.merge_traits(user, message.traits, message.columns, message.timestamp)
    if message.type == "group":
        changed |= identity.merge_group(
            user, message.group_id, message.group_traits, message.timestamp
        )
    if message.type in ("page", "screen"):
        changed |= identity.record_visit(
            user, message.url, message.timestamp, changed=bool(changed)
        )
    users.mark(user, changed)
    if message.type != "track":
        return None
    history.add_event(user.history, message.event, message.timestamp)
    users.mark(user, {"history"})
    return UserEvent(
        project_id=users.project_id,
        user=user,
        name=message.event,
        properties=message.properties,
        timestamp=message.timestamp,
        message_id=message.message_id,
    )


def _write(project_id: int, messages: Sequence[Message], now: datetime) -> None:
    if not messages:
        return
    identities = [m.identity for m in messages]
    users = identity.Directory.load(project_id, identities, now, lock=True)
    events = []
    for message in messages:
        user = users.resolve(message.identity)
        event = _apply(users, user, message)
        if event is not None:
            events.append(event)
    users.write_moves()
    if users.new:
        EndUser.objects.bulk_create(users.new)
    changed, fields = users.updated()
    if changed:
        EndUser.objects.bulk_update(changed, fields)
    for event in events:  # an anonymous row a later message merged into its user
        event.user = users.current(event.user)
    if events:
        # The ids were claimed above; this keeps an event once even when its id was claimed
        # so long ago that it has been forgotten since.
        UserEvent.objects.bulk_create(events, ignore_conflicts=True)


def apply_messages(
    project_id: int, messages: Sequence[Message], *, now: datetime | None = None
) -> int:
    """Apply valid messages in one transaction, each messageId once per project; returns how
    many were skipped because their messageId had been applied before."""
    if not messages:
        return 0
    now = now or timezone.now()
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                fresh = _first_time(project_id, messages, now)
                _write(project_id, [m for m in fresh if m.type != "delete"], now)
                for message in fresh:
                    if message.type == "delete":
                        _erase(project_id, message.user_id)
            installation.note_inbound(project_id, [m.type for m in messages], now)
            return len(messages) - len(fresh)
        except IntegrityError:
            # Another request created one of these users since we looked: look again.
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _first_time(project_id: int, messages: Sequence[Message], now: datetime) -> list[Message]:
    """The messages to apply: those without a messageId, and the first with each id that no
    earlier request applied."""
    claimed = InboundMessage.objects.claim(
        project_id, [m.message_id for m in messages if m.message_id is not None], now
    )
    fresh = []
    for message in messages:
        if message.message_id is None:
            fresh.append(message)
        elif message.message_id in claimed:
            claimed.discard(message.message_id)  # a second copy in the same batch is skipped
            fresh.append(message)
    return fresh


def ingest(
    project_id: int,
    raws: Sequence[Any],
    *,
    defaults: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    webhook: bool = False,
) -> Result:
    """Validate and apply a batch; the invalid messages are reported, the valid ones kept.
    From Segment's Webhooks destination (``webhook``), a ``delete`` message anonymises its
    user, and a message older than the ids kept is refused."""
    now = now or timezone.now()
    messages, errors = parse_batch(raws, now, defaults, webhook=webhook)
    duplicates = apply_messages(project_id, messages, now=now)
    return Result(accepted=len(messages), duplicates=duplicates, errors=errors)


def ingest_one(project_id: int, raw: Any, type_: str, *, now: datetime | None = None) -> Result:
    """One message of a single-message route; raises InvalidInput when it is invalid."""
    now = now or timezone.now()
    message = parse_message(raw, 0, now, type_=type_)
    return Result(accepted=1, duplicates=apply_messages(project_id, [message], now=now))


def _erase(project_id: int, user_id: str | None) -> None:
    """Segment's ``delete`` message: anonymise the user, if there is one."""
    user = EndUser.objects.filter(project_id=project_id, user_id=user_id).first()
    if user is not None:
        privacy.erase_user(user)


def forget_message_ids(now: datetime | None = None) -> int:
    """Forget the messageIds applied longer ago than ``SEGMENT_MESSAGE_ID_RETENTION``;
    returns how many."""
    kept = timedelta(seconds=app_settings.SEGMENT_MESSAGE_ID_RETENTION)
    return InboundMessage.objects.forget_before((now or timezone.now()) - kept)
