"""Who sees which survey, when: a pure function of a survey's rules, a user, their history and now.

Nothing here reads the database, a request or the clock; the service layer gathers the facts
(a cached :class:`SurveyRules` per survey, the user, their :class:`History`) and passes ``now``.
Every "no" carries a stable :class:`Reason` code and an English sentence for staff.

Gates, in the order they are checked; the first that fails is the answer:

1. ``force`` (forceSurvey, previews) shows the survey and skips every gate (``forced``).
2. The survey's state must be ``active`` (``not_active``), and ``now`` inside its schedule:
   not before ``starts_at`` (``not_started``), before ``ends_at``, which is exclusive (``ended``).
3. Audience: ``identified`` needs an identified user, ``anonymous`` an anonymous visitor,
   ``everyone`` takes both (``audience``).
4. Device: an empty list means every device; otherwise the context's device type must be in it.
   An unknown or missing device type counts as ``desktop`` (``device``).
5. Page rules (see :func:`url_matches`): at least one include rule must match, if there are any,
   and no exclude rule may (``page``).
6. Sticky sampling: the user is in the sample when ``sample_bucket(project, survey, user) <
   sample_percent * 100``; the same user gets the same answer every time (``sampled_out``).
7. surveyDate: a per-user date still in the future holds the survey back
   (``survey_date_future``). A date that has come and is later than the user's last answer and
   last dismissal of this survey makes the user *due*: gates 8, 10, 11 and 12 are skipped.
8. Tenure: at least ``min_tenure_days`` since ``created_at`` (when the basis is ``created_at``
   and the user has one) or else since ``first_seen`` (``tenure``).
9. Trait conditions (see :func:`evaluate_condition`): all must hold (``traits``).
10. Answered within ``resurvey_days`` (``answered_recently``).
11. Dismissed within ``dismiss_wait_days`` (``dismissed_recently``).
12. Ignored: at least ``max_displays`` displays since the last answer or dismissal (0: no cap)
    and the last of them within ``dismiss_wait_days`` (``ignored``); once that wait is over
    the survey is shown again.
13. Event trigger, when the survey has one: the event's latest occurrence must come after the
    user's last answer and dismissal of this survey (``no_event``), and lie within the delivery
    window: 30 minutes when ``event_window_days`` is 0 ("right after the event"), else that
    many days (``event_expired``).
14. Global gap: no *other* survey displayed, answered or dismissed within ``survey_gap_days``
    (``survey_gap``). The same survey being shown again is not held back by the gap.

"Within N days" means less than N days ago, so an answer exactly 90 days old no longer blocks a
90-day resurvey interval, just as a user first seen exactly 30 days ago passes 30 days' tenure.

The order puts what staff set on the survey first, then what the page and the user are, and
what the user did last, because that is the order in which "why not shown?" is best answered.
:func:`choose` applies one survey at a time: of the surveys that may be shown, the highest
priority (then the lowest id) wins, and the others are told ``other_survey_chosen``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from . import timeparse
from .design import DEFAULT_DEVICE, DeviceType
from .rules import OPERATORS, PRESENCE_OPERATORS

# Django's Choices.values builds its list on every use; a gate asks on every widget call.
DEVICE_TYPES = frozenset(DeviceType.values)

if TYPE_CHECKING:
    from .models import EndUser, Survey

ACTIVE = "active"
# event_window_days = 0 means "only right after the event": 30 minutes covers the next few page
# views after it (a server-side event reaches the widget only on the next one), and no more.
IMMEDIATE_EVENT_WINDOW = timedelta(minutes=30)
SAMPLE_BUCKETS = 10_000


class Reason(StrEnum):
    """Why a survey is or is not shown; the values are stable codes for staff and the API."""

    ELIGIBLE = "eligible"
    FORCED = "forced"
    NOT_ACTIVE = "not_active"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    AUDIENCE = "audience"
    TENURE = "tenure"
    TRAITS = "traits"
    NO_EVENT = "no_event"
    EVENT_EXPIRED = "event_expired"
    PAGE = "page"
    DEVICE = "device"
    SAMPLED_OUT = "sampled_out"
    ANSWERED_RECENTLY = "answered_recently"
    DISMISSED_RECENTLY = "dismissed_recently"
    IGNORED = "ignored"
    SURVEY_GAP = "survey_gap"
    SURVEY_DATE_FUTURE = "survey_date_future"
    OTHER_SURVEY_CHOSEN = "other_survey_chosen"


@dataclass(frozen=True)
class SurveyRules:
    """A snapshot of one survey's targeting, safe to cache and share between requests."""

    id: int
    project_id: int
    state: str = ACTIVE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    audience: str = "identified"
    min_tenure_days: int = 30
    tenure_basis: str = "created_at"
    trait_conditions: tuple[Mapping[str, Any], ...] = ()
    trigger_event: str = ""
    event_window_days: int = 0
    url_rules: tuple[Mapping[str, Any], ...] = ()
    device_types: tuple[str, ...] = ()
    sample_percent: int = 100
    resurvey_days: int = 90
    dismiss_wait_days: int = 30
    max_displays: int = 3

    @classmethod
    def from_survey(cls, survey: Survey) -> SurveyRules:
        """Read the targeting fields of a Survey instance; makes no query."""
        # Deep copies, so that editing the model's JSON later cannot change a cached snapshot.
        return cls(
            id=survey.pk,
            project_id=survey.project_id,
            state=str(survey.state),
            starts_at=survey.starts_at,
            ends_at=survey.ends_at,
            priority=survey.priority,
            audience=str(survey.audience),
            min_tenure_days=survey.min_tenure_days,
            tenure_basis=str(survey.tenure_basis),
            trait_conditions=tuple(copy.deepcopy(survey.trait_conditions or [])),
            trigger_event=survey.trigger_event or "",
            event_window_days=survey.event_window_days,
            url_rules=tuple(copy.deepcopy(survey.url_rules or [])),
            device_types=tuple(survey.device_types or ()),
            sample_percent=survey.sample_percent,
            resurvey_days=survey.resurvey_days,
            dismiss_wait_days=survey.dismiss_wait_days,
            max_displays=survey.max_displays,
        )


