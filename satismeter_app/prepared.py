"""Queries compiled once and run many times: for a hot path whose query has one shape.

Building a Django queryset and compiling it to SQL costs a widget call about as much CPU as
PostgreSQL takes to answer it. :class:`Prepared` builds the queryset once per database
connection with stand-in values, keeps its SQL, the order of its parameters and the
converters of its columns, and then runs it with the real values through the connection's
cursor, loading model instances with ``Model.from_db`` as a queryset would (same SQL, same
converters, same instances; tests/domain/test_prepared.py compares them).

With ``CONN_HEALTH_CHECKS``, Django checks a reused connection with a ``SELECT 1`` before a
request's first query: a second round trip for a widget call whose only query is a prepared
one. In autocommit a prepared query (one statement that reads, or one that writes by itself)
is that check: a connection found dead by it is closed and the query run once more on a new
one, which is what the check would have done (tests/security/test_outages.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import InterfaceError, OperationalError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the name of each parameter, in the SQL's order
    attnames: list[str]  # the model's field of each column, in the SQL's order
    compiler: SQLCompiler
    converters: dict[int, Any]


class Prepared(Generic[M]):
    """``build(**values)``'s queryset, compiled once per connection.

    ``stand_ins`` gives, for each keyword of ``build``, a value that the real ones never
    equal and that appears in the compiled parameters as it is (so strings and integers); the
    compiled query must select the model's own columns only (no ``select_related``, no
    annotations, no ``only``). ``for_write``: run it where the router sends writes, as a
    queryset that locks rows (``select_for_update``) is.
    """

    def __init__(
        self,
        model: type[M],
        build: Callable[..., QuerySet[M]],
        *,
        for_write: bool = False,
        **stand_ins: Any,
    ):
        self.model = model
        self.build = build
        self.for_write = for_write
        self.stand_ins = stand_ins
        self._compiled: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, **values: Any) -> list[M]:
        route = router.db_for_write if self.for_write else router.db_for_read
        alias = route(self.model)
        connection = connections[alias]  # one per thread: so is each compilation
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(alias)
        params = [values[name] for name in compiled.names]
        checks = _checks_the_connection(connection)
        try:
            rows = _fetch(connection, compiled.sql, params)
        except (OperationalError, InterfaceError):
            if not checks or connection.is_usable():
                raise
            connection.close()  # dead since the last request: a new one, as the check would
            rows = _fetch(connection, compiled.sql, params)
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return [self.model.from_db(alias, compiled.attnames, row) for row in rows]

    def _compile(self, alias: str) -> _Compiled:
        queryset = self.build(**self.stand_ins)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in self.stand_ins.items()}
        if len(by_value) != len(self.stand_ins) or not set(params) <= by_value.keys():
            raise ValueError("Each stand-in must be a distinct value that the SQL takes as is.")
        columns = [column for column, _sql, _alias in compiler.select]
        fields = [getattr(column, "target", None) for column in columns]
        concrete = self.model._meta.concrete_fields
        if fields != list(concrete) or compiler.annotation_col_map:
            raise ValueError("A prepared query selects the model's own columns only.")
        return _Compiled(
            sql=sql,
            names=tuple(by_value[value] for value in params),
            attnames=[field.attname for field in concrete],
            compiler=compiler,
            converters=compiler.get_converters(columns),
        )


def _fetch(connection: Any, sql: str, params: list[Any]) -> list[Any]:
    server_bound = _binds_on_the_server(connection)
    with connection.cursor() if not server_bound else _server_bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if server_bound and connection.queries_logged and connection.queries_log:
        # Django's log reads the query as client-side binding quoted it: "$1" or nothing here.
        connection.queries_log[-1]["sql"] = connection.ops.compose_sql(sql, params)
    return rows


def _binds_on_the_server(connection: Any) -> bool:
    return connection.vendor == "postgresql" and _server_binding is not None


def _server_bound_cursor(connection: Any) -> Any:
    """On PostgreSQL with psycopg 3, a Django cursor that sends the values apart from the
    SQL (server-side binding) instead of quoting them into it. Then psycopg keeps the
    statement prepared on the connection once it has run ``prepare_threshold`` times, if the
    settings give one (``OPTIONS``; Django's default, None, prepares nothing, for the sake of
    poolers): PostgreSQL no longer parses and plans it on every call. Still wrapped by Django,
    so that its query log, its execute wrappers and its error translation apply."""
    connection.ensure_connection()
    return connection._prepare_cursor(_server_binding(connection.connection))


def _server_binding_cursor() -> Any:
    try:
        from django.db.backends.postgresql.base import ServerBindingCursor
    except (ImportError, AttributeError):  # psycopg 2, or no PostgreSQL driver at all
        return None
    return ServerBindingCursor


_server_binding = _server_binding_cursor()


def _checks_the_connection(connection: Any) -> bool:
    """Whether this query stands in for the request's connection health check: one is due
    (``CONN_HEALTH_CHECKS`` on, a reused connection, none done yet in this request) and a
    failure can be retried (autocommit: no transaction of the caller's is lost). ``Any``:
    the health check's attributes are Django's, undeclared in its stubs."""
    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
    ):
        return False
    connection.health_check_done = True
    return True
