"""What every batch of email the app sends shares (reminders, staff alerts and digests): one
SMTP connection for the batch, given back when it cannot be opened, and failures logged without
the address they were for."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging


@contextmanager
def session(connection: Any, give_back: Callable[[], object]) -> Iterator[None]:
    """The SMTP connection, open for one batch. When it cannot be opened nothing went out:
    ``give_back`` undoes the batch's claims so that the next run sends it, and the error goes
    up to the caller (the task)."""
    try:
        connection.open()
    except Exception:
        give_back()
        raise
    try:
        yield
    finally:
        connection.close()


def log_failure(logger: logging.Logger, where: str, exc: Exception) -> None:
    """On the caller's ``logger``, by ids (``where``), never by address: mail errors quote the
    recipient (in their text, and so in a traceback), so they are logged by class and SMTP
    code; anything else is a bug, logged with its traceback."""
    if not isinstance(exc, smtplib.SMTPException | OSError | ValueError):
        logger.exception("%s failed", where)
        return
    code = getattr(exc, "smtp_code", None)
    logger.error("%s failed: %s%s", where, type(exc).__name__, f" {code}" if code else "")
