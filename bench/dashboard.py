"""The admin's NPS dashboard on a million responses, next to one raw SQL aggregate.

    .venv/bin/python bench/dashboard.py [--responses 1000000] [--repeat 5] [--json]

One run, all on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_dashboard_<pid>``) and
   migrates it;
2. seeds a project, a survey, 1,000 users, ``--responses`` responses spread over the last
   year (ratings 0–10, some dismissed, a third with a comment, a ``plan`` trait) and as many
   displays again, with ``INSERT … SELECT generate_series`` (bulk_create is too slow for this),
   then ``VACUUM ANALYZE``;
3. times the dashboard's overview page (``/admin/satismeter_app/project/<id>/dashboard/`` over
   the whole year, rendered through Django's test client as a logged-in superuser: summary,
   previous period, displays, weekly trend, comments) and, in the same run, the single raw
   SQL aggregate of the page's headline numbers (answered, the three categories, dismissed,
   completed, commented and the eleven score counts) over the same rows; each is run once to
   warm up, then ``--repeat`` times in turns (raw, page, raw, page, ...: both see the same
   load on a shared machine), and the medians are compared;
4. times the pages that the daily rollups cannot serve alone in the same way, each in turns
   with the same raw aggregate: the trait breakdown (``trait=plan``: NPS per plan, read from
   the responses) and a trait filter (``trait=plan&trait_value=pro``: the chosen value's
   responses by day, the rest of the period from the rollups), whose numbers are checked
   against the raw aggregate of the responses with and without ``pro``;
5. checks the overview's numbers against a raw SQL aggregate, counted in the project's
   time zone (``--time-zone``), for ``--checks`` random filters (period, method, language,
   category);
6. drops the database, also on Ctrl-C and errors.

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.widget import (  # noqa: E402  (the path above makes the package importable)
    Environment,
    create_database,
    drop_database,
    log,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
USERS = 1000
DAYS = 365

RAW_AGGREGATE = """
SELECT COUNT(*) FILTER (WHERE rating IS NOT NULL),
       COUNT(*) FILTER (WHERE rating >= 9),
       COUNT(*) FILTER (WHERE rating BETWEEN 7 AND 8),
       COUNT(*) FILTER (WHERE rating <= 6),
       COUNT(*) FILTER (WHERE dismissed),
       COUNT(*) FILTER (WHERE completed),
       COUNT(*) FILTER (WHERE feedback <> ''),
       {scores}
FROM satismeter_app_response
WHERE project_id = %s AND created >= %s AND created < %s
""".format(scores=", ".join(f"COUNT(*) FILTER (WHERE rating = {n})" for n in range(11)))

# The raw aggregate of the responses with the trait filter's value, then of the others.
TRAIT_AGGREGATE = (
    RAW_AGGREGATE.replace(
        "FROM satismeter_app_response",
        "FROM satismeter_app_response, LATERAL (SELECT traits ->> 'plan' = 'pro' AS chosen) t",
    )
    + " GROUP BY t.chosen IS TRUE ORDER BY t.chosen IS TRUE DESC"
)

SEED_RESPONSES = """
INSERT INTO satismeter_app_response
    (project_id, survey_id, user_id, rating, feedback, answers, method, language, referrer,
     device, traits, dismissed, pending, completed, edit_token_hash, created, updated,
     completed_at)
SELECT %(project)s, %(survey)s, %(first_user)s + (i %% %(users)s),
       CASE WHEN i %% 10 = 0 THEN NULL ELSE (i * 7) %% 11 END,
       CASE WHEN i %% 3 = 0 THEN 'comment ' || i ELSE '' END,
       '[]'::jsonb, CASE WHEN i %% 5 = 0 THEN 'Email' ELSE 'In-app' END,
       (ARRAY['en', 'de', 'fr', 'es'])[1 + i %% 4], '', '{}'::jsonb,
       jsonb_build_object('plan', (ARRAY['free', 'starter', 'pro', 'enterprise'])[1 + i %% 4]),
       i %% 10 = 0, false, i %% 10 <> 0, '',
       now() - (i %% (%(days)s * 24 * 60)) * interval '1 minute', now(),
       CASE WHEN i %% 10 <> 0 THEN now() - (i %% (%(days)s * 24 * 60)) * interval '1 minute' END
