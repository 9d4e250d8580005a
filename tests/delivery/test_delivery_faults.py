"""Feedback reaches its destinations exactly once by message id, through real parts that fail.

Each test makes responses through the widget API in this process (PostgreSQL, committed), while
real ``celery worker`` and ``celery beat`` processes deliver them to a loopback sink that checks Segment's format and counts every message id it
accepts. Then one part fails: the sink answers 500, the sink is down, a worker is killed with
SIGKILL mid-batch, the broker is stopped and restarted. Every test asserts that the set of
message ids the sink accepted is exactly the set the responses made, and reports how many
arrived twice (only a kill mid-request can cause that; Segment drops repeats by messageId).

Every test runs on both brokers: a redis-server of the test's own, and RabbitMQ (a vhost of
the test's own on the machine's server, ``TEST_RABBITMQ_URL``; the restart test starts a node
of its own, so as never to stop the shared one; both need ``rabbitmqctl`` to work, as root or
the rabbitmq user). Without RabbitMQ the RabbitMQ runs skip, unless ``REQUIRE_RABBITMQ`` is set
(CI), where they fail.

PostgreSQL only: the worker processes must share the test database, and SQLite's test database
lives in this process's memory. CI runs these on PostgreSQL.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from satismeter_app.destinations.webhook import SIGNATURE_HEADER, verify_signature
from satismeter_app.models import Delivery, DeliveryAttempt, Integration, Project, Survey
from tests.delivery.harness import (
    RABBITMQ_BIN,
    CeleryHarness,
    RabbitMQServer,
    RabbitMQVhost,
    RedisServer,
    SegmentSink,
    Sink,
    database_url,
    rabbitmq_reachable,
    use_broker,
    wait_until,
)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WRITE_KEY = "wk_fault_tests_0123456789"
# Fast clocks, so that retries, claims and sweeps happen within seconds.
DELIVERY_SETTINGS = {
    "REQUESTS_TIMEOUT": 3,
    "DELIVERY_RETRY_BASE_DELAY": 0.2,
    "DELIVERY_RETRY_MAX_DELAY": 1,
    "DELIVERY_CLAIM_TIMEOUT": 6,
    "PUBLIC_BASE_URL": "http://testserver",
    # The sinks listen on loopback (tests/settings.py turns it on; these settings replace it).
    "ALLOW_PRIVATE_DESTINATIONS": True,
}
SWEEP_EVERY = 0.5
DEADLINE = 45  # seconds for everything to arrive once the fault is over


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "the worker processes must share the test database; SQLite's test database is in "
            "this process's memory. CI runs these tests on PostgreSQL."
        )


Broker = RedisServer | RabbitMQServer | RabbitMQVhost


def start_broker(kind: str, directory: Path, restarts: bool) -> Broker:
    """A broker of the test's own: ``stop()`` and ``start()`` it only where ``restarts``."""
    if kind == "redis":
        return RedisServer(directory / "redis").start()
    missing = ""
    if not rabbitmq_reachable():
        missing = "RabbitMQ does not answer at TEST_RABBITMQ_URL"
    elif restarts and not (RABBITMQ_BIN / "rabbitmq-server").exists():
        missing = f"no rabbitmq-server in {RABBITMQ_BIN} (RABBITMQ_BIN) to start a node with"
    if missing and os.environ.get("REQUIRE_RABBITMQ"):
        pytest.fail(f"REQUIRE_RABBITMQ is set but {missing}")
    if missing:
        pytest.skip(missing)
    if restarts:
        return RabbitMQServer(directory / "rabbitmq").start()
    return RabbitMQVhost(f"satismeter-test-{uuid.uuid4().hex[:12]}").start()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    restarts = request.node.get_closest_marker("restarts_broker") is not None
    server = start_broker(request.param, tmp_path, restarts)
    yield server
    server.stop()