@dataclass(frozen=True)
class UserState:
    """What targeting needs to know about one user (or anonymous visitor)."""

    key: str  # user_id, or anonymous_id for anonymous visitors; decides sampling
    identified: bool
    first_seen: datetime
    created_at: datetime | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)
    survey_date: datetime | None = None

    @classmethod
    def from_user(cls, user: EndUser) -> UserState:
        """Read an EndUser instance; makes no query. Sampling keys on the userId, else the
        anonymousId, so that a visitor keeps their bucket until they identify."""
        key = user.user_id or user.anonymous_id or str(user.pk)
        identified = user.user_id is not None
        return cls(key, identified, user.first_seen, user.created_at, user.traits, user.survey_date)


@dataclass(frozen=True)
class SurveyHistory:
    """One user's history with one survey; the defaults describe a survey never seen."""

    last_answered: datetime | None = None
    last_dismissed: datetime | None = None
    displays_since_last_answer: int = 0  # displays after the last answer or dismissal
    last_display: datetime | None = None

    def last_seen(self) -> datetime | None:
        """The latest display, answer or dismissal."""
        return _latest(self.last_display, self.last_answered, self.last_dismissed)

    def last_closed(self) -> datetime | None:
        """The latest answer or dismissal: what a new event or surveyDate must come after."""
        return _latest(self.last_answered, self.last_dismissed)


NEVER_SEEN = SurveyHistory()


@dataclass(frozen=True)
class History:
    """One user's history with every survey of the project, and their latest events."""

    surveys: Mapping[int, SurveyHistory] = field(default_factory=dict)
    last_events: Mapping[str, datetime] = field(default_factory=dict)  # name -> latest time

    def of(self, survey_id: int) -> SurveyHistory:
        return self.surveys.get(survey_id, NEVER_SEEN)

    def last_other_survey_at(self, survey_id: int) -> datetime | None:
        """The latest display, answer or dismissal of any survey but ``survey_id``."""
        for when, sid in self._two_last_seen:
            if sid != survey_id:
                return when
        return None

    @cached_property
    def _two_last_seen(self) -> list[tuple[datetime, int]]:
        """The two surveys seen last, latest first: enough to answer for any survey, once per
        decision rather than once per survey (a frozen dataclass still takes a cached_property)."""
        seen = [(h.last_seen(), sid) for sid, h in self.surveys.items()]
        return sorted([(when, sid) for when, sid in seen if when is not None], reverse=True)[:2]


