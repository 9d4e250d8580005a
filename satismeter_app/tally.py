"""Counts of what one run did (the outbox's sends, the reminders' emails), added up."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self


@dataclass
class Tally:
    """A dataclass of counters; ``total += part`` adds each whole-number field."""

    def __iadd__(self, other: Self) -> Self:
        for counter in fields(self):
            value = getattr(self, counter.name)
            if isinstance(value, int):
                setattr(self, counter.name, value + getattr(other, counter.name))
        return self