FROM generate_series(1, %(count)s) AS i
"""

SEED_DISPLAYS = """
INSERT INTO satismeter_app_display (project_id, survey_id, user_id, url, created)
SELECT %(project)s, %(survey)s, %(first_user)s + (i %% %(users)s), '',
       now() - (i %% (%(days)s * 24 * 60)) * interval '1 minute'
FROM generate_series(1, %(count)s) AS i
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="responses to seed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--time-zone", default="UTC", help="the benched project's time zone")
    parser.add_argument("--checks", type=int, default=20, help="random filters to check")
    parser.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        type=Path,
        help="another checkout of the app (same migrations), e.g. a git worktree of an older "
        "commit: its pages are timed in turns with this checkout's, on the same database",
    )
    parser.add_argument("--serve-pages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if urlsplit(args.postgres).hostname not in LOOPBACK:
        parser.error(f"{args.postgres}: the bench only talks to loopback addresses")
    if min(args.responses, args.repeat) < 1:
        parser.error("--responses and --repeat must be positive")
    return args


def make_environment(args: argparse.Namespace) -> Environment:
    database = f"satismeter_bench_dashboard_{os.getpid()}"
    database_url = f"{args.postgres.rstrip('/')}/{database}"
    variables = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "BENCH_ROOT_URLCONF": "project.urls",
    }
    # This bench writes no files of its own: the system's temporary directory is its workdir.
    return Environment(database, database_url, "", variables, Path(tempfile.gettempdir()))


def setup_django(env: Environment) -> None:
    os.environ.update(env.variables)
    import django
    from django.core.management import call_command

    django.setup()
    plain_static_files()
    call_command("migrate", interactive=False, verbosity=0)


def plain_static_files() -> None:
    """No collectstatic here: plain static URLs instead of the production manifest."""
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC_STORAGE}}
    override_settings(STORAGES=storages).enable()


def seed(count: int, time_zone: str) -> Any:
    from django.db import connection

    from satismeter_app.models import EndUser, Project, Survey

    project = Project.objects.create(name="Bench: dashboard", time_zone=time_zone)
    survey = Survey.objects.create(project=project, name="Bench NPS", state="active")
    users = EndUser.objects.bulk_create(
        EndUser(project=project, user_id=f"user-{n}") for n in range(USERS)
    )
    params = {
        "project": project.pk,
        "survey": survey.pk,
        "first_user": min(u.pk for u in users),
        "users": USERS,
        "days": DAYS,
        "count": count,
    }
    with connection.cursor() as cursor:
        log(f"seeding {count:,} responses ...")
        cursor.execute(SEED_RESPONSES, params)
        log(f"seeding {count:,} displays ...")
        cursor.execute(SEED_DISPLAYS, params)
        cursor.execute("VACUUM ANALYZE satismeter_app_response")
        cursor.execute("VACUUM ANALYZE satismeter_app_display")
        cursor.execute("VACUUM ANALYZE satismeter_app_dailyrollup")
    return project


