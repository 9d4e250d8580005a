"""targeting.url_matches: page rules that are empty, unknown or cut close to the address.
An old or hand-written rule that validation would refuse must never widen a survey's pages.
Pure: no database."""

from typing import Any

import pytest

from satismeter_app.targeting import url_matches

PAGE = "https://x.com/app/settings"


@pytest.mark.parametrize(
    "rule",
    [
        {"op": "contains", "value": ""},
        {"op": "starts_with", "value": ""},
        {"op": "equals", "value": None},
        {"op": "contains"},
        {"op": "contains", "value": ["/app"]},
        {"op": "ends_with", "value": "/settings"},
        {"value": "/app"},
    ],
)
def test_an_empty_or_unknown_include_rule_matches_no_page(rule: dict[str, Any]) -> None:
    assert url_matches([rule], PAGE) is False


@pytest.mark.parametrize(
    "rule",
    [
        {"op": "contains", "value": "", "exclude": True},
        {"op": "ends_with", "value": "/settings", "exclude": True},
        {"value": "/app", "exclude": True},
    ],
)
def test_an_empty_or_unknown_exclude_rule_excludes_no_page(rule: dict[str, Any]) -> None:
    assert url_matches([rule], PAGE) is True


def test_a_broken_include_rule_does_not_stop_a_good_one_from_matching() -> None:
    rules = [{"op": "contains", "value": ""}, {"op": "contains", "value": "/app"}]
    assert url_matches(rules, PAGE) is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/docs#install", True),
        ("https://x.com/docs/#install", True),
        ("https://x.com/docs#usage", False),
        ("https://x.com/docs", False),
    ],
)
def test_equals_with_a_fragment_needs_that_fragment(url: str, expected: bool) -> None:
    assert url_matches([{"op": "equals", "value": "/docs#install"}], url) is expected


@pytest.mark.parametrize(
    ("value", "url", "expected"),
    [
        ("/reports/TAX", "https://x.com/reports/TA", False),
        ("/reports/TA", "https://x.com/reports/TAX", False),
        ("/reports/TAX", "https://x.com/reports/TAX//", True),
    ],
)
def test_equals_ignores_trailing_slashes_and_nothing_else(
    value: str, url: str, expected: bool
) -> None:
    assert url_matches([{"op": "equals", "value": value}], url) is expected
