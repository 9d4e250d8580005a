"""Recipients selected per second and reminder emails rendered per second.

    .venv/bin/python bench/reminders.py [--users 100000] [--render 2000] [--first choice] [--json]

One run, on loopback:

1. creates a PostgreSQL database of its own (``satismeter_bench_reminders_<pid>``), migrates it;
2. seeds ``--users`` users of one project with one survey with reminders on: a quarter shown
   the survey 10 days ago and silent (``ignored``), a quarter due but away for 20 days
   (``inactive``), a quarter active today, a quarter without an email address;
3. **selection**: times ``reminders.select()`` over all of them and counts its SQL queries;
4. **rendering**: makes ``--render`` reminder rows and times rendering their emails through
   one ``reminders.Composer`` (subject, text and HTML from the templates once per survey and
   language, eleven signed links each) and handing them to Django's locmem backend in one
   ``send_messages()`` (nothing leaves the process); ``--render 0`` skips it; with
   ``--first choice`` the survey asks a single choice of five first (five answer links each);
5. **sending**: seeds a second project with ``--surveys`` surveys and ``--send`` users, each
   due a reminder of one of them, and times ``reminders.send_all()`` for it end to end
   (select, claim, render, send to locmem, record), counting its SQL queries and the
   connections it opens; ``--send 0`` skips it;
6. prints the figures and drops the database, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
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
    parser.add_argument("--render", type=int, default=2000, help="emails to render (0: skip)")
    parser.add_argument("--send", type=int, default=2000, help="reminders to send (0: skip)")
    parser.add_argument("--surveys", type=int, default=10, help="surveys they are spread over")
    parser.add_argument(
        "--first", choices=("rating", "choice"), default="rating", help="the emailed question"
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.users < 4 or args.render < 0 or args.send < 0:
        parser.error("--users must be at least 4, --render and --send not negative")
    if "127.0.0.1" not in args.postgres and "localhost" not in args.postgres:
        parser.error("the bench only talks to loopback addresses")
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def seed(users: int, *, kinds: int = 4) -> Any:
    """``kinds=1``: every user was shown the survey 10 days ago and is due a reminder."""
    from django.utils import timezone

    from satismeter_app.models import Display, EndUser, Project, Survey

    now = timezone.now()
    project = Project.objects.create(name=f"Bench {Project.objects.count()}")
    survey = Survey.objects.create(
        project=project,
        name="NPS",
        state=Survey.State.ACTIVE,
        reminders_enabled=True,
        reminder_sender_email="team@bench.test",
        min_tenure_days=0,
    )
    first = now - timedelta(days=60)

    def user(i: int) -> EndUser:
        kind = i % kinds
        seen = now - timedelta(days=20) if kind == 1 else now
        email = "" if kind == 3 else f"user{i}@example.com"
        return EndUser(
            project=project,
            user_id=f"u{i}",
            email=f"p{project.pk}-{email}" if email else "",
            first_seen=first,
            last_seen=seen,
        )

    rows = EndUser.objects.bulk_create((user(i) for i in range(users)), batch_size=5000)
    shown = now - timedelta(days=10)
    Display.objects.bulk_create(
        (
            Display(project=project, survey=survey, user=row, created=shown)
            for i, row in enumerate(rows)
            if i % kinds == 0
        ),
        batch_size=5000,
    )
    return survey


def select_phase(survey: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from satismeter_app.services import reminders

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        found = list(reminders.select(survey, timezone.now()))
        seconds = time.perf_counter() - start
    return {"selected": len(found), "queries": len(queries), "seconds": seconds, "found": found}


# A survey that asks a single choice first, then the rating and the comment.
CHOICE_FIRST = [
    {
        "id": "reason",
        "type": "single-choice",
        "texts": {"en": {"label": "What should we improve?"}},
        "choices": [
            {"id": f"c{i}", "texts": {"en": text}}
            for i, text in enumerate(["Price", "Speed", "Reports", "Support", "Docs"])
        ],
    },
    {"id": "SM_rating", "type": "scale", "metric": "nps"},
    {"id": "SM_comment", "type": "long-text"},
]


def render_phase(survey: Any, found: list[Any], count: int) -> dict[str, Any]:
    from django.core import mail
    from django.core.mail import get_connection
    from django.utils import timezone

    from satismeter_app.models import Reminder
    from satismeter_app.services import reminders

    rows = Reminder.objects.bulk_create(
        Reminder(
            project_id=survey.project_id,
            survey=survey,
            user_id=c.user_id,
            period=0,
            reason=c.reason,
            email=c.email,
            language="en",
            nonce=secrets.token_hex(8),
            created=timezone.now(),
        )
        for c in found[:count]
    )
    batch = list(
        Reminder.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "survey__project", "user__project"
        )
    )
    backend = get_connection()
    start, cpu = time.perf_counter(), time.process_time()
    composer = reminders.Composer()
    backend.send_messages([composer.compose(reminder) for reminder in batch])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"rendered": len(mail.outbox), "seconds": seconds, "cpu_seconds": cpu}


def send_phase(count: int, surveys: int) -> dict[str, Any]:
    """``reminders.send_all()`` for a project of ``surveys`` surveys, each shown ten days ago
    to its share of ``count`` users: every user is due one reminder."""
    from django.core import mail
    from django.core.mail.backends import locmem
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from satismeter_app.models import Display, Survey
    from satismeter_app.services import reminders

    first = seed(count, kinds=1)
    others = [
        Survey.objects.create(
            project=first.project,
            name=f"NPS {i}",
            state=Survey.State.ACTIVE,
            reminders_enabled=True,
            reminder_sender_email="team@bench.test",
            min_tenure_days=0,
        )
        for i in range(1, surveys)
    ]
    for i, survey in enumerate(others, start=1):  # users i, i + surveys, … see this survey
        Display.objects.filter(survey=first, user_id__in=user_ids(first, i, surveys)).update(
            survey=survey
        )
    mail.outbox = []
    opened = []
    original = locmem.EmailBackend.open
    locmem.EmailBackend.open = lambda self: opened.append(1) or True  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            report = reminders.send_all(timezone.now(), first.project_id)
            seconds = time.perf_counter() - start
    finally:
        locmem.EmailBackend.open = original  # type: ignore[method-assign]
    return {
        "sent": report.sent,
        "seconds": seconds,
        "queries": len(queries),
        "connections": len(opened),
    }


def user_ids(survey: Any, offset: int, step: int) -> list[int]:
    from satismeter_app.models import EndUser

    ids = EndUser.objects.filter(project_id=survey.project_id).order_by("pk")
    return list(ids.values_list("pk", flat=True))[offset::step]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = f"satismeter_bench_reminders_{os.getpid()}"
    create_database(args, name)
    try:
        setup_django(f"{args.postgres.rstrip('/')}/{name}")
        log(f"seeding {args.users} users")
        survey = seed(args.users)
        log("selecting")
        selection = select_phase(survey)
        rendering = sending = None
        if args.render and args.first == "choice":
            survey.questions = CHOICE_FIRST
            survey.save(update_fields=["questions"])
        if args.render:
            log(f"rendering {min(args.render, selection['selected'])} emails")
            rendering = render_phase(survey, selection.pop("found"), args.render)
        if args.send:
            log(f"sending {args.send} reminders")
            sending = send_phase(args.send, args.surveys)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args, name)
    figures = {
        "users": args.users,
        "recipients_selected": selection["selected"],
        "selection_queries": selection["queries"],
        "selection_seconds": round(selection["seconds"], 3),
        "recipients_per_second": round(selection["selected"] / selection["seconds"]),
    }
    if rendering:
        figures["emails_rendered"] = rendering["rendered"]
        figures["render_seconds"] = round(rendering["seconds"], 3)
        figures["emails_rendered_per_second"] = round(rendering["rendered"] / rendering["seconds"])
        # The rate on one busy core: the figure to read on a machine other work shares.
        figures["emails_rendered_per_cpu_second"] = round(
            rendering["rendered"] / rendering["cpu_seconds"]
        )
    if sending:
        figures["reminders_sent"] = sending["sent"]
        figures["send_seconds"] = round(sending["seconds"], 3)
        figures["reminders_sent_per_second"] = round(sending["sent"] / sending["seconds"])
        figures["send_queries"] = sending["queries"]
        figures["send_connections"] = sending["connections"]
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
