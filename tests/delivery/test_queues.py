"""Queues per job: deliveries, email and housekeeping go to their own queues, so that a host's
dedicated workers keep them apart. A slow SMTP server (ten seconds a message) holds up the
email worker's reminders, while feedback made meanwhile reaches Segment within seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from project.celery import app
from satismeter_app import queues
from satismeter_app.models import Display, Integration, Project, Reminder
from satismeter_app.tasks import send_reminders
from tests.delivery.harness import (
    CeleryHarness,
    RedisServer,
    SegmentSink,
    database_url,
    free_port,
    use_broker,
    wait_until,
)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WRITE_KEY = "wk_queue_tests_0123456789"
SMTP_SECONDS = 10  # per message
SATISMETER = {"PUBLIC_BASE_URL": "http://testserver", "ALLOW_PRIVATE_DESTINATIONS": True}


def test_the_apps_tasks_and_the_staff_mail_to_come_are_routed_to_their_queues() -> None:
    def queue(task: str) -> str:
        return app.amqp.router.route({}, task)["queue"].name

    app.loader.import_default_modules()
    tasks = [name for name in app.tasks if name.startswith("satismeter_app.tasks.")]
    assert len(tasks) >= 7  # every task of tasks.py
    assert {task: queue(task) for task in tasks if queue(task) not in queues.QUEUES} == {}
    assert queue("satismeter_app.tasks.send_deliveries") == queues.DELIVERIES
    assert queue("satismeter_app.tasks.send_reminders") == queues.EMAIL
    assert queue("satismeter_app.tasks.send_replies") == queues.EMAIL
    assert queue("satismeter_app.tasks.send_staff_alerts") == queues.EMAIL
    assert queue("satismeter_app.tasks.send_staff_digests") == queues.EMAIL
    assert queue("satismeter_app.tasks.sweep_deliveries") == queues.HOUSEKEEPING
    assert queue("satismeter_app.tasks.forget_segment_message_ids") == queues.HOUSEKEEPING


class SlowSmtp:
    """An aiosmtpd handler that takes SMTP_SECONDS to accept each message."""

    def __init__(self) -> None:
        self.started = 0
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started += 1
        await asyncio.sleep(SMTP_SECONDS)
        self.accepted += 1
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[SlowSmtp, int]]:
    handler, port = SlowSmtp(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def celery(tmp_path: Path, smtp: tuple[SlowSmtp, int], settings: Any) -> Iterator[CeleryHarness]:
    if connection.vendor != "postgresql":
        pytest.skip("the workers must share the test database; CI runs this on PostgreSQL")
    settings.SATISMETER = {**SATISMETER, "WIDGET_RATE_PER_CLIENT": "1000000/min"}
    redis_server = RedisServer(tmp_path / "redis").start()
    harness = CeleryHarness(
        directory=tmp_path,
        database_url=database_url(connection.settings_dict),
        broker_url=redis_server.url,
        overrides={
            "SATISMETER": SATISMETER,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": smtp[1],
        },
    )
    restore = use_broker(redis_server.url)
    yield harness
    restore()
    harness.stop()
    redis_server.stop()
    print(harness.logs())  # shown when the test fails


def due_reminders(project: Project, make_survey: Any, make_end_user: Any, count: int) -> None:
    survey = make_survey(
        project, reminders_enabled=True, reminder_sender_email="team@acme.test", min_tenure_days=0
    )
    shown = timezone.now() - timedelta(days=10)
    for n in range(count):
        user = make_end_user(project, email=f"user{n}@example.com")
        Display.objects.create(project=project, survey=survey, user=user, created=shown)


def test_a_slow_smtp_server_does_not_delay_segment_deliveries(
    celery: CeleryHarness,
    smtp: tuple[SlowSmtp, int],
    project: Project,
    survey: Any,
    make_survey: Any,
    make_end_user: Any,
    api_client: Any,
) -> None:
    handler = smtp[0]
    sink = SegmentSink(WRITE_KEY).start()
    try:
        Integration.objects.create(
            project=project, kind="segment", secret=WRITE_KEY, settings={"host": sink.url}
        )
        due_reminders(project, make_survey, make_end_user, count=3)
        celery.worker("email", queues=queues.EMAIL)
        celery.worker("deliveries", queues=queues.DELIVERIES)
        send_reminders.delay()
        wait_until(lambda: handler.started, 30, "the first reminder to reach the SMTP server")

        started = time.monotonic()
        for n in range(5):
            reply = api_client.post(
                "/api/responses",
                {
                    "writeKey": project.write_key,
                    "campaign": str(survey.pk),
                    "rating": n,
                    "userId": f"customer-{n}",
                },
                format="json",
            )
            assert reply.status_code == 201, reply.content
        wait_until(lambda: len(sink.message_ids) >= 5, 10, "the five answers at Segment")

        assert time.monotonic() - started < 3
        assert handler.accepted < 3, "the reminders were sent before the answers"
        assert sink.problems == []
        wait_until(lambda: handler.accepted == 3, 4 * SMTP_SECONDS, "the three reminders")
        wait_until(
            lambda: Reminder.objects.filter(state=Reminder.State.SENT).count() == 3, 10, "rows"
        )
    finally:
        sink.stop()
