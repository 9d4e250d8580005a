"""Segment batch ingest and the streamed export of responses, next to PostgreSQL's own COPY.

    .venv/bin/python bench/api.py [--responses 100000] [--batches 60] [--skip-ingest]
        [--repeat 1] [--json]

One run, all on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_api_<pid>``) and migrates it;
2. **ingest**: starts gunicorn (``bench.settings``) and posts ``--batches`` batches of 500
   Segment messages to ``POST /segment/v1/batch`` from ``--clients`` threads on keep-alive
   connections — new users identified with traits, known users re-identified, events tracked —
   and reports messages per second and the latency of a batch; then counts the SQL queries of
   one 500-message batch in process;
3. **export**: seeds ``--responses`` responses (bulk inserts, then ``ANALYZE``) and reads them
   three ways in this process: ``GET /api/responses`` as JSON and as CSV through the streaming
   view (Django's test client, every chunk consumed and dropped), and
   ``COPY (SELECT …) TO STDOUT`` of the same rows and columns through psycopg. Each is timed
   on its own (``--repeat``: the best of that many reads), then run again under tracemalloc
   for its peak memory; the export of half the rows is measured too, to show that the peak
   does not grow with the number of rows. The report gives export/COPY ratios;
4. drops the database and stops gunicorn, also on Ctrl-C and errors.

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.widget import (  # noqa: E402  (the path above makes the package importable)
    Environment,
    create_database,
    drop_database,
    free_port,
    log,
    run_phase,
    start_gunicorn,
    stop_gunicorn,
    wait_until_serving,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BATCH_SIZE = 500


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000, help="responses to export")
    parser.add_argument("--batches", type=int, default=60, help="500-message batches to send")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--skip-ingest", action="store_true", help="measure the export only")
    parser.add_argument("--repeat", type=int, default=1, help="export reads timed, the best kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if urlsplit(args.postgres).hostname not in LOOPBACK:
        parser.error(f"{args.postgres}: the bench only talks to loopback addresses")
    if min(args.responses, args.batches, args.clients) < 1:
        parser.error("--responses, --batches and --clients must be positive")
    return args


def make_environment(args: argparse.Namespace) -> Environment:
    database = f"satismeter_bench_api_{os.getpid()}"
    database_url = f"{args.postgres.rstrip('/')}/{database}"
    variables = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",  # no cache is needed here: a local-memory one
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    return Environment(database, database_url, "", variables)


def setup_django(env: Environment) -> None:
    os.environ.update(env.variables)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- ingest ---------------------------------------------------------------------------------------


def batch_body(index: int, key: str) -> bytes:
    """500 messages: 250 new users identified, 150 events of known users, 100 re-identified."""
    messages: list[dict[str, Any]] = []
    for n in range(250):
        user = f"b{index}-u{n}"
        traits = {"email": f"{user}@example.com", "name": f"User {n}", "plan": "pro"}
        messages.append(
            {"type": "identify", "userId": user, "traits": {**traits, "createdAt": 1434446387}}
        )
    for n in range(150):
        messages.append(
            {
                "type": "track",
                "userId": f"b{index}-u{n}",
                "event": "Report Exported" if n % 2 else "Upgraded",
                "properties": {"format": "pdf", "pages": n},
                "messageId": f"b{index}-m{n}",
                "timestamp": "2024-05-01T12:00:00.000Z",
            }
        )
    for n in range(100):
        messages.append(
            {"type": "identify", "userId": f"b{index}-u{n}", "traits": {"seats": n, "plan": "team"}}
        )
    return json.dumps({"batch": messages, "sentAt": "2024-05-01T12:00:01Z"}).encode()


@dataclass
class Ingest:
    batches: int
    messages: int
    errors: int
    seconds: float
    messages_per_second: float
    batch_p50_ms: float
    batch_p99_ms: float
    batch_bytes: int
    queries_per_batch: int
    error_samples: list[str]


def run_ingest(args: argparse.Namespace, port: int, key: str) -> Ingest:
    bodies = [batch_body(i, key) for i in range(args.batches)]
    auth = base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {auth}"}

    def spec(index: int) -> tuple[str, str, bytes | None]:
        return "POST", "/segment/v1/batch", bodies[index]

    phase = run_phase(
        "ingest", port, spec, clients=args.clients, total=args.batches, headers=headers
    )
    return Ingest(
        batches=phase.requests,
        messages=phase.requests * BATCH_SIZE,
        errors=phase.errors,
        seconds=phase.seconds,
        messages_per_second=round(phase.requests_per_second * BATCH_SIZE),
        batch_p50_ms=phase.p50_ms,
        batch_p99_ms=phase.p99_ms,
        batch_bytes=len(bodies[0]),
        queries_per_batch=count_batch_queries(key),
        error_samples=phase.error_samples,
    )


def count_batch_queries(key: str) -> int:
    """The SQL queries of one more 500-message batch, through Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{key}:".encode()).decode())
    with CaptureQueriesContext(connection) as captured:
        reply = client.post(
            "/segment/v1/batch", batch_body(10**6, key), content_type="application/json"
        )
    if reply.status_code != 200 or reply.json()["accepted"] != BATCH_SIZE:
        raise RuntimeError(f"in-process batch: HTTP {reply.status_code} {reply.content[:300]!r}")
    return len(captured)