@dataclass(frozen=True)
class Context:
    """The request the decision is made for."""

    url: str = ""
    device_type: str | None = None  # "desktop", "tablet" or "mobile"
    force: bool = False


@dataclass(frozen=True)
class Decision:
    show: bool
    reason: Reason
    detail: str  # one English sentence for staff


# --- deciding ---------------------------------------------------------------------------------


class _Case(NamedTuple):
    """Everything a gate may look at, gathered once per decision (a NamedTuple: as immutable
    as a frozen dataclass, and several times cheaper to build, once per survey and call)."""

    rules: SurveyRules
    user: UserState
    history: History
    mine: SurveyHistory
    context: Context
    now: datetime
    survey_gap_days: int
    due: bool  # the user's surveyDate has come: interval gates step aside


Gate = Callable[[_Case], Decision | None]


def decide(
    rules: SurveyRules,
    user: UserState,
    history: History,
    context: Context,
    now: datetime,
    *,
    survey_gap_days: int,
) -> Decision:
    """Whether ``user`` should see the survey now, and why (or why not). ``now`` is aware."""
    if context.force:
        return Decision(True, Reason.FORCED, "Forced for testing; targeting was not checked.")
    mine = history.of(rules.id)
    case = _Case(
        rules, user, history, mine, context, now, survey_gap_days, _is_due(user, mine, now)
    )
    for gate in GATES:
        decision = gate(case)
        if decision is not None:
            return decision
    if case.due:
        return Decision(True, Reason.ELIGIBLE, "The user's survey date has come.")
    return Decision(True, Reason.ELIGIBLE, "Every targeting rule holds.")


def choose(
    candidates: Iterable[SurveyRules],
    user: UserState,
    history: History,
    context: Context,
    now: datetime,
    *,
    survey_gap_days: int,
) -> tuple[SurveyRules | None, list[tuple[SurveyRules, Decision]]]:
    """The one survey to show (or None), and a decision for every candidate, in their order."""
    decided = [
        (rules, decide(rules, user, history, context, now, survey_gap_days=survey_gap_days))
        for rules in candidates
    ]
    eligible = [rules for rules, decision in decided if decision.show]
    if not eligible:
        return None, decided
    winner = min(eligible, key=lambda rules: (-rules.priority, rules.id))
    lost = Decision(
        False,
        Reason.OTHER_SURVEY_CHOSEN,
        f"Survey {winner.id} (priority {winner.priority}) was chosen; one survey at a time.",
    )
    return winner, [(r, d if r is winner or not d.show else lost) for r, d in decided]


def _is_due(user: UserState, mine: SurveyHistory, now: datetime) -> bool:
    due_at, closed = user.survey_date, mine.last_closed()
    return due_at is not None and due_at <= now and (closed is None or due_at > closed)


def _no(reason: Reason, detail: str) -> Decision:
    return Decision(False, reason, detail)


# --- the gates, in order ----------------------------------------------------------------------


def _state(case: _Case) -> Decision | None:
    if case.rules.state == ACTIVE:
        return None
    return _no(Reason.NOT_ACTIVE, f"The survey is {case.rules.state}; only active ones are shown.")


def _schedule(case: _Case) -> Decision | None:
    starts_at, ends_at = case.rules.starts_at, case.rules.ends_at
    if starts_at is not None and case.now < starts_at:
        return _no(Reason.NOT_STARTED, f"The survey starts {_at(starts_at)}.")
    if ends_at is not None and case.now >= ends_at:
        return _no(Reason.ENDED, f"The survey ended {_at(ends_at)}.")
    return None


def _audience(case: _Case) -> Decision | None:
    audience, identified = case.rules.audience, case.user.identified
    if audience == "identified" and not identified:
        return _no(
            Reason.AUDIENCE, "The survey is for identified users; this visitor is anonymous."
        )
    if audience == "anonymous" and identified:
        return _no(
            Reason.AUDIENCE, "The survey is for anonymous visitors; this user is identified."
        )
    return None


