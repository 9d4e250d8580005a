"""targeting.evaluate_condition at its edges: exact instants, JSON booleans as text, infinite
numbers, malformed conditions that must match nobody rather than raise. Pure: no database."""

from datetime import timedelta
from typing import Any

import pytest

from satismeter_app.targeting import evaluate_condition

from .targeting_cases import NOW

SECOND = timedelta(seconds=1)


def holds(kind: str, op: str, value: Any, trait: Any) -> bool:
    condition = {"trait": "t", "type": kind, "op": op, "value": value}
    return evaluate_condition(condition, {"t": trait}, NOW)


def test_within_days_includes_a_date_of_exactly_now() -> None:
    assert holds("date", "within_days", 7, NOW.isoformat()) is True
    assert holds("date", "within_days", 0, NOW.isoformat()) is True


def test_within_days_excludes_a_date_one_second_in_the_future() -> None:
    assert holds("date", "within_days", 7, (NOW + SECOND).isoformat()) is False


def test_within_zero_days_excludes_a_date_one_second_ago() -> None:
    assert holds("date", "within_days", 0, (NOW - SECOND).isoformat()) is False


@pytest.mark.parametrize("op", ["before", "after"])
def test_a_date_equal_to_the_bound_is_neither_before_nor_after_it(op: str) -> None:
    assert holds("date", op, "2025-01-01T00:00:00Z", "2025-01-01") is False


def test_after_holds_one_second_past_the_bound() -> None:
    assert holds("date", "after", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z") is True


@pytest.mark.parametrize("op", ["equals", "not_equals", "contains"])
def test_a_text_condition_with_a_number_value_matches_nobody(op: str) -> None:
    assert holds("text", op, 5, "5") is False
    assert holds("text", op, 5, "6") is False


@pytest.mark.parametrize(
    ("op", "value", "trait", "expected"),
    [
        ("equals", "false", False, True),
        ("equals", "FALSE", False, True),
        ("equals", "true", False, False),
        ("not_equals", "false", False, False),
        ("in", ["no", "false"], False, True),
    ],
)
def test_a_json_boolean_trait_compares_as_the_browser_wrote_it(
    op: str, value: Any, trait: bool, expected: bool
) -> None:
    assert holds("text", op, value, trait) is expected


@pytest.mark.parametrize(
    ("op", "value", "trait"),
    [("gt", 10, "inf"), ("gt", 10, float("inf")), ("lt", 10, "-inf"), ("eq", 10, "Infinity")],
)
def test_an_infinite_number_trait_matches_no_number_condition(
    op: str, value: Any, trait: Any
) -> None:
    assert holds("number", op, value, trait) is False


def test_between_with_an_infinite_bound_matches_nobody() -> None:
    assert holds("number", "between", [1, "inf"], 5) is False


@pytest.mark.parametrize("name", [["plan"], {"plan": 1}, None, 5])
def test_a_condition_whose_trait_name_is_not_text_matches_nobody(name: Any) -> None:
    condition = {"trait": name, "type": "text", "op": "equals", "value": "pro"}
    assert evaluate_condition(condition, {"plan": "pro", None: "pro", 5: "pro"}, NOW) is False


def test_a_presence_condition_whose_trait_name_is_not_text_sees_no_trait() -> None:
    assert evaluate_condition({"trait": None, "op": "exists"}, {None: "x"}, NOW) is False