def in_turns(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, Any]:
    """Each run once to warm up (plans, caches, the template loader), then all of them in
    turns (raw, page, raw, page, ...), so that all see the same load on a shared machine:
    the median seconds of each, and what each gave when warming up."""
    results = {name: run() for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(seconds(run))
    return {name: statistics.median(times[name]) for name in runs} | {"results": results}


def seconds(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(project: Any, repeat: int, baseline: Baseline | None = None) -> dict[str, Any]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from satismeter_app.services import dashboard

    today = timezone.localdate(timezone=project.zone)
    params = {"start": (today - timedelta(days=DAYS)).isoformat(), "end": today.isoformat()}
    filters = dashboard.FilterForm(project, _query(params)).filters()
    bounds = dashboard._bounds(project, filters)
    summary = dashboard.overview(project, filters).summary
    pages = Pages(project)

    def raw() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(RAW_AGGREGATE, [project.pk, *bounds])
            return cursor.fetchone()

    report: dict[str, Any] = {}
    for name, extra in PAGES.items():
        log(f"timing the {name} page and the raw aggregate in turns, {repeat} runs each ...")
        runs = {"raw": raw, "page": partial(pages.get, {**params, **extra})}
        if baseline is not None:
            runs["baseline"] = partial(baseline.get, {**params, **extra})
        timing = in_turns(runs, repeat)
        report.update(timing_report(name, timing))
        report[f"{'page' if name == 'overview' else name}_queries"] = queries_of(runs["page"])
        if name == "overview":  # the page shows what the raw aggregate counts
            row, html = timing["results"]["raw"], timing["results"]["page"]
            assert summary.answered == row[0] and summary.frequency == list(row[7:]), row
            assert f'data-testid="answered">{row[0]}<' in html
    check_trait_value(project, filters)
    return {
        "responses": summary.answered + summary.dismissed,
        "answered": summary.answered,
        "nps": round(summary.nps, 2),
        **report,
    }


def timing_report(name: str, timing: dict[str, Any]) -> dict[str, Any]:
    """The overview's figures keep their first names (page_ms, raw_sql_ms, ratio)."""
    page = "page" if name == "overview" else name
    report = {
        f"{page}_ms": round(timing["page"] * 1000, 1),
        "raw_sql_ms" if page == "page" else f"{name}_raw_sql_ms": round(timing["raw"] * 1000, 1),
        "ratio" if page == "page" else f"{name}_ratio": round(timing["page"] / timing["raw"], 2),
    }
    if "baseline" in timing:
        report[f"{page}_baseline_ms"] = round(timing["baseline"] * 1000, 1)
        report[f"{page}_baseline_ratio"] = round(timing["baseline"] / timing["raw"], 2)
    return report


class Pages:
    """The dashboard of the bench's project through Django's test client, as a superuser."""

    def __init__(self, project: Any) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        user = get_user_model().objects.filter(username="bench").first()
        if user is None:
            user = get_user_model().objects.create_superuser("bench", password=secrets.token_hex(8))
        self.client = Client()
        self.client.force_login(user)
        self.url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])

    def get(self, params: dict[str, str]) -> str:
        response = self.client.get(self.url, params)
        assert response.status_code == 200, response.status_code
        return response.content.decode()


class Baseline:
    """The same pages rendered by another checkout of the app, in a child process on the same
    database (``--serve-pages``): one line of query string in, its seconds back."""

    def __init__(self, checkout: Path, env: Environment) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-pages"]
        variables = {**os.environ, **env.variables, "BENCH_CHECKOUT": str(checkout.resolve())}
        # In the checkout: Celery's Django fixup puts the working directory first on sys.path.
        self.child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=variables,
            cwd=checkout,
        )
        assert self.ask("") >= 0  # logged in, warm

    def ask(self, query: str) -> float:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(query + "\n")
        self.child.stdin.flush()
        return float(self.child.stdout.readline())

    def get(self, params: dict[str, str]) -> float:
        return self.ask(urlencode(params))

    def close(self) -> None:
        if self.child.stdin is not None:
            self.child.stdin.close()
        self.child.wait(timeout=30)


def serve_pages() -> int:
    """The child of :class:`Baseline`: the app of ``BENCH_CHECKOUT`` (this file's ``bench``
    package is already imported), the dashboard of the one project in the database."""
    sys.path.insert(0, os.environ["BENCH_CHECKOUT"])
    import django

    django.setup()
    plain_static_files()
    from satismeter_app.models import Project

    assert Path(sys.modules["satismeter_app"].__file__ or "").is_relative_to(
        os.environ["BENCH_CHECKOUT"]
    )
    pages = Pages(Project.objects.get())
    for line in sys.stdin:
        started = time.perf_counter()
        pages.get(dict(parse_qsl(line.strip())))
        print(time.perf_counter() - started, flush=True)
    return 0


