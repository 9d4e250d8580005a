"""What PostgreSQL can store, decided in one place for the parsers, Segment ingest and the
management API."""

import pytest

from satismeter_app import storable
from satismeter_app.exceptions import InvalidInput


def test_plain_text_and_json_values_are_storable():
    assert storable.find({"plan": "pro", "seats": [1, 2.5, None, True], "é": "ü"}) is None


@pytest.mark.parametrize(
    ("value", "where", "problem"),
    [
        ("a\x00b", "the body", "NUL characters"),
        ({"traits": {"bio": "\ud800"}}, "traits.bio", "lone surrogates"),
        ({"list": ["ok", {"x\x00": 1}]}, "list[1].x\x00", "NUL characters"),
        ({"traits": {"score": float("nan")}}, "traits.score", "NaN or Infinity"),
        ({"list": [1, float("-inf")]}, "list[1]", "NaN or Infinity"),
    ],
)
def test_the_first_unstorable_text_is_found_with_where_it_is(value, where, problem):
    assert storable.find(value) == storable.Unstorable(where, problem)


def test_text_that_only_spells_nan_or_infinity_is_storable():
    assert storable.find({"note": "NaN", "Infinity": "-Infinity", "n": 1e308}) is None


def test_text_that_only_spells_an_escape_is_storable():
    # JSON writes a NUL as \u0000: text with those six characters is not a NUL.
    assert storable.find({"note": "\\u0000 is how JSON writes NUL"}) is None
    storable.check({"note": "\\u0000"}, "traits")


def test_check_names_the_field_and_the_problem():
    with pytest.raises(InvalidInput) as caught:
        storable.check({"bio": "a\x00"}, "traits")
    assert (caught.value.field, caught.value.message) == (
        "traits.bio",
        "must not contain NUL characters",
    )


def test_checked_text_also_holds_the_column_length():
    assert storable.checked_text("abc", "userId", 3) == "abc"
    with pytest.raises(InvalidInput, match="at most 3 characters"):
        storable.checked_text("abcd", "userId", 3)


def test_a_huge_key_is_not_repeated_whole_in_the_message():
    found = storable.find({"k" * 5000: "\x00"})
    assert found is not None and len(str(found)) < 200
