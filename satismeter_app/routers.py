"""Reads off the primary: the read-only report paths read from a replica when one is set up.

The dashboard, the exports, the statistics and the v3 reads only read, and they read the most:
aggregates over months of responses, whole exports. :func:`reads_reports` runs such a view
with its reads routed to ``SATISMETER["REPLICA_DATABASE"]`` (the ``replica`` alias) when the
host configures that alias and lists the path in ``SATISMETER["REPLICA_READS"]``; everything
else, and every write, stays on the default database.

Routing is by path, never by model: the widget and the write APIs read what they have just
written, which a replica that lags a second behind would not have yet. A report path shows
the replica's state, a response given during its lag appears on its next read
(docs/deployment.md, "A read replica").

:class:`ReplicaRouter` goes into ``DATABASE_ROUTERS``. Without a replica alias it routes
nothing, so the router can be listed always.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

from .conf import app_settings

# The report paths, as SATISMETER["REPLICA_READS"] names them.
REPORT_PATHS = ("dashboard", "exports", "statistics", "v3")

F = TypeVar("F", bound=Callable[..., Any])

# The alias the reads of the running report path go to; None outside report paths.
_reads_from: ContextVar[str | None] = ContextVar("satismeter_reads_from", default=None)


def replica_alias() -> str | None:
    """The replica's alias when the host configures it, else None."""
    alias = app_settings.REPLICA_DATABASE
    return alias if alias and alias in connections.settings else None


def reporting_db(path: str) -> str:
    """The alias the report path ``path`` reads from: the replica's, or the default."""
    alias = replica_alias()
    return alias if alias and path in app_settings.REPLICA_READS else DEFAULT_DB_ALIAS


@contextmanager
def reading_reports(path: str) -> Iterator[str]:
    """Within it, every read that names no database goes to :func:`reporting_db`."""
    token = _reads_from.set(reporting_db(path))
    try:
        yield _reads_from.get() or DEFAULT_DB_ALIAS
    finally:
        _reads_from.reset(token)


def read_as_report(path: str, chunks: Iterable[Any]) -> Iterator[Any]:
    """``chunks`` produced within :func:`reading_reports`: a streamed export reads on after
    its view has returned."""
    iterator = iter(chunks)
    while True:
        with reading_reports(path):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def reads_reports(path: str) -> Callable[[F], F]:
    """A view (function or method) of the report path ``path``: its reads, and those of the
    body it streams, go to :func:`reporting_db`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # A page's template renders later, outside: the numbers it shows are computed in
            # the view, and the rows read here read their related rows from the same database.
            with reading_reports(path):
                response = view(*args, **kwargs)
            if getattr(response, "streaming", False):
                response.streaming_content = read_as_report(path, response.streaming_content)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


class ReplicaRouter:
    """Reads of a report path to its database; every write to the default one; no table
    migrated on the replica (it copies the primary's)."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _reads_from.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Rows read from the replica are the primary's rows.
        replica = replica_alias()
        known = {DEFAULT_DB_ALIAS, replica}
        return True if replica and {obj1._state.db, obj2._state.db} <= known else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db != DEFAULT_DB_ALIAS and db == replica_alias() else None
