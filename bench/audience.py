"""The cost of the survey form's audience estimate, bounded by its sample, against judging
every user of the audience.

    .venv/bin/python bench/audience.py [--users 100000] [--rounds 5] [--json]

One run, on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_audience_<pid>``), migrates it;
2. seeds ``--users`` identified users of one project: first seen 0-365 days ago, a plan trait
   (a third "pro"), a third who answered the survey 60-120 days ago;
3. in ``--rounds`` interleaved rounds, times ``audience.estimate`` as the form's endpoint
   calls it (at most ``SAMPLE_SIZE`` users judged) and the same with every user judged (the
   baseline), for a survey with 30 days' tenure, a 90-day resurvey interval and a trait
   condition; then the endpoint itself (``POST …/audience/`` through Django's test client,
   as a superuser, the form bound and checked) and the population count alone;
4. prints medians and ranges, the ratio of the bounded estimate to the baseline, and how far
   the sampled N and K are from the exact ones (in percentage points of M); drops the
   database, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.widget import create_database, drop_database, log  # noqa: E402  (ROOT on sys.path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="users of the project")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.users < 10 or args.rounds < 1:
        parser.error("--users must be at least 10, --rounds at least 1")
    if "127.0.0.1" not in args.postgres and "localhost" not in args.postgres:
        parser.error("the bench only talks to loopback addresses")
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def seed(users: int) -> Any:
    from django.utils import timezone

    from satismeter_app import history
    from satismeter_app.models import EndUser, Project, Survey

    now = timezone.now()
    project = Project.objects.create(name="Bench")
    survey = Survey.objects.create(
        project=project,
        name="NPS",
        state=Survey.State.ACTIVE,
        min_tenure_days=30,
        tenure_basis=Survey.TenureBasis.FIRST_SEEN,
        trait_conditions=[
            {"trait": "plan", "type": "text", "op": "in", "value": ["pro", "business"]}
        ],
    )

    def user(i: int) -> EndUser:
        seen = now - timedelta(days=i * 7919 % 366)
        past: dict[str, Any] = {}
        if i % 3 == 0:
            history.add_answer(past, survey.pk, now - timedelta(days=60 + i % 61))
        plan = ("pro", "free", "business", "free", "free", "pro")[i % 6]
        traits = {"plan": plan, "seats": i % 50, "createdAt": seen.isoformat()}
        return EndUser(
            project=project,
            user_id=f"u{i}",
            first_seen=seen,
            last_seen=now,
            traits=traits,
            history=past,
        )

    EndUser.objects.bulk_create((user(i) for i in range(users)), batch_size=5000)
    return survey


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def endpoint(survey: Any) -> Any:
    """A logged-in client and the form data of the survey, to post to the estimate."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from satismeter_app.admin.survey_form import SurveyForm

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "b@bench.test", "x"))
    url = reverse("admin:satismeter_app_survey_audience", args=[survey.pk])
    data = {
        "name": survey.name,
        "type": survey.type,
        "state": survey.state,
        "priority": 0,
        "audience": survey.audience,
        "tenure_basis": survey.tenure_basis,
        "texts-language": "en",
        "design-skin": "",
        "design-showNumbers": "on",
        "design-poweredBy": "on",
        "trait_conditions-0-trait": "plan",
        "trait_conditions-0-type": "text",
        "trait_conditions-0-op": "in",
        "trait_conditions-0-value": "pro, business",
    }
    for name in ("min_tenure_days", "event_window_days", "sample_percent", "resurvey_days"):
        data[name] = getattr(survey, name)
    data.update(dismiss_wait_days=survey.dismiss_wait_days, max_displays=survey.max_displays)
    assert SurveyForm  # the form the endpoint binds
    return lambda: client.post(url, data)


def rounds(survey: Any, count: int) -> dict[str, list[Any]]:
    from django.utils import timezone

    from satismeter_app import targeting
    from satismeter_app.services import audience

    rules = targeting.SurveyRules.from_survey(survey)
    gap = survey.project.survey_gap_days
    now = timezone.now()
    users = audience.audience_users(survey.project_id, survey.audience)
    post = endpoint(survey)
    found: dict[str, list[Any]] = {"bounded": [], "every_user": [], "endpoint": [], "count": []}
    for number in range(count):
        log(f"round {number + 1} of {count}")
        found["bounded"].append(
            timed(lambda: audience.estimate(rules, survey_gap_days=gap, now=now))
        )
        every_user = functools.partial(
            audience.estimate, rules, survey_gap_days=gap, now=now, sample_size=users.count() + 1
        )
        found["every_user"].append(timed(every_user))
        seconds, response = timed(post)
        assert response.status_code == 200, response.content[:500]
        found["endpoint"].append((seconds, response.json()))
        found["count"].append(timed(users.count))
    return found


def summary(found: dict[str, list[Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, runs in found.items():
        times = [seconds * 1000 for seconds, _ in runs]
        figures[f"{name}_ms_median"] = round(statistics.median(times), 1)
        figures[f"{name}_ms_range"] = [round(min(times), 1), round(max(times), 1)]
    ratios = [b[0] / e[0] for b, e in zip(found["bounded"], found["every_user"], strict=True)]
    figures["bounded_over_every_user_median"] = round(statistics.median(ratios), 3)
    sampled, exact = found["bounded"][0][1], found["every_user"][0][1]
    total = exact.population
    figures.update(
        population=total,
        judged=sampled.judged,
        shown_now_exact=exact.shown_now,
        shown_now_sampled=sampled.shown_now,
        due_soon_exact=exact.due_soon,
        due_soon_sampled=sampled.due_soon,
        shown_now_error_points=round(abs(sampled.shown_now - exact.shown_now) / total * 100, 2),
        due_soon_error_points=round(abs(sampled.due_soon - exact.due_soon) / total * 100, 2),
        endpoint_text=found["endpoint"][0][1]["text"],
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = f"satismeter_bench_audience_{os.getpid()}"
    create_database(args, name)
    try:
        setup_django(f"{args.postgres.rstrip('/')}/{name}")
        log(f"seeding {args.users} users")
        survey = seed(args.users)
        figures = {"users": args.users, **summary(rounds(survey, args.rounds))}
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args, name)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:34} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
