"""The Celery queues of the app's tasks, one per job, so that a host runs a dedicated worker
for each (docs/deployment.md, "Queues and workers"): a slow SMTP server then never holds up
feedback on its way to Segment, and a sweep never waits behind a backlog of deliveries.

The host's settings name them (the example project's ``project/settings.py``)::

    from satismeter_app import queues

    CELERY_TASK_ROUTES = queues.TASK_ROUTES
    CELERY_TASK_QUEUES = queues.task_queues("celery")  # with the host's own queues

A worker started without ``-Q`` consumes every queue of ``CELERY_TASK_QUEUES``; one started
with ``-Q satismeter.deliveries`` only that one. Routing happens where a task is sent (the web
process's outbox, the beat, a worker), so every process that sends the app's tasks needs these
settings. Plain names only: this module is imported by settings files, before Django is set up.
"""

from __future__ import annotations

from typing import Any

DELIVERIES = "satismeter.deliveries"
"""Sends to Segment, Slack and webhooks (``send_deliveries``): many short HTTP requests."""
EMAIL = "satismeter.email"
"""Reminders, replies and staff mail (``send_reminders``, ``send_replies``, ``send_staff_*``):
as slow as the SMTP server."""
HOUSEKEEPING = "satismeter.housekeeping"
"""The beat's sweeps (``sweep_deliveries``, ``forget_segment_message_ids``): quick, periodic."""

QUEUES = (DELIVERIES, EMAIL, HOUSEKEEPING)

TASK_ROUTES: dict[str, dict[str, str]] = {
    "satismeter_app.tasks.send_deliveries": {"queue": DELIVERIES},
    "satismeter_app.tasks.send_reminders": {"queue": EMAIL},
    # Staff's replies to respondents: outbox rows, but sent by the mail server.
    "satismeter_app.tasks.send_replies": {"queue": EMAIL},
    # Staff alerts and digests, whatever their names, go with the other mail.
    "satismeter_app.tasks.send_staff_*": {"queue": EMAIL},
    "satismeter_app.tasks.sweep_deliveries": {"queue": HOUSEKEEPING},
    "satismeter_app.tasks.forget_segment_message_ids": {"queue": HOUSEKEEPING},
}


def task_queues(*others: str, queue_type: str = "classic") -> dict[str, dict[str, Any]]:
    """``CELERY_TASK_QUEUES``: the app's queues and ``others`` (the host's, Celery's default
    ``"celery"``), each with a direct exchange of its name, as Celery declares a queue it
    creates on the fly. ``queue_type="quorum"``: RabbitMQ quorum queues (docs/deployment.md)."""
    arguments = {} if queue_type == "classic" else {"queue_arguments": {"x-queue-type": queue_type}}
    return {
        name: {"exchange": name, "routing_key": name, **arguments} for name in (*QUEUES, *others)
    }
