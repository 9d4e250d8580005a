"""Segment, outbound: survey lifecycle events into the customer's own Segment workspace.

Every message is the official client's (``segment-analytics-python``, in sync mode with
``send=False``): its ``identify()`` and ``track()`` validate the call, format the timestamp,
set ``messageId`` and ``context.library``, and refuse a message over 32 KB — and, in sync
mode, start no thread, which is what Segment recommends under Celery. For the calls
:func:`calls_for` makes, whose values come from JSON, :func:`client_message` writes the same
message several times faster (tests compare the two on generated payloads); the client itself
makes any message that may come near 32 KB, and measures it. The messages of a claim then go
out in batches to ``<host>/v1/batch`` over this destination's own session: the client's sync
mode posts one message per request, and its ``post()`` shares one module-level session among
every client of the process and cannot carry our User-Agent.

The messages, per lifecycle event of a response (``traits`` picks the identify traits):

- viewed → track ``Viewed NPS Survey``; closed → track ``Closed NPS Survey``;
- answered → track ``Answered NPS Survey``;
- completed → identify with ``NPS_rating``, ``NPS_comment``, ``NPS_date`` (and ``CSAT_rating``
  / ``CES_rating`` when a scale question of that metric was answered), then track
  ``Completed NPS Survey``.

Answered and completed events carry the response's ``answers`` (SatisMeter's answer objects).
A message over 32 KB has its free texts (the comment, long-text answers) shortened until it
fits.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import __version__
from ..conf import app_settings
from ..exceptions import MessageRejected
from ..questions import RATING_QUESTION
from .base import Built, Destination, Extra, Request, Secret, http_url, user_of

if TYPE_CHECKING:
    from ..models import Delivery

EVENT_NAMES = {
    "viewed": "Viewed NPS Survey",
    "closed": "Closed NPS Survey",
    "answered": "Answered NPS Survey",
    "completed": "Completed NPS Survey",
    "test": "Tested NPS Integration",
}
ALL_TRAITS = ("NPS_rating", "NPS_comment", "NPS_date", "CSAT_rating", "CES_rating")
# A trait per metric question: the first answered scale question of the metric. The survey's
# own rating (SM_rating) is NPS_rating whatever the survey's type, as it always was.
METRIC_TRAITS = {"csat": "CSAT_rating", "ces": "CES_rating"}
# Where a message holds text a user typed, which may be shortened to fit 32 KB.
FREE_TEXT_KEYS = ("comment", "NPS_comment")
# Segment's partner convention: who sent the message, in context.integration.
INTEGRATION_CONTEXT = {"name": "satismeter", "version": __version__}
# Segment's limits: 32 KB a message; 500 KB a batch, of which the official client fills
# 475,000 bytes "to leave space for extra data that will be added later, eg. sentAt".
MAX_MESSAGE_BYTES = 32 << 10
MAX_BATCH_BYTES = 475_000
MAX_BATCH_MESSAGES = 100
# Rows a claim takes: a few batches' worth, so that claiming and recording cost little per
# message, and few enough that a claim's requests end well within DELIVERY_CLAIM_TIMEOUT (at
# one or two messages a row, at most ten batches, each bounded by REQUESTS_TIMEOUT; the next
# claim's wait for them too: satismeter.W010 asks for twenty times REQUESTS_TIMEOUT).
CLAIM_ROWS = 5 * MAX_BATCH_MESSAGES
EXTRA = Extra(
    module="segment",
    package="segment-analytics-python",
    name="segment",
    uses=("segment.analytics", "segment.analytics.request"),
)


@dataclass(frozen=True)
class Call:
    """One call of the official client: ``identify`` or ``track`` and its arguments."""

    method: str
    kwargs: dict[str, Any]

    def trimmed(self, limit: int) -> Call:
        """The call with each text the user typed (the comment, long-text answers) cut to
        ``limit`` characters, an ellipsis marking the cut."""
        kwargs = dict(self.kwargs)
        for group in ("properties", "traits"):
            if group in kwargs:
                kwargs[group] = _trim_group(kwargs[group], limit)
        return replace(self, kwargs=kwargs)


def _trim_group(values: Mapping[str, Any], limit: int) -> dict[str, Any]:
    trimmed = dict(values)
    for key in FREE_TEXT_KEYS:
        if isinstance(trimmed.get(key), str):
            trimmed[key] = _cut(trimmed[key], limit)
    if isinstance(trimmed.get("answers"), list):
        trimmed["answers"] = [_trim_answer(answer, limit) for answer in trimmed["answers"]]
    return trimmed


def _trim_answer(answer: Any, limit: int) -> Any:
    long_text = isinstance(answer, dict) and answer.get("type") == "long-text"
    if long_text and isinstance(answer.get("value"), str):
        return {**answer, "value": _cut(answer["value"], limit)}
    return answer


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "…" if limit else ""


def calls_for(
    event: str, payload: Mapping[str, Any], message_id: str, traits: Sequence[str] = ALL_TRAITS
) -> list[Call]:
    """The client calls one outbox row makes; pure, so that the mapping is tested directly."""
    common = _identity(payload) | {
        "timestamp": _timestamp(payload),
        "context": {"integration": dict(INTEGRATION_CONTEXT)},
    }
    calls = []
    wanted = [name for name in ALL_TRAITS if name in traits]
    identify = _identify(payload, common, f"{message_id}-identify", wanted)
    if event == "completed" and identify.kwargs["traits"]:
        calls.append(identify)
    properties = _properties(event, payload)
    track = {**common, "event": EVENT_NAMES[event], "properties": properties}
    calls.append(Call("track", track | {"message_id": message_id}))
    return calls


def _identity(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The customer's own userId; an anonymous visitor goes by its anonymousId."""
    user = user_of(payload)
    if user.get("userId"):
        return {"user_id": str(user["userId"])}
    if user.get("anonymousId"):
        return {"anonymous_id": str(user["anonymousId"])}
    raise MessageRejected("The user has neither a userId nor an anonymousId.")


