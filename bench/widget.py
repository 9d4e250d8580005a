"""Throughput and latency of ``POST /api/widget`` against a trivial DRF endpoint, and its queries.

    .venv/bin/python bench/widget.py [--seconds 20] [--users 5000] [--json]

One run, all on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_<pid>``), migrates it and seeds
   it with bulk inserts: a project whose surveys have nothing due for any seeded user (each
   answered a survey within the project's 30-day gap), with its responses, displays and events
   summed up consistently in ``EndUser.history``, and a second tenant to make the tables bigger;
2. starts gunicorn (``bench.settings``: DEBUG off, Redis cache in its own db, throttles raised);
3. warms up (one widget call per user: fills the config cache, refreshes ``last_seen``), counts
   the SQL queries of widget calls in process through Django's test client, then loads the
   server from client threads on keep-alive connections for ``--seconds`` each: phase A,
   ``POST /api/widget`` for the seeded users in turn; phase B, ``GET /bench/ping``;
4. prints requests, errors, requests/s and p50/p90/p99 latency per phase, the widget/baseline
   ratios and the query counts, as a table or (``--json``) as JSON on stdout;
5. stops gunicorn, drops the database and flushes its Redis db, also on Ctrl-C and errors.

Progress goes to stderr. See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
PAGE_URL = "https://app.example.com/app/dashboard"
SURVEY_GAP_DAYS = 30  # every seeded user answered a survey less than this long ago
NOTHING_DUE = b'{"widget":{"visible":false}}'
ERROR_SAMPLES = 5


# --- the command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--users", type=int, default=5000, help="users of the benched project")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-class", default="gthread", choices=["gthread", "sync"], help="gunicorn workers"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--distinct-urls",
        action="store_true",
        help="send a new page URL on every widget call (each call then writes last_url)",
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=9, help="flushed at the end")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    for url in (args.postgres, args.redis):
        if urlsplit(url).hostname not in LOOPBACK:
            parser.error(f"{url}: the bench only talks to loopback addresses")
    if args.users < 1 or args.clients < 1 or args.seconds <= 0:
        parser.error("--users, --clients and --seconds must be positive")
    return args


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the environment: database, Redis, settings -------------------------------------------------


@dataclass(frozen=True)
class Environment:
    database: str
    database_url: str
    redis_url: str
    variables: dict[str, str]


def make_environment(args: argparse.Namespace) -> Environment:
    database = f"satismeter_bench_{os.getpid()}"
    database_url = f"{args.postgres.rstrip('/')}/{database}"
    redis_url = f"{args.redis.rstrip('/')}/{args.redis_db}"
    variables = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    return Environment(database, database_url, redis_url, variables)


def create_database(args: argparse.Namespace, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(args: argparse.Namespace, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def check_redis_db_is_empty(redis_url: str) -> None:
    """Refuse to run on a Redis db that holds data: the bench flushes it at the end."""
    import redis

    size = redis.Redis.from_url(redis_url).dbsize()
    if size:
        raise SystemExit(
            f"{redis_url} holds {size} keys and the bench flushes its db at the end; "
            "pick another with --redis-db, or empty it (redis-cli -n N flushdb) if it is "
            "left over from a bench run."
        )


def flush_redis_db(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def setup_django(env: Environment) -> None:
    os.environ.update(env.variables)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- seeding ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    write_key: str = ""
    user_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def user_traits(n: int) -> dict[str, Any]:
    return {"plan": "pro" if n % 3 == 0 else "free", "seats": 1 + n % 50, "role": "admin"}


def seed(users: int) -> Seeded:
    from django.db import transaction
    from django.utils import timezone

    from satismeter_app import models

    now = timezone.now()
    with transaction.atomic():
        write_key = seed_steady_project(users, now)
        seed_other_tenant(max(users // 2, 1), now)
    counts = {
        "projects": models.Project.objects.count(),
        "surveys": models.Survey.objects.count(),
        "users": models.EndUser.objects.count(),
        "responses": models.Response.objects.count(),
        "displays": models.Display.objects.count(),
        "events": models.UserEvent.objects.count(),
    }
    return Seeded(write_key, [f"user-{n}" for n in range(users)], counts)


def steady_surveys(project: Any) -> list[Any]:
    """Surveys that each stop at a different gate; the 30-day gap holds back what is left."""
    from satismeter_app.models import Survey

    active = Survey.State.ACTIVE
    specs: list[dict[str, Any]] = [
        {"name": "Quarterly NPS", "priority": 5},
        {
            "name": "CSAT on app pages",
            "type": Survey.Type.CSAT,
            "priority": 4,
            "url_rules": [{"op": "contains", "value": "/app"}],
        },
        {
            "name": "Pro plan NPS",
            "priority": 3,
            "trait_conditions": [
                {"trait": "plan", "type": "text", "op": "equals", "value": "pro"},
                {"trait": "seats", "type": "number", "op": "gt", "value": 0},
            ],
        },
        {"name": "Mobile CES", "type": Survey.Type.CES, "priority": 2, "device_types": ["mobile"]},
        {"name": "After export", "priority": 1, "trigger_event": "export", "event_window_days": 7},
    ]
    surveys = [Survey.objects.create(project=project, state=active, **spec) for spec in specs]
    Survey.objects.create(project=project, name="Draft survey", state=Survey.State.DRAFT)
    return surveys


def seed_steady_project(users: int, now: datetime) -> str:
    """Users who each answered 1-3 surveys, the latest within the gap: nothing is due."""
    from satismeter_app import history
    from satismeter_app.models import Display, EndUser, Project, Response, UserEvent

    project = Project.objects.create(name="Bench: nothing due", survey_gap_days=SURVEY_GAP_DAYS)
    surveys = steady_surveys(project)
    end_users = EndUser.objects.bulk_create(
        (
            EndUser(
                project=project,
                user_id=f"user-{n}",
                email=f"user{n}@example.com",
                name=f"User {n}",
                created_at=now - timedelta(days=500),
                first_seen=now - timedelta(days=400),
                last_seen=now - timedelta(days=1),  # the warm-up call refreshes it
                traits=user_traits(n),
                last_url=PAGE_URL,
            )
            for n in range(users)
        ),
        batch_size=2000,
    )
    responses, displays, events = [], [], []
    for n, user in enumerate(end_users):
        for k in range(1 + n % 3):
            survey = surveys[(n + k) % len(surveys)]
            days = 1 + n % 20 if k == 0 else 40 + 70 * k + n % 30
            answered = now - timedelta(days=days, minutes=n % 600)
            shown = answered - timedelta(minutes=2)
            displays.append(Display(project=project, survey=survey, user=user, created=shown))
            history.add_display(user.history, survey.pk, shown, ignored_wait=timedelta(days=30))
            responses.append(answered_response(project, survey, user, n, answered))
            history.add_answer(user.history, survey.pk, answered)
        if n % 5 == 0:
            when = now - timedelta(days=n % 10, hours=1)
            events.append(UserEvent(project=project, user=user, name="export", timestamp=when))
            history.add_event(user.history, "export", when)
    Display.objects.bulk_create(displays, batch_size=2000)
    Response.objects.bulk_create(responses, batch_size=2000)
    UserEvent.objects.bulk_create(events, batch_size=2000)
    EndUser.objects.bulk_update(end_users, ["history"], batch_size=1000)
    return project.write_key


def answered_response(project: Any, survey: Any, user: Any, n: int, when: datetime) -> Any:
    from satismeter_app.models import Response

    return Response(
        project=project,
        survey=survey,
        user=user,
        rating=n % 11,
        feedback="Great product" if n % 4 == 0 else "",
        language="en",
        traits=user.traits,
        completed=True,
        completed_at=when,
        created=when,
    )


def seed_other_tenant(users: int, now: datetime) -> None:
    """Another project with due surveys: more rows in every table, none of them benched."""
    from satismeter_app import history
    from satismeter_app.models import Display, EndUser, Project, Response, Survey

    project = Project.objects.create(name="Bench: other tenant")
    surveys = [
        Survey.objects.create(
            project=project, name=f"Other {k}", state=Survey.State.ACTIVE, min_tenure_days=0
        )
        for k in range(3)
    ]
    end_users = EndUser.objects.bulk_create(
        (
            EndUser(
                project=project,
                user_id=f"user-{n}",  # the same ids as the benched project, another tenant
                first_seen=now - timedelta(days=200),
                last_seen=now - timedelta(days=2),
                traits=user_traits(n),
            )
            for n in range(users)
        ),
        batch_size=2000,
    )
    responses, displays = [], []
    for n, user in enumerate(end_users):
        survey = surveys[n % len(surveys)]
        shown = now - timedelta(days=100 + n % 200)
        displays.append(Display(project=project, survey=survey, user=user, created=shown))
        history.add_display(user.history, survey.pk, shown, ignored_wait=timedelta(days=30))
        if n % 2 == 0:
            answered = shown + timedelta(minutes=1)
            responses.append(answered_response(project, survey, user, n, answered))
            history.add_answer(user.history, survey.pk, answered)
    Display.objects.bulk_create(displays, batch_size=2000)
    Response.objects.bulk_create(responses, batch_size=2000)
    EndUser.objects.bulk_update(end_users, ["history"], batch_size=1000)


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(args: argparse.Namespace, env: Environment, port: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config=project/gunicorn.conf.py",  # as in production (docs/deployment.md)
        "project.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        "--log-level=warning",
        # Access lines are still formatted, as in production, but not printed over the report.
        "--access-logfile=/dev/null",
    ]
    # A session of its own: Ctrl-C reaches the bench only, which then stops gunicorn cleanly.
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env.variables},
        stdout=sys.stderr,
        start_new_session=True,
    )


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/ping")
            conn.getresponse()  # any answer: a failing route shows in the report
            return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- load ---------------------------------------------------------------------------------------

RequestSpec = Callable[[int], tuple[str, str, bytes | None]]  # index -> method, path, body


@dataclass
class Phase:
    name: str
    requests: int
    errors: int
    unexpected: int  # 2xx answers other than "nothing due" (widget phases only)
    seconds: float
    client_cpu_percent: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    error_samples: list[str]


@dataclass
class _Tally:
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # of every answer, 2xx or not
    errors: int = 0
    unexpected: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(text[:300])


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank of an ascending list."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def client_loop(
    port: int,
    spec: RequestSpec,
    headers: dict[str, str],
    next_index: Callable[[], int | None],
    expected: bytes | None,
    tally: _Tally,
) -> None:
    """One client thread: requests on one keep-alive connection until told to stop."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while (index := next_index()) is not None:
        method, path, body = spec(index)
        tally.requests += 1
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            tally.error(f"{method} {path}: {exc!r}")
            conn.close()
            continue
        tally.latencies.append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status < 300:
            tally.error(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
        elif expected is not None and data != expected:
            tally.unexpected += 1
        if response.will_close:
            conn.close()
    conn.close()


def run_phase(
    name: str,
    port: int,
    spec: RequestSpec,
    *,
    clients: int,
    seconds: float | None = None,
    total: int | None = None,
    headers: dict[str, str] | None = None,
    expected: bytes | None = None,
) -> Phase:
    """Run ``clients`` threads for ``seconds``, or until ``total`` requests have been made."""
    counter = itertools.count()
    stop = threading.Event()
    deadline = time.perf_counter() + seconds if seconds else math.inf

    def next_index() -> int | None:
        index = next(counter)
        done = stop.is_set() or time.perf_counter() >= deadline
        return None if done or (total is not None and index >= total) else index

    tallies = [_Tally() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, spec, {"User-Agent": USER_AGENT, **(headers or {})}, next_index),
            kwargs={"expected": expected, "tally": tally},
            daemon=True,
        )
        for tally in tallies
    ]
    cpu, started = time.process_time(), time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
    elapsed = time.perf_counter() - started
    return summarize(name, tallies, elapsed, time.process_time() - cpu)