# --- export ---------------------------------------------------------------------------------------


def seed_responses(count: int) -> tuple[int, str]:
    """A project with ``count`` responses of 20,000 users to 3 surveys; its id and a key."""
    from django.db import connection, transaction
    from django.utils import timezone

    from satismeter_app.models import ApiKey, EndUser, Project, Response, Survey

    now = timezone.now()
    with transaction.atomic():
        project = Project.objects.create(name="Bench: export")
        surveys = [
            Survey.objects.create(project=project, name=f"NPS {k}", state="active")
            for k in range(3)
        ]
        users = EndUser.objects.bulk_create(
            (
                EndUser(
                    project=project,
                    user_id=f"user-{n}",
                    email=f"user{n}@example.com",
                    name=f"User {n}",
                    traits={"plan": "pro" if n % 3 else "free", "seats": n % 50, "role": "admin"},
                    groups={"acme": {"plan": "enterprise"}} if n % 10 == 0 else {},
                    first_seen=now - timedelta(days=400),
                    last_seen=now,
                )
                for n in range(min(20_000, count))
            ),
            batch_size=5000,
        )
        rows = (
            response_row(project, surveys[n % 3], users[n % len(users)], n, now)
            for n in range(count)
        )
        Response.objects.bulk_create(rows, batch_size=5000)
        key = ApiKey.issue(project, "bench")[1]
    # Statistics as a table in use has them, and the same for every reading: otherwise the
    # planner sorts 100,000 rows it believes are 250, until autovacuum analyzes them mid-run.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project.pk, key


def response_row(project: Any, survey: Any, user: Any, n: int, now: Any) -> Any:
    from satismeter_app.models import Response

    rating = n % 11
    when = now - timedelta(minutes=n)
    return Response(
        project=project,
        survey=survey,
        user=user,
        rating=rating,
        feedback="The reports are slow, =SUM(A1) aside" if n % 4 == 0 else "",
        answers=[{"id": "q2", "label": "Why?", "value": "Speed", "type": "single-choice"}]
        if n % 5 == 0
        else [],
        language="en",
        referrer="https://app.example.com/reports",
        device={"os": "macOS", "type": "desktop"},
        traits=user.traits,
        completed=True,
        completed_at=when,
        created=when,
    )


@dataclass
class Reading:
    name: str
    rows: int
    megabytes: float
    seconds: float
    rows_per_second: float
    peak_mib: float  # tracemalloc's peak, in a second run


def measure(name: str, rows: int, read: Callable[[], int], repeat: int = 1) -> Reading:
    """The best time of ``repeat`` reads (on a busy machine, the least disturbed), then the
    peak memory of one more."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        size = read()
        times.append(time.perf_counter() - started)
    seconds = min(times)
    tracemalloc.start()
    try:
        read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Reading(
        name=name,
        rows=rows,
        megabytes=round(size / 1e6, 1),
        seconds=round(seconds, 2),
        rows_per_second=round(rows / seconds),
        peak_mib=round(peak / 2**20, 2),
    )


def view_reader(key: str, **params: str) -> Callable[[], int]:
    """Consume ``GET /api/responses`` chunk by chunk; returns the bytes read."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def read() -> int:
        reply = client.get("/api/responses", params)
        if reply.status_code != 200 or not reply.streaming:
            raise RuntimeError(f"export: HTTP {reply.status_code}")
        size = 0
        for chunk in reply.streaming_content:
            size += len(chunk)
        reply.close()
        return size

    return read


COPY_SQL = """
COPY (
    SELECT r.id, r.created, r.project_id, r.survey_id, u.id, u.user_id, u.name, u.email,
           r.rating, r.feedback, r.dismissed, r.pending, r.completed, r.method, r.language,
           r.referrer, r.device, r.answers, r.traits, s.type, u.created_at, u.erased, u.groups
    FROM satismeter_app_response r
    JOIN satismeter_app_enduser u ON u.id = r.user_id
    JOIN satismeter_app_survey s ON s.id = r.survey_id
    WHERE r.project_id = %s
    ORDER BY r.created, r.id
) TO STDOUT (FORMAT csv)
"""


def copy_reader(database_url: str, project_id: int) -> Callable[[], int]:
    """PostgreSQL's own COPY of the same rows and columns, consumed block by block."""
    import psycopg

    def read() -> int:
        size = 0
        with (
            psycopg.connect(database_url) as conn,
            conn.cursor() as cursor,
            cursor.copy(COPY_SQL, (project_id,)) as copy,
        ):
            for block in copy:
                size += len(block)
        return size

    return read


