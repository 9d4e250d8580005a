"""Builders for targeting decisions: a survey every user passes, unless a test narrows it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from satismeter_app.targeting import (
    Context,
    Decision,
    History,
    SurveyHistory,
    SurveyRules,
    UserState,
    decide,
)

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def make_rules(**fields: Any) -> SurveyRules:
    base: dict[str, Any] = {"id": 1, "project_id": 1, "audience": "everyone", "min_tenure_days": 0}
    return SurveyRules(**{**base, **fields})


def make_user(**fields: Any) -> UserState:
    base: dict[str, Any] = {"key": "user-1", "identified": True, "first_seen": NOW - days(365)}
    return UserState(**{**base, **fields})


def seen(survey_id: int = 1, **fields: Any) -> History:
    """A history with one survey's record."""
    return History(surveys={survey_id: SurveyHistory(**fields)})


def run(
    rules: SurveyRules | None = None,
    user: UserState | None = None,
    history: History | None = None,
    context: Context | None = None,
    now: datetime = NOW,
    gap: int = 0,
) -> Decision:
    return decide(
        rules or make_rules(),
        user or make_user(),
        history or History(),
        context or Context(),
        now,
        survey_gap_days=gap,
    )
