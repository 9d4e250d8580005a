"""How the product's data reads on the view-only pages: traits and answers as tables, JSON
values as text, times as datetimes that templates show in the locale's one format."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.text import Truncator

NOTHING = "—"
TABLE = "admin/satismeter_app/key_value_table.html"
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
CELL_CHARACTERS = 200  # a list cell's text; the page of the object shows all of it


def as_text(value: Any) -> str:
    """A JSON value as staff read it: a string as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)


def as_shown(value: Any) -> str | datetime:
    """A trait's value on the page: an ISO date-time with its zone (``createdAt``, say) as a
    time, which the page shows in the locale's format like every other; the rest as text."""
    if isinstance(value, str) and ISO_TIME.match(value):
        when = parse_time(value)
        if when is not None and when.tzinfo is not None:
            return when
    return as_text(value)


def key_value_table(values: Mapping[str, Any], caption: str = "") -> str:
    """A table of names and values, by name (escaped by the template)."""
    if not values:
        return NOTHING
    rows = [(str(key), as_shown(values[key])) for key in sorted(values, key=str)]
    return render_to_string(TABLE, {"rows": rows, "caption": caption})


def answers_table(answers: list[Any]) -> str:
    """The answers to further questions of a response: question, then value."""
    rows = {
        str(answer.get("label") or answer.get("id")): answer.get("value")
        for answer in answers
        if isinstance(answer, dict)
    }
    return key_value_table(rows)


def cell_text(text: str) -> str:
    """A long text for a list cell (the CSS of the lists clips it to the column)."""
    return Truncator(text).chars(CELL_CHARACTERS)


def when_cell(value: datetime | None) -> str:
    """A time in a list cell: the locale's date, then its time (the two halves of its
    DATETIME_FORMAT, as the object's page shows it), each kept on one line."""
    if value is None:
        return NOTHING
    local = timezone.localtime(value)
    return format_html(
        '<span class="sm-nowrap">{}</span> <span class="sm-nowrap">{}</span>',
        date_format(local, "DATE_FORMAT"),
        time_format(local, "TIME_FORMAT"),
    )


def parse_time(value: Any) -> datetime | None:
    """An ISO time kept in a JSON column (the user's survey history), for templates."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