def run_export(args: argparse.Namespace, env: Environment) -> dict[str, Any]:
    log(f"seeding {args.responses} responses ...")
    project_id, key = seed_responses(args.responses)
    from satismeter_app.models import Response

    half = Response.objects.filter(project_id=project_id).order_by("created")[args.responses // 2]
    middle = half.created.isoformat()
    log("export: JSON, CSV, COPY; then JSON and CSV of half the rows ...")
    readings = [
        measure("GET /api/responses (JSON)", args.responses, view_reader(key), args.repeat),
        measure(
            "GET /api/responses?format=csv",
            args.responses,
            view_reader(key, format="csv"),
            args.repeat,
        ),
        measure(
            "COPY (SELECT ...) TO STDOUT",
            args.responses,
            copy_reader(env.database_url, project_id),
            args.repeat,
        ),
        measure(
            "JSON, half the rows",
            args.responses - args.responses // 2,
            view_reader(key, startDate=middle),
            args.repeat,
        ),
        measure(
            "CSV, half the rows",
            args.responses - args.responses // 2,
            view_reader(key, format="csv", startDate=middle),
            args.repeat,
        ),
    ]
    json_, csv_, copy, half_, csv_half = readings
    return {
        "readings": [asdict(r) for r in readings],
        "ratios": {
            "json_time_vs_copy": round(json_.seconds / copy.seconds, 1),
            "csv_time_vs_copy": round(csv_.seconds / copy.seconds, 1),
            "json_peak_vs_copy": round(json_.peak_mib / copy.peak_mib, 1),
            "csv_peak_vs_copy": round(csv_.peak_mib / copy.peak_mib, 1),
            "json_peak_all_vs_half": round(json_.peak_mib / half_.peak_mib, 2),
            "csv_peak_all_vs_half": round(csv_.peak_mib / csv_half.peak_mib, 2),
        },
    }


# --- the run --------------------------------------------------------------------------------------


def print_table(report: dict[str, Any]) -> None:
    setup = report["setup"]
    print(
        f"PostgreSQL on loopback; gunicorn {setup['workers']} {setup['worker_class']} workers "
        f"x {setup['threads']} threads, {setup['clients']} client threads, "
        f"{setup['cpus']}-core machine"
    )
    print()
    if report["ingest"]:
        print_ingest(Ingest(**report["ingest"]))
    print_export(report["export"])


def print_ingest(ingest: Ingest) -> None:
    print(
        f"ingest: {ingest.batches} batches of {BATCH_SIZE} messages "
        f"({ingest.batch_bytes / 1000:.0f} KB each) via POST /segment/v1/batch"
    )
    print(
        f"  {ingest.messages_per_second} messages/s; a batch takes {ingest.batch_p50_ms:.0f} ms "
        f"(p50), {ingest.batch_p99_ms:.0f} ms (p99); {ingest.errors} errors; "
        f"{ingest.queries_per_batch} SQL queries per batch (API key included)"
    )
    for sample in ingest.error_samples:
        print(f"  error: {sample}")
    print()


def print_export(export: dict[str, Any]) -> None:
    print(f"{'export':<32}{'rows':>8}{'MB':>8}{'s':>8}{'rows/s':>10}{'peak MiB':>10}")
    for r in export["readings"]:
        print(
            f"{r['name']:<32}{r['rows']:>8}{r['megabytes']:>8.1f}{r['seconds']:>8.2f}"
            f"{r['rows_per_second']:>10}{r['peak_mib']:>10.2f}"
        )
    r = export["ratios"]
    print()
    print(
        f"export / COPY: time JSON x{r['json_time_vs_copy']}, CSV x{r['csv_time_vs_copy']}; "
        f"peak memory JSON x{r['json_peak_vs_copy']}, CSV x{r['csv_peak_vs_copy']}"
    )
    print(
        f"peak memory, all rows / half the rows: JSON x{r['json_peak_all_vs_half']}, "
        f"CSV x{r['csv_peak_all_vs_half']}"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = make_environment(args)
    server: list[Any] = []
    started = time.monotonic()
    try:
        log(f"database {env.database}")
        create_database(args, env.database)
        setup_django(env)
        from satismeter_app.models import ApiKey, Project

        ingest = None
        if not args.skip_ingest:
            key = ApiKey.issue(Project.objects.create(name="Bench: ingest"), "bench")[1]
            port = free_port()
            server.append(start_gunicorn(args, env, port))
            wait_until_serving(server[0], port)
            log(f"ingest: {args.batches} batches of {BATCH_SIZE} from {args.clients} clients ...")
            ingest = run_ingest(args, port, key)
            stop_gunicorn(server.pop())
        export = run_export(args, env)
    finally:
        log("cleaning up: gunicorn, database")
        for process in server:
            stop_gunicorn(process)
        close_connections()
        drop_database(args, env.database)
    return {
        "setup": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "clients": args.clients,
            "cpus": os.cpu_count(),
            "total_seconds": round(time.monotonic() - started, 1),
        },
        "ingest": asdict(ingest) if ingest else None,
        "export": export,
    }


def close_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too
    try:
        report = run(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 1 if report["ingest"] and report["ingest"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
