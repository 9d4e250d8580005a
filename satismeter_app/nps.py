"""NPS maths. Pure functions for one rating, and aggregates computed in SQL.

Promoters rate 9–10, passives 7–8, detractors 0–6. NPS is the share of promoters minus the
share of detractors, in points (−100…100), over answered responses only: dismissed and pending
responses are counted and reported, never part of the denominator.

:func:`category` is the one definition of which rating falls in which category; the filters
(:func:`ratings_of`, :func:`category_q`) and the SQL counts (:func:`category_counts`) are
derived from it, so the admin, the APIs and the dashboard cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

PROMOTER = "promoter"
PASSIVE = "passive"
DETRACTOR = "detractor"
CATEGORIES = (PROMOTER, PASSIVE, DETRACTOR)
SCORES = range(11)

# What staff pick from (the admin's filter, the dashboard's form), with the ratings shown.
CATEGORY_CHOICES = (
    (PROMOTER, _("Promoters (9–10)")),
    (PASSIVE, _("Passives (7–8)")),
    (DETRACTOR, _("Detractors (0–6)")),
)


def category(rating: int | None) -> str | None:
    if rating is None:
        return None
    if not 0 <= rating <= 10:
        raise ValueError(f"An NPS rating is 0–10, not {rating}.")
    if rating >= 9:
        return PROMOTER
    return PASSIVE if rating >= 7 else DETRACTOR


def ratings_of(category_name: str) -> list[int]:
    """The ratings of a category, lowest first; none for a name that is not a category."""
    return [rating for rating in SCORES if category(rating) == category_name]


def category_q(category_name: str, field: str = "rating") -> Q:
    """A filter for the responses of a category (an unknown name matches nothing).

    The bounds of :func:`ratings_of`, so that SQL compares a range rather than a list.
    """
    ratings = ratings_of(category_name)
    if not ratings:
        return Q(pk__in=[])
    return Q(**{f"{field}__gte": ratings[0], f"{field}__lte": ratings[-1]})


def category_counts(path: str = "", where: Q | None = None) -> dict[str, Count]:
    """SQL counts of answered responses, promoters, passives and detractors (for aggregate()
    or annotate(); ``nps_value`` turns them into the NPS). ``path`` leads from the rows
    queried to the responses (``"responses__"`` from tags), ``where`` narrows them."""
    chosen = where or Q()
    rating = f"{path}rating"
    return {
        "answered": Count(f"{path}pk", filter=chosen & Q(**{f"{rating}__isnull": False})),
        "promoters": Count(f"{path}pk", filter=chosen & category_q(PROMOTER, rating)),
        "passives": Count(f"{path}pk", filter=chosen & category_q(PASSIVE, rating)),
        "detractors": Count(f"{path}pk", filter=chosen & category_q(DETRACTOR, rating)),
    }


def score(rating: int | None) -> int | None:
    """A response's contribution: +100, 0 or −100, so that their mean is the NPS."""
    return {PROMOTER: 100, PASSIVE: 0, DETRACTOR: -100, None: None}[category(rating)]


def nps_value(promoters: int, detractors: int, answered: int) -> float | None:
    if answered == 0:
        return None
    return (promoters - detractors) * 100 / answered


@dataclass(frozen=True)
class Summary:
    answered: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    dismissed: int = 0
    pending: int = 0
    completed: int = 0
    commented: int = 0
    frequency: list[int] = field(default_factory=lambda: [0] * 11)

    @property
    def nps(self) -> float | None:
        return nps_value(self.promoters, self.detractors, self.answered)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "nps": self.nps}

    def __add__(self, other: Summary) -> Summary:
        """The summary of both sets of responses (which must not overlap)."""
        counts = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name != "frequency"
        }
        frequency = [a + b for a, b in zip(self.frequency, other.frequency, strict=True)]
        return Summary(frequency=frequency, **counts)


def outcome_counts() -> dict[str, Count]:
    """SQL counts of how responses ended besides their rating (the daily rollups' columns)."""
    return {
        "dismissed": Count("pk", filter=Q(dismissed=True)),
        "pending": Count("pk", filter=Q(pending=True)),
        "completed": Count("pk", filter=Q(completed=True)),
        "commented": Count("pk", filter=~Q(feedback="")),
    }


def summary_counts() -> dict[str, Count]:
    """SQL counts of everything a :class:`Summary` holds (for aggregate() or annotate();
    :func:`summary_of` reads them back)."""
    counts = {**category_counts(), **outcome_counts()}
    counts.update({f"score_{n}": Count("pk", filter=Q(rating=n)) for n in SCORES})
    return counts


def summarize(responses: QuerySet[Any]) -> Summary:
    """Aggregate a queryset of responses in one SQL query."""
    return summary_of(responses.order_by().aggregate(**summary_counts()))


def summary_of(row: dict[str, Any], prefix: str = "") -> Summary:
    """The :class:`Summary` in an aggregate's row (its names after ``prefix``)."""
    named = {name[len(prefix) :]: value for name, value in row.items() if name.startswith(prefix)}
    frequency = [named.pop(f"score_{n}") for n in SCORES]
    fields = Summary.__dataclass_fields__
    return Summary(frequency=frequency, **{k: v for k, v in named.items() if k in fields})


# --- the same numbers from daily rollups (models.DailyRollup) -------------------------------------


def rollup_sums(where: Q | None = None, prefix: str = "") -> dict[str, Any]:
    """SQL sums over daily rollup rows that give what :func:`summarize` counts over the
    responses they count, for the rows ``where`` selects (a rollup's ``rating`` is −1 when the
    responses have none, so the category filters apply to it unchanged)."""
    chosen = where or Q()

    def total(column: str, condition: Q | None = None) -> Coalesce:
        return Coalesce(Sum(column, filter=chosen & (condition or Q())), 0)

    sums = {
        "answered": total("responses", Q(rating__gte=0)),
        "promoters": total("responses", category_q(PROMOTER)),
        "passives": total("responses", category_q(PASSIVE)),
        "detractors": total("responses", category_q(DETRACTOR)),
        **{name: total(name) for name in outcome_counts()},
        **{f"score_{n}": total("responses", Q(rating=n)) for n in SCORES},
    }
    return {prefix + name: value for name, value in sums.items()}
