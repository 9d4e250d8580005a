"""rules.py: what staff may save as a survey's trait conditions, page rules, texts and design,
and the sentence that tells them what is wrong. Pure: called directly, no database."""

from typing import Any

import pytest

from satismeter_app.design import validate_design
from satismeter_app.rules import (
    RuleError,
    guess_type,
    validate_texts,
    validate_trait_conditions,
    validate_url_rules,
)


def refusal(validate: Any, *args: Any) -> str:
    with pytest.raises(ValueError) as raised:
        validate(*args)
    return str(raised.value)


def condition(kind: str, op: str, value: Any) -> dict[str, Any]:
    return {"trait": "plan", "type": kind, "op": op, "value": value}


# --- trait conditions: what may be saved ------------------------------------------------------


@pytest.mark.parametrize(
    "accepted",
    [
        condition("text", "equals", "pro"),
        condition("text", "not_equals", ""),
        condition("text", "contains", "corp"),
        condition("text", "in", ["pro", "enterprise"]),
        condition("text", "in", []),
        condition("number", "eq", 3),
        condition("number", "lt", 2.5),
        condition("number", "gt", -1),
        condition("number", "between", [1, 5]),
        condition("number", "between", [5, 5]),
        condition("number", "between", [0.5, 1.5]),
        condition("date", "before", "2025-01-01"),
        condition("date", "after", "2025-01-01T10:00:00+02:00"),
        condition("date", "after", "2025-01-01T10:00:00Z"),
        condition("date", "within_days", 0),
        condition("date", "within_days", 7),
        condition("boolean", "is", True),
        condition("boolean", "is", False),
        {"trait": "plan", "op": "exists"},
        {"trait": "plan", "op": "missing"},
        {"trait": "plan", "type": "text", "op": "exists"},
    ],
)
def test_well_formed_conditions_are_accepted(accepted: dict[str, Any]) -> None:
    validate_trait_conditions([accepted])


def test_no_conditions_at_all_are_accepted() -> None:
    validate_trait_conditions([])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (condition("text", "in", "pro"), "Condition 1: in needs a list of strings."),
        (condition("text", "in", ["pro", 5]), "Condition 1: in needs a list of strings."),
        (condition("text", "in", None), "Condition 1: in needs a list of strings."),
        (condition("text", "equals", 5), "Condition 1: equals needs a string."),
        (condition("text", "contains", ["corp"]), "Condition 1: contains needs a string."),
        (condition("text", "not_equals", None), "Condition 1: not_equals needs a string."),
        (condition("number", "eq", "3"), "Condition 1: eq needs a number."),
        (condition("number", "gt", True), "Condition 1: gt needs a number."),
        (condition("number", "lt", None), "Condition 1: lt needs a number."),
        (
            condition("number", "between", [5, 1]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", [1]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", [1, 2, 3]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", [1, "5"]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", ["1", 5]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", [False, True]),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("number", "between", "1-5"),
            "Condition 1: between needs [low, high] with low ≤ high.",
        ),
        (
            condition("date", "within_days", -1),
            "Condition 1: within_days needs a whole number of days ≥ 0.",
        ),
        (
            condition("date", "within_days", 1.5),
            "Condition 1: within_days needs a whole number of days ≥ 0.",
        ),
        (
            condition("date", "within_days", True),
            "Condition 1: within_days needs a whole number of days ≥ 0.",
        ),
        (
            condition("date", "within_days", "7"),
            "Condition 1: within_days needs a whole number of days ≥ 0.",
        ),
        (condition("date", "before", "next week"), "Condition 1: before needs an ISO-8601 date."),
        (condition("date", "after", 20250101), "Condition 1: after needs an ISO-8601 date."),
        (condition("date", "after", ""), "Condition 1: after needs an ISO-8601 date."),
        (condition("boolean", "is", "true"), "Condition 1: is needs true or false."),
        (condition("boolean", "is", 1), "Condition 1: is needs true or false."),
        (condition("boolean", "is", None), "Condition 1: is needs true or false."),
    ],
)
def test_a_value_that_does_not_fit_its_operator_is_refused(
    bad: dict[str, Any], message: str
) -> None:
    assert refusal(validate_trait_conditions, [bad]) == message


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"plan": "pro"}, "Trait conditions must be a list."),
        (None, "Trait conditions must be a list."),
        (["plan"], "Condition 1 must be an object."),
        (
            [{"trait": "plan", "op": "exists", "value": 1, "typ": "x", "why": 2}],
            "Condition 1 has unknown keys: typ, why.",
        ),
        ([{"type": "text", "op": "equals", "value": "pro"}], "Condition 1 needs a trait name."),
        ([condition("text", "equals", "pro") | {"trait": ""}], "Condition 1 needs a trait name."),
        ([condition("text", "equals", "pro") | {"trait": 5}], "Condition 1 needs a trait name."),
        (
            [condition("colour", "is", "red")],
            "Condition 1: type must be one of boolean, date, number, text.",
        ),
        (
            [{"trait": "plan", "op": "equals", "value": "pro"}],
            "Condition 1: type must be one of boolean, date, number, text.",
        ),
        (
            [condition("text", "gt", "a")],
            "Condition 1: operator 'gt' does not apply to text; "
            "use contains, equals, exists, in, missing, not_equals.",
        ),
        (
            [condition("number", "in", ["1"])],
            "Condition 1: operator 'in' does not apply to number; "
            "use between, eq, exists, gt, lt, missing.",
        ),
    ],
)
def test_a_malformed_condition_is_refused_with_what_is_wrong(bad: Any, message: str) -> None:
    assert refusal(validate_trait_conditions, bad) == message


