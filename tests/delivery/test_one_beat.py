"""One beat: two ``celery beat`` processes on the same database never both send the schedule.
The first takes the PostgreSQL advisory lock and sends; the second says it is on standby and
sends nothing; killed with SIGKILL, the first lets the second take over within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.delivery.harness import CeleryHarness, RedisServer, database_url, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SENT = "Sending due task tick"
STANDBY = "this one is on standby"


@pytest.fixture
def celery(tmp_path: Path) -> Iterator[CeleryHarness]:
    if connection.vendor != "postgresql":
        pytest.skip("the beat lock is a PostgreSQL advisory lock; CI runs this on PostgreSQL")
    redis_server = RedisServer(tmp_path / "redis").start()
    harness = CeleryHarness(
        directory=tmp_path,
        database_url=database_url(connection.settings_dict),
        broker_url=redis_server.url,
        overrides={
            "SATISMETER": {"BEAT_STANDBY_POLL": 0.5},
            "CELERY_BEAT_SCHEDULE": {
                "tick": {"task": "satismeter_app.tasks.sweep_deliveries", "schedule": 0.5}
            },
        },
    )
    yield harness
    harness.stop()
    redis_server.stop()
    print(harness.logs())  # shown when the test fails


def log(celery: CeleryHarness, name: str) -> str:
    path = celery.directory / f"{name}.log"
    return path.read_text() if path.exists() else ""


def test_a_second_beat_waits_on_standby_and_takes_over_when_the_first_dies(
    celery: CeleryHarness,
) -> None:
    first = celery.beat("beat-1")
    wait_until(lambda: SENT in log(celery, "beat-1"), 30, "the first beat to send")
    celery.beat("beat-2")
    wait_until(lambda: STANDBY in log(celery, "beat-2"), 30, "the second beat's standby line")
    time.sleep(3)  # six periods of the schedule
    assert SENT not in log(celery, "beat-2")
    assert log(celery, "beat-1").count(SENT) >= 6

    celery.kill(first)  # SIGKILL: PostgreSQL ends its session and releases the lock
    killed_at = time.monotonic()
    wait_until(lambda: SENT in log(celery, "beat-2"), 30, "the second beat to take over")

    assert time.monotonic() - killed_at < 5
    assert "holds the satismeter beat lock" in log(celery, "beat-2")
