"""A user's survey history as kept on ``EndUser.history``, and its targeting view.

The row holds, per survey, the last answer, dismissal and display and the displays since the
last answer or dismissal, and the latest time of each event. Services update it in the same
transaction as the Display, Response or UserEvent rows it sums up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from . import targeting
from .timeparse import parse_timestamp

MAX_EVENTS = 200  # distinct event names remembered per user; the oldest are forgotten


def _survey(data: dict[str, Any], survey_id: int) -> dict[str, Any]:
    return data.setdefault("surveys", {}).setdefault(str(survey_id), {})


def as_targeting(data: dict[str, Any]) -> targeting.History:
    surveys = {
        int(sid): targeting.SurveyHistory(
            last_answered=_stored_time(entry.get("answered")),
            last_dismissed=_stored_time(entry.get("dismissed")),
            displays_since_last_answer=int(entry.get("displays", 0)),
            last_display=_stored_time(entry.get("last_display")),
        )
        for sid, entry in data.get("surveys", {}).items()
    }
    events = {name: t for name, iso in data.get("events", {}).items() if (t := _stored_time(iso))}
    return targeting.History(surveys=surveys, last_events=events)


def _stored_time(value: Any) -> datetime | None:
    """A time this module wrote (``isoformat()`` of an aware UTC time), read on every widget
    call: ``fromisoformat`` directly, and anything else (an older or hand-edited row) the
    careful way."""
    if isinstance(value, str):
        try:
            parsed: datetime | None = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is UTC:
            return parsed
    return parse_timestamp(value)


def add_display(
    data: dict[str, Any], survey_id: int, when: datetime, *, ignored_wait: timedelta
) -> None:
    """Count a display; a display after an ignored survey's wait starts the count again."""
    entry = _survey(data, survey_id)
    last = parse_timestamp(entry.get("last_display"))
    if last is not None and when - last >= ignored_wait:
        entry["displays"] = 0
    entry["last_display"] = when.isoformat()
    entry["displays"] = int(entry.get("displays", 0)) + 1


def add_answer(data: dict[str, Any], survey_id: int, when: datetime) -> None:
    entry = _survey(data, survey_id)
    entry["answered"] = when.isoformat()
    entry["displays"] = 0


def add_dismissal(data: dict[str, Any], survey_id: int, when: datetime) -> None:
    entry = _survey(data, survey_id)
    entry["dismissed"] = when.isoformat()
    entry["displays"] = 0


def add_event(data: dict[str, Any], name: str, when: datetime) -> None:
    events = data.setdefault("events", {})
    previous = parse_timestamp(events.get(name))
    if previous is None or when > previous:
        events[name] = when.isoformat()
    if len(events) > MAX_EVENTS:
        oldest = sorted(events, key=lambda n: events[n])[: len(events) - MAX_EVENTS]
        for stale in oldest:
            del events[stale]


def merge(kept: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """Two users' histories as one (an anonymous visitor's joins the user they signed in as):
    per survey the latest answer, dismissal and display; the displays since the last answer
    are summed, which may count a display from before the other row's later answer — a cap
    reached a little early, never a survey shown again too soon. Each event's latest time."""
    result: dict[str, Any] = {**kept, "surveys": {}, "events": {}}
    for data in (kept, merged):
        for survey_id, entry in data.get("surveys", {}).items():
            target = result["surveys"].setdefault(survey_id, {})
            for name in ("answered", "dismissed", "last_display"):
                if latest := _later(target.get(name), entry.get(name)):
                    target[name] = latest
            target["displays"] = int(target.get("displays", 0)) + int(entry.get("displays", 0))
        for name, iso in data.get("events", {}).items():
            if (when := parse_timestamp(iso)) is not None:
                add_event(result, name, when)
    return result


def _later(first: str | None, second: str | None) -> str | None:
    times = [(t, iso) for iso in (first, second) if iso and (t := parse_timestamp(iso))]
    return max(times)[1] if times else None
