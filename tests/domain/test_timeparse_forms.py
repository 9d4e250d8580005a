"""Which forms of a time each caller accepts and which it refuses, pinned in one table.

Callers, each through its public surface:

* ``createdAt``: the trait as the widget and the users API store it (``identity.user_columns``);
  a date trait condition in targeting and the API's ``startDate`` read times the same way.
* ``segment``: a Segment message's ``timestamp`` (``ingest.event_time``), Segment's looser forms.
* ``rule``: the value of a ``date`` trait condition a staff member saves (``rules``).
* ``history``: a time stored in ``EndUser.history`` (``history.as_targeting``).
"""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from satismeter_app import history, rules, targeting
from satismeter_app.exceptions import InvalidInput
from satismeter_app.models import ApiKey
from satismeter_app.services import identity, ingest

REFUSED = "refused"  # the caller says the value is not a time
ACCEPTED = "accepted"  # the caller takes it (for callers that only validate)
ABSENT = "absent"  # the caller treats the value as "no time given"
RAISES = "raises"  # the caller fails with an exception it does not handle

T = datetime(2025, 1, 1, 10, tzinfo=UTC)
DAY = datetime(2025, 1, 1, tzinfo=UTC)
NAIVE = datetime(2025, 1, 1, 10)
NAIVE_DAY = datetime(2025, 1, 1)
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)

# value, createdAt, segment, rule, history
FORMS: list[tuple[Any, Any, Any, Any, Any]] = [
    # ISO-8601, every caller
    ("2025-01-01T10:00:00Z", T, T, ACCEPTED, T),
    ("2025-01-01T12:00:00+02:00", T, T, ACCEPTED, T),
    ("2025-01-01T12:00:00+0200", T, T, ACCEPTED, T),
    (
        "2025-01-01T10:00:00.155Z",
        *[T + timedelta(milliseconds=155)] * 2,
        ACCEPTED,
        T + timedelta(milliseconds=155),
    ),
    # naive means UTC
    ("2025-01-01T10:00:00", T, T, ACCEPTED, NAIVE),
    ("2025-01-01 10:00:00", T, T, ACCEPTED, NAIVE),
    ("2025-01-01T10", T, T, ACCEPTED, NAIVE),
    ("2025-01-01", DAY, DAY, ACCEPTED, NAIVE_DAY),
    ("20250101", DAY, DAY, ACCEPTED, NAIVE_DAY),
    ("2025-W01-3", DAY, DAY, ACCEPTED, NAIVE_DAY),
    (
        "9999-12-31",
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
        ACCEPTED,
        datetime(9999, 12, 31),
    ),
    # lower-case z and surrounding spaces
    ("2025-01-01T10:00:00z", T, T, REFUSED, RAISES),
    (" 2025-01-01T10:00:00Z ", T, T, REFUSED, RAISES),
    # offsets that do not fit in UTC's range, or at all
    (
        "9999-12-31T23:00:00-05:00",
        REFUSED,
        REFUSED,
        ACCEPTED,
        datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))),
    ),
    (
        "0001-01-01T00:00:00+01:00",
        REFUSED,
        REFUSED,
        ACCEPTED,
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ),
    ("2025-01-01T10:00:00+25:00", REFUSED, REFUSED, REFUSED, RAISES),
    # epoch seconds and milliseconds
    (1735725600, T, T, REFUSED, None),
    (1735725600000, T, T, REFUSED, None),
    (1735725600.5, T + timedelta(seconds=0.5), T + timedelta(seconds=0.5), REFUSED, None),
    (0, datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC), REFUSED, None),
    (
        -1,
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        REFUSED,
        None,
    ),
    ("1735725600", T, T, REFUSED, RAISES),
    ("1735725600000", T, T, REFUSED, RAISES),
    (" 1735725600 ", T, T, REFUSED, RAISES),
    (10**20, REFUSED, REFUSED, REFUSED, None),
    (float("nan"), REFUSED, REFUSED, REFUSED, None),
    (float("inf"), REFUSED, REFUSED, REFUSED, None),
    # numeric strings only Segment's forms read
    ("1735725600.0", REFUSED, T, REFUSED, RAISES),
    ("+1735725600", REFUSED, T, REFUSED, RAISES),
    ("12345", REFUSED, datetime(1970, 1, 1, 3, 25, 45, tzinfo=UTC), REFUSED, RAISES),
    ("1e9", REFUSED, datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC), REFUSED, RAISES),
    ("nan", REFUSED, REFUSED, REFUSED, RAISES),
    ("99999999999999999999", REFUSED, REFUSED, REFUSED, RAISES),
    # RFC 2822 and JavaScript's Date.toString(), Segment only
    ("Wed, 01 Jan 2025 10:00:00 GMT", REFUSED, T, REFUSED, RAISES),
    ("Wed, 01 Jan 2025 12:00:00 +0200", REFUSED, T, REFUSED, RAISES),
    ("01 Jan 2025 10:00:00", REFUSED, T, REFUSED, RAISES),
    ("Fri, 31 Dec 9999 23:00:00 -0500", REFUSED, REFUSED, REFUSED, RAISES),
    (
        "Wed Jan 01 2025 12:00:00 GMT+0200 (Central European Standard Time)",
        REFUSED,
        T,
        REFUSED,
        RAISES,
    ),
    ("Wed Jan 01 2025 12:00:00 GMT+0200", REFUSED, T, REFUSED, RAISES),
    ("Tue Feb 30 2015 09:19:47 GMT+0200", REFUSED, RAISES, REFUSED, RAISES),
    ("Tue Foo 16 2015 09:19:47 GMT+0200", REFUSED, RAISES, REFUSED, RAISES),
    # not times
    ("soon", REFUSED, REFUSED, REFUSED, RAISES),
    ("2015-13-45T00:00:00Z", REFUSED, REFUSED, REFUSED, RAISES),
    ("", ABSENT, ABSENT, REFUSED, RAISES),
    (None, ABSENT, ABSENT, REFUSED, None),
    (True, REFUSED, REFUSED, REFUSED, None),
    ([], REFUSED, REFUSED, REFUSED, None),
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
    except ValueError:
        return RAISES
    return ABSENT if when == FAR_FUTURE else when


def date_rule(value: Any) -> Any:
    condition = {"trait": "signup", "type": "date", "op": "before", "value": value}
    try:
        rules.validate_trait_conditions([condition])
    except ValueError:
        return REFUSED
    return ACCEPTED


def history_time(value: Any) -> Any:
    try:
        answered = history.as_targeting({"surveys": {"1": {"answered": value}}})
    except ValueError:
        return RAISES
    return answered.surveys[1].last_answered


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


@pytest.mark.parametrize(("value", "expected"), [(r[0], r[4]) for r in FORMS], ids=_ids(FORMS))
def test_history_time(value: Any, expected: Any) -> None:
    assert same(history_time(value), expected)


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
