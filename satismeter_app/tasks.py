"""Celery tasks: thin, they take primary keys and call the outbox. The app declares shared
tasks only; the host project owns the Celery app and schedules :func:`sweep_deliveries`::

    CELERY_BEAT_SCHEDULE = {
        "satismeter-sweep-deliveries": {
            "task": "satismeter_app.tasks.sweep_deliveries",
            "schedule": 30.0,
        },
    }
"""

from __future__ import annotations

import logging

from celery import shared_task

from . import outbox, reminders

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_deliveries(integration_id: int) -> None:
    """Send what is due for one integration; enqueued on commit and by the sweep."""
    report = outbox.send_due(integration_id)
    if report.claimed:
        logger.info("Integration %s: %s", integration_id, report)


@shared_task(ignore_result=True)
def sweep_deliveries() -> None:
    """Enqueue every integration with rows due: new, to retry, or left by a dead worker."""
    outbox.sweep()


@shared_task(ignore_result=True)
def send_reminders() -> None:
    """Send the reminder emails that are due (docs/email.md); safe on several workers."""
    report = reminders.send_all()
    if report.selected:
        logger.info("Reminders: %s", report)
