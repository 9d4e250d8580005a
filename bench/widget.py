"""Throughput, latency and cost per call of the widget routes, against a trivial DRF endpoint.

    .venv/bin/python bench/widget.py [--rounds 5] [--seconds 5] [--users 5000] [--json]

One run, all on loopback:

1. starts a Redis server of its own (``--redis private``, the default) and creates a PostgreSQL
   database of its own (``satismeter_bench_<pid>``), migrates it and seeds it with bulk
   inserts: a project whose surveys have nothing due for any seeded user (each answered a
   survey within the project's 30-day gap), with its responses, displays and events summed up
   consistently in ``EndUser.history``, users of the same project to whom a survey is due (for
   the display and response routes), and a second tenant to make the tables bigger;
2. starts gunicorn (``bench.settings``: DEBUG off, Redis cache, throttles raised), its access
   log naming the worker of each request;
3. in process, through Django's test client: one widget call per user (the warm-up: fills the
   config cache, refreshes ``last_seen``, checks that nothing is due), the SQL queries of widget
   calls, milliseconds per call of the widget and of the ping, and milliseconds, SQL queries
   and Redis commands per call of ``POST /api/displays``, ``POST /api/responses`` and
   ``PUT /api/responses/<id>``;
4. loads the server with ``wrk`` (``bench/widget.lua``) in ``--rounds`` interleaved rounds of
   two phases of ``--seconds`` each: A, ``POST /api/widget`` for the seeded users in turn; B,
   ``GET /bench/ping``. A phase that one gunicorn worker served almost alone is run again.
   Around each phase it reads the CPU time of wrk, gunicorn, PostgreSQL and Redis and Redis's
   ``INFO stats commandstats``;
5. prints per phase the median and range over the rounds of requests/s, p50 and p99, the CPU
   of client and server, the widget/ping ratio, Redis commands and round trips per call and
   the in-process figures, as a table or (``--json``) as JSON on stdout;
6. stops gunicorn and Redis, drops the database, also on Ctrl-C and errors.

The code under test is the checkout named first in ``PYTHONPATH`` that holds ``satismeter_app``,
else the one this file is in: ``PYTHONPATH=/old/checkout python bench/widget.py`` benches the
old code with this bench. Progress goes to stderr. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent


def code_root() -> Path:
    """The checkout whose code is benched: the first PYTHONPATH entry with the app, else ours."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "satismeter_app").is_dir():
            return Path(entry).resolve()
    return BENCH_DIR.parent


CODE_ROOT = code_root()
if str(CODE_ROOT) not in sys.path:
    sys.path.insert(0, str(CODE_ROOT))

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
PAGE_URL = "https://app.example.com/app/dashboard"
SURVEY_GAP_DAYS = 30  # every seeded user answered a survey less than this long ago
NOTHING_DUE = b'{"widget":{"visible":false}}'
WRK_SCRIPT = BENCH_DIR / "widget.lua"
WARM_UP_CALLS = 200  # in process, per route, before the timed calls
TICKS = os.sysconf("SC_CLK_TCK")


