"""How many users a survey's targeting would reach: "shown to N of M identified users now; K
more become due in the next 7 days", for staff editing the rules.

Each user is judged by :func:`targeting.decide`, the function the widget asks, on the user's
row (traits, history, survey date) as it is now:

- **N**: users who pass every gate now;
- **K**: users who do not pass now and pass at some moment of the next days — checked once a
  day, ``now + 1 day`` … ``now + horizon``, from the same rows: time alone lets tenure grow,
  waits run out, survey dates and the start come. Users refused for what time cannot change
  (the audience, the sample, a missing event, trait conditions without ``within_days``) are
  not checked again.
- **M**: the users the audience covers (identified users, anonymous visitors or both), less
  erased ones.

What depends on the request rather than the user is left out: page and device rules (a user
may visit any page on any device) and which other survey a higher priority would pick. The
survey is judged as if active, so that a draft's audience can be seen before it goes live; its
schedule counts.

**Bounded cost.** At most :data:`SAMPLE_SIZE` users are read and judged: when the audience is
larger, a fixed sample of them — the users whose ids come first in a multiplicative hash of
the primary key (Knuth's 2654435761, modulo 2³²), chosen by one ``ORDER BY … LIMIT`` in SQL
that counts M too (``COUNT(*) OVER ()``) — and N and K are scaled to M. The same rules give
the same numbers every time. The sample's 95 % margin is at most ±3.1 percentage points of M
(1.96 × √(¼ ÷ 1,000)). ``bench/audience.py`` measures the cost and the error.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import Mod

from .. import history, rules, targeting
from ..models import EndUser, Survey

SAMPLE_SIZE = 1_000
HORIZON_DAYS = 7
_SPREAD = 2_654_435_761  # Knuth's multiplicative hash: consecutive ids spread over 2**32
_SPREAD_MODULUS = 2**32
# What a later "now" cannot lift: the user is not checked again for the days ahead.
_TIMELESS = frozenset(
    {
        targeting.Reason.NOT_ACTIVE,
        targeting.Reason.ENDED,
        targeting.Reason.AUDIENCE,
        targeting.Reason.SAMPLED_OUT,
        targeting.Reason.NO_EVENT,
        targeting.Reason.EVENT_EXPIRED,
        targeting.Reason.DEVICE,
        targeting.Reason.PAGE,
    }
)
_USER_COLUMNS = ("user_id", "anonymous_id", "first_seen", "created_at", "traits", "survey_date")
_MAX_TRAIT_NAMES = 200
_TRAIT_SAMPLE = 500  # the users whose traits suggest names and types to the form


@dataclass(frozen=True)
class Estimate:
    population: int  # M: the users the audience covers
    shown_now: int  # N
    due_soon: int  # K, within horizon_days
    judged: int  # how many users were read and judged (all of them, or the sample)
    horizon_days: int
    traits: Mapping[str, str]  # trait name -> condition type, as seen on the users judged

    @property
    def exact(self) -> bool:
        return self.judged == self.population


def estimate(
    rules_: targeting.SurveyRules,
    *,
    survey_gap_days: int,
    now: datetime,
    horizon_days: int = HORIZON_DAYS,
    sample_size: int = SAMPLE_SIZE,
) -> Estimate:
    """N, K and M for ``rules_`` (which need not be saved) in its project at ``now``."""
    population = audience_users(rules_.project_id, rules_.audience)
    total, chosen = sample(population, sample_size)
    users = list(EndUser.objects.filter(pk__in=chosen).only(*_USER_COLUMNS, "history"))
    judged = dataclasses.replace(rules_, state=targeting.ACTIVE, url_rules=(), device_types=())
    now_count, soon_count = 0, 0
    for user in users:
        verdict = _judge(judged, user, now, horizon_days, survey_gap_days)
        now_count += verdict == "now"
        soon_count += verdict == "soon"
    return Estimate(
        population=total,
        shown_now=_scaled(now_count, len(users), total),
        due_soon=_scaled(soon_count, len(users), total),
        judged=len(users),
        horizon_days=horizon_days,
        traits=traits_seen(user.traits for user in users[:_TRAIT_SAMPLE]),
    )


def audience_users(project_id: int, audience: str) -> QuerySet[EndUser]:
    """The project's users the audience covers, erased and test users left out."""
    users = EndUser.objects.counted().filter(project_id=project_id, erased__isnull=True)
    if audience == Survey.Audience.IDENTIFIED:
        return users.filter(user_id__isnull=False)
    if audience == Survey.Audience.ANONYMOUS:
        return users.filter(user_id__isnull=True)
    return users


def sample(users: QuerySet[EndUser], size: int) -> tuple[int, list[int]]:
    """How many ``users`` there are, and the ids of at most ``size`` of them: the first in
    the hash order. One scan: the count is a window over the same rows."""
    spread = Mod(F("pk") * _SPREAD, _SPREAD_MODULUS)
    rows = list(
        users.annotate(spread=spread, total=Window(Count("pk")))
        .order_by("spread")
        .values_list("pk", "total")[:size]
    )
    return (rows[0][1] if rows else 0), [pk for pk, _ in rows]


def _judge(
    rules_: targeting.SurveyRules, user: EndUser, now: datetime, horizon_days: int, gap: int
) -> str:
    """ "now", "soon" (within the horizon) or "" for one user."""
    state = targeting.UserState.from_user(user)
    past = history.as_targeting(user.history)
    context = targeting.Context()
    decision = targeting.decide(rules_, state, past, context, now, survey_gap_days=gap)
    if decision.show:
        return "now"
    if not _time_may_lift(decision.reason, rules_):
        return ""
    for day in range(1, horizon_days + 1):
        later = now + timedelta(days=day)
        if targeting.decide(rules_, state, past, context, later, survey_gap_days=gap).show:
            return "soon"
    return ""


def _time_may_lift(reason: targeting.Reason, rules_: targeting.SurveyRules) -> bool:
    """Whether a later "now" could turn this refusal into a yes. Trait conditions depend on
    the time only through ``within_days`` (a date entering the window); the others compare
    the trait with fixed values."""
    if reason == targeting.Reason.TRAITS:
        return any(c.get("op") == "within_days" for c in rules_.trait_conditions)
    return reason not in _TIMELESS


def _scaled(count: int, judged: int, total: int) -> int:
    if judged == 0 or judged == total:
        return count
    return round(count * total / judged)


def traits_seen(traits: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The trait names on these users, most common first, each with the condition type its
    values suggest (rules.guess_type; the most common wins). ``translation`` is left out: it
    holds text overrides, not something to target on."""
    names: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    for user_traits in traits:
        for name, value in (user_traits or {}).items():
            if name == "translation" or not isinstance(name, str):
                continue
            names[name] += 1
            kinds.setdefault(name, Counter())[rules.guess_type(value)] += 1
    return {
        name: kinds[name].most_common(1)[0][0] for name, _ in names.most_common(_MAX_TRAIT_NAMES)
    }