def check_trait_value(project: Any, filters: Any) -> None:
    """The trait filter's numbers (its summary and the rest of the period) against the raw
    aggregate of the responses with and without the trait value."""
    from dataclasses import replace

    from django.db import connection

    from satismeter_app.services import dashboard

    trait = replace(filters, **PAGES["trait_filter"])
    numbers = dashboard.numbers(project, trait)
    bounds = dashboard._bounds(project, filters)
    with connection.cursor() as cursor:
        cursor.execute(TRAIT_AGGREGATE, [project.pk, *bounds])
        chosen, rest = cursor.fetchall()
    summary = numbers.overview.summary
    assert (summary.answered, summary.frequency) == (chosen[0], list(chosen[7:])), chosen
    assert numbers.breakdown[1]["answered"] == rest[0], (numbers.breakdown, rest)


def queries_of(run: Callable[[], Any]) -> int:
    """How many SQL queries ``run`` makes, the session's and the user's included.

    Counted as soon as it returns: ``captured_queries`` reads the connection's live log, which
    the next request through the test client empties (``request_started`` resets it), so read
    later it says 0.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run()
    return len(queries.captured_queries)


PAGES = {
    "overview": {},
    "trait_breakdown": {"trait": "plan"},
    "trait_filter": {"trait": "plan", "trait_value": "pro"},
}


FILTERED_AGGREGATE = """
SELECT COUNT(*) FILTER (WHERE rating IS NOT NULL),
       COUNT(*) FILTER (WHERE dismissed),
       COUNT(*) FILTER (WHERE completed),
       COUNT(*) FILTER (WHERE feedback <> ''),
       {scores}
FROM satismeter_app_response
WHERE project_id = %(project)s
  AND (created AT TIME ZONE %(zone)s)::date BETWEEN %(start)s AND %(end)s
  AND (%(method)s = '' OR method = %(method)s)
  AND (%(language)s = '' OR language = %(language)s)
  AND (%(low)s IS NULL OR rating BETWEEN %(low)s AND %(high)s)
""".format(scores=", ".join(f"COUNT(*) FILTER (WHERE rating = {n})" for n in range(11)))


def check_random_filters(project: Any, checks: int) -> int:
    """The overview's numbers against the raw aggregate counted in the project's zone, for
    random filters; returns how many were checked."""
    import random
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from satismeter_app import nps
    from satismeter_app.services import dashboard

    rng = random.Random(4242)
    today = timezone.localdate(timezone=project.zone)
    for _ in range(checks):
        start = today - timedelta(days=rng.randint(0, DAYS))
        end = min(today, start + timedelta(days=rng.randint(0, 120)))
        category = rng.choice(["", *nps.CATEGORIES])
        ratings = nps.ratings_of(category) if category else [None]
        filters = dashboard.Filters(
            start=start,
            end=end,
            method=rng.choice(["", "In-app", "Email"]),
            language=rng.choice(["", "en", "de"]),
            category=category,
        )
        summary = dashboard.overview(project, filters).summary
        params = {
            "project": project.pk,
            "zone": project.time_zone,
            "start": start,
            "end": end,
            "method": filters.method,
            "language": filters.language,
            "low": ratings[0],
            "high": ratings[-1],
        }
        with connection.cursor() as cursor:
            cursor.execute(FILTERED_AGGREGATE, params)
            row = cursor.fetchone()
        got = (summary.answered, summary.dismissed, summary.completed, summary.commented)
        assert got == row[:4] and summary.frequency == list(row[4:]), (filters, summary, row)
    return checks


def _query(params: dict[str, str]) -> Any:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    query.update(params)
    return query


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = make_environment(args)
    started = time.monotonic()
    baseline = None
    try:
        log(f"database {env.database}")
        create_database(args, env.database)
        setup_django(env)
        project = seed(args.responses, args.time_zone)
        if args.compare_with is not None:
            log(f"starting the baseline's pages: {args.compare_with}")
            baseline = Baseline(args.compare_with, env)
        report = measure(project, args.repeat, baseline)
        log(f"checking {args.checks} random filters against the raw aggregate ...")
        report["random_filters_equal"] = check_random_filters(project, args.checks)
    finally:
        log("cleaning up: database")
        if baseline is not None:
            baseline.close()
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(args, env.database)
    return {**report, "cpus": os.cpu_count(), "total_seconds": round(time.monotonic() - started)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_pages:
        return serve_pages()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too
    try:
        report = run(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        width = max(map(len, report))
        for name, value in report.items():
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
