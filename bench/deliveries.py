"""Messages per second the outbox delivers to Segment with 1, 2 and 4 Celery workers, next
to the official Segment client sending the same messages directly.

    .venv/bin/python bench/deliveries.py [--responses 2000] [--workers 1,2,4] [--rounds 3] [--json]

One run, all on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_deliveries_<pid>``), migrates
   it, starts a redis-server of its own on a spare port and a Segment stand-in (the tests'
   ``SegmentSink``: it checks the batch format and counts every messageId);
2. makes ``--responses`` completed responses through the service (rating and comment: the
   rows ``answered`` and ``completed``, three Segment messages: two tracks and an identify);
3. ``--rounds`` rounds (3) of:

   - **client, async mode**: the same messages through the official client's default mode (a
     consumer thread batching up to 100 messages), timed until ``flush()`` returns;
   - **outbox**, once per ``--workers`` count: every row made pending and due again, that many
     workers (``--pool solo``) started, one send task each, timed until no row is left to
     send: claims of 500 rows with SKIP LOCKED, messages built by the official client,
     batches of up to 100 messages, a POST per batch on one keep-alive session, rows and
     attempt log written back in bulk;

   each phase reports its median round: the phases of one round run seconds apart, so that
   a burst of load from elsewhere on a shared machine weighs on the client and the outbox
   alike;
4. **client, sync mode**, once: the same messages through
   ``segment.analytics.Client(sync_mode=True)``, one blocking POST per message (how the
   client is used inside a Celery task);
5. prints messages, requests, seconds and messages/s per phase and each outbox phase's ratios
   to the two client modes; stops the workers, redis-server and sink and drops the database,
   also on errors and Ctrl-C.

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.delivery.harness import (  # noqa: E402  (needs ROOT on sys.path)
    CeleryHarness,
    RedisServer,
    SegmentSink,
    wait_until,
)

WRITE_KEY = "bench_write_key_0123456789abcdef"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=2000, help="completed responses")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="comma-separated worker counts, one outbox phase each (default 1,2,4)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the async client and outbox phases"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers takes positive counts, e.g. 1,2,4")
    if args.responses < 1:
        parser.error("--responses must be positive")
    if "127.0.0.1" not in args.postgres and "localhost" not in args.postgres:
        parser.error("the bench only talks to loopback addresses")
    return args


# --- the environment ---------------------------------------------------------------------------


def run_sql(args: argparse.Namespace, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


@contextmanager
def environment(args: argparse.Namespace, directory: Path) -> Iterator[dict[str, Any]]:
    """Database, redis-server and sink of this run; all gone afterwards."""
    database = f"satismeter_bench_deliveries_{os.getpid()}"
    database_url = f"{args.postgres.rstrip('/')}/{database}"
    redis_server = RedisServer(directory / "redis")
    sink = SegmentSink(WRITE_KEY)
    run_sql(args, "CREATE DATABASE {}", database)
    try:
        redis_server.start()
        sink.start()
        os.environ.update(
            DJANGO_SETTINGS_MODULE="project.settings",
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=redis_server.url,
            SATISMETER_VAR_DIR=str(directory / "var"),
            LOG_LEVEL="WARNING",
        )
        os.environ.pop("REDIS_URL", None)
        yield {"database_url": database_url, "redis": redis_server, "sink": sink}
    finally:
        sink.stop()
        redis_server.stop()
        close_django_connections()
        run_sql(args, "DROP DATABASE IF EXISTS {} WITH (FORCE)", database)


def close_django_connections() -> None:
    with suppress(Exception):
        from django.db import connections

        connections.close_all()


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- seeding -------------------------------------------------------------------------------------


def seed(count: int, sink: SegmentSink) -> int:
    """Completed responses made by the service; returns the integration's id."""
    from django.utils import timezone

    from satismeter_app.models import EndUser, Integration, Project, Survey
    from satismeter_app.services import responses
    from satismeter_app.services.snapshots import project_config

    project = Project.objects.create(name="Bench")
    survey = Survey.objects.create(
        project=project, name="Quarterly NPS", state="active", min_tenure_days=0
    )
    integration = Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"host": sink.url}
    )
    long_ago = timezone.now() - timezone.timedelta(days=400)
    users = EndUser.objects.bulk_create(
        EndUser(project=project, user_id=f"customer-{n}", first_seen=long_ago, last_seen=long_ago)
        for n in range(count)
    )
    config = project_config(project.write_key)
    assert config is not None
    for n, user in enumerate(users):
        data = responses.ResponseInput(rating=n % 11, feedback=f"Comment number {n}: fine.")
        responses.start_response(config, user, survey.pk, data, now=timezone.now())
    return integration.pk


def segment_calls() -> list[Any]:
    """The client calls the outbox rows make, for the direct phases."""
    from satismeter_app.destinations.segment import ALL_TRAITS, calls_for
    from satismeter_app.models import Delivery

    rows = Delivery.objects.order_by("pk").values_list("event", "payload", "message_id")
    return [call for e, p, m in rows for call in calls_for(e, p, m, ALL_TRAITS)]


# --- the phases ----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    messages: int
    requests: int
    seconds: float
    duplicates: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def reset(sink: SegmentSink) -> None:
    sink.received.clear()
    sink.messages.clear()
    sink.message_ids.clear()
    sink.answered.clear()


def make_due_again() -> None:
    """Every row pending and due, its attempts forgotten: the next phase sends them afresh."""
    from django.utils import timezone

    from satismeter_app.models import Delivery, DeliveryAttempt

    DeliveryAttempt.objects.all().delete()
    Delivery.objects.update(
        state=Delivery.State.PENDING,
        next_attempt_at=timezone.now(),
        attempts=0,
        delivered_at=None,
        last_status=None,
        last_error="",
    )