# --- the command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rounds", type=int, default=5, help="interleaved rounds of phase A and phase B")
    add("--seconds", type=int, default=5, help="length of each phase (whole seconds, for wrk)")
    add("--users", type=int, default=5000, help="users of the benched project")
    add("--clients", type=int, default=8, help="wrk connections")
    add("--wrk-threads", type=int, default=2, help="wrk threads")
    add("--calls", type=int, default=2000, help="in-process widget and ping calls")
    add("--write-calls", type=int, default=200, help="in-process calls of each other route")
    add("--min-worker-share", type=float, default=0.25, help="below it a phase runs again")
    add("--max-reruns", type=int, default=5, help="reruns of one phase at most")
    add("--workers", type=int, default=2, help="gunicorn worker processes")
    add("--worker-class", default="gthread", choices=["gthread", "sync"], help="gunicorn workers")
    add("--threads", type=int, default=4, help="threads per gthread worker")
    add(
        "--distinct-urls",
        action="store_true",
        help="send a new page URL on every widget call (each call then writes last_url)",
    )
    add("--postgres", default="postgres://postgres@127.0.0.1:5432")
    add(
        "--redis",
        default="private",
        help="'private': a redis-server of the bench's own; or the URL of a running one",
    )
    add("--redis-db", type=int, default=9, help="with a --redis URL: the db, flushed at the end")
    add("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    urls = [args.postgres] + ([args.redis] if args.redis != "private" else [])
    for url in urls:
        if urlsplit(url).hostname not in LOOPBACK:
            parser.error(f"{url}: the bench only talks to loopback addresses")
    counts = [args.users, args.clients, args.seconds, args.rounds, args.calls, args.write_calls]
    if min(counts) < 1 or args.wrk_threads < 1 or args.wrk_threads > args.clients:
        parser.error("counts must be positive, and --wrk-threads at most --clients")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install -y wrk")
    return args


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the environment: database, Redis, settings ---------------------------------------------------


@dataclass
class Environment:
    database: str
    database_url: str
    redis_url: str
    variables: dict[str, str]
    workdir: Path  # the request bodies and the access log
    redis_server: subprocess.Popen | None = None  # with --redis private

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_environment(args: argparse.Namespace) -> Environment:
    database = f"satismeter_bench_{os.getpid()}"
    database_url = f"{args.postgres.rstrip('/')}/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="satismeter-bench-"))
    env = Environment(database, database_url, "", {}, workdir)
    if args.redis == "private":
        port = free_port()
        env.redis_server = start_redis(port)
        env.redis_url = f"redis://127.0.0.1:{port}/0"
    else:
        env.redis_url = f"{args.redis.rstrip('/')}/{args.redis_db}"
    env.variables = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": env.redis_url,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(CODE_ROOT),
    }
    return env


def start_redis(port: int) -> subprocess.Popen:
    """A redis-server of the bench's own: its INFO counts the bench's commands only."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen(
        [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{port}")


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


def stop_redis(env: Environment) -> None:
    """Stop the private server, or flush the db of a shared one."""
    if env.redis_server is None:
        import redis

        redis.Redis.from_url(env.redis_url).flushdb()
    else:
        stop_process(env.redis_server)


def setup_django(env: Environment) -> None:
    os.environ.update(env.variables)
    import django
    from django.core.management import call_command

    import satismeter_app

    imported = Path(satismeter_app.__file__).resolve().parent.parent
    if imported != CODE_ROOT:  # e.g. an installed copy shadowing the checkout
        raise RuntimeError(f"satismeter_app comes from {imported}, not from {CODE_ROOT}")
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    write_key: str = ""
    user_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # Users of the same project to whom a survey is due: each is shown it, answers and comments
    # once, through the display and response routes.
    responder_ids: list[str] = field(default_factory=list)
    due_survey: str = ""


def user_traits(n: int) -> dict[str, Any]:
    return {"plan": "pro" if n % 3 == 0 else "free", "seats": 1 + n % 50, "role": "admin"}


def seed(users: int, responders: int) -> Seeded:
    from django.db import transaction
    from django.utils import timezone

    from satismeter_app import models

    now = timezone.now()
    with transaction.atomic():
        write_key, due_survey = seed_steady_project(users, responders, now)
        seed_other_tenant(max(users // 2, 1), now)
    counts = {
        "projects": models.Project.objects.count(),
        "surveys": models.Survey.objects.count(),
        "users": models.EndUser.objects.count(),
        "responses": models.Response.objects.count(),
        "displays": models.Display.objects.count(),
        "events": models.UserEvent.objects.count(),
    }
    user_ids = [f"user-{n}" for n in range(users)]
    responder_ids = [f"responder-{n}" for n in range(responders)]
    return Seeded(write_key, user_ids, counts, responder_ids, due_survey)


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


def seed_steady_project(users: int, responders: int, now: datetime) -> tuple[str, str]:
    """Users who each answered 1-3 surveys, the latest within the gap: nothing is due. And
    responders, who never saw a survey: the first one (no targeting) is due for them."""
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
    EndUser.objects.bulk_create(
        (
            EndUser(
                project=project,
                user_id=f"responder-{n}",
                created_at=now - timedelta(days=500),
                first_seen=now - timedelta(days=400),
                last_seen=now - timedelta(days=1),
                traits=user_traits(n),
                last_url=PAGE_URL,
            )
            for n in range(responders)
        ),
        batch_size=2000,
    )
    return project.write_key, str(surveys[0].pk)


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


# --- the server -----------------------------------------------------------------------------------


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
        # Formatted as in production (the redacting logger), but each line only names the
        # worker's pid and the status: the bench counts the requests each worker served.
        f"--access-logfile={env.access_log}",
        "--access-logformat=%(p)s %(s)s",
    ]
    # A session of its own: Ctrl-C reaches the bench only, which then stops gunicorn cleanly.
    return subprocess.Popen(
        command,
        cwd=CODE_ROOT,
        env={**os.environ, **env.variables},
        stdout=sys.stderr,
        start_new_session=True,
    )


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float = 30) -> None:
    import http.client

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


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- CPU time, from /proc -------------------------------------------------------------------------


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: [state, ppid, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def children(pid: int) -> list[int]:
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [child for child in pids if (fields := proc_stat(child)) and int(fields[1]) == pid]


def machine_busy_seconds() -> float:
    """CPU time spent by every process of the machine, all cores together."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICKS


