"""Count the daily rollups again from the responses and displays.

    python manage.py satismeter_rebuild_rollups [--project ID ...]

The database keeps the rollups current by itself (triggers, see ``DailyRollup``); this is
for after a restore, a queryset ``update(time_zone=…)`` that skipped ``Project.save()``, or
rows written while the triggers were off. Each project is rebuilt in its own transaction,
during which writers wait (readers do not). A progress bar goes to stderr; the summary to
stdout.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from satismeter_app.models import DailyRollup, Project

from .satismeter_send_reminders import ProgressBar


class Command(BaseCommand):
    help = "Rebuild the dashboard's daily rollups from the responses and displays."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", type=int, action="append", help="Only this project (its id; repeatable)."
        )

    def handle(self, *args: Any, project: list[int] | None = None, **_: Any) -> None:
        projects = Project.objects.order_by("pk")
        if project:
            projects = projects.filter(pk__in=project)
        todo = list(projects)
        bar = ProgressBar(self.stderr, len(todo), "rollups")
        rows = 0
        for each in todo:
            rows += DailyRollup.rebuild(each)
            bar.step()
        bar.close()
        self.stdout.write(f"Rebuilt {rows} daily rows of {len(todo)} project(s).")