def _device(case: _Case) -> Decision | None:
    allowed = case.rules.device_types
    device = case.context.device_type
    device = device if device in DEVICE_TYPES else DEFAULT_DEVICE
    if not allowed or device in allowed:
        return None
    return _no(Reason.DEVICE, f"The survey is for {', '.join(allowed)}; this is a {device}.")


def _page(case: _Case) -> Decision | None:
    if url_matches(case.rules.url_rules, case.context.url):
        return None
    page = case.context.url or "(no page address)"
    return _no(Reason.PAGE, f"The page {page} does not match the survey's page rules.")


def _sample(case: _Case) -> Decision | None:
    rules = case.rules
    bucket = sample_bucket(rules.project_id, rules.id, case.user.key)
    if bucket < rules.sample_percent * 100:
        return None
    detail = f"The user is outside the survey's {rules.sample_percent}% sample (bucket {bucket})."
    return _no(Reason.SAMPLED_OUT, detail)


def _survey_date(case: _Case) -> Decision | None:
    due_at = case.user.survey_date
    if due_at is None or due_at <= case.now:
        return None
    return _no(
        Reason.SURVEY_DATE_FUTURE, f"The user's survey date is {_at(due_at)}, still to come."
    )


def _tenure(case: _Case) -> Decision | None:
    rules, user = case.rules, case.user
    if case.due or rules.min_tenure_days == 0:
        return None
    since, label = user.first_seen, "First seen"
    if rules.tenure_basis == "created_at" and user.created_at is not None:
        since, label = user.created_at, "Signed up"
    if case.now - since >= timedelta(days=rules.min_tenure_days):
        return None
    return _no(
        Reason.TENURE,
        f"{label} {_ago(case.now - since)} ago; the survey waits for "
        f"{_count(rules.min_tenure_days, 'day')}.",
    )


def _traits(case: _Case) -> Decision | None:
    traits = case.user.traits
    for condition in case.rules.trait_conditions:
        if not evaluate_condition(condition, traits, case.now):
            return _no(Reason.TRAITS, _describe_failed_condition(condition, traits))
    return None


def _answered(case: _Case) -> Decision | None:
    message = "Answered {ago} ago; the survey asks again after {days}."
    days = case.rules.resurvey_days
    return _waiting(case, case.mine.last_answered, days, Reason.ANSWERED_RECENTLY, message)


def _dismissed(case: _Case) -> Decision | None:
    message = "Dismissed {ago} ago; the survey waits {days} after a dismissal."
    days = case.rules.dismiss_wait_days
    return _waiting(case, case.mine.last_dismissed, days, Reason.DISMISSED_RECENTLY, message)


def _ignored(case: _Case) -> Decision | None:
    shown = case.mine.displays_since_last_answer
    if not 0 < case.rules.max_displays <= shown:
        return None
    message = (
        f"Shown {_count(shown, 'time')} without an answer, last {{ago}} ago; "
        "the survey waits {days} before showing it again."
    )
    days = case.rules.dismiss_wait_days
    return _waiting(case, case.mine.last_display, days, Reason.IGNORED, message)


def _waiting(
    case: _Case, last: datetime | None, days: int, reason: Reason, message: str
) -> Decision | None:
    """No while ``last`` (an answer, a dismissal, a display) is under ``days`` old, unless the
    user is due; ``message`` says so with ``{ago}`` and ``{days}``."""
    age = _age_if_within(last, days, case.now)
    if case.due or age is None:
        return None
    return _no(reason, message.format(ago=_ago(age), days=_count(days, "day")))


