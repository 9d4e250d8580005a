"""Querysets: the lookups the widget, the API and the dashboard share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import connections, models
from django.utils import timezone

if TYPE_CHECKING:
    from .nps import Summary


class ProjectQuerySet(models.QuerySet):
    """Projects. Which of them a staff member sees is permissions.py's to say."""


class SurveyQuerySet(models.QuerySet):
    def live(self, now: Any = None) -> SurveyQuerySet:
        """Active surveys inside their schedule."""
        now = now or timezone.now()
        return self.filter(state="active").exclude(starts_at__gt=now).exclude(ends_at__lte=now)


# Test rows (made on the sample page, see EndUser.is_test) are kept out of every statistic and
# export: those read ``counted()``; the daily rollups' triggers skip them the same way.
COUNTED = models.Q(is_test=False)


class EndUserQuerySet(models.QuerySet):
    def identified(self) -> EndUserQuerySet:
        return self.filter(user_id__isnull=False)

    def counted(self) -> EndUserQuerySet:
        """The product's own users: no test user."""
        return self.filter(COUNTED)


class DisplayQuerySet(models.QuerySet):
    def counted(self) -> DisplayQuerySet:
        """The displays statistics count: none shown to a test user."""
        return self.filter(COUNTED)


class ResponseQuerySet(models.QuerySet):
    def answered(self) -> ResponseQuerySet:
        return self.filter(rating__isnull=False)

    def counted(self) -> ResponseQuerySet:
        """The responses statistics and exports count: none of a test user."""
        return self.filter(COUNTED)

    def between(self, start: Any = None, end: Any = None) -> ResponseQuerySet:
        qs = self
        if start is not None:
            qs = qs.filter(created__gte=start)
        if end is not None:
            qs = qs.filter(created__lt=end)
        return qs

    def summary(self) -> Summary:
        from .nps import summarize

        return summarize(self)


_CLAIMED = ["project", "message_id", "received"]


class InboundMessageQuerySet(models.QuerySet):
    def claim(self, project_id: int, message_ids: Iterable[str], now: datetime) -> set[str]:
        """Record ``message_ids`` as applied to the project; returns those that were not yet.

        One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite 3.35+; the
        ORM's ``ignore_conflicts`` cannot say which rows were new): of two transactions that
        carry the same id at once, the second waits for the first and, once it commits, gets
        nothing back. Ids go in sorted, so that two such claims cannot deadlock.
        """
        ids = sorted(set(message_ids))
        if not ids:
            return set()
        connection = connections[self.db]
        received = connection.ops.adapt_datetimefield_value(now)
        size = connection.ops.bulk_batch_size(_CLAIMED, ids) or len(ids)  # SQLite: 999 parameters
        claimed: set[str] = set()
        with connection.cursor() as cursor:
            for start in range(0, len(ids), size):
                chunk = ids[start : start + size]
                cursor.execute(
                    self._claim_sql(connection, len(chunk)),
                    [value for id_ in chunk for value in (project_id, id_, received)],
                )
                claimed.update(row[0] for row in cursor.fetchall())
        return claimed

    def _claim_sql(self, connection: Any, rows: int) -> str:
        meta, quote = self.model._meta, connection.ops.quote_name
        columns = [quote(cast(models.Field, meta.get_field(name)).column) for name in _CLAIMED]
        # Only identifiers from the model and placeholders: the values go as parameters.
        return (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s)'] * rows)} "
            f"ON CONFLICT DO NOTHING RETURNING {columns[1]}"
        )

    def forget_before(self, moment: datetime) -> int:
        """Delete the ids recorded before ``moment``; returns how many."""
        return self.filter(received__lt=moment).delete()[0]