def test_the_refusal_names_the_first_bad_condition_by_its_position() -> None:
    conditions = [condition("text", "equals", "pro"), condition("number", "gt", "ten")]
    assert refusal(validate_trait_conditions, conditions) == "Condition 2: gt needs a number."


@pytest.mark.parametrize("presence", ["exists", "missing"])
def test_conditions_after_a_presence_condition_are_still_checked(presence: str) -> None:
    conditions = [{"trait": "plan", "op": presence}, condition("boolean", "is", "yes")]
    assert refusal(validate_trait_conditions, conditions) == "Condition 2: is needs true or false."


def test_a_presence_condition_still_needs_a_trait_name() -> None:
    assert refusal(validate_trait_conditions, [{"op": "exists"}]) == (
        "Condition 1 needs a trait name."
    )


# --- page rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accepted",
    [
        {"op": "equals", "value": "/pricing"},
        {"op": "contains", "value": "(", "exclude": True},
        {"op": "starts_with", "value": "https://x.com/app", "exclude": False},
        {"op": "regex", "value": r"/projects/\d+$"},
    ],
)
def test_well_formed_page_rules_are_accepted(accepted: dict[str, Any]) -> None:
    validate_url_rules([accepted])


def test_no_page_rules_at_all_are_accepted() -> None:
    validate_url_rules([])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"op": "contains", "value": "/app"}, "Page rules must be a list."),
        ("/app", "Page rules must be a list."),
        (["/app"], "Page rule 1 must be an object."),
        (
            [{"op": "contains", "value": "/app", "path": "/", "match": "x"}],
            "Page rule 1 has unknown keys: match, path.",
        ),
        (
            [{"op": "ends_with", "value": "/app"}],
            "Page rule 1: op must be one of contains, equals, regex, starts_with.",
        ),
        (
            [{"value": "/app"}],
            "Page rule 1: op must be one of contains, equals, regex, starts_with.",
        ),
        ([{"op": "contains", "value": ""}], "Page rule 1 needs a non-empty value."),
        ([{"op": "contains"}], "Page rule 1 needs a non-empty value."),
        ([{"op": "equals", "value": ["/app"]}], "Page rule 1 needs a non-empty value."),
        (
            [{"op": "contains", "value": "/app", "exclude": "yes"}],
            "Page rule 1: exclude must be true or false.",
        ),
        (
            [{"op": "contains", "value": "/app", "exclude": None}],
            "Page rule 1: exclude must be true or false.",
        ),
    ],
)
def test_a_malformed_page_rule_is_refused_with_what_is_wrong(bad: Any, message: str) -> None:
    assert refusal(validate_url_rules, bad) == message