def _event(case: _Case) -> Decision | None:
    name = case.rules.trigger_event
    if not name:
        return None
    happened, closed = case.history.last_events.get(name), case.mine.last_closed()
    if happened is None:
        return _no(Reason.NO_EVENT, f"The event “{name}” was never tracked for this user.")
    if closed is not None and happened <= closed:
        return _no(
            Reason.NO_EVENT,
            f"The event “{name}” was last tracked before the user's last answer or dismissal.",
        )
    days = case.rules.event_window_days
    window = timedelta(days=days) if days else IMMEDIATE_EVENT_WINDOW
    if case.now - happened <= window:
        return None
    limit = _count(days, "day") if days else "30 minutes"
    return _no(
        Reason.EVENT_EXPIRED,
        f"The event “{name}” was tracked {_ago(case.now - happened)} ago; "
        f"the survey shows within {limit} of it.",
    )


def _gap(case: _Case) -> Decision | None:
    # Applies even when the user's surveyDate has come: it protects users across surveys.
    days = case.survey_gap_days
    age = _age_if_within(case.history.last_other_survey_at(case.rules.id), days, case.now)
    if age is None:
        return None
    return _no(
        Reason.SURVEY_GAP,
        f"Another survey was seen {_ago(age)} ago; surveys are {_count(days, 'day')} apart.",
    )


GATES: tuple[Gate, ...] = (
    _state,
    _schedule,
    _audience,
    _device,
    _page,
    _sample,
    _survey_date,
    _tenure,
    _traits,
    _answered,
    _dismissed,
    _ignored,
    _event,
    _gap,
)


# --- sampling ---------------------------------------------------------------------------------


def sample_bucket(project_id: int, survey_id: int, user_key: str) -> int:
    """The user's fixed place, 0…9999, in this survey's sample order."""
    digest = hashlib.sha256(f"{project_id}:{survey_id}:{user_key}".encode()).digest()
    # 64 bits modulo 10,000: the bias is far below one in a billion.
    return int.from_bytes(digest[:8], "big") % SAMPLE_BUCKETS


# --- trait conditions -------------------------------------------------------------------------


def evaluate_condition(
    condition: Mapping[str, Any], traits: Mapping[str, Any], now: datetime
) -> bool:
    """Whether the traits satisfy one condition (shape in :mod:`satismeter_app.rules`).

    Text compares case-insensitively on ``str(trait)``; numbers accept numeric strings; dates
    accept ISO-8601 (naive means UTC) and epoch seconds or milliseconds; booleans accept
    ``"true"``/``"false"``. A missing trait, an odd value or a malformed condition fails the
    condition, never raises: so ``not_equals`` does not match a user without the trait (use
    ``missing`` for that).
    """
    op, kind = condition.get("op"), condition.get("type")
    actual = _trait_value(traits, condition.get("trait"))
    if op in PRESENCE_OPERATORS:
        present = actual is not None and actual != ""
        return present if op == "exists" else not present
    if actual is None or kind not in OPERATORS or op not in OPERATORS[kind]:
        return False
    return _COMPARERS[kind](op, actual, condition.get("value"), now)


def _trait_value(traits: Mapping[str, Any], name: Any) -> Any:
    return traits.get(name) if isinstance(name, str) else None


def _compare_text(op: str, actual: Any, expected: Any, now: datetime) -> bool:
    text = _fold(actual)
    if op == "in":
        return isinstance(expected, list) and text in {_fold(item) for item in expected}
    if not isinstance(expected, str):
        return False
    wanted = expected.casefold()
    if op == "contains":
        return wanted in text
    return (text == wanted) == (op == "equals")


def _compare_number(op: str, actual: Any, expected: Any, now: datetime) -> bool:
    number = _as_number(actual)
    if number is None:
        return False
    if op == "between":
        low, high = _as_bounds(expected)
        return low is not None and high is not None and low <= number <= high
    target = _as_number(expected)
    if target is None:
        return False
    return {"eq": number == target, "lt": number < target, "gt": number > target}[op]


def _compare_date(op: str, actual: Any, expected: Any, now: datetime) -> bool:
    when = timeparse.parse_timestamp(actual)
    if when is None:
        return False
    if op == "within_days":
        if not isinstance(expected, int) or isinstance(expected, bool):
            return False
        return 0 <= (now - when).total_seconds() <= expected * 86_400
    target = timeparse.parse_timestamp(expected)
    if target is None:
        return False
    return when < target if op == "before" else when > target