def database_backends() -> list[int]:
    """The PostgreSQL backends of the bench's database, but the bench process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class CpuProbe:
    """CPU seconds of the server's processes, read before and after a phase."""

    gunicorn: subprocess.Popen
    redis_server: subprocess.Popen | None

    def groups(self) -> dict[str, list[int]]:
        redis = [self.redis_server.pid] if self.redis_server else []
        return {
            "gunicorn": children(self.gunicorn.pid),
            "postgres": database_backends(),
            "redis": redis,
        }

    def read(self, groups: dict[str, list[int]]) -> dict[str, float]:
        seconds = {name: sum(map(cpu_seconds, pids)) for name, pids in groups.items()}
        return {**seconds, "machine": machine_busy_seconds()}


# --- Redis: commands and round trips --------------------------------------------------------------


def redis_client(redis_url: str) -> Any:
    import redis

    return redis.Redis.from_url(redis_url)


def redis_counters(client: Any) -> dict[str, Any]:
    """One INFO (one command, one read) with the counters of both sections."""
    return client.execute_command("INFO", "stats", "commandstats")


def redis_per_call(before: dict[str, Any], after: dict[str, Any], calls: int) -> dict[str, Any]:
    """Commands by name and round trips between two INFOs, per call.

    ``commandstats`` counts the commands a Lua script runs under their own names, besides the
    EVAL/EVALSHA that ran it, so the commands can exceed the round trips. A round trip is
    one read of a request from a client (``total_reads_processed``): one command, or one
    pipeline or MULTI/EXEC sent at once. The second INFO's read, and the first one's command,
    fall between the two readings and are taken off."""
    names = {key for key in after if key.startswith("cmdstat_")}
    delta = Counter(
        {
            name.removeprefix("cmdstat_"): after[name]["calls"]
            - before.get(name, {"calls": 0})["calls"]
            for name in names
        }
    )
    delta["info"] -= 1
    reads = after["total_reads_processed"] - before["total_reads_processed"] - 1
    by_command = {name: round(count / calls, 3) for name, count in delta.most_common()}
    by_command = {name: n for name, n in by_command.items() if n}
    return {
        "commands": round(sum(delta.values()) / calls, 3),
        "round_trips": round(reads / calls, 3),
        "by_command": by_command,
    }


# --- load: wrk ------------------------------------------------------------------------------------


def widget_bodies(seeded: Seeded, distinct_urls: bool) -> list[str]:
    """One widget call per seeded user, with the traits they already have. With distinct URLs,
    two pages per user in turn, so that every call names another page than the last."""
    pages = [f"{PAGE_URL}?page={k}" for k in range(2)] if distinct_urls else [PAGE_URL]
    return [
        json.dumps(
            {"writeKey": seeded.write_key, "userId": user_id, "traits": user_traits(n), "url": page}
        )
        for page in pages
        for n, user_id in enumerate(seeded.user_ids)
    ]


@dataclass(frozen=True)
class Route:
    """What one wrk phase sends: a GET, or POSTs of the bodies in the file, in turn."""

    name: str
    path: str
    bodies: Path | None = None


