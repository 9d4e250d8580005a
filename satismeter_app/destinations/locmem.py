"""A destination for your tests: it builds exactly what the real destination of the
integration's kind would send, and keeps it in :data:`outbox` instead of sending it.

    SATISMETER = {
        "DESTINATIONS": {
            "segment": "satismeter_app.destinations.locmem.LocmemDestination",
            "slack": "satismeter_app.destinations.locmem.LocmemDestination",
            "webhook": "satismeter_app.destinations.locmem.LocmemDestination",
        },
    }

Then send what is due with ``satismeter_app.outbox.send_all_due()`` and look at
``satismeter_app.destinations.locmem.outbox``; clear it between tests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import destination_class
from .base import Built, Destination, Request

if TYPE_CHECKING:
    from ..models import Delivery, Integration


@dataclass
class SentMessage:
    """One request the real destination would have made."""

    kind: str
    integration_id: int
    url: str
    headers: dict[str, str]
    body: Any  # the JSON body, parsed
    message_ids: list[str]
    events: list[str]
    sent_at: float = field(default_factory=time.time)


outbox: list[SentMessage] = []


class LocmemDestination(Destination):
    """Stands in for any kind (its ``kind`` is empty): the built-in class of the
    integration's kind declares the kind and builds the requests."""

    def __init__(self, integration: Integration) -> None:
        super().__init__(integration)
        self.real = destination_class(integration.kind, default=True)(integration)
        self.claim_size = self.real.claim_size

    def build(self, deliveries: Sequence[Delivery]) -> Built:
        return self.real.build(deliveries)

    def post(self, request: Request) -> int:
        outbox.append(
            SentMessage(
                kind=self.real.kind,
                integration_id=self.integration.pk,
                url=request.url,
                headers=dict(request.headers),
                body=request.json(),
                message_ids=[delivery.message_id for delivery in request.deliveries],
                events=[delivery.event for delivery in request.deliveries],
            )
        )
        return 200
