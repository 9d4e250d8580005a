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

An event's ``messageId`` is stored with it, unique per project, so that a message Segment
delivers twice (it retries for hours) is recorded once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import history, storable, timeparse
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..models import EndUser, UserEvent
from . import identity, privacy

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
    accepted: int = 0
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


def parse_message(raw: Any, index: int, now: datetime, *, type_: str | None = None) -> Message:
    """Validate one message; raises InvalidInput saying what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInput("message", "must be an object")
    limit = app_settings.MAX_MESSAGE_BYTES
    if (size := message_size(raw)) > limit:
        raise InvalidInput("message", f"is {size} bytes of JSON; the limit is {limit}")
    kind = type_ or raw.get("type")
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
        message_id=_text(raw, "messageId", MAX_MESSAGE_ID_LENGTH) or None,
        traits=traits,
        columns=columns,
    )
    _parse_by_type(message, raw, context)
    return message


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


def is_deletion(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("type") == "delete"


def parse_batch(
    raws: Sequence[Any],
    now: datetime,
    defaults: Mapping[str, Any] | None = None,
    *,
    deletions: bool = False,
) -> tuple[list[Message], list[Rejected]]:
    """The valid messages and the errors. A batch's top-level ``context`` and
    ``integrations`` are merged into each message, the message's own keys winning. With
    ``deletions``, ``delete`` messages are left for :func:`erase_requested`."""
    messages, errors = [], []
    for index, raw in enumerate(raws):
        if deletions and is_deletion(raw):
            continue
        if isinstance(raw, dict) and defaults:
            raw = _with_defaults(raw, defaults)
        try:
            messages.append(parse_message(raw, index, now))
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
    changed = identity.merge_traits(user, message.traits, message.columns)
    if message.type == "group":
        changed |= identity.merge_group(user, message.group_id, message.group_traits)
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


def _write(project_id: int, messages: Sequence[Message], now: datetime) -> list[EndUser]:
    identities = [m.identity for m in messages]
    users = identity.Directory.load(project_id, identities, now, lock=True)
    events = []
    touched: dict[int, EndUser] = {}
    for message in messages:
        user = users.resolve(message.identity)
        touched[id(user)] = user
        event = _apply(users, user, message)
        if event is not None:
            events.append(event)
    if users.new:
        EndUser.objects.bulk_create(users.new)
    changed, fields = users.updated()
    if changed:
        EndUser.objects.bulk_update(changed, fields)
    if events:
        # A messageId stored before (Segment delivered the message again) is skipped.
        UserEvent.objects.bulk_create(events, ignore_conflicts=True)
    return list(touched.values())


def apply_messages(
    project_id: int, messages: Sequence[Message], *, now: datetime | None = None
) -> list[EndUser]:
    """Apply valid messages in one transaction; returns the users they touched."""
    if not messages:
        return []
    now = now or timezone.now()
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return _write(project_id, messages, now)
        except IntegrityError:
            # Another request created one of these users since we looked: look again.
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def ingest(
    project_id: int,
    raws: Sequence[Any],
    *,
    defaults: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    deletions: bool = False,
) -> Result:
    """Validate and apply a batch; the invalid messages are reported, the valid ones kept.
    With ``deletions`` (Segment's Webhooks destination), a ``delete`` message anonymises
    its user."""
    now = now or timezone.now()
    messages, errors = parse_batch(raws, now, defaults, deletions=deletions)
    apply_messages(project_id, messages, now=now)
    erased = [raw for raw in raws if is_deletion(raw)] if deletions else []
    for raw in erased:
        erase_requested(project_id, raw)
    return Result(accepted=len(messages) + len(erased), errors=errors)


def erase_requested(project_id: int, raw: Mapping[str, Any]) -> bool:
    """Segment's ``delete`` message (a deletion request for a userId): anonymise the user.
    Returns whether there was such a user."""
    try:
        user_id = _identifier(raw, "userId")
    except InvalidInput:
        return False
    if user_id is None:
        return False
    user = EndUser.objects.filter(project_id=project_id, user_id=user_id).first()
    if user is None:
        return False
    privacy.erase_user(user)
    return True
