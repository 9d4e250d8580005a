"""Run reports add up: the total of a sweep is the sum of its parts, lists left alone."""

from dataclasses import dataclass, field

from satismeter_app.outbox import RunReport
from satismeter_app.services.reminders import SendReport
from satismeter_app.tally import Tally


def test_reports_add_up_field_by_field():
    total = RunReport(claimed=3, delivered=2, retrying=1)
    total += RunReport(claimed=5, delivered=1, dead=4)
    assert total == RunReport(claimed=8, delivered=3, retrying=1, dead=4)


def test_fields_that_are_not_counts_are_kept():
    @dataclass
    class Seen(Tally):
        count: int = 0
        names: list[str] = field(default_factory=list)

    total = Seen(1, ["a"])
    total += Seen(2, ["b"])
    assert (total.count, total.names) == (3, ["a"])


def test_reminder_reports_add_up_too():
    total = SendReport(selected=2, sent=1, skipped=1)
    total += SendReport(selected=1, failed=1)
    assert (total.selected, total.sent, total.skipped, total.failed) == (3, 1, 1, 1)