@pytest.fixture
def celery(tmp_path: Path, broker: Broker, settings: Any) -> Iterator[CeleryHarness]:
    """Worker and beat processes (started by each test) and this process's publisher, all on
    the test's own broker."""
    settings.SATISMETER = {
        **DELIVERY_SETTINGS,
        "WIDGET_RATE_PER_KEY": "1000000/min",
        "WIDGET_RATE_PER_CLIENT": "1000000/min",
    }
    harness = CeleryHarness(
        directory=tmp_path,
        database_url=database_url(connection.settings_dict),
        broker_url=broker.url,
        overrides={
            "SATISMETER": DELIVERY_SETTINGS,
            "CELERY_BEAT_SCHEDULE": {
                "sweep": {"task": "satismeter_app.tasks.sweep_deliveries", "schedule": SWEEP_EVERY}
            },
        },
    )
    restore = use_broker(broker.url)
    yield harness
    restore()
    harness.stop()
    print(harness.logs())  # shown when the test fails


@pytest.fixture
def sink() -> Iterator[SegmentSink]:
    server = SegmentSink(WRITE_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def answer(api_client: Any, project: Project, survey: Survey) -> Callable[[int], float]:
    """One response (rating and comment: answered + completed) through the widget API;
    returns how long the API took."""

    def post(n: int) -> float:
        started = time.monotonic()
        reply = api_client.post(
            "/api/responses",
            {
                "writeKey": project.write_key,
                "campaign": str(survey.pk),
                "userId": f"customer-{n}",
                "rating": n % 11,
                "feedback": f"comment {n}",
            },
            format="json",
        )
        assert reply.status_code == 201, reply.content
        return time.monotonic() - started

    return post


def segment(project: Project, sink: Sink) -> Integration:
    return Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"host": sink.url}
    )


def expected_message_ids() -> set[str]:
    """Every Segment message the rows make: the track, and an identify per completion."""
    ids = set()
    rows = Delivery.objects.filter(destination="segment")
    for event, message_id in rows.values_list("event", "message_id"):
        ids.add(message_id)
        if event == "completed":
            ids.add(f"{message_id}-identify")
    return ids


def wait_for_all(sink: SegmentSink, timeout: float = DEADLINE) -> set[str]:
    expected = expected_message_ids()

    def arrived() -> bool:
        undelivered = Delivery.objects.exclude(state=Delivery.State.DELIVERED).exists()
        return not undelivered and set(sink.message_ids) >= expected

    wait_until(arrived, timeout, "every message to be delivered", every=0.2)
    return expected


def assert_exactly_once(
    sink: SegmentSink, expected: set[str], fault: str, *, may_repeat: set[str] = frozenset()
) -> None:
    """Every message arrived, and none twice but those in ``may_repeat`` (a batch in flight
    when its worker died is sent again, with the same messageId)."""
    assert sink.problems == []
    assert set(sink.message_ids) == expected
    repeated = {mid for mid, count in sink.message_ids.items() if count > 1}
    assert repeated <= may_repeat, f"sent twice: {sorted(repeated - may_repeat)[:5]}"
    assert not Delivery.objects.filter(state=Delivery.State.DEAD).exists()
    print(
        f"[fault] {fault}: messages made={len(expected)} delivered={len(set(sink.message_ids))} "
        f"duplicates={sink.duplicates} answers={dict(sink.answered)}"
    )


def test_worker_delivers_to_segment_slack_and_webhooks(
    celery: CeleryHarness, sink: SegmentSink, project: Project, answer: Callable[[int], float]
) -> None:
    """No fault: the baseline, with all three kinds through the real worker."""
    hook_sink, slack_sink = Sink().start(), Sink().start()
    try:
        segment(project, sink)
        Integration.objects.create(
            project=project, kind="webhook", secret="whsec", settings={"url": hook_sink.url}
        )
        Integration.objects.create(project=project, kind="slack", secret=f"{slack_sink.url}/T/B")
        celery.worker()
        celery.beat()
        for n in range(20):
            answer(n)

        expected = wait_for_all(sink)

        assert_exactly_once(sink, expected, "none")
        assert len(hook_sink.received) == len(slack_sink.received) == 20
        for request in hook_sink.received:
            assert verify_signature(request.body, request.headers[SIGNATURE_HEADER], "whsec")
        assert all("blocks" in request.json() for request in slack_sink.received)
    finally:
        hook_sink.stop()
        slack_sink.stop()


