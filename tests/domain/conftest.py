"""Fixtures of the pure-module tests."""

import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def server_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+5, as on a server set up in another country."""
    monkeypatch.setenv("TZ", "EAST-05")  # POSIX: the sign is west of UTC, so this is UTC+5
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
