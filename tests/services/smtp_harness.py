"""A real SMTP server for email tests: aiosmtpd on loopback, with Django's SMTP backend
pointed at it for the duration."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

from tests.delivery.harness import free_port


class Collector:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


Handler = TypeVar("Handler")


@contextmanager
def running_smtp(settings: Any, handler: Handler) -> Iterator[Handler]:
    """``handler`` answering on a free loopback port; ``settings`` (pytest-django's fixture)
    send Django's mail there, in clear, without login."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        controller.stop()
