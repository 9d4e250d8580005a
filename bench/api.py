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
   ``COPY (SELECT …) TO STDOUT`` of the same rows and columns through psycopg; and the JSON
   and CSV of half the rows, to show that the peak memory does not grow with the number of
   rows. ``--repeat`` rounds of one read of each in turn (a busy minute slows them all), the
   best time of each kept, and the least CPU: this process's and that of the PostgreSQL
   backend serving the reads (from /proc; the time moves with the machine's load, the CPU
   much less). Then one more read of each under tracemalloc for its peak memory. The report
   gives export/COPY ratios;
4. drops the database and stops gunicorn, also on Ctrl-C and errors.

The code under test is the checkout named first in ``PYTHONPATH`` that holds
``satismeter_app``, else this one (as bench/widget.py): ``PYTHONPATH=/old/checkout python
bench/api.py`` benches an older commit with this script.

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Last: the checkout named first in PYTHONPATH, if any, is the one benched (bench/widget.py)
    sys.path.append(str(ROOT))

from bench.widget import (  # noqa: E402  (the path above makes the package importable)
    CODE_ROOT,
    Environment,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    log,
    proc_stat,
    setup_django,
    start_gunicorn,
    stop_process,
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
        "CONN_MAX_AGE": "3600",  # one backend serves every read: its CPU is counted
        "PYTHONPATH": str(CODE_ROOT),
    }
    workdir = Path(tempfile.mkdtemp(prefix="satismeter-bench-api-"))  # gunicorn's access log
    return Environment(database, database_url, "", variables, workdir)


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
    started = time.perf_counter()
    posted = post_all(port, bodies, headers, args.clients)
    seconds = time.perf_counter() - started
    latencies = sorted(latency for latency, _ in posted)
    failures = [failure for _, failure in posted if failure]
    return Ingest(
        batches=len(posted) - len(failures),
        messages=(len(posted) - len(failures)) * BATCH_SIZE,
        errors=len(failures),
        seconds=round(seconds, 2),
        messages_per_second=round((len(posted) - len(failures)) * BATCH_SIZE / seconds),
        batch_p50_ms=round(latencies[len(latencies) // 2] * 1000, 1),
        batch_p99_ms=round(
            latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000, 1
        ),
        batch_bytes=len(bodies[0]),
        queries_per_batch=count_batch_queries(key),
        error_samples=failures[:5],
    )


def post_all(
    port: int, bodies: list[bytes], headers: dict[str, str], clients: int
) -> list[tuple[float, str]]:
    """Each body posted to ``POST /segment/v1/batch`` once, by ``clients`` threads on keep-alive
    connections: (seconds, what went wrong or "") of each."""
    import http.client

    queue = iter(bodies)
    lock, results = threading.Lock(), []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                break
            started = time.perf_counter()
            try:
                conn.request("POST", "/segment/v1/batch", body, headers)
                reply = conn.getresponse()
                answer = reply.read()
                failure = "" if reply.status == 200 else f"HTTP {reply.status}: {answer[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                failure = repr(error)
            results.append((time.perf_counter() - started, failure))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


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
    seconds: float  # the best of the timed reads
    # The least CPU of a timed read: this process (the view, or psycopg reading COPY) and the
    # PostgreSQL backend that served it, from /proc; None where /proc does not show it.
    cpu_seconds: float | None
    rows_per_second: float
    peak_mib: float  # tracemalloc's peak, in one more read


@dataclass
class Reader:
    """Reads the rows once (returns the bytes read); ``backend``: the pid of the PostgreSQL
    backend that serves the reads."""

    name: str
    rows: int
    read: Callable[[], int]
    backend: Callable[[], int]


def timed(reader: Reader) -> tuple[int, float, float | None]:
    """One read: its bytes, wall seconds and CPU seconds."""
    pid = reader.backend()
    with ServerCpu(pid) as server:
        client = time.thread_time()
        started = time.perf_counter()
        size = reader.read()
        seconds = time.perf_counter() - started
        client = time.thread_time() - client
    if server.seconds is None or reader.backend() != pid:
        return size, seconds, None
    return size, seconds, client + server.seconds


class ServerCpu:
    """The CPU seconds of a PostgreSQL backend and of the parallel workers it starts, from
    /proc; None where /proc does not show the backend. A worker exits with its query, so a
    thread looks at the postmaster's children every 20 ms (the last of a worker's milliseconds
    may be missed)."""

    def __init__(self, backend: int) -> None:
        self.backend, self.seconds = backend, cast(float | None, None)
        self.workers: dict[int, float] = {}
        self.stop = threading.Event()
        self.watcher = threading.Thread(target=self.watch, daemon=True)

    def __enter__(self) -> ServerCpu:
        fields = proc_stat(self.backend)
        self.postmaster = int(fields[1]) if fields else 0
        self.start = cpu_seconds(self.backend)
        self.watcher.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.watcher.join()
        if self.postmaster:
            self.seconds = cpu_seconds(self.backend) - self.start + sum(self.workers.values())

    def watch(self) -> None:
        children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children")
        title = f"parallel worker for PID {self.backend}".encode()
        mine: dict[int, bool] = {}
        while not self.stop.wait(0.02):
            try:
                pids = [int(pid) for pid in children.read_text().split()]
            except OSError:
                return
            for pid in pids:
                if pid not in mine:
                    mine[pid] = title in read_bytes(Path(f"/proc/{pid}/cmdline"))
                if mine[pid]:
                    self.workers[pid] = max(self.workers.get(pid, 0.0), cpu_seconds(pid))


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def measure(readers: list[Reader], repeat: int = 1) -> list[Reading]:
    """``repeat`` rounds of one read by each reader in turn (a busy minute then slows all of
    them), each reader's best time and CPU kept; then each one's peak memory in one more read."""
    times: dict[str, list[float]] = {reader.name: [] for reader in readers}
    cpus: dict[str, list[float | None]] = {reader.name: [] for reader in readers}
    sizes = {}
    for _ in range(repeat):
        for reader in readers:
            sizes[reader.name], seconds, cpu = timed(reader)
            times[reader.name].append(seconds)
            cpus[reader.name].append(cpu)
    return [
        reading(reader, sizes[reader.name], times[reader.name], cpus[reader.name], peak(reader))
        for reader in readers
    ]


def peak(reader: Reader) -> float:
    tracemalloc.start()
    try:
        reader.read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def reading(
    reader: Reader, size: int, times: list[float], cpus: list[float | None], peak: float
) -> Reading:
    seconds = min(times)
    known = [cpu for cpu in cpus if cpu is not None]
    return Reading(
        name=reader.name,
        rows=reader.rows,
        megabytes=round(size / 1e6, 1),
        seconds=round(seconds, 2),
        cpu_seconds=round(min(known), 2) if len(known) == len(cpus) else None,
        rows_per_second=round(reader.rows / seconds),
        peak_mib=round(peak / 2**20, 2),
    )


def view_reader(name: str, rows: int, key: str, **params: str) -> Reader:
    """Consume ``GET /api/responses`` chunk by chunk."""
    from django.db import connection
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

    def backend() -> int:
        connection.ensure_connection()  # kept between requests (CONN_MAX_AGE)
        return int(connection.connection.info.backend_pid)

    return Reader(name, rows, read, backend)


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


def copy_reader(name: str, rows: int, conn: Any, project_id: int) -> Reader:
    """PostgreSQL's own COPY of the same rows and columns, consumed block by block."""

    def read() -> int:
        size = 0
        with conn.cursor() as cursor, cursor.copy(COPY_SQL, (project_id,)) as copy:
            for block in copy:
                size += len(block)
        return size

    return Reader(name, rows, read, lambda: int(conn.info.backend_pid))


def run_export(args: argparse.Namespace, env: Environment) -> dict[str, Any]:
    import psycopg

    log(f"seeding {args.responses} responses ...")
    project_id, key = seed_responses(args.responses)
    from satismeter_app.models import Response

    half = Response.objects.filter(project_id=project_id).order_by("created")[args.responses // 2]
    middle, rest = half.created.isoformat(), args.responses - args.responses // 2
    log(f"export: JSON, CSV, COPY, and JSON and CSV of half the rows, {args.repeat} rounds ...")
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        readings = measure(
            [
                view_reader("GET /api/responses (JSON)", args.responses, key),
                view_reader("GET /api/responses?format=csv", args.responses, key, format="csv"),
                copy_reader("COPY (SELECT ...) TO STDOUT", args.responses, conn, project_id),
                view_reader("JSON, half the rows", rest, key, startDate=middle),
                view_reader("CSV, half the rows", rest, key, format="csv", startDate=middle),
            ],
            args.repeat,
        )
    return {"readings": [asdict(r) for r in readings], "ratios": ratios(*readings)}


def ratios(
    json_: Reading, csv_: Reading, copy: Reading, json_half: Reading, csv_half: Reading
) -> dict[str, float | None]:
    def ratio(a: float | None, b: float | None, digits: int = 1) -> float | None:
        return round(a / b, digits) if a is not None and b else None

    return {
        "json_time_vs_copy": ratio(json_.seconds, copy.seconds),
        "csv_time_vs_copy": ratio(csv_.seconds, copy.seconds),
        "json_cpu_vs_copy": ratio(json_.cpu_seconds, copy.cpu_seconds),
        "csv_cpu_vs_copy": ratio(csv_.cpu_seconds, copy.cpu_seconds),
        "json_peak_vs_copy": ratio(json_.peak_mib, copy.peak_mib),
        "csv_peak_vs_copy": ratio(csv_.peak_mib, copy.peak_mib),
        "json_peak_all_vs_half": ratio(json_.peak_mib, json_half.peak_mib, 2),
        "csv_peak_all_vs_half": ratio(csv_.peak_mib, csv_half.peak_mib, 2),
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
    print(f"{'export':<32}{'rows':>8}{'MB':>8}{'s':>8}{'CPU s':>8}{'rows/s':>10}{'peak MiB':>10}")
    for r in export["readings"]:
        cpu = "?" if r["cpu_seconds"] is None else f"{r['cpu_seconds']:.2f}"
        print(
            f"{r['name']:<32}{r['rows']:>8}{r['megabytes']:>8.1f}{r['seconds']:>8.2f}{cpu:>8}"
            f"{r['rows_per_second']:>10}{r['peak_mib']:>10.2f}"
        )
    r = export["ratios"]
    print()
    print(
        f"export / COPY: time JSON x{r['json_time_vs_copy']}, CSV x{r['csv_time_vs_copy']}; "
        f"CPU JSON x{r['json_cpu_vs_copy']}, CSV x{r['csv_cpu_vs_copy']}; "
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
        log(f"code under test: {CODE_ROOT}; database {env.database}")
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
            stop_process(server.pop())
        export = run_export(args, env)
    finally:
        log("cleaning up: gunicorn, database")
        for process in server:
            stop_process(process)
        close_connections()
        drop_database(args, env.database)
        shutil.rmtree(env.workdir, ignore_errors=True)
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