@dataclass
class Phase:
    route: str
    round: int
    runs: int  # 1, or more when a worker served too few requests
    requests: int
    errors: dict[str, int]  # wrk's: connect, read, write, status (not 2xx/3xx), timeout
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    # Percent of one core over the phase: wrk, gunicorn's workers, the database's backends,
    # Redis, the machine's other processes (other engineers' work), and the whole machine.
    cpu: dict[str, float]
    workers: dict[str, int]  # requests per gunicorn worker pid, from the access log
    redis: dict[str, Any]

    @property
    def min_worker_share(self) -> float:
        total = sum(self.workers.values())
        return min(self.workers.values()) / total if total else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def run_wrk(args: argparse.Namespace, port: int, route: Route) -> tuple[dict[str, Any], float]:
    """wrk's summary (from the script's done()) and its user+system CPU seconds."""
    headers = [f"User-Agent: {USER_AGENT}"]
    variables = {"BENCH_THREADS": str(args.wrk_threads)}
    if route.bodies is not None:
        headers.append("Content-Type: application/json")
        variables["BENCH_BODIES"] = str(route.bodies)
    command = [
        "wrk",
        f"--threads={args.wrk_threads}",
        f"--connections={args.clients}",
        f"--duration={args.seconds}s",
        "--timeout=10s",
        f"--script={WRK_SCRIPT}",
        *(f"--header={header}" for header in headers),
        f"http://127.0.0.1:{port}{route.path}",
    ]
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, env={**os.environ, **variables})
        _, status, usage = os.wait4(process.pid, 0)  # wait4: the child's rusage, too
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    marked = [line for line in output.splitlines() if line.startswith("BENCH_JSON ")]
    if process.returncode or not marked:
        raise RuntimeError(f"wrk failed ({process.returncode}): {output[-2000:]}")
    return json.loads(marked[0].removeprefix("BENCH_JSON ")), usage.ru_utime + usage.ru_stime