def summarize(name: str, tallies: list[_Tally], elapsed: float, cpu: float) -> Phase:
    latencies = sorted(itertools.chain.from_iterable(t.latencies for t in tallies))
    requests = sum(t.requests for t in tallies)
    samples = list(itertools.chain.from_iterable(t.samples for t in tallies))[:ERROR_SAMPLES]
    return Phase(
        name=name,
        requests=requests,
        errors=sum(t.errors for t in tallies),
        unexpected=sum(t.unexpected for t in tallies),
        seconds=round(elapsed, 2),
        client_cpu_percent=round(100 * cpu / elapsed, 1),
        requests_per_second=round(requests / elapsed, 1),
        p50_ms=round(percentile(latencies, 50), 2),
        p90_ms=round(percentile(latencies, 90), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        error_samples=samples,
    )


def widget_spec(seeded: Seeded, distinct_urls: bool) -> RequestSpec:
    """Each index is the next seeded user, with the traits they already have."""
    users = len(seeded.user_ids)
    bodies = [
        {
            "writeKey": seeded.write_key,
            "userId": user_id,
            "traits": user_traits(n),
            "url": PAGE_URL,
        }
        for n, user_id in enumerate(seeded.user_ids)
    ]
    encoded = [json.dumps(body).encode() for body in bodies]

    def spec(index: int) -> tuple[str, str, bytes | None]:
        if not distinct_urls:
            return "POST", "/api/widget", encoded[index % users]
        body = {**bodies[index % users], "url": f"{PAGE_URL}?page={index}"}
        return "POST", "/api/widget", json.dumps(body).encode()

    return spec


def ping_spec(index: int) -> tuple[str, str, bytes | None]:
    return "GET", "/bench/ping", None


# --- queries per call, in process -----------------------------------------------------------------


@dataclass
class QueryCount:
    case: str
    queries: int  # as CaptureQueriesContext counts them: BEGIN and COMMIT included
    sql: list[str]


def widget_queries(seeded: Seeded) -> list[QueryCount]:
    """The SQL of widget calls through Django's test client, against the bench's database."""
    from django.test import Client
    from django.utils import timezone

    from satismeter_app.models import EndUser

    client = Client(SERVER_NAME="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    user_id = seeded.user_ids[0]
    body = {"writeKey": seeded.write_key, "userId": user_id, "traits": user_traits(0)}
    steady = {**body, "url": PAGE_URL}
    counts = [
        count_queries(client, "steady state (known user, same page)", steady),
        count_queries(client, "new page URL (writes last_url)", {**body, "url": PAGE_URL + "?2"}),
    ]
    count_queries(client, "", steady)  # back to the seeded page
    stale = timezone.now() - timedelta(days=1)
    EndUser.objects.filter(user_id=user_id).update(last_seen=stale)
    counts.append(count_queries(client, "last_seen older than 5 min (writes it)", steady))
    new_user = {**steady, "userId": "bench-new-user"}
    counts.append(count_queries(client, "unknown user (creates the row)", new_user))
    return counts


def count_queries(client: Any, case: str, body: dict[str, Any]) -> QueryCount:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        reply = client.post("/api/widget", json.dumps(body), content_type="application/json")
    if reply.status_code != 200:
        raise RuntimeError(f"in-process widget call: HTTP {reply.status_code} {reply.content!r}")
    sql = [query["sql"] for query in captured]
    return QueryCount(case, len(sql), sql)


def short_sql(sql: str, width: int = 150) -> str:
    """The statement with its column list elided, cut to ``width``."""
    columns_end = sql.find(" FROM ")
    if sql.startswith("SELECT ") and columns_end > 0:
        sql = "SELECT ..." + sql[columns_end:]
    return sql if len(sql) <= width else sql[: width - 3] + "..."


# --- the report -----------------------------------------------------------------------------------


def ratios(widget: Phase, baseline: Phase) -> dict[str, float]:
    return {
        "requests_per_second": round(widget.requests_per_second / baseline.requests_per_second, 3),
        "p50": round(widget.p50_ms / baseline.p50_ms, 2),
    }


def print_table(report: dict[str, Any]) -> None:
    setup, phases = report["setup"], [Phase(**p) for p in report["phases"]]
    threads = f" x {setup['threads']} threads" if setup["worker_class"] == "gthread" else ""
    print(
        f"gunicorn: {setup['workers']} {setup['worker_class']} workers{threads} "
        f"on a {setup['cpus']}-core machine, shared with {setup['clients']} client threads "
        "(Python, http.client keep-alive) in the bench process"
    )
    print("data: " + ", ".join(f"{v} {k}" for k, v in report["data"].items()))
    print()
    header = f"{'phase':<28}{'requests':>9}{'errors':>8}{'req/s':>9}"
    print(header + f"{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'client CPU':>12}")
    for p in phases:
        print(
            f"{p.name:<28}{p.requests:>9}{p.errors:>8}{p.requests_per_second:>9.1f}"
            f"{p.p50_ms:>9.2f}{p.p90_ms:>9.2f}{p.p99_ms:>9.2f}{p.client_cpu_percent:>11.0f}%"
        )
    for p in phases:
        if p.unexpected:
            print(f"  {p.name}: {p.unexpected} answers other than 'nothing due'")
        for sample in p.error_samples:
            print(f"  {p.name} error: {sample}")
    r = report["ratios"]
    print()
    print(
        f"widget / baseline: req/s ratio {r['requests_per_second']:.3f}, "
        f"p50 ratio {r['p50']:.2f} "
        f"(the widget route costs {report['widget_ms_over_baseline']:.2f} ms more at p50)"
    )
    if any(p.errors or p.unexpected for p in phases):
        print("WARNING: errors or unexpected answers above; the figures do not measure the route")
    print()
    print("SQL queries per POST /api/widget (in process, Django test client):")
    for case in report["queries"]:
        print(f"  {case['queries']}  {case['case']}")
        for sql in case["sql"]:
            print(f"       {short_sql(sql)}")


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def cleanup_on_exit(args: argparse.Namespace, env: Environment) -> Iterator[list[Any]]:
    """Yields a list to put the server in; stops it, drops the database, flushes Redis."""
    server: list[Any] = []
    try:
        yield server
    finally:
        log("cleaning up: gunicorn, database, Redis db")
        steps: list[tuple[str, Callable[[], None]]] = [
            ("stop gunicorn", lambda: stop_servers(server)),
            ("close connections", close_django_connections),
            ("drop database", lambda: drop_database(args, env.database)),
            ("flush Redis db", lambda: flush_redis_db(env.redis_url)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # keep cleaning up
                log(f"{name} failed: {exc!r}")


def stop_servers(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        stop_gunicorn(server)


def close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = make_environment(args)
    check_redis_db_is_empty(env.redis_url)
    started = time.monotonic()
    with cleanup_on_exit(args, env) as server:
        log(f"database {env.database}, cache {env.redis_url}")
        create_database(args, env.database)
        setup_django(env)
        log(f"seeding {args.users} users ...")
        seeded = seed(args.users)
        log("seeded: " + ", ".join(f"{v} {k}" for k, v in seeded.counts.items()))
        port = free_port()
        server.append(start_gunicorn(args, env, port))
        wait_until_serving(server[0], port)
        log(f"gunicorn on 127.0.0.1:{port}; warming up (each user once) ...")
        spec = widget_spec(seeded, args.distinct_urls)
        json_headers = {"Content-Type": "application/json"}
        warm = run_phase(
            "warm-up (1 call per user)",
            port,
            spec,
            clients=args.clients,
            total=args.users,
            headers=json_headers,
            expected=NOTHING_DUE,
        )
        queries = widget_queries(seeded)
        log(f"phase A: POST /api/widget for {args.seconds:g} s ...")
        widget = run_phase(
            "A  POST /api/widget",
            port,
            spec,
            clients=args.clients,
            seconds=args.seconds,
            headers=json_headers,
            expected=NOTHING_DUE,
        )
        log(f"phase B: GET /bench/ping for {args.seconds:g} s ...")
        baseline = run_phase(
            "B  GET /bench/ping", port, ping_spec, clients=args.clients, seconds=args.seconds
        )
    return {
        "setup": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "clients": args.clients,
            "cpus": os.cpu_count(),
            "seconds_per_phase": args.seconds,
            "distinct_urls": args.distinct_urls,
            "total_seconds": round(time.monotonic() - started, 1),
        },
        "data": seeded.counts,
        "phases": [asdict(p) for p in (warm, widget, baseline)],
        "ratios": ratios(widget, baseline),
        "widget_ms_over_baseline": round(widget.p50_ms - baseline.p50_ms, 2),
        "queries": [asdict(q) for q in queries],
    }


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
    failed = any(p["errors"] or p["unexpected"] for p in report["phases"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
