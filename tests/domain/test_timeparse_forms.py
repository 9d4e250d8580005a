"""Which forms of a time each caller accepts and which it refuses, pinned in one table.

Callers, each through its public surface:

* ``createdAt``: the trait as the widget and the users API store it (``identity.user_columns``);
  a date trait condition in targeting and the API's ``startDate`` read times the same way.
* ``segment``: a Segment message's ``timestamp`` (``ingest.event_time``), Segment's looser forms.
* ``rule``: the value of a ``date`` trait condition a staff member saves (``rules``).
* ``history``: a time stored in ``EndUser.history`` (``history.as_targeting``), read as
  ``createdAt`` is.

The table was first run against the five parsers that existed before ``timeparse``; the rows
that differ from then are the bugs merging them fixed: a JavaScript date naming a day its month
does not have crashed Segment's parser, a date rule accepted times targeting could never
compare (past the range of UTC) and refused ones it could (``z``, surrounding spaces), and a
malformed time in the history crashed targeting.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from satismeter_app import history, rules, targeting, timeparse
from satismeter_app.exceptions import InvalidInput
from satismeter_app.models import ApiKey
from satismeter_app.services import identity, ingest

REFUSED = "refused"  # the caller says the value is not a time
ACCEPTED = "accepted"  # the caller takes it (for callers that only validate)
ABSENT = "absent"  # the caller treats the value as "no time given"

T = datetime(2025, 1, 1, 10, tzinfo=UTC)
DAY = datetime(2025, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(9999, 12, 31, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS_155 = timedelta(milliseconds=155)
HALF_SECOND = timedelta(seconds=0.5)
ONE_SECOND = timedelta(seconds=1)
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)

# value, createdAt, segment, rule
FORMS: list[tuple[Any, Any, Any, Any]] = [
    # ISO-8601, every caller
    ("2025-01-01T10:00:00Z", T, T, ACCEPTED),
    ("2025-01-01T12:00:00+02:00", T, T, ACCEPTED),
    ("2025-01-01T12:00:00+0200", T, T, ACCEPTED),
    ("2025-01-01T10:00:00.155Z", T + MS_155, T + MS_155, ACCEPTED),
    # naive means UTC
    ("2025-01-01T10:00:00", T, T, ACCEPTED),
    ("2025-01-01 10:00:00", T, T, ACCEPTED),
    ("2025-01-01T10", T, T, ACCEPTED),
    ("2025-01-01", DAY, DAY, ACCEPTED),
    ("20250101", DAY, DAY, ACCEPTED),
    ("2025-W01-3", DAY, DAY, ACCEPTED),
    ("9999-12-31", LAST_DAY, LAST_DAY, ACCEPTED),
    # lower-case z and surrounding spaces
    ("2025-01-01T10:00:00z", T, T, ACCEPTED),
    (" 2025-01-01T10:00:00Z ", T, T, ACCEPTED),
    # offsets that do not fit in UTC's range, or at all
    ("9999-12-31T23:00:00-05:00", REFUSED, REFUSED, REFUSED),
    ("0001-01-01T00:00:00+01:00", REFUSED, REFUSED, REFUSED),
    ("2025-01-01T10:00:00+25:00", REFUSED, REFUSED, REFUSED),
    # offsets no zone has: past ±18:00, or not a whole minute
    ("2025-01-02T04:00:00+18:00", T, T, ACCEPTED),
    ("2025-01-01T10:00:00-18:57", REFUSED, REFUSED, REFUSED),
    ("2025-01-01T10:00:00+05:30:15", REFUSED, REFUSED, REFUSED),
    # epoch seconds and milliseconds; a rule's value must be written as a date
    (1735725600, T, T, REFUSED),
    (1735725600000, T, T, REFUSED),
    (1735725600.5, T + HALF_SECOND, T + HALF_SECOND, REFUSED),
    (0, EPOCH, EPOCH, REFUSED),
    (-1, EPOCH - ONE_SECOND, EPOCH - ONE_SECOND, REFUSED),
    ("1735725600", T, T, REFUSED),
    ("1735725600000", T, T, REFUSED),
    (" 1735725600 ", T, T, REFUSED),
    (10**20, REFUSED, REFUSED, REFUSED),
    (10**400, REFUSED, REFUSED, REFUSED),  # too large for a float
    (float("nan"), REFUSED, REFUSED, REFUSED),
    (float("inf"), REFUSED, REFUSED, REFUSED),
    # numeric strings only Segment's forms read
    ("1735725600.0", REFUSED, T, REFUSED),
    ("+1735725600", REFUSED, T, REFUSED),
    ("12345", REFUSED, EPOCH + timedelta(seconds=12345), REFUSED),
    ("1e9", REFUSED, EPOCH + timedelta(seconds=10**9), REFUSED),
    ("nan", REFUSED, REFUSED, REFUSED),
    ("99999999999999999999", REFUSED, REFUSED, REFUSED),
    # RFC 2822 and JavaScript's Date.toString(), Segment only
    ("Wed, 01 Jan 2025 10:00:00 GMT", REFUSED, T, REFUSED),
    ("Wed, 01 Jan 2025 12:00:00 +0200", REFUSED, T, REFUSED),
    ("01 Jan 2025 10:00:00", REFUSED, T, REFUSED),
    ("Fri, 31 Dec 9999 23:00:00 -0500", REFUSED, REFUSED, REFUSED),
    ("Wed Jan 01 2025 12:00:00 GMT+0200 (Central European Standard Time)", REFUSED, T, REFUSED),
    ("Wed Jan 01 2025 12:00:00 GMT+0200", REFUSED, T, REFUSED),
    ("Tue Feb 30 2015 09:19:47 GMT+0200", REFUSED, REFUSED, REFUSED),
    ("Tue Foo 16 2015 09:19:47 GMT+0200", REFUSED, REFUSED, REFUSED),
    # not times
    ("soon", REFUSED, REFUSED, REFUSED),
    ("2015-13-45T00:00:00Z", REFUSED, REFUSED, REFUSED),
    ("", ABSENT, ABSENT, REFUSED),
    (None, ABSENT, ABSENT, REFUSED),
    (True, REFUSED, REFUSED, REFUSED),
    ([], REFUSED, REFUSED, REFUSED),
]


def _ids(rows: list[tuple[Any, ...]]) -> list[str]:
    return [repr(row[0])[:40] for row in rows]


def created_at(value: Any) -> Any:
    try:
        columns = identity.user_columns({"createdAt": value})
    except InvalidInput:
        return REFUSED
    return columns.get("created_at", ABSENT)


def segment_timestamp(value: Any) -> Any:
    try:
        when = ingest.event_time({"timestamp": value}, FAR_FUTURE)
    except InvalidInput:
        return REFUSED
    return ABSENT if when == FAR_FUTURE else when


def date_rule(value: Any) -> Any:
    condition = {"trait": "signup", "type": "date", "op": "before", "value": value}
    try:
        rules.validate_trait_conditions([condition])
    except ValueError:
        return REFUSED
    return ACCEPTED


def history_time(value: Any) -> Any:
    return history.as_targeting({"surveys": {"1": {"answered": value}}}).surveys[1].last_answered


def date_condition_holds(value: Any) -> bool:
    condition = {"trait": "signup", "type": "date", "op": "after", "value": "1900-01-01"}
    return targeting.evaluate_condition(condition, {"signup": value}, T)


def same(actual: Any, expected: Any) -> bool:
    """Equal, and a datetime only where one is expected: aware ones equal naive ones never."""
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[1]) for r in FORMS], ids=_ids(FORMS))
def test_created_at_trait(value: Any, expected: Any) -> None:
    assert same(created_at(value), expected)


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[1]) for r in FORMS], ids=_ids(FORMS))
def test_date_trait_condition_reads_times_as_created_at_does(value: Any, expected: Any) -> None:
    assert date_condition_holds(value) is isinstance(expected, datetime)


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[2]) for r in FORMS], ids=_ids(FORMS))
def test_segment_timestamp(value: Any, expected: Any) -> None:
    assert same(segment_timestamp(value), expected)


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[3]) for r in FORMS], ids=_ids(FORMS))
def test_date_rule_value(value: Any, expected: Any) -> None:
    assert date_rule(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[1]) for r in FORMS], ids=_ids(FORMS))
def test_history_reads_times_as_created_at_does(value: Any, expected: Any) -> None:
    assert same(history_time(value), expected if isinstance(expected, datetime) else None)


STRING_FORMS = [row for row in FORMS if isinstance(row[0], str)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "expected"), [(r[0], r[1]) for r in STRING_FORMS], ids=_ids(STRING_FORMS)
)
def test_api_start_date_reads_times_as_created_at_does(
    api_client: Any, project: Any, value: str, expected: Any
) -> None:
    key = ApiKey.issue(project, "export")[1]
    reply = api_client.get(
        "/api/v2/response-statistics",
        {"startDate": value},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert reply.status_code == (400 if expected == REFUSED else 200), reply.content


def test_every_time_a_caller_accepts_is_in_utc() -> None:
    for value, *_ in FORMS:
        for when in (created_at(value), segment_timestamp(value)):
            if isinstance(when, datetime):
                assert when.utcoffset() == timedelta(0), value


def _parsed(expected: Any) -> datetime | None:
    return expected if isinstance(expected, datetime) else None


@pytest.mark.parametrize(("value", "strict", "loose", "rule"), FORMS, ids=_ids(FORMS))
def test_the_entry_points_read_what_their_callers_accept(
    value: Any, strict: Any, loose: Any, rule: Any
) -> None:
    assert same(timeparse.parse_timestamp(value), _parsed(strict))
    assert same(timeparse.parse_loose(value), _parsed(loose))
    assert (timeparse.parse_iso(value) is not None) is (rule == ACCEPTED)


@pytest.mark.django_db
def test_segment_reports_a_date_its_month_does_not_have_as_an_invalid_message(
    api_client: Any, project: Any
) -> None:
    key = ApiKey.issue(project, "segment")[1]
    when = "Tue Feb 30 2015 09:19:47 GMT+0200"
    messages = [{"type": "track", "userId": u, "event": "E", "timestamp": when} for u in "ab"]
    messages[1]["timestamp"] = "Mon Feb 16 2015 09:19:47 GMT+0200"
    batch = {"batch": messages, "writeKey": key}
    reply = api_client.post("/segment/v1/batch", batch, format="json")
    assert reply.status_code == 200, reply.content
    assert reply.json()["accepted"] == 1
    assert reply.json()["errors"][0]["index"] == 0
