"""Email through the outbox: staff's replies to respondents (services/replies.py).

Not a kind of integration: a reply has no integration, and its Delivery row (destination
``"reply"``) carries the whole message as its payload, written when staff sent it — from, to,
reply-to, subject, and the text and HTML parts. This class sends claimed rows through
Django's email backend over one connection per claim and says, per row, what the mail server
answered, in the terms the outbox judges every destination by:

* the server refused for now (a 4xx SMTP code), or could not be reached (connection refused,
  timed out, dropped): retried with backoff, within the retry window;
* the server refused for good (a 5xx code: no such mailbox, policy): dead at once.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives, get_connection

from ..exceptions import DeliveryError, MessageRejected
from .base import Destination, Outcome

if TYPE_CHECKING:
    from ..models import Delivery

logger = logging.getLogger(__name__)

REPLY = "reply"  # Delivery.destination of a reply
# The payload's keys, all needed to send.
PARTS = ("from", "to", "subject", "text", "html")


def smtp_error(exc: Exception) -> DeliveryError:
    """What a mail server's refusal, or its silence, means for the row; never the server's
    text, which quotes the recipient's address into a log staff read."""
    code = smtp_code(exc)
    if code is None:
        return DeliveryError(f"No answer from the mail server: {type(exc).__name__}")
    permanent = code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError)
    verdict = "refused the message" if permanent else "deferred the message"
    return DeliveryError(f"The mail server {verdict} (SMTP {code}).", permanent=permanent)


def smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return max(codes) if codes else None
    code = getattr(exc, "smtp_code", None)
    return code if isinstance(code, int) and code >= 400 else None


class ReplyDestination(Destination):
    """Sends reply rows; one instance per task run, like the integrations' destinations."""

    label = "Email"
    claim_size = 10

    def __init__(self, integration: Any = None) -> None:
        super().__init__(integration)

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        messages = [(row, self.message(row)) for row in deliveries]
        ready = [(row, message) for row, message in messages if message is not None]
        rejected = [
            Outcome.failure(row, MessageRejected("The reply's message is incomplete."))
            for row, message in messages
            if message is None
        ]
        connection = get_connection()
        try:
            connection.open()
        except Exception as exc:  # nothing went out: every row is tried again
            error = smtp_error(exc)
            return rejected + [Outcome.failure(row, error) for row, _ in ready]
        try:
            return rejected + [self.send(connection, row, message) for row, message in ready]
        finally:
            connection.close()

    @staticmethod
    def message(row: Delivery) -> EmailMultiAlternatives | None:
        payload = row.payload or {}
        if not all(isinstance(payload.get(part), str) and payload[part] for part in PARTS):
            return None
        message = EmailMultiAlternatives(
            subject=payload["subject"],
            body=payload["text"],
            from_email=payload["from"],
            to=[payload["to"]],
            reply_to=[payload["reply_to"]] if payload.get("reply_to") else None,
            headers={"Message-ID": f"<{row.message_id}@satismeter.reply>"},
        )
        message.attach_alternative(payload["html"], "text/html")
        return message

    @staticmethod
    def send(connection: Any, row: Delivery, message: EmailMultiAlternatives) -> Outcome:
        started, clock = datetime.now(UTC), time.monotonic()
        error: DeliveryError | None = None
        try:
            message.connection = connection
            connection.send_messages([message])
        except (smtplib.SMTPException, OSError) as exc:
            error = smtp_error(exc)
        except ValueError as exc:  # a header Django refuses (a line break): it never will go
            error = MessageRejected(f"The message cannot be sent as written: {exc}")
        except Exception as exc:  # a bug must not leave the row claimed; logged, retried
            logger.exception("Unexpected error sending reply delivery %s", row.pk)
            error = DeliveryError(f"Unexpected error sending the reply: {type(exc).__name__}")
        timing = {"started": started, "duration_ms": int((time.monotonic() - clock) * 1000)}
        if error is not None:
            return Outcome.failure(row, error, **timing)
        return Outcome.success(row, 250, **timing)
