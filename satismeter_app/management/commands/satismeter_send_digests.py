"""Send the staff digests that are due now (what the hourly beat task does).

    python manage.py satismeter_send_digests [--dry-run] [--project ID] [--date YYYY-MM-DD]

``--date`` names the last day to count instead of yesterday (in each project's time zone):
the daily digest of that day, the weekly one of the week from Monday to the Sunday on or
before it. A digest already sent for that period, or a later one, is not sent again.
``--dry-run`` sends nothing and records nothing: it lists who would get which digest.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from satismeter_app.services import staff_email


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date takes a day as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Send the staff NPS digests that are due; --dry-run lists who would get which."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Send nothing; list them.")
        parser.add_argument("--project", type=int, help="Only this project's digests (its id).")
        parser.add_argument("--date", type=str, help="The last day to count (YYYY-MM-DD).")

    def handle(
        self,
        *args: Any,
        dry_run: bool = False,
        project: int | None = None,
        date: str | None = None,
        **_: Any,
    ) -> None:
        day = _day(date) if date else None
        now = timezone.now()
        report = staff_email.StaffReport()
        if not dry_run:
            report = staff_email.send_digests(now, project, day)
            self.stdout.write(
                f"{report.sent} digest(s) sent, {report.failed} failed, {report.skipped} "
                f"sent by another run, {report.empty} without responses."
            )
            return
        for email in staff_email.digest_emails(now, project, report, day):
            self.stdout.write(_line(email))
        would = report.selected - report.empty
        self.stdout.write(
            f"{would} digest(s) would be sent, {report.empty} without responses (dry run: "
            "nothing sent, nothing recorded)."
        )


def _line(email: staff_email.Email) -> str:
    sub = email.subscription
    return (
        f"subscription {sub.pk}: {sub.user.get_username()} <{email.recipient}>, "
        f"{sub.get_digest_display()} ({sub.email_language}): {email.message.subject}"
    )
