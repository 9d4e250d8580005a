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
   warm up, then ``--repeat`` times, and the medians are compared;
4. times the pages that the daily rollups cannot serve alone, against the same raw
   aggregate: the trait breakdown (``trait=plan``: NPS per plan, read from the responses)
   and a trait filter (``trait=plan&trait_value=pro``: every block from the responses);
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
import sys
import time
from collections.abc import Callable
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
    return Environment(database, database_url, "", variables)


def setup_django(env: Environment) -> None:
    os.environ.update(env.variables)
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # No collectstatic here: plain static URLs instead of the production manifest.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC_STORAGE}}
    override_settings(STORAGES=storages).enable()
    call_command("migrate", interactive=False, verbosity=0)


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


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = run()  # warm-up: plans, caches, the template loader
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(project: Any, repeat: int) -> dict[str, Any]:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from satismeter_app.services import dashboard

    admin = get_user_model().objects.create_superuser("bench", password=secrets.token_hex(8))
    client = Client()
    client.force_login(admin)
    today = timezone.localdate(timezone=project.zone)
    start = today - timedelta(days=DAYS)
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    params = {"start": start.isoformat(), "end": today.isoformat()}

    def page() -> Any:
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    filters = dashboard.FilterForm(project, _query(params)).filters()
    bounds = dashboard._bounds(project, filters)
    summary = dashboard.overview(project, filters).summary

    def raw() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(RAW_AGGREGATE, [project.pk, *bounds])
            return cursor.fetchone()

    log(f"timing the page and the raw aggregate, {repeat} runs each ...")
    page_seconds, html = timed(page, repeat)
    raw_seconds, row = timed(raw, repeat)
    # The same numbers: the page shows what the raw aggregate counts.
    assert summary.answered == row[0] and summary.frequency == list(row[7:]), (summary, row)
    assert f'data-testid="answered">{row[0]}<' in html
    page_queries = queries_of(page)
    fallbacks = {}
    for name, extra in FALLBACKS.items():
        log(f"timing the page with {name} ...")
        seconds, _ = timed(
            lambda extra=extra: client_page(client, url, {**params, **extra}), repeat
        )
        fallbacks[f"{name}_ms"] = round(seconds * 1000, 1)
        fallbacks[f"{name}_ratio"] = round(seconds / raw_seconds, 2)
        fallbacks[f"{name}_queries"] = queries_of(
            lambda extra=extra: client_page(client, url, {**params, **extra})
        )
    return {
        "responses": summary.answered + summary.dismissed,
        "answered": summary.answered,
        "nps": round(summary.nps, 2),
        "page_queries": page_queries,
        "page_ms": round(page_seconds * 1000, 1),
        "raw_sql_ms": round(raw_seconds * 1000, 1),
        "ratio": round(page_seconds / raw_seconds, 2),
        **fallbacks,
    }


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


FALLBACKS = {
    "trait_breakdown": {"trait": "plan"},
    "trait_filter": {"trait": "plan", "trait_value": "pro"},
}


def client_page(client: Any, url: str, params: dict[str, str]) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


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
    try:
        log(f"database {env.database}")
        create_database(args, env.database)
        setup_django(env)
        project = seed(args.responses, args.time_zone)
        report = measure(project, args.repeat)
        log(f"checking {args.checks} random filters against the raw aggregate ...")
        report["random_filters_equal"] = check_random_filters(project, args.checks)
    finally:
        log("cleaning up: database")
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(args, env.database)
    return {**report, "cpus": os.cpu_count(), "total_seconds": round(time.monotonic() - started)}


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
        width = max(map(len, report))
        for name, value in report.items():
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
