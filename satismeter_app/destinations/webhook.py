"""Webhooks: a signed POST of ``{event, response, traits, campaign}`` per completed or
dismissed response, as SatisMeter sends them.

Signed twice, with the integration's signing secret, in the same request:

- per the Standard Webhooks specification (https://www.standardwebhooks.com): the headers
  ``webhook-id`` (the message id, the same on every retry), ``webhook-timestamp`` (Unix
  seconds when sent) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
  "<id>.<timestamp>.<body>">``), made with the ``standardwebhooks`` package, so that any
  Standard Webhooks library verifies them, and refuses them once the timestamp is old;
- as before, for receivers written against it: ``X-Satismeter-Signature: t=<unix
  time>,v1=<hex>`` where ``<hex>`` is HMAC-SHA256, keyed with the secret's UTF-8 bytes, of
  ``"<t>." + raw body``; :func:`verify_signature` checks it (importing this module needs no
  Django settings, so a receiver can use it without configuring the app).

The key of the Standard Webhooks signature (:func:`signing_key`): a ``whsec_`` secret (what
new integrations get, :func:`new_signing_secret`) is ``whsec_`` + base64 of the key, as the
specification has it; any other secret, set before these signatures existed, is keyed with its
UTF-8 bytes, and the admin shows receivers that key as a ``whsec_`` secret
(:func:`receiver_secret`). ``X-Satismeter-Message-Id`` repeats ``webhook-id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from standardwebhooks import Webhook

from ..exceptions import MessageRejected
from .base import Built, Destination, Request, Secret, compact_json, http_url

if TYPE_CHECKING:
    from ..models import Delivery

SIGNATURE_HEADER = "X-Satismeter-Signature"
MESSAGE_ID_HEADER = "X-Satismeter-Message-Id"
EVENT_HEADER = "X-Satismeter-Event"
# Lifecycle event → the webhook's event name (SatisMeter calls a closed survey "dismissed").
EVENT_NAMES = {"completed": "completed", "closed": "dismissed", "test": "test"}
DEFAULT_TOLERANCE = 5 * 60
# Standard Webhooks: its headers, its secrets' prefix, and the key size of a new secret (the
# specification asks for 24 to 64 random bytes).
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
NEW_SECRET_BYTES = 32
STANDARD_KEY_BYTES = range(24, 65)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode()


def _decoded(secret: str) -> bytes:
    """The bytes a ``whsec_`` secret encodes; b"" for any other secret."""
    if not secret.startswith(SECRET_PREFIX):
        return b""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        return b""


def signing_key(secret: str) -> bytes:
    """The key of the Standard Webhooks signature: the bytes a ``whsec_`` secret encodes, or,
    for any other secret (set before these signatures existed), its UTF-8 bytes."""
    return _decoded(secret) or secret.encode()


def standard_secret(secret: str) -> None:
    """A typed-in ``whsec_`` secret must be one (a truncated copy would sign with another
    key than the receiver's); other strings are older secrets and stay valid."""
    if secret.startswith(SECRET_PREFIX) and len(_decoded(secret)) not in STANDARD_KEY_BYTES:
        raise ValidationError(
            _("A whsec_ secret is whsec_ and the base64 of 24 to 64 random bytes.")
        )


def receiver_secret(secret: str) -> str:
    """The ``whsec_`` secret a Standard Webhooks library needs to verify what ``secret``
    signs: ``secret`` itself when it is one, else its UTF-8 bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode()


def standard_headers(message_id: str, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` sent at ``timestamp`` (Unix seconds)."""
    when = datetime.fromtimestamp(timestamp, UTC)
    signature = Webhook(signing_key(secret)).sign(message_id, when, body.decode())
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: signature,
    }


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` (the raw request body) with ``secret``, recently.

    ``tolerance`` (seconds) bounds how old a signature may be, so that a captured request
    cannot be replayed later; pass 0 to skip that check.
    """
    parts = dict(item.split("=", 1) for item in (header or "").split(",") if "=" in item)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if tolerance and abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


class WebhookDestination(Destination):
    kind = "webhook"
    label = _("Webhook")
    description = _(
        "A signed POST per completed or dismissed response; see docs/integrations.md for the "
        "verification recipe."
    )
    events = ("closed", "completed")
    default_events = ("closed", "completed")
    secret = Secret(
        _("signing secret"),
        _(
            "Webhook: the signing secret; a new webhook gets one (shown below once saved). "
            "To set your own, use a Standard Webhooks secret (whsec_ and base64)."
        ),
        validators=(standard_secret,),
        generate=new_signing_secret,
        for_receivers=receiver_secret,
    )
    needs = ("url",)

    @classmethod
    def settings_fields(cls) -> dict[str, forms.Field]:
        return {
            "url": forms.URLField(
                label=_("URL"), required=False, assume_scheme="https", validators=[http_url]
            )
        }

    def build(self, deliveries: Sequence[Delivery]) -> Built:
        built = Built()
        for delivery in deliveries:
            if delivery.event not in EVENT_NAMES:
                reason = f"Webhooks send completed and dismissed, not {delivery.event}."
                built.rejected.append((delivery, MessageRejected(reason)))
                continue
            built.requests.append(self.request(delivery))
        return built

    @property
    def signing_secret(self) -> str:
        return self.required(self.integration.secret, "signing secret")

    def request(self, delivery: Delivery) -> Request:
        payload = delivery.payload
        event = EVENT_NAMES[delivery.event]
        body = compact_json(
            {
                "event": event,
                "response": payload.get("response"),
                "traits": payload.get("traits") or {},
                "campaign": payload.get("campaign"),
            }
        )
        # Signed as the claim goes out, so that a retry hours later is fresh, with the same
        # id, by which receivers drop repeats.
        now, secret = int(time.time()), self.signing_secret
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            MESSAGE_ID_HEADER: delivery.message_id,
            SIGNATURE_HEADER: sign(body, secret, now),
            **standard_headers(delivery.message_id, body, secret, now),
        }
        return Request(self.url, body, headers, [delivery])

    @property
    def url(self) -> str:
        return self.required(self.settings["url"], "URL")
