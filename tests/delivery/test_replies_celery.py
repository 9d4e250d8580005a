"""A staff reply through real parts: posted on the admin's response page in this process,
sent by a real ``celery worker`` (with ``celery beat`` sweeping) to aiosmtpd on loopback —
first while the mail server is down, then once it is back. PostgreSQL only, as the other
worker tests (see test_delivery_faults.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse

from satismeter_app.models import Delivery, Reply
from tests.delivery.harness import (
    CeleryHarness,
    RedisServer,
    database_url,
    free_port,
    use_broker,
    wait_until,
)
from tests.services.smtp_harness import Collector

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

FAST = {"DELIVERY_RETRY_BASE_DELAY": 0.2, "DELIVERY_RETRY_MAX_DELAY": 1}


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker processes must share the test database (PostgreSQL only)")


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def celery(tmp_path: Path, smtp_port: int, settings: Any) -> Iterator[CeleryHarness]:
    redis_server = RedisServer(tmp_path / "redis").start()
    settings.SATISMETER = {**settings.SATISMETER, **FAST}
    harness = CeleryHarness(
        directory=tmp_path,
        database_url=database_url(connection.settings_dict),
        broker_url=redis_server.url,
        overrides={
            "SATISMETER": FAST,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": smtp_port,
            "EMAIL_TIMEOUT": 3,
            "CELERY_BEAT_SCHEDULE": {
                "sweep": {"task": "satismeter_app.tasks.sweep_deliveries", "schedule": 0.5}
            },
        },
    )
    restore = use_broker(redis_server.url)
    yield harness
    restore()
    harness.stop()
    redis_server.stop()
    print(harness.logs())  # shown when the test fails


def test_a_reply_waits_for_the_mail_server_and_arrives_once_it_is_back(
    client, celery, smtp_port, make_staff, project, make_survey, make_end_user, make_response
):
    survey = make_survey(project, reminder_sender_email="team@acme.test")
    user = make_end_user(project, email="ben@example.com", language="de")
    response = make_response(survey, user=user, rating=2, language="de")
    client.force_login(make_staff(project, email="anna@acme.test"))
    celery.worker()
    celery.beat()
    url = reverse("admin:satismeter_app_response_reply", args=[response.pk])
    assert client.post(url, {"subject": "", "message": "Wir kümmern uns."}).status_code == 302

    def tried() -> bool:
        return Delivery.objects.filter(attempts__gte=1, state=Delivery.State.PENDING).exists()

    wait_until(tried, 30, "the worker to try while the mail server is down", every=0.2)
    assert Reply.objects.get().state == Reply.State.PENDING
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        wait_until(lambda: collector.messages, 30, "the reply to arrive", every=0.2)
    finally:
        controller.stop()
    assert collector.envelopes == [("team@acme.test", ["ben@example.com"])]
    message = collector.messages[0]
    assert message["Reply-To"] == "anna@acme.test"
    assert "Hallo," in message.get_body(preferencelist=("plain",)).get_content()

    def sent() -> bool:
        return Reply.objects.get().state == Reply.State.SENT

    wait_until(sent, 10, "the reply to be recorded as sent", every=0.2)
