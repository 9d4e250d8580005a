"""Send the reminder emails that are due now (what the hourly beat task does).

    python manage.py satismeter_send_reminders [--dry-run] [--project ID]

``--dry-run`` sends nothing and writes nothing: it lists who would get a reminder and why.
A progress bar goes to stderr; the summary to stdout.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from satismeter_app.models import Survey
from satismeter_app.services import reminders

BAR_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: Any, total: int, label: str) -> None:
        self.stream, self.total, self.label, self.done = stream, max(total, 1), label, 0

    def step(self, *_: Any) -> None:
        self.done += 1
        filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Send the survey reminder emails that are due; --dry-run lists who and why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Send nothing; list who and why."
        )
        parser.add_argument("--project", type=int, help="Only this project's surveys (its id).")

    def handle(
        self, *args: Any, dry_run: bool = False, project: int | None = None, **_: Any
    ) -> None:
        now = timezone.now()
        sent = selected = 0
        for survey in reminders.surveys_due(now, project):
            bar = ProgressBar(
                self.stderr._out, reminders.candidate_query(survey, now).count(), survey.name
            )
            if dry_run:
                selected += self._list(survey, now, bar)
            else:
                report = reminders.send_for_survey(survey, now, progress=bar.step)
                selected, sent = selected + report.selected, sent + report.sent
            bar.close()
        verb = "would get" if dry_run else "got"
        count = selected if dry_run else sent
        self.stdout.write(f"{count} user(s) {verb} a reminder ({selected} selected).")

    def _list(self, survey: Survey, now: Any, bar: ProgressBar) -> int:
        count = 0
        for candidate in reminders.select(survey, now):
            bar.step()
            count += 1
            why = candidate.why(now)
            self.stdout.write(f"survey {survey.pk} ({survey.name}): {candidate.email}: {why}")
        return count