def test_an_invalid_regular_expression_is_refused_with_the_reason() -> None:
    message = refusal(validate_url_rules, [{"op": "regex", "value": "("}])
    assert message.startswith("Page rule 1: invalid regular expression (missing ), unterminated")


def test_the_refusal_names_the_first_bad_page_rule_by_its_position() -> None:
    rules = [{"op": "contains", "value": "/app"}, {"op": "regex", "value": "[a-"}]
    assert refusal(validate_url_rules, rules).startswith("Page rule 2: invalid regular expression")


# --- texts ------------------------------------------------------------------------------------


def test_texts_by_known_language_with_upper_case_keys_are_accepted() -> None:
    validate_texts({"en": {"FOLLOWUP": "Why?", "CTA_2": "Go"}, "de": {}}, ["en", "de"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            [("en", {"FOLLOWUP": "Why?"})],
            'Texts must be an object by language, e.g. {"en": {"FOLLOWUP": "…"}}.',
        ),
        ({"xx": {"FOLLOWUP": "Why?"}}, "Unknown language 'xx'; use one of de, en."),
        ({"en": "Why?"}, "Texts for 'en' must be an object of KEY: text."),
        ({"en": {"followup": "Why?"}}, "en: 'followup' is not a KEY in upper case, e.g. FOLLOWUP."),
        (
            {"en": {"2FOLLOWUP": "Why?"}},
            "en: '2FOLLOWUP' is not a KEY in upper case, e.g. FOLLOWUP.",
        ),
        ({"en": {5: "Why?"}}, "en: 5 is not a KEY in upper case, e.g. FOLLOWUP."),
        ({"en": {"FOLLOWUP": ["Why?"]}}, "en.FOLLOWUP must be text."),
        ({"de": {"FOLLOWUP": None}}, "de.FOLLOWUP must be text."),
    ],
)
def test_malformed_texts_are_refused_with_what_is_wrong(bad: Any, message: str) -> None:
    assert refusal(validate_texts, bad, ["en", "de"]) == message


