"""Celery tasks: thin, they take primary keys and call the outbox. The app declares shared
tasks only; the host project owns the Celery app and schedules :func:`sweep_deliveries`
(which also enqueues :func:`send_replies`, the staff replies' queue, when a reply is due),
:func:`send_reminders`, :func:`forget_segment_message_ids` and the staff emails,
:func:`send_staff_alerts` every minute and :func:`send_staff_digests` every hour
(docs/staff-email.md)::

    CELERY_BEAT_SCHEDULE = {
        "satismeter-sweep-deliveries": {
            "task": "satismeter_app.tasks.sweep_deliveries",
            "schedule": 30.0,
        },
        "satismeter-forget-segment-message-ids": {
            "task": "satismeter_app.tasks.forget_segment_message_ids",
            "schedule": 3600.0,
        },
        "satismeter-send-staff-alerts": {
            "task": "satismeter_app.tasks.send_staff_alerts",
            "schedule": 60.0,
        },
        "satismeter-send-staff-digests": {
            "task": "satismeter_app.tasks.send_staff_digests",
            "schedule": 3600.0,
        },
    }
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from celery.signals import worker_init
from django.dispatch import receiver

from . import destinations, outbox
from .services import ingest, reminders, staff_email

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_deliveries(integration_id: int) -> None:
    """Send what is due for one integration; enqueued on commit and by the sweep."""
    report = outbox.send_due(integration_id)
    if report.claimed:
        logger.info("Integration %s: %s", integration_id, report)


@shared_task(ignore_result=True)
def send_replies() -> None:
    """Send the staff's replies that are due; enqueued on commit and by the sweep."""
    report = outbox.send_due_replies()
    if report.claimed:
        logger.info("Replies: %s", report)


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


@shared_task(ignore_result=True)
def send_staff_alerts() -> None:
    """Email staff the detractor responses of their subscriptions (docs/staff-email.md)."""
    report = staff_email.send_alerts()
    if report.sent or report.failed:
        logger.info("Staff alerts: %s", report)


@shared_task(ignore_result=True)
def send_staff_digests() -> None:
    """Email staff the daily and weekly digests that are due; once per period."""
    report = staff_email.send_digests()
    if report.sent or report.failed:
        logger.info("Staff digests: %s", report)


@shared_task(ignore_result=True)
def forget_segment_message_ids() -> None:
    """Forget the ids of Segment messages applied longer ago than they are kept."""
    forgotten = ingest.forget_message_ids()
    if forgotten:
        logger.info("Forgot %s Segment message ids", forgotten)


@worker_init.connect
def load_destination_packages(**kwargs: Any) -> None:
    """A worker imports Segment's client and slack_sdk as it starts, not in its first send."""
    destinations.load_extras()


@receiver(outbox.deliveries_due)
def enqueue_deliveries(sender: Any, integration_ids: Sequence[int], **kwargs: Any) -> None:
    """One task per integration; a broker that is down must not fail the caller's request."""
    for integration_id in integration_ids:
        try:
            send_deliveries.apply_async((integration_id,), retry=False)
        except Exception as exc:  # kombu's errors vary with the transport; the sweep catches up
            logger.warning(
                "Could not enqueue deliveries of integration %s (%s: %s); the sweep will "
                "send them.",
                integration_id,
                type(exc).__name__,
                exc,
            )


@receiver(outbox.replies_due)
def enqueue_replies(sender: Any, **kwargs: Any) -> None:
    """One task for the replies' queue; as above, a broker that is down fails nothing."""
    try:
        send_replies.apply_async(retry=False)
    except Exception as exc:  # the sweep catches up
        logger.warning(
            "Could not enqueue replies (%s: %s); the sweep will send them.",
            type(exc).__name__,
            exc,
        )