@dataclass
class Server:
    """What a phase reads around wrk: the server's port, CPU, access log and Redis."""

    port: int
    probe: CpuProbe
    access_log: Path
    redis: Any

    def wait_until_quiet(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Until the access log has not grown for ``quiet`` seconds."""
        deadline, size = time.monotonic() + timeout, -1
        while time.monotonic() < deadline:
            grown = self.access_log.stat().st_size
            if grown == size:
                return
            size = grown
            time.sleep(quiet)

    def requests_per_worker(self, since: int) -> Counter[str]:
        """The requests logged after byte ``since``, by worker pid."""
        with self.access_log.open("rb") as log_file:
            log_file.seek(since)
            lines = log_file.read().decode().splitlines()
        return Counter(line.split(" ", 1)[0].strip("<>") for line in lines if line)


def run_phase(args: argparse.Namespace, server: Server, route: Route, round_: int) -> Phase:
    groups = server.probe.groups()
    logged = server.access_log.stat().st_size
    cpu_before, redis_before = server.probe.read(groups), redis_counters(server.redis)
    started = time.perf_counter()
    summary, wrk_cpu = run_wrk(args, server.port, route)
    wall = time.perf_counter() - started
    cpu_after = server.probe.read(groups)
    # The server finishes the requests in flight when wrk stops: Redis is read once they are
    # logged, and its counts are divided by the requests the server logged, not wrk's.
    server.wait_until_quiet()
    redis_after = redis_counters(server.redis)
    served = server.requests_per_worker(logged)
    workers = {str(pid): served.get(str(pid), 0) for pid in groups["gunicorn"]}
    requests, seconds = summary["requests"], summary["duration_us"] / 1e6
    percentiles = summary["latency_us"]["percentiles"]
    cpu = {name: 100 * (cpu_after[name] - cpu_before[name]) / wall for name in cpu_before}
    cpu["wrk"] = 100 * wrk_cpu / wall
    cpu["other"] = max(cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"), 0)
    return Phase(
        route=route.name,
        round=round_,
        runs=1,
        requests=requests,
        errors=summary["errors"],
        seconds=round(seconds, 2),
        requests_per_second=round(requests / seconds, 1),
        p50_ms=percentiles["50"] / 1000,
        p90_ms=percentiles["90"] / 1000,
        p99_ms=percentiles["99"] / 1000,
        p999_ms=percentiles["99.9"] / 1000,
        cpu={name: round(value, 1) for name, value in cpu.items()},
        workers={**workers, **{pid: n for pid, n in served.items() if pid not in workers}},
        redis=redis_per_call(redis_before, redis_after, max(served.total(), 1)),
    )


def balanced_phase(args: argparse.Namespace, server: Server, route: Route, round_: int) -> Phase:
    """A phase that every worker served a fair share of: with keep-alive a connection stays
    on the worker that accepted it, and sometimes one worker accepts (nearly) all of them."""
    for run in range(1, args.max_reruns + 2):
        phase = run_phase(args, server, route, round_)
        phase.runs = run
        if args.workers == 1 or phase.min_worker_share >= args.min_worker_share:
            break
        log(f"  {route.name}: a worker served {phase.min_worker_share:.0%}; running it again")
    return phase


# --- in process: Django's test client -------------------------------------------------------------


def test_client() -> Any:
    from django.test import Client

    return Client(SERVER_NAME="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)


def post_json(client: Any, path: str, body: dict[str, Any] | str, **headers: str) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data, content_type="application/json", headers=headers)


def expect(reply: Any, status: int, what: str) -> Any:
    if reply.status_code != status:
        raise RuntimeError(f"in-process {what}: HTTP {reply.status_code} {reply.content[:300]!r}")
    return reply


def warm_up(seeded: Seeded, bodies: list[str]) -> None:
    """One widget call per user: refreshes ``last_seen``, fills the caches, checks the answer."""
    client = test_client()
    unexpected = 0
    for body in bodies:
        reply = expect(post_json(client, "/api/widget", body), 200, "widget call")
        unexpected += reply.content != NOTHING_DUE
    if unexpected:
        raise RuntimeError(f"{unexpected} widget calls answered other than 'nothing due'")


def seen_now(seeded: Seeded, user_ids: list[str]) -> None:
    """As if each user had just called: ``last_seen`` is refreshed at most every 5 minutes,
    so for that long their widget calls write nothing."""
    from django.utils import timezone

    from satismeter_app.models import EndUser

    users = EndUser.objects.filter(project__write_key=seeded.write_key, user_id__in=user_ids)
    users.update(last_seen=timezone.now())


@dataclass
class QueryCount:
    case: str
    queries: int  # as CaptureQueriesContext counts them: BEGIN and COMMIT included
    sql: list[str]


@contextmanager
def captured_queries() -> Iterator[list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sql: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield sql
    sql.extend(query["sql"] for query in captured)


def widget_queries(seeded: Seeded) -> list[QueryCount]:
    """The SQL of widget calls through Django's test client, against the bench's database."""
    from django.utils import timezone

    from satismeter_app.models import EndUser

    client = test_client()
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
    with captured_queries() as sql:
        expect(post_json(client, "/api/widget", body), 200, "widget call")
    return QueryCount(case, len(sql), sql)


def short_sql(sql: str, width: int = 150) -> str:
    """The statement with its column list elided, cut to ``width``."""
    columns_end = sql.find(" FROM ")
    if sql.startswith("SELECT ") and columns_end > 0:
        sql = "SELECT ..." + sql[columns_end:]
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def timed(call: Callable[[int], Any], indexes: range) -> float:
    """Milliseconds per call of ``call(i)`` over ``indexes``."""
    started = time.perf_counter()
    for index in indexes:
        call(index)
    return 1000 * (time.perf_counter() - started) / len(indexes)


def widget_and_ping_ms(bodies: list[str], calls: int, batches: int = 4) -> dict[str, Any]:
    """Milliseconds per steady-state widget call and per ping, in interleaved batches."""
    client = test_client()

    def widget(index: int) -> None:
        reply = expect(post_json(client, "/api/widget", bodies[index % len(bodies)]), 200, "widget")
        if reply.content != NOTHING_DUE:
            raise RuntimeError(f"in-process widget call answered {reply.content[:300]!r}")

    def ping(index: int) -> None:
        expect(client.get("/bench/ping"), 200, "ping")

    timed(widget, range(WARM_UP_CALLS))
    timed(ping, range(WARM_UP_CALLS))
    size = max(calls // batches, 1)
    runs: dict[str, list[float]] = {"widget": [], "ping": []}
    for batch in range(batches):
        indexes = range(batch * size, (batch + 1) * size)
        runs["widget"].append(timed(widget, indexes))
        runs["ping"].append(timed(ping, indexes))
    ratios = [p / w for w, p in zip(runs["widget"], runs["ping"], strict=True)]
    return {
        "calls": size * batches,
        "batches": batches,
        "widget_ms": spread(runs["widget"], 3),
        "ping_ms": spread(runs["ping"], 3),
        "ratio": spread(ratios, 3),
    }


@dataclass
class RouteCost:
    route: str
    calls: int
    ms_per_call: float
    queries: int  # of the first call, as CaptureQueriesContext counts them
    sql: list[str]
    redis: dict[str, Any]


def route_cost(route: str, calls: list[Callable[[], Any]], redis: Any) -> RouteCost:
    """The first call under CaptureQueriesContext, the others timed, with Redis's counters."""
    with captured_queries() as sql:
        calls[0]()
    before = redis_counters(redis)
    ms = timed(lambda index: calls[index](), range(1, len(calls)))
    per_call = redis_per_call(before, redis_counters(redis), len(calls) - 1)
    return RouteCost(route, len(calls) - 1, round(ms, 3), len(sql), sql, per_call)


def other_routes(seeded: Seeded, redis: Any) -> list[RouteCost]:
    """What a survey's life costs each responder: shown, answered (a rating), commented on.
    Each responder goes through each route once; the routes are measured one after another."""
    seen_now(seeded, seeded.responder_ids)  # the widget call that showed them the survey
    client = test_client()
    base = {"writeKey": seeded.write_key, "campaign": seeded.due_survey, "url": PAGE_URL}
    saved: dict[str, tuple[str, str]] = {}  # responder -> (path of the response, token)

    def display(user_id: str) -> None:
        body = {**base, "userId": user_id}
        expect(post_json(client, "/api/displays", body), 201, "POST /api/displays")

    def respond(user_id: str) -> None:
        body = {**base, "userId": user_id, "method": "In-app", "language": "en", "rating": 9}
        reply = expect(post_json(client, "/api/responses", body), 201, "POST /api/responses")
        saved[user_id] = (urlsplit(reply["Location"]).path, reply["auth-token"])

    def comment(user_id: str) -> None:
        path, token = saved[user_id]
        reply = client.put(
            path,
            json.dumps({"feedback": "Does what we need."}),
            content_type="application/json",
            headers={"auth-token": token},
        )
        expect(reply, 200, "PUT /api/responses/<id>")

    steps = [
        ("POST /api/displays", display),
        ("POST /api/responses", respond),
        ("PUT /api/responses/<id>", comment),
    ]
    return [
        route_cost(name, [partial(step, u) for u in seeded.responder_ids], redis)
        for name, step in steps
    ]


# --- the report -----------------------------------------------------------------------------------


def spread(values: list[float], digits: int = 1) -> dict[str, float]:
    """Median and range."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def summarize(phases: list[Phase]) -> dict[str, Any]:
    """The median and range over the rounds, and Redis per call over all of them."""
    requests = sum(p.requests for p in phases)
    commands: Counter[str] = Counter()
    for p in phases:
        commands.update({name: n * p.requests for name, n in p.redis["by_command"].items()})
    return {
        "requests_per_second": spread([p.requests_per_second for p in phases]),
        "p50_ms": spread([p.p50_ms for p in phases], 2),
        "p99_ms": spread([p.p99_ms for p in phases], 2),
        "cpu": {name: spread([p.cpu[name] for p in phases], 0) for name in phases[0].cpu},
        "reruns": sum(p.runs - 1 for p in phases),
        "min_worker_share": round(min(p.min_worker_share for p in phases), 3),
        "errors": sum(p.failed for p in phases),
        "redis": {
            "commands": round(sum(p.redis["commands"] * p.requests for p in phases) / requests, 2),
            "round_trips": round(
                sum(p.redis["round_trips"] * p.requests for p in phases) / requests, 2
            ),
            "by_command": {
                name: round(n / requests, 2)
                for name, n in commands.most_common()
                if n >= requests / 200
            },
        },
    }


def fmt(s: dict[str, float], unit: str = "", digits: int = 1) -> str:
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def redis_line(redis: dict[str, Any]) -> str:
    names = ", ".join(f"{name} {n:g}" for name, n in redis["by_command"].items())
    return f"{redis['commands']:5.2f} commands, {redis['round_trips']:5.2f} round trips  {names}"


def print_table(report: dict[str, Any]) -> None:
    setup, summary = report["setup"], report["summary"]
    threads = f" x {setup['threads']} threads" if setup["worker_class"] == "gthread" else ""
    print(
        f"gunicorn: {setup['workers']} {setup['worker_class']} workers{threads} on a "
        f"{setup['cpus']}-core machine; load: wrk, {setup['wrk_threads']} threads, "
        f"{setup['clients']} connections, on the same machine; code: {setup['code']}"
    )
    print("data: " + ", ".join(f"{v} {k}" for k, v in report["data"].items()))
    print(
        f"{setup['rounds']} interleaved rounds of widget then ping, {setup['seconds']} s each; "
        f"phases run again because a worker served under {setup['min_worker_share']:.0%}: "
        f"{sum(s['reruns'] for s in summary.values() if 'reruns' in s)}"
    )
    print()
    print(
        "median (min-max) over the rounds; CPU in % of one core: 'other' is what the machine's"
        " other processes took (other engineers' work), 'machine' all of it"
    )
    header = f"{'phase':<18}{'req/s':<24}{'p50 ms':<24}{'p99 ms':<26}"
    print(header + "wrk CPU  gunicorn  postgres  redis  other  machine")
    for name, route in (("widget", "POST /api/widget"), ("ping", "GET /bench/ping")):
        s = summary[name]
        cpu = s["cpu"]
        print(
            f"{route:<18}{fmt(s['requests_per_second']):<24}{fmt(s['p50_ms'], digits=2):<24}"
            f"{fmt(s['p99_ms'], digits=2):<26}{cpu['wrk']['median']:>6.0f}%"
            f"{cpu['gunicorn']['median']:>9.0f}%{cpu['postgres']['median']:>9.0f}%"
            f"{cpu['redis']['median']:>6.0f}%{cpu['other']['median']:>6.0f}%"
            f"{cpu['machine']['median']:>8.0f}%"
        )
    ratio = summary["ratio"]
    print(f"\nwidget / ping req/s: {fmt(ratio, digits=3)}")
    print("\nper round: req/s (p99 ms) [requests per worker]")
    for r in report["rounds"]:
        widget, ping = Phase(**r["widget"]), Phase(**r["ping"])
        print(
            f"  {r['round']}  widget {round_cell(widget):<36} ping {round_cell(ping):<38}"
            f"ratio {r['ratio']:.3f}"
        )
    errors = sum(summary[name]["errors"] for name in ("widget", "ping"))
    if errors:
        print(f"WARNING: {errors} wrk errors (see the JSON); the figures do not measure the route")
    print("\nRedis per call (wrk phases, all rounds; commands include those a script runs):")
    for name in ("widget", "ping"):
        print(f"  {name:<7}{redis_line(summary[name]['redis'])}")
    inproc = report["in_process"]
    print(
        f"\nIn process (Django test client, {inproc['calls']} calls each in "
        f"{inproc['batches']} interleaved batches, after {WARM_UP_CALLS} warm-up calls):"
    )
    print(
        f"  widget {fmt(inproc['widget_ms'], ' ms', 3)}, ping {fmt(inproc['ping_ms'], ' ms', 3)}"
        f" per call; ping/widget time {fmt(inproc['ratio'], digits=3)}"
    )
    print("\nSQL queries per POST /api/widget (in process):")
    for case in report["queries"]:
        print(f"  {case['queries']}  {case['case']}")
        for sql in case["sql"]:
            print(f"       {short_sql(sql)}")
    print("\nOther widget routes (in process; SQL of the first call, BEGIN/COMMIT included):")
    for route in report["routes"]:
        print(
            f"  {route['route']:<24} {route['ms_per_call']:7.3f} ms/call ({route['calls']} calls)"
            f"  {route['queries']:2} SQL  Redis {redis_line(route['redis'])}"
        )
        for sql in route["sql"]:
            print(f"       {short_sql(sql)}")


def round_cell(phase: Phase) -> str:
    split = "/".join(str(n) for n in sorted(phase.workers.values(), reverse=True))
    rerun = f" x{phase.runs}" if phase.runs > 1 else ""
    return f"{phase.requests_per_second:.0f} ({phase.p99_ms:.1f}) [{split}]{rerun}"


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def cleanup_on_exit(args: argparse.Namespace, env: Environment) -> Iterator[list[Any]]:
    """Yields a list to put the server in; stops it, drops the database, stops Redis."""
    server: list[Any] = []
    try:
        yield server
    finally:
        log("cleaning up: gunicorn, database, Redis")
        steps: list[tuple[str, Callable[[], None]]] = [
            ("stop gunicorn", lambda: stop_processes(server)),
            ("close connections", close_django_connections),
            ("drop database", lambda: drop_database(args, env.database)),
            ("stop or flush Redis", lambda: stop_redis(env)),
            ("remove files", lambda: shutil.rmtree(env.workdir, ignore_errors=True)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # keep cleaning up
                log(f"{name} failed: {exc!r}")


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        stop_process(process)


def close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def load_rounds(args: argparse.Namespace, server: Server, widget: Route) -> list[dict[str, Any]]:
    ping = Route("ping", "/bench/ping")
    rounds = []
    for round_ in range(1, args.rounds + 1):
        log(f"round {round_}/{args.rounds}: widget, then ping, {args.seconds} s each ...")
        a = balanced_phase(args, server, widget, round_)
        b = balanced_phase(args, server, ping, round_)
        ratio = round(a.requests_per_second / b.requests_per_second, 3)
        rounds.append({"round": round_, "widget": a, "ping": b, "ratio": ratio})
    return rounds


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = make_environment(args)
    started = time.monotonic()
    with cleanup_on_exit(args, env) as gunicorn:
        if env.redis_server is None:
            check_redis_db_is_empty(env.redis_url)
        log(f"code {CODE_ROOT}; database {env.database}, Redis {env.redis_url}")
        create_database(args, env.database)
        setup_django(env)
        log(f"seeding {args.users} users ...")
        seeded = seed(args.users, args.write_calls + 1)
        log("seeded: " + ", ".join(f"{v} {k}" for k, v in seeded.counts.items()))
        bodies = widget_bodies(seeded, args.distinct_urls)
        log("in process: one widget call per user ...")
        warm_up(seeded, bodies)
        queries = widget_queries(seeded)
        log(f"in process: {args.calls} widget calls and pings ...")
        in_process = widget_and_ping_ms(bodies, args.calls)
        log(f"in process: displays, responses and comments of {args.write_calls} users ...")
        redis = redis_client(env.redis_url)
        routes = other_routes(seeded, redis)
        port = free_port()
        gunicorn.append(start_gunicorn(args, env, port))
        wait_until_serving(gunicorn[0], port)
        server = Server(port, CpuProbe(gunicorn[0], env.redis_server), env.access_log, redis)
        body_file = env.workdir / "widget-bodies.txt"
        body_file.write_text("\n".join(bodies) + "\n")
        widget = Route("widget", "/api/widget", body_file)
        log(f"gunicorn on 127.0.0.1:{port}; warming it up with wrk ...")
        seen_now(seeded, seeded.user_ids)
        for route in (widget, Route("ping", "/bench/ping")):
            run_phase(args, server, route, 0)
        rounds = load_rounds(args, server, widget)
    return {
        "setup": {
            "code": str(CODE_ROOT),
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "clients": args.clients,
            "wrk_threads": args.wrk_threads,
            "cpus": os.cpu_count(),
            "rounds": args.rounds,
            "seconds": args.seconds,
            "min_worker_share": args.min_worker_share,
            "distinct_urls": args.distinct_urls,
            "redis": "private" if env.redis_server else env.redis_url,
            "total_seconds": round(time.monotonic() - started, 1),
        },
        "data": seeded.counts,
        "summary": {
            "widget": summarize([r["widget"] for r in rounds]),
            "ping": summarize([r["ping"] for r in rounds]),
            "ratio": spread([r["ratio"] for r in rounds], 3),
        },
        "rounds": [{**r, "widget": asdict(r["widget"]), "ping": asdict(r["ping"])} for r in rounds],
        "in_process": in_process,
        "queries": [asdict(q) for q in queries],
        "routes": [asdict(r) for r in routes],
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
    summary = report["summary"]
    return 1 if summary["widget"]["errors"] or summary["ping"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
