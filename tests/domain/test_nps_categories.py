"""NPS categories: every filter and SQL count is derived from ``nps.category``."""

from typing import Any

import pytest

from satismeter_app import nps
from satismeter_app.models import Response


def test_every_rating_has_exactly_one_category() -> None:
    ratings = [r for name in nps.CATEGORIES for r in nps.ratings_of(name)]
    assert sorted(ratings) == list(nps.SCORES)
    assert nps.ratings_of(nps.PROMOTER) == [9, 10]
    assert nps.ratings_of(nps.PASSIVE) == [7, 8]
    assert nps.ratings_of(nps.DETRACTOR) == list(range(7))


def test_the_choices_offer_every_category_once() -> None:
    assert [value for value, _label in nps.CATEGORY_CHOICES] == list(nps.CATEGORIES)


@pytest.fixture
def one_per_rating(project, make_survey, make_response) -> Any:
    """A response for every rating 0–10, and a dismissal without one."""
    survey = make_survey(project)
    for rating in nps.SCORES:
        make_response(survey, rating=rating)
    make_response(survey, dismissed=True)
    return Response.objects.filter(survey=survey)


@pytest.mark.django_db
@pytest.mark.parametrize("name", nps.CATEGORIES)
def test_the_sql_filter_selects_the_category(one_per_rating, name: str) -> None:
    found = one_per_rating.filter(nps.category_q(name)).values_list("rating", flat=True)
    assert sorted(found) == nps.ratings_of(name)


@pytest.mark.django_db
def test_an_unknown_category_selects_nothing(one_per_rating) -> None:
    assert nps.ratings_of("grumpy") == []
    assert not one_per_rating.filter(nps.category_q("grumpy")).exists()


@pytest.mark.django_db
def test_the_sql_counts_match_the_categories(one_per_rating) -> None:
    counts = one_per_rating.aggregate(**nps.category_counts())
    assert counts == {"answered": 11, "promoters": 2, "passives": 2, "detractors": 7}
