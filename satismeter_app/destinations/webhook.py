"""Webhooks: a signed POST of ``{event, response, traits, campaign}`` per completed or
dismissed response, as SatisMeter sends them.

Signature: the header ``X-Satismeter-Signature: t=<unix time>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the integration's signing secret, of ``"<t>." + raw body``. Receivers
check it with :func:`verify_signature` (importing this module needs no Django settings, so a
receiver can use it without configuring the app) or with the recipe in docs/integrations.md.
``X-Satismeter-Message-Id`` stays the same on every retry of a message: use it to drop
repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

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
    secret = Secret(_("signing secret"), _("Webhook: the signing secret."))
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
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            MESSAGE_ID_HEADER: delivery.message_id,
            # Signed when the claim is sent, so that a retry hours later is still fresh.
            SIGNATURE_HEADER: sign(body, self.signing_secret, int(time.time())),
        }
        return Request(self.url, body, headers, [delivery])

    @property
    def url(self) -> str:
        return self.required(self.settings["url"], "URL")
