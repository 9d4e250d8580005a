"""Timestamps as traits and the API send them: ISO-8601 or epoch seconds or milliseconds.
Pure: no database."""

from datetime import UTC, datetime, timedelta

import pytest

from satismeter_app.timeparse import parse_timestamp

# Epoch numbers from this one on are milliseconds; below it they are seconds.
MILLISECONDS_FROM = 100_000_000_000


@pytest.mark.parametrize(
    "text",
    ["2025-01-01T10:00:00Z", "2025-01-01T10:00:00z", " 2025-01-01T10:00:00z ", "2025-01-01 10:00z"],
)
def test_a_z_suffix_in_either_case_means_utc(text: str) -> None:
    assert parse_timestamp(text) == datetime(2025, 1, 1, 10, tzinfo=UTC)


def test_the_last_epoch_number_read_as_seconds() -> None:
    assert parse_timestamp(MILLISECONDS_FROM - 1) == datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC)


def test_the_first_epoch_number_read_as_milliseconds() -> None:
    assert parse_timestamp(MILLISECONDS_FROM) == datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)


def test_negative_epoch_numbers_switch_to_milliseconds_at_the_same_size() -> None:
    assert parse_timestamp(-MILLISECONDS_FROM) == datetime(1966, 10, 31, 14, 13, 20, tzinfo=UTC)
    assert parse_timestamp(-(MILLISECONDS_FROM - 1)) is None  # seconds: before the year 1


@pytest.mark.usefixtures("server_east_of_utc")
@pytest.mark.parametrize(
    "value", ["2025-01-01T12:00:00+02:00", "2025-01-01T10:00:00Z", "2025-01-01T10:00:00"]
)
def test_the_result_is_in_utc_whatever_the_servers_time_zone(value: str) -> None:
    parsed = parse_timestamp(value)
    assert parsed == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