def _timestamp(payload: Mapping[str, Any]) -> datetime:
    """When the event happened, which the client needs as an aware datetime."""
    when = datetime.fromisoformat(payload["timestamp"])
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _identify(
    payload: Mapping[str, Any], common: dict[str, Any], message_id: str, wanted: list[str]
) -> Call:
    response = payload.get("response") or {}
    values = {
        "NPS_rating": response.get("rating"),
        "NPS_comment": response.get("feedback") or "",
        "NPS_date": payload["timestamp"],
        **metric_ratings(response.get("answers")),
    }
    traits = {name: values[name] for name in wanted if name in values}
    kwargs = common | {"traits": traits, "message_id": message_id}
    return Call("identify", kwargs)


def metric_ratings(answers: Any) -> dict[str, Any]:
    """``CSAT_rating`` and ``CES_rating``: the value of the first answered scale question of
    that metric, other than the survey's rating; absent when there is none (an identify
    without it leaves the user's earlier value in place)."""
    found: dict[str, Any] = {}
    for answer in answers if isinstance(answers, list) else []:
        if not isinstance(answer, dict) or answer.get("id") == RATING_QUESTION:
            continue
        metric = str(answer.get("metric")) if answer.get("type") == "scale" else ""
        name = METRIC_TRAITS.get(metric)
        if name and name not in found and answer.get("value") is not None:
            found[name] = answer["value"]
    return found