def outbox_phase(
    directory: Path, env: dict[str, Any], integration_id: int, expected: int, workers: int
) -> Phase:
    """``workers`` worker processes (``--pool solo``), one send task each: they share the rows
    through SKIP LOCKED claims, as workers share a busy integration's queued tasks."""
    import redis

    from project.celery import app
    from satismeter_app import tasks
    from satismeter_app.models import Delivery

    sink: SegmentSink = env["sink"]
    redis.Redis.from_url(env["redis"].url).flushdb()  # the seeding's on-commit tasks
    make_due_again()
    reset(sink)
    harness = CeleryHarness(directory, env["database_url"], env["redis"].url)
    try:
        for n in range(workers):
            harness.start(
                "worker",
                f"worker{n}",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench{n}@%h",
                "-l",
                "warning",
            )
        wait_until(lambda: len(app.control.ping(timeout=0.5)) >= workers, 60, "every worker")
        log(f"{workers} worker(s) ready; sending through the outbox")
        started = time.perf_counter()
        for _ in range(workers):
            tasks.send_deliveries.apply_async((integration_id,))
        # Rows still to send, through the partial index the claims use: polling every 10 ms
        # must not load the database the workers write to (a dead row fails check() below).
        active = Delivery.objects.filter(state__in=[Delivery.State.PENDING, Delivery.State.SENDING])
        wait_until(lambda: not active.exists(), 600, "every row to be sent", every=0.01)
        seconds = time.perf_counter() - started
    finally:
        harness.stop()
    check(sink, expected, "outbox")
    name = f"outbox ({workers} worker{'s' if workers > 1 else ''})"
    return Phase(name, expected, len(sink.received), seconds, sink.duplicates)


def client_phase(name: str, sink: SegmentSink, calls: list[Any], *, sync_mode: bool) -> Phase:
    from segment.analytics import Client

    reset(sink)
    # A queue that holds every message: the default (10,000) drops the rest of a larger run.
    queue = max(len(calls), 10_000)
    client = Client(
        WRITE_KEY, host=sink.url, sync_mode=sync_mode, upload_size=100, max_queue_size=queue
    )
    started = time.perf_counter()
    for call in calls:
        getattr(client, call.method)(**call.kwargs)
    client.flush()
    seconds = time.perf_counter() - started
    if not sync_mode:
        client.join()
    check(sink, len(calls), name)
    return Phase(name, len(calls), len(sink.received), seconds, sink.duplicates)


def check(sink: SegmentSink, expected: int, name: str) -> None:
    if sink.problems or len(sink.message_ids) != expected:
        raise SystemExit(
            f"{name}: the sink got {len(sink.message_ids)} of {expected} messages; "
            f"problems: {sink.problems[:3]}"
        )


# --- the report -----------------------------------------------------------------------------------


def report(phases: list[Phase], responses: int) -> dict[str, Any]:
    *outboxes, sync, batched = phases
    return {
        "responses": responses,
        "phases": [asdict(p) | {"messages_per_second": round(p.per_second, 1)} for p in phases],
        "ratios": {
            p.name: {
                "to_sync_client": round(p.per_second / sync.per_second, 2),
                "to_async_client": round(p.per_second / batched.per_second, 2),
            }
            for p in outboxes
        },
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"Segment deliveries of {result['responses']} completed responses (loopback sink)")
    print(f"{'phase':<28}{'messages':>10}{'requests':>10}{'seconds':>10}{'msg/s':>10}{'dups':>6}")
    for p in result["phases"]:
        print(
            f"{p['name']:<28}{p['messages']:>10}{p['requests']:>10}{p['seconds']:>10.2f}"
            f"{p['messages_per_second']:>10.0f}{p['duplicates']:>6}"
        )
    for name, ratio in result["ratios"].items():
        print(
            f"{name:<20} / client sync: {ratio['to_sync_client']:>5.2f}×   "
            f"/ client async (batching): {ratio['to_async_client']:>5.2f}×"
        )


def median(phases: list[Phase]) -> Phase:
    """The round with the median rate: on a shared machine one round can be slowed down by
    whatever else runs just then, and the phases of a round run seconds apart."""
    return sorted(phases, key=lambda p: p.per_second)[len(phases) // 2]


def run(args: argparse.Namespace) -> dict[str, Any]:
    with TemporaryDirectory(prefix="satismeter-bench-") as tmp, environment(args, Path(tmp)) as env:
        setup_django()
        log(f"making {args.responses} completed responses")
        integration_id = seed(args.responses, env["sink"])
        calls = segment_calls()
        log(f"{len(calls)} Segment messages to send in each phase")
        rounds: dict[str, list[Phase]] = {}
        for number in range(1, args.rounds + 1):
            log(f"round {number} of {args.rounds}: the client in async mode, then the outbox")
            batched = client_phase("client, async (batching)", env["sink"], calls, sync_mode=False)
            outboxes = [
                outbox_phase(Path(tmp), env, integration_id, len(calls), workers)
                for workers in args.workers
            ]
            for phase in [*outboxes, batched]:
                rounds.setdefault(phase.name, []).append(phase)
        log("sending the same messages with the client, sync mode (once: it is slow)")
        sync = client_phase("client, sync mode", env["sink"], calls, sync_mode=True)
        close_django_connections()
        *outbox_names, batched_name = rounds
        phases = [median(rounds[name]) for name in outbox_names]
        return report([*phases, sync, median(rounds[batched_name])], args.responses)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
