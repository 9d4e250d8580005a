"""Staff alerts through real parts: ``celery beat`` schedules ``send_staff_alerts``, a ``celery
worker`` process runs it against the test's PostgreSQL database and sends through Django's SMTP
backend to aiosmtpd on loopback; two detractors make one email, and the beat's later runs send
nothing more within the alert interval."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from satismeter_app.models import StaffSubscription
from tests.delivery.harness import CeleryHarness, RedisServer, database_url, wait_until
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker process must share the test database (PostgreSQL)")


@pytest.fixture
def smtp(settings: Any) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def celery(tmp_path: Path, settings: Any, smtp: Collector) -> Iterator[CeleryHarness]:
    redis_server = RedisServer(tmp_path / "redis").start()
    harness = CeleryHarness(
        directory=tmp_path,
        database_url=database_url(connection.settings_dict),
        broker_url=redis_server.url,
        overrides={
            "SATISMETER": {"PUBLIC_BASE_URL": "https://nps.example.com"},
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": settings.EMAIL_HOST,
            "EMAIL_PORT": settings.EMAIL_PORT,
            "CELERY_BEAT_SCHEDULE": {
                "alerts": {"task": "satismeter_app.tasks.send_staff_alerts", "schedule": 0.5}
            },
        },
    )
    yield harness
    harness.stop()
    redis_server.stop()
    print(harness.logs())  # shown when the test fails


def test_the_beat_and_a_worker_send_one_alert_for_two_detractors(
    celery, smtp, project, survey, make_staff, make_response
):
    marie = make_staff(project, email="marie@acme.test", first_name="Marie")
    StaffSubscription.objects.create(user=marie, project=project, language="de")
    make_response(survey, rating=1, feedback="zu langsam")
    make_response(survey, rating=5)
    make_response(survey, rating=9)
    celery.worker()
    celery.beat()

    wait_until(lambda: smtp.messages, 45, "the alert")
    time.sleep(3)  # the beat runs the task six more times meanwhile

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"].strip() == "2 Kritiker haben geantwortet: Acme"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Hallo Marie,") and "zu langsam" in text
    assert "https://nps.example.com/admin/satismeter_app/response/" in text
    assert StaffSubscription.objects.get().last_alert_at is not None