def _compare_boolean(op: str, actual: Any, expected: Any, now: datetime) -> bool:
    value = _as_bool(actual)
    return isinstance(expected, bool) and value is not None and value is expected


_COMPARERS: dict[str, Callable[[str, Any, Any, datetime], bool]] = {
    "text": _compare_text,
    "number": _compare_number,
    "date": _compare_date,
    "boolean": _compare_boolean,
}


def _fold(value: Any) -> str:
    # JSON booleans fold to "true"/"false", as the browser would have written them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _as_bounds(value: Any) -> tuple[float | None, float | None]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None, None
    return _as_number(value[0]), _as_number(value[1])


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().casefold())
    return None


def _describe_failed_condition(condition: Mapping[str, Any], traits: Mapping[str, Any]) -> str:
    name, op = condition.get("trait"), condition.get("op")
    wanted = "" if op in PRESENCE_OPERATORS else f" {_short(condition.get('value'))}"
    rule = f"“{name} {op}{wanted}”"
    if _trait_value(traits, name) is None:
        return f"The user has no trait “{name}”; the survey needs {rule}."
    actual = _short(_trait_value(traits, name))
    return f"The trait “{name}” is {actual}; the survey needs {rule}."


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- page rules -------------------------------------------------------------------------------


def url_matches(rules: Sequence[Mapping[str, Any]], url: str) -> bool:
    """Whether the page passes the rules: one include rule matches (if any), no exclude rule.

    ``equals`` ignores a trailing slash, and ignores the query string (and the ``#fragment``)
    unless the rule's value has one; ``contains`` and ``starts_with`` compare plainly;
    ``regex`` searches anywhere in the address. A value starting with ``/`` is a path: for
    ``equals`` and ``starts_with`` it is compared with the address from its path on, so
    ``/pricing`` matches ``https://example.com/pricing``.
    """
    includes = [rule for rule in rules if not rule.get("exclude")]
    excludes = [rule for rule in rules if rule.get("exclude")]
    if any(_rule_matches(rule, url) for rule in excludes):
        return False
    return not includes or any(_rule_matches(rule, url) for rule in includes)


def _rule_matches(rule: Mapping[str, Any], url: str) -> bool:
    op, value = rule.get("op"), rule.get("value")
    if not isinstance(value, str) or not value:
        return False
    if op == "contains":
        return value in url
    if op == "starts_with":
        return _comparable(url, value).startswith(value)
    if op == "equals":
        return _url_equals(value, _comparable(url, value))
    if op == "regex":
        return _regex_search(value, url)
    return False


def _comparable(url: str, value: str) -> str:
    """The part of ``url`` to compare with ``value``: from the path on when value is a path."""
    if not value.startswith("/"):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


def _url_equals(value: str, url: str) -> bool:
    want_base, want_query, want_fragment = _split_url(value)
    base, query, fragment = _split_url(url)
    return (
        base == want_base
        and ("?" not in value or query == want_query)
        and ("#" not in value or fragment == want_fragment)
    )


def _split_url(text: str) -> tuple[str, str, str]:
    rest, _, fragment = text.partition("#")
    base, _, query = rest.partition("?")
    return base.rstrip("/"), query, fragment


def _regex_search(pattern: str, url: str) -> bool:
    try:
        return re.search(pattern, url) is not None
    except re.error:  # validated on save; an old bad rule matches nothing rather than crash
        return False


# --- small helpers ----------------------------------------------------------------------------


def _latest(*times: datetime | None) -> datetime | None:
    latest = None
    for when in times:  # a loop: max() over a generator costs three times as much here
        if when is not None and (latest is None or when > latest):
            latest = when
    return latest


def _age_if_within(when: datetime | None, days: int, now: datetime) -> timedelta | None:
    """How long ago ``when`` was, if less than ``days`` days; else None."""
    if when is None or days <= 0 or now - when >= timedelta(days=days):
        return None
    return now - when


def _ago(delta: timedelta) -> str:
    seconds = max(delta.total_seconds(), 0)
    if seconds >= 86_400:
        return _count(int(seconds // 86_400), "day")
    if seconds >= 3_600:
        return _count(int(seconds // 3_600), "hour")
    return _count(int(seconds // 60), "minute")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def _at(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
