"""The install page's live check: the last widget call and the last inbound Segment message
each project received, kept in the shared cache (never in the database).

A widget call stores its note in the round trip it makes anyway (its rate limits and the
configuration's version, :func:`shared_cache.count_and_read`): no query and no extra round
trip on the hottest route. It only replaces a note that exists: opening the install page
starts the watch (:func:`watch`), and each call keeps it for :data:`SEEN_SECONDS` more, so a
made-up write key never leaves a key in the cache. While the cache cannot be reached nothing
is noted, and the page says it has seen nothing.

What a visitor sends (the ``Origin`` and ``User-Agent`` headers, any text) is shown reduced
to what it names: an origin that is a real ``http(s)://host[:port]``, and the browser and
operating system the user-agent parser knows — never the raw text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .. import device, shared_cache

SEEN_SECONDS = 30 * 24 * 3600
MAX_ORIGIN = 200
MAX_USER_AGENT = 300
_HOST = re.compile(r"\A[a-z0-9.-]{1,190}\Z|\A[0-9a-f:.]{2,45}\Z")
INBOUND_TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias", "delete"})


def widget_call_key(write_key: str) -> str:
    return f"satismeter:seen:widget:{write_key}"


def inbound_key(project_id: int) -> str:
    return f"satismeter:seen:segment:{project_id}"


def widget_call_note(write_key: str, origin: str, user_agent: str) -> shared_cache.Write:
    """What a widget call stores for the live check, for the round trip it makes anyway."""
    value = (time.time(), origin[:MAX_ORIGIN], user_agent[:MAX_USER_AGENT])
    return shared_cache.Write(widget_call_key(write_key), value, SEEN_SECONDS)


def watch(write_key: str) -> None:
    """Start noting the project's widget calls (the install page does, on every visit)."""
    unseen = (0.0, "", "")
    key = widget_call_key(write_key)
    shared_cache.use(lambda cache: cache.add(key, unseen, SEEN_SECONDS), None)


def note_inbound(project_id: int, message_types: list[str], now: datetime) -> None:
    """Note the last message of a request Segment (or a server library) sent us."""
    last = message_types[-1] if message_types else ""
    value = (now.timestamp(), last if last in INBOUND_TYPES else "", len(message_types))
    shared_cache.use(lambda cache: cache.set(inbound_key(project_id), value, SEEN_SECONDS), None)


@dataclass(frozen=True)
class WidgetCall:
    at: datetime
    origin: str  # "" when the call sent none (a server, a test) or one that is not an origin
    browser: str
    os: str

    def as_dict(self, now: datetime) -> dict[str, Any]:
        ago = max(0, int((now - self.at).total_seconds()))
        return {"at": self.at.isoformat(), "ago": ago, "origin": self.origin} | {
            "browser": self.browser,
            "os": self.os,
        }


@dataclass(frozen=True)
class InboundCall:
    at: datetime
    type: str
    messages: int

    def as_dict(self, now: datetime) -> dict[str, Any]:
        ago = max(0, int((now - self.at).total_seconds()))
        return {"at": self.at.isoformat(), "ago": ago, "type": self.type, "messages": self.messages}


def last_widget_call(write_key: str) -> WidgetCall | None:
    raw = shared_cache.use(lambda cache: cache.get(widget_call_key(write_key)), None)
    try:
        at, origin, user_agent = raw  # type: ignore[misc]
        when = datetime.fromtimestamp(float(at), UTC)
    except (TypeError, ValueError):
        return None
    if not at:  # watched, no call yet
        return None
    os_name = device.operating_system(user_agent) if user_agent else ""
    return WidgetCall(
        when, origin_of(str(origin)), device.browser(str(user_agent)), _known(os_name)
    )


def last_inbound(project_id: int) -> InboundCall | None:
    raw = shared_cache.use(lambda cache: cache.get(inbound_key(project_id)), None)
    try:
        at, type_, count = raw  # type: ignore[misc]
        return InboundCall(datetime.fromtimestamp(float(at), UTC), str(type_), int(count))
    except (TypeError, ValueError):
        return None


def origin_of(text: str) -> str:
    """``scheme://host[:port]`` of an ``Origin`` header that is one, else ""."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query:
        return ""
    if parts.username or parts.password or not _HOST.match(host):
        return ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")


def _known(os_name: str) -> str:
    return "" if os_name == "Other" else os_name
