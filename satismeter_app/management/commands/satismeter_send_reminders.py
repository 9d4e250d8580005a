"""Send the reminder emails that are due now (what the hourly beat task does).

    python manage.py satismeter_send_reminders [--dry-run] [--project ID]

``--dry-run`` sends nothing and writes nothing: it lists who would get a reminder and why,
and the users who get none because their email trait is not one valid address.
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
    """Progress on ``stream``: a bar redrawn in place on a terminal; anywhere else (a log, a
    pipe, a file) a plain line at every tenth of the way, so that logs stay readable."""

    def __init__(self, stream: Any, total: int, label: str) -> None:
        self.stream, self.total, self.label, self.done = stream, max(total, 1), label, 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.tenth = -1

    def step(self, *_: Any) -> None:
        self.advance(1)

    def advance(self, count: int) -> None:
        self.done += count
        filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
        line = f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total}"
        if self.tty:
            self.stream.write(f"\r{line}")
        elif (tenth := min(10, 10 * self.done // self.total)) != self.tenth:
            self.tenth = tenth
            self.stream.write(f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
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
        total = reminders.SendReport()
        for survey in reminders.surveys_due(now, project):
            bar = ProgressBar(
                self.stderr._out, reminders.candidate_query(survey, now).count(), survey.name
            )
            if dry_run:
                total += self._list(survey, now, bar)
            else:
                total += reminders.send_for_survey(survey, now, progress=bar.step)
            bar.close()
        verb, count = (
            ("would get", total.selected - total.invalid) if dry_run else ("got", total.sent)
        )
        self.stdout.write(
            f"{count} user(s) {verb} a reminder ({total.selected} selected, "
            f"{total.invalid} without one valid address)."
        )

    def _list(self, survey: Survey, now: Any, bar: ProgressBar) -> reminders.SendReport:
        report = reminders.SendReport()
        for candidate in reminders.select(survey, now):
            bar.step()
            report.selected += 1
            report.invalid += candidate.problem is not None
            self.stdout.write(f"survey {survey.pk} ({survey.name}): {_line(candidate, now)}")
        return report


def _line(candidate: reminders.Candidate, now: Any) -> str:
    """Who and why; a user whose address is not one valid address is named by id only (the
    address may hold anything, line breaks too) with the reason they get nothing."""
    if candidate.problem:
        return f"user {candidate.user_id}: no reminder: {candidate.problem}"
    return f"{candidate.email}: {candidate.why(now)}"