def test_the_sink_answers_500_for_a_while_then_recovers(
    celery: CeleryHarness, sink: SegmentSink, project: Project, answer: Callable[[int], float]
) -> None:
    segment(project, sink)
    first_request: list[float] = []

    def fail_for_three_seconds(request: Any) -> tuple[int, dict[str, str], bytes]:
        first_request[:] = first_request or [time.monotonic()]
        if time.monotonic() < first_request[0] + 3:
            return 500, {}, b"internal error"
        return sink.accept(request)

    sink.answer = fail_for_three_seconds
    celery.worker("worker-1")
    celery.worker("worker-2")  # two workers share the rows: SKIP LOCKED keeps them apart
    celery.beat()
    for n in range(100):
        answer(n)

    expected = wait_for_all(sink)

    assert_exactly_once(sink, expected, "sink answers 500, then recovers")
    assert sink.duplicates == 0
    assert sink.answered[500] > 0
    assert DeliveryAttempt.objects.filter(status_code=500, outcome="retry").exists()


def test_the_sink_is_down_while_200_responses_are_made(
    celery: CeleryHarness, project: Project, answer: Callable[[int], float]
) -> None:
    sink = SegmentSink(WRITE_KEY)  # not started: connection refused
    segment(project, sink)
    celery.worker()
    celery.beat()
    try:
        for n in range(200):
            answer(n)
        wait_until(
            lambda: DeliveryAttempt.objects.filter(status_code__isnull=True).exists(),
            DEADLINE,
            "a failed attempt while the sink is down",
        )
        assert not Delivery.objects.filter(state=Delivery.State.DELIVERED).exists()
        sink.start()

        expected = wait_for_all(sink)

        assert_exactly_once(sink, expected, "sink down while 200 responses are made")
        assert sink.duplicates == 0
    finally:
        sink.stop()


def test_a_worker_killed_mid_batch_loses_nothing(
    celery: CeleryHarness, sink: SegmentSink, project: Project, answer: Callable[[int], float]
) -> None:
    segment(project, sink)
    for n in range(150):
        answer(n)  # queued in the broker; no worker yet
    sink.delay = 1.5  # the sink takes the batch, then holds its answer
    doomed = celery.worker("doomed")
    wait_until(lambda: sink.received, DEADLINE, "the first batch to reach the sink")
    celery.kill(doomed)  # mid-request: the batch arrived, its rows are still claimed
    in_flight = {m["messageId"] for r in sink.received for m in r.json()["batch"]}
    assert Delivery.objects.filter(state=Delivery.State.SENDING).exists()
    sink.delay = 0
    celery.worker("survivor")
    celery.beat()

    expected = wait_for_all(sink)

    assert_exactly_once(
        sink, expected, "worker killed with SIGKILL mid-batch", may_repeat=in_flight
    )


@pytest.mark.restarts_broker
def test_the_broker_stops_and_restarts_while_responses_keep_coming(
    celery: CeleryHarness,
    broker: RedisServer | RabbitMQServer,
    sink: SegmentSink,
    project: Project,
    answer: Callable[[int], float],
) -> None:
    segment(project, sink)
    celery.worker()
    celery.beat()
    for n in range(60):
        answer(n)
    broker.stop()
    outage = sorted(answer(n) for n in range(60, 120))  # the API keeps answering
    broker.start()  # same port; Redis comes back empty: every queued task is gone
    for n in range(120, 180):
        answer(n)

    expected = wait_for_all(sink)

    assert_exactly_once(sink, expected, "broker stopped and restarted")
    assert max(outage) < 1.0, f"the API waited {max(outage):.2f}s for the broker"
    median, worst = outage[len(outage) // 2], outage[-1]
    print(
        f"[fault] API during the outage: median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms"
    )