# --- design -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("skin", "dialog"),
        ("skin", "panel"),
        ("skin", "bar"),
        ("position", "br"),
        ("position", "tl"),
        ("position", "cc"),
        ("colors", {}),
        ("colors", {"primary": "#fff", "foreground": "#102030", "background": "white"}),
        ("colors", {"primary": " rgb(1, 2, 3) ", "background": "hsla(120, 50%, 50%, 0.5)"}),
        ("showNumbers", True),
        ("requireFeedback", False),
        ("poweredBy", True),
        ("serviceName", "Acme"),
        ("ctaText", ""),
        ("ctaUrl", "https://x.com/upgrade"),
        ("ctaUrl", "http://x.com/upgrade"),
        ("ctaFor", []),
        ("ctaFor", ["promoter"]),
        ("ctaFor", ["passive"]),
        ("ctaFor", ["detractor", "promoter"]),
        ("ctaFor", ["promoter", "passive", "detractor"]),
    ],
)
def test_design_options_within_their_range_are_accepted(key: str, value: Any) -> None:
    validate_design({key: value})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("skin", "popup", "skin must be dialog, panel or bar, not 'popup'."),
        (
            "position",
            "xx",
            "position must be two letters: t, b or c, then l, r or c (e.g. br), not 'xx'.",
        ),
        (
            "position",
            "brr",
            "position must be two letters: t, b or c, then l, r or c (e.g. br), not 'brr'.",
        ),
        (
            "position",
            ["b", "r"],
            "position must be two letters: t, b or c, then l, r or c (e.g. br), not ['b', 'r'].",
        ),
        (
            "colors",
            "#fff",
            "colors must be an object with primary, foreground and background colours, not '#fff'.",
        ),
        (
            "colors",
            {"accent": "#fff"},
            "colors must be an object with primary, foreground and background colours, "
            "not {'accent': '#fff'}.",
        ),
        (
            "colors",
            {"primary": 255},
            "colors must be an object with primary, foreground and background colours, "
            "not {'primary': 255}.",
        ),
        (
            "colors",
            {"primary": "#fff; display: none"},
            "colors must be an object with primary, foreground and background colours, "
            "not {'primary': '#fff; display: none'}.",
        ),
        ("showNumbers", "true", "showNumbers must be true or false, not 'true'."),
        ("requireFeedback", 1, "requireFeedback must be true or false, not 1."),
        ("poweredBy", "no", "poweredBy must be true or false, not 'no'."),
        ("serviceName", 5, "serviceName must be text, not 5."),
        ("ctaText", None, "ctaText must be text, not None."),
        ("ctaUrl", "ftp://x.com", "ctaUrl must be an http(s) URL, not 'ftp://x.com'."),
        (
            "ctaUrl",
            "javascript:alert(1)",
            "ctaUrl must be an http(s) URL, not 'javascript:alert(1)'.",
        ),
        ("ctaUrl", 5, "ctaUrl must be an http(s) URL, not 5."),
        (
            "ctaFor",
            ["fan"],
            "ctaFor must be a list of promoter, passive and detractor, not ['fan'].",
        ),
        (
            "ctaFor",
            "promoter",
            "ctaFor must be a list of promoter, passive and detractor, not 'promoter'.",
        ),
    ],
)
def test_design_options_out_of_range_are_refused_with_what_is_expected(
    key: str, value: Any, message: str
) -> None:
    assert refusal(validate_design, {key: value}) == message


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("panel", 'Design must be an object, e.g. {"skin": "panel"}.'),
        (
            {"theme": "dark", "skin": "bar", "font": "serif"},
            "Unknown design keys: font, theme; known: skin, position, colors, showNumbers, "
            "requireFeedback, poweredBy, serviceName, ctaText, ctaUrl, ctaFor.",
        ),
    ],
)
def test_a_design_that_is_not_an_object_of_known_keys_is_refused(bad: Any, message: str) -> None:
    assert refusal(validate_design, bad) == message


def test_every_design_option_is_checked_not_only_the_first() -> None:
    message = refusal(validate_design, {"skin": "panel", "ctaUrl": "ftp://x.com"})
    assert message.startswith("ctaUrl must be")


# --- the row at fault, for forms that show rules as rows ----------------------------------------


@pytest.mark.parametrize(
    ("validate", "rules", "row"),
    [
        (validate_trait_conditions, [condition("text", "equals", "a"), {"trait": ""}], 2),
        (validate_trait_conditions, [condition("number", "gt", "x")], 1),
        (validate_trait_conditions, [condition("text", "equals", "a"), "plan"], 2),
        (validate_trait_conditions, {"trait": "plan"}, None),
        (validate_url_rules, [{"op": "contains", "value": "/a"}, {"op": "is", "value": "/b"}], 2),
        (validate_url_rules, [{"op": "regex", "value": "("}], 1),
        (validate_url_rules, [{"op": "contains", "value": "/a", "why": 1}], 1),
    ],
)
def test_a_refusal_names_the_row_at_fault(validate: Any, rules: Any, row: int | None) -> None:
    with pytest.raises(RuleError) as raised:
        validate(rules)
    assert raised.value.row == row
    if row is not None:
        assert f" {row}" in str(raised.value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "boolean"),
        (3, "number"),
        (2.5, "number"),
        ("2025-01-31", "date"),
        ("2025-01-31T10:00:00Z", "date"),
        ("2025-13-40", "text"),
        ("12", "text"),
        ("pro", "text"),
        (None, "text"),
        (["a"], "text"),
    ],
)
def test_a_traits_value_suggests_the_type_of_its_condition(value: Any, kind: str) -> None:
    assert guess_type(value) == kind