def _properties(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    campaign = payload.get("campaign") or {}
    properties: dict[str, Any] = {
        "campaign_id": campaign.get("id"),
        "campaign_name": campaign.get("name"),
    }
    response = payload.get("response")
    if not response:
        return properties  # viewed: the survey was shown, nothing answered yet
    properties |= {
        "response_id": response.get("id"),
        "method": response.get("method"),
        "language": response.get("language"),
    }
    if event in {"answered", "completed", "test"}:
        properties |= {
            "rating": response.get("rating"),
            "category": response.get("category"),
            "score": response.get("score"),
            "answers": response.get("answers") or [],
        }
    if event in {"completed", "test"}:
        properties["comment"] = response.get("feedback") or ""
    return properties


def client_message(call: Call, library: Mapping[str, str]) -> dict[str, Any]:
    """The message the official client's ``identify()`` or ``track()`` returns for a call of
    :func:`calls_for`, key for key and in its order: the timestamp to the millisecond, the
    client's ``context.library`` added to ours, no integrations, the id missing as None.
    The client also copies every value through its ``clean()``, which changes nothing that
    JSON holds, and measures the message, which the caller does (see ``_message``)."""
    kwargs = call.kwargs
    timestamp = kwargs["timestamp"].isoformat(timespec="milliseconds")
    context = {**kwargs["context"], "library": dict(library)}
    anonymous_id, user_id = kwargs.get("anonymous_id"), kwargs.get("user_id")
    if call.method == "identify":
        return {
            "integrations": {},
            "anonymousId": anonymous_id,
            "timestamp": timestamp,
            "context": context,
            "type": "identify",
            "userId": user_id,
            "traits": dict(kwargs["traits"]),
            "messageId": kwargs["message_id"],
        }
    return {
        "integrations": {},
        "anonymousId": anonymous_id,
        "properties": dict(kwargs["properties"]),
        "timestamp": timestamp,
        "context": context,
        "userId": user_id,
        "type": "track",
        "event": kwargs["event"],
        "messageId": kwargs["message_id"],
    }


def encoded(message: Mapping[str, Any]) -> bytes:
    """A message as compact JSON; batches are joined from these, so that each message is
    encoded once. orjson, several times faster than the client's encoder and a little
    shorter (UTF-8 and no spaces, where the client escapes and spaces; the 32 KB limit is
    still the client's measure, :func:`message_size`), or the client's encoder for what orjson
    refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(message)
    except TypeError:
        return _client_json(message).encode()


def message_size(message: Mapping[str, Any]) -> int:
    """Bytes of JSON, measured as the official client measures them."""
    return len(_client_json(message).encode())


def _client_json(message: Mapping[str, Any]) -> str:
    from segment.analytics.request import DatetimeSerializer

    return json.dumps(message, cls=DatetimeSerializer)


def without_v1(url: str) -> None:
    """The client adds /v1/batch itself; a host ending in /v1 would post to /v1/v1/batch."""
    if "/v1" in urlsplit(url).path:
        raise ValidationError(_("leave out /v1: the host alone, e.g. https://api.segment.io."))


class SegmentDestination(Destination):
    kind = "segment"
    label = _("Segment")
    description = _(
        "Events and identify traits go to the Segment source of the write key. "
        "US: api.segment.io; EU: events.eu1.segmentapis.com."
    )
    secret = Secret(_("write key"), _("Segment: the source's write key."))
    extra = EXTRA
    claim_size = CLAIM_ROWS

    @classmethod
    def settings_fields(cls) -> dict[str, forms.Field]:
        regions = [(name, name.upper()) for name in app_settings.SEGMENT_HOSTS]
        return {
            "region": forms.ChoiceField(
                label=_("region"), required=False, choices=regions, initial="us"
            ),
            "host": forms.URLField(
                label=_("host"),
                required=False,
                assume_scheme="https",
                validators=[http_url, without_v1],
                help_text=_("Any other endpoint, without /v1; it takes the place of the region."),
            ),
            "traits": forms.MultipleChoiceField(
                label=_("identify traits"),
                required=False,
                choices=[(name, name) for name in ALL_TRAITS],
                initial=list(ALL_TRAITS),
                widget=forms.CheckboxSelectMultiple,
                help_text=_("Sent with identify on completion; none ticked: no identify call."),
            ),
        }

    @property
    def host(self) -> str:
        if self.settings["host"]:
            return str(self.settings["host"]).rstrip("/")
        return str(app_settings.SEGMENT_HOSTS[self.settings["region"]]).rstrip("/")

    @property
    def write_key(self) -> str:
        return self.required(self.integration.secret, "write key")

    @cached_property
    def client(self) -> Any:
        try:
            from segment.analytics import Client
        except ImportError as exc:
            raise EXTRA.missing() from exc
        # sync_mode: no consumer thread (safe after a fork); send=False: build, never post.
        return Client(
            self.write_key, host=self.host, sync_mode=True, send=False, timeout=self.timeout
        )

    # Messages ----------------------------------------------------------------------------------

    @cached_property
    def library(self) -> dict[str, str]:
        """The ``context.library`` the client writes into every message."""
        try:
            from segment.analytics import VERSION
        except ImportError as exc:
            raise EXTRA.missing() from exc
        return {"name": "analytics-python", "version": VERSION}

    def messages(self, delivery: Delivery) -> list[bytes]:
        """The Segment messages of one row as JSON, each under 32 KB; MessageRejected if
        impossible."""
        traits = self.settings["traits"]
        calls = calls_for(delivery.event, delivery.payload, delivery.message_id, traits)
        return [self._fit(call) for call in calls]

    def _fit(self, call: Call) -> bytes:
        """The message, its free texts shortened when the whole would pass 32 KB: to the
        longest length at which it fits, found by halving (rare, and exact as the client
        measures)."""
        body = self._message(call)
        if body is not None:
            return body
        low, high = -1, MAX_MESSAGE_BYTES  # fits at no limit yet; never fits above high
        while high - low > 1:
            middle = (low + high) // 2
            if self._client_message(call.trimmed(middle)) is None:
                high = middle
            else:
                low = middle
        if low >= 0:
            body = self._message(call.trimmed(low))
            if body is not None:
                return body
        raise MessageRejected(
            f"The {call.method} message is over Segment's limit of {MAX_MESSAGE_BYTES} bytes "
            "even without its comment."
        )

    def _message(self, call: Call) -> bytes | None:
        """A call's message as JSON; None when it is over 32 KB as the client measures. Made
        by :func:`client_message` when it is surely under: the client's JSON is at most three
        times orjson's (``\\u`` escapes for UTF-8, a space after each separator). Otherwise
        by the client, which measures it."""
        body = encoded(client_message(call, self.library))
        if 3 * len(body) <= MAX_MESSAGE_BYTES:
            return body
        message = self._client_message(call)
        return None if message is None else encoded(message)

    def _client_message(self, call: Call) -> dict[str, Any] | None:
        """The client's message for a call; None when it is over the size limit."""
        # The client writes context.library into the context it gets; nothing else of ours.
        kwargs = call.kwargs | {"context": dict(call.kwargs["context"])}
        try:
            _sent, message = getattr(self.client, call.method)(**kwargs)
        except RuntimeError:  # the client's "Message exceeds 32kb limit"
            return None
        except AssertionError as exc:  # the client's type checks
            raise MessageRejected(f"Segment's client refused the {call.method}: {exc}") from exc
        return dict(message)

    # Requests ----------------------------------------------------------------------------------

    def build(self, deliveries: Sequence[Delivery]) -> Built:
        built = Built()
        ready: list[tuple[Delivery, list[bytes]]] = []
        for delivery in deliveries:
            try:
                ready.append((delivery, self.messages(delivery)))
            except MessageRejected as error:
                built.rejected.append((delivery, error))
        built.requests = [self.request(rows, batch) for rows, batch in self.batches(ready)]
        return built

    def batches(
        self, ready: list[tuple[Delivery, list[bytes]]]
    ) -> Iterator[tuple[list[Delivery], list[bytes]]]:
        """At most 100 messages and 475,000 bytes a batch; a row's messages stay together."""
        rows: list[Delivery] = []
        batch: list[bytes] = []
        size = 0
        for delivery, messages in ready:
            extra = sum(len(message) + 2 for message in messages)
            full = len(batch) + len(messages) > MAX_BATCH_MESSAGES
            if batch and (full or size + extra > MAX_BATCH_BYTES):
                yield rows, batch
                rows, batch, size = [], [], 0
            rows.append(delivery)
            batch.extend(messages)
            size += extra
        if batch:
            yield rows, batch

    def request(self, rows: list[Delivery], batch: list[bytes]) -> Request:
        """One POST to /v1/batch: the encoded messages joined into the client's body."""
        key = self.write_key
        rest = json.dumps({"sentAt": datetime.now(UTC).isoformat(), "writeKey": key})
        data = b'{"batch": [' + b", ".join(batch) + b"], " + rest[1:].encode()
        token = base64.b64encode(f"{key}:".encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
        return Request(f"{self.host}/v1/batch", data, headers, rows)
