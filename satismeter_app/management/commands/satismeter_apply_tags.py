"""Put a project's keyword tags on the responses it already has (new comments get them as
they arrive).

    python manage.py satismeter_apply_tags --project ID [--tag NAME] [--since DATE] [--dry-run]

Reads the responses in batches of a thousand and only ever adds tags: running it again adds
nothing, and a tag staff took off a response comes back only if its comment names a keyword.
``--since`` takes a date (midnight in the project's time zone) or a time, as the API's
``startDate``; ``--dry-run``
counts what it would add and writes nothing. A progress bar goes to stderr; the summary to
stdout.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from satismeter_app import timeparse
from satismeter_app.exceptions import InvalidInput
from satismeter_app.models import Project
from satismeter_app.services import tagging

from .satismeter_send_reminders import ProgressBar


class Command(BaseCommand):
    help = "Apply a project's keyword tags to its existing responses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, required=True, help="The project's id.")
        parser.add_argument("--tag", help="Only this tag (its name); else every keyword tag.")
        parser.add_argument("--since", help="Only responses created since (ISO-8601 date).")
        parser.add_argument("--dry-run", action="store_true", help="Count; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project"]).first()
        if project is None:
            raise CommandError(f"No project has the id {options['project']}.")
        since = _since(options["since"], project) if options["since"] else None
        total = tagging.with_words(project.pk, since).count()
        bar = ProgressBar(self.stderr._out, total, "responses")
        try:
            report = tagging.apply_to_old(
                project.pk,
                tag_name=options["tag"],
                since=since,
                dry_run=options["dry_run"],
                progress=bar.advance,
            )
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        verb = "would get" if options["dry_run"] else "got"
        self.stdout.write(
            f"{report.tagged} response(s) {verb} {report.added} tag(s) "
            f"({report.seen} response(s) read)."
        )


def _since(text: str, project: Project) -> Any:
    """A date is that day's midnight in the project's time zone, as on the dashboard."""
    since = timeparse.parse_bound(text, zone=project.zone)
    if since is None:
        raise CommandError(f"--since: {text!r} is not a date or time (e.g. 2026-01-31).")
    return since
