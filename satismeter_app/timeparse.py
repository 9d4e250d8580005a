"""Times as they come in, read into aware datetimes in UTC; None for anything that is not one.

* :func:`parse_timestamp` reads ISO-8601 (naive means UTC) and epoch seconds or milliseconds,
  as a number or as a 10- or 13-digit string: what the ``createdAt`` trait, date trait
  conditions, the stored survey history and the API's ``startDate``/``endDate`` accept.
* :func:`parse_loose` also reads what Segment's libraries send or parse: any numeric string,
  RFC 2822 and JavaScript's ``Date.toString()``.
* :func:`parse_iso` reads ISO-8601 only: the value of a date trait condition.
* :func:`parse_bound` reads a ``startDate`` or ``endDate`` query parameter, where a date alone
  is a day in a time zone (the project's for the statistics, UTC elsewhere), and as an end
  means the end of that day: every route that filters by time calls it.

Every result is in UTC, and a time that does not fit there gives None, because PostgreSQL
refuses offsets past ±15:59, which Python accepts. An offset past ±18:00, or one that is not a
whole number of minutes, gives None too: no time zone has one, and RFC 3339 and JSON Schema's
``date-time`` would otherwise make ``-18:57`` a time some clients send and others refuse.
"""

import math
import re
from datetime import UTC, datetime, time, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch numbers at or past this are milliseconds: as seconds they would be after the year 5000.
EPOCH_MILLISECONDS_FROM = 100_000_000_000
# The widest offset accepted (java.time's and ISO 8601's usual bound); real zones span -12 to +14.
MAX_OFFSET = timedelta(hours=18)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)

# JavaScript's Date.prototype.toString(): "Tue Jun 16 2015 09:19:47 GMT+0200 (CEST)".
_JS_DATE = re.compile(
    r"^\w{3} (\w{3} \d{1,2} \d{4} \d{2}:\d{2}:\d{2}) GMT([+-]\d{4})(?: \(.*\))?$", re.ASCII
)


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601, or epoch seconds or milliseconds as a number or a 10- or 13-digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) in (10, 13):
        return _from_epoch(int(text))
    return parse_iso(text)


def parse_iso(value: Any) -> datetime | None:
    """An ISO-8601 date or date-time; a lower-case ``z`` and surrounding spaces are allowed."""
    if not isinstance(value, str):
        return None
    # fromisoformat reads "Z" itself (Python 3.11+), but not a lower-case "z".
    text = value.strip().replace("z", "+00:00")
    try:
        return _in_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_loose(value: Any) -> datetime | None:
    """Any form Segment's libraries send: those :func:`parse_timestamp` reads, any number
    written as text (epoch seconds or milliseconds), RFC 2822, or JavaScript's
    ``Date.toString()``."""
    parsed = parse_timestamp(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    text = value.strip()
    number = _as_float(text)
    if number is not None:
        return _from_epoch(number)
    return _parse_js_date(text) or _parse_rfc_2822(text)


def parse_bound(value: str, *, end: bool = False, zone: tzinfo = UTC) -> datetime | None:
    """A ``startDate``/``endDate``: what :func:`parse_timestamp` reads. A date alone is that
    day in ``zone``: its first instant, or as an ``end`` the next day's, so that the range
    includes that day (a day of a daylight-saving change is 23 or 25 hours long)."""
    when = parse_timestamp(value)
    if when is None or not _DATE_ONLY.match(value.strip()):
        return when
    day = when.date()
    try:
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:  # past 9999-12-31 or before 0001-01-01 in UTC: the last or first moment
        return (datetime.min if day.year == 1 else datetime.max).replace(tzinfo=UTC)


def _from_epoch(number: float) -> datetime | None:
    try:
        if not math.isfinite(number):
            return None
        seconds = number / 1000 if abs(number) >= EPOCH_MILLISECONDS_FROM else number
        return EPOCH + timedelta(seconds=seconds)
    except OverflowError:  # an integer too large for a float, or a time past the year 9999
        return None


def _in_utc(parsed: datetime) -> datetime | None:
    offset = parsed.utcoffset()
    if offset is None:
        return parsed.replace(tzinfo=UTC)
    if abs(offset) > MAX_OFFSET or offset % timedelta(minutes=1):
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse_js_date(text: str) -> datetime | None:
    match = _JS_DATE.match(text)
    if match is None:
        return None
    try:
        return _in_utc(datetime.strptime(" ".join(match.groups()), "%b %d %Y %H:%M:%S %z"))
    except ValueError:  # a day the month does not have, or no month's name
        return None


def _parse_rfc_2822(text: str) -> datetime | None:
    try:
        return _in_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None
