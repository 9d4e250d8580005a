"""Querysets: the lookups the widget, the API and the dashboard share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
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


class EndUserQuerySet(models.QuerySet):
    def identified(self) -> EndUserQuerySet:
        return self.filter(user_id__isnull=False)


class ResponseQuerySet(models.QuerySet):
    def answered(self) -> ResponseQuerySet:
        return self.filter(rating__isnull=False)

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
