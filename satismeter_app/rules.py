"""The shape of targeting rules stored as JSON on a survey, and their validation.

A trait condition is ``{"trait": NAME, "type": TYPE, "op": OP, "value": VALUE}``:

=========  ==========================================  ==========================
type       op                                          value
=========  ==========================================  ==========================
text       equals, not_equals, contains, in            string (a list for ``in``)
number     eq, lt, gt, between                         number ([low, high] for between)
date       before, after                               ISO-8601 date or date-time
date       within_days                                 whole number of days
boolean    is                                          true or false
any        exists, missing                             (none)
=========  ==========================================  ==========================

A page rule is ``{"op": "equals"|"contains"|"starts_with"|"regex", "value": STR,
"exclude": BOOL}``; the page must match at least one include rule (if any) and no exclude rule.
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any

from .timeparse import parse_iso

OPERATORS: dict[str, set[str]] = {
    "text": {"equals", "not_equals", "contains", "in"},
    "number": {"eq", "lt", "gt", "between"},
    "date": {"before", "after", "within_days"},
    "boolean": {"is"},
}
PRESENCE_OPERATORS = {"exists", "missing"}
URL_OPERATORS = {"equals", "contains", "starts_with", "regex"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_error(kind: str, op: str, value: Any) -> str | None:
    """What is wrong with ``value`` for operator ``op`` of type ``kind``, or None."""
    if op == "in":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "needs a list of strings"
    if kind == "text":
        return None if isinstance(value, str) else "needs a string"
    if op == "between":
        ok = isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))
        return None if ok and value[0] <= value[1] else "needs [low, high] with low ≤ high"
    if kind == "number":
        return None if _is_number(value) else "needs a number"
    if op == "within_days":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else "needs a whole number of days ≥ 0"
    if kind == "date":
        return None if parse_iso(value) else "needs an ISO-8601 date"
    return None if isinstance(value, bool) else "needs true or false"


class RuleError(ValueError):
    """What is wrong with a stored rule list; ``row`` is the 1-based position of the item at
    fault (the "2" of "Condition 2"), None when the list itself is wrong, so that a form can
    mark the row it names."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def _objects(
    items: Any, plural: str, singular: str, keys: set[str]
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Each item of a stored rule list with its position and where it stands ("Condition 2");
    raises RuleError unless the list is a list of objects with only the given keys."""
    if not isinstance(items, list):
        raise RuleError(f"{plural} must be a list.")
    for index, item in enumerate(items, start=1):
        where = f"{singular} {index}"
        if not isinstance(item, dict):
            raise RuleError(f"{where} must be an object.", index)
        unknown = set(item) - keys
        if unknown:
            raise RuleError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.", index)
        yield index, where, item


def validate_trait_conditions(conditions: Any) -> None:
    """Raise RuleError saying what is wrong with the first bad condition."""
    keys = {"trait", "type", "op", "value"}
    for index, where, condition in _objects(conditions, "Trait conditions", "Condition", keys):
        problem = _condition_problem(where, condition)
        if problem:
            raise RuleError(problem, index)


def _condition_problem(where: str, condition: dict[str, Any]) -> str | None:
    trait, kind, op = condition.get("trait"), condition.get("type"), condition.get("op")
    if not isinstance(trait, str) or not trait:
        return f"{where} needs a trait name."
    if op in PRESENCE_OPERATORS:
        return None
    if kind not in OPERATORS:
        return f"{where}: type must be one of {', '.join(sorted(OPERATORS))}."
    if op not in OPERATORS[kind]:
        allowed = ", ".join(sorted(OPERATORS[kind] | PRESENCE_OPERATORS))
        return f"{where}: operator {op!r} does not apply to {kind}; use {allowed}."
    problem = _value_error(kind, op, condition.get("value"))
    return f"{where}: {op} {problem}." if problem else None


def validate_url_rules(rules: Any) -> None:
    """Raise RuleError saying what is wrong with the first bad page rule."""
    keys = {"op", "value", "exclude"}
    for index, where, rule in _objects(rules, "Page rules", "Page rule", keys):
        problem = _url_rule_problem(where, rule)
        if problem:
            raise RuleError(problem, index)


def _url_rule_problem(where: str, rule: dict[str, Any]) -> str | None:
    if rule.get("op") not in URL_OPERATORS:
        return f"{where}: op must be one of {', '.join(sorted(URL_OPERATORS))}."
    if not isinstance(rule.get("value"), str) or not rule["value"]:
        return f"{where} needs a non-empty value."
    if not isinstance(rule.get("exclude", False), bool):
        return f"{where}: exclude must be true or false."
    if rule["op"] == "regex":
        try:
            re.compile(rule["value"])
        except re.error as exc:
            return f"{where}: invalid regular expression ({exc})."
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def guess_type(value: Any) -> str:
    """The condition type a trait's value suggests: boolean, number, date (an ISO-8601 date
    or date-time), else text."""
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str) and _ISO_DATE.match(value) and parse_iso(value):
        return "date"
    return "text"


# --- texts -----------------------------------------------------------------------------------

_TEXT_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def validate_texts(texts: Any, languages: Iterable[str]) -> None:
    """``{"<language>": {"KEY": "text"}}``: known languages, upper-case keys, text values."""
    if not isinstance(texts, dict):
        raise ValueError('Texts must be an object by language, e.g. {"en": {"FOLLOWUP": "…"}}.')
    known = set(languages)
    for language, strings in texts.items():
        if language not in known:
            raise ValueError(
                f"Unknown language {language!r}; use one of {', '.join(sorted(known))}."
            )
        if not isinstance(strings, dict):
            raise ValueError(f"Texts for {language!r} must be an object of KEY: text.")
        for key, value in strings.items():
            if not _TEXT_KEY.match(str(key)):
                raise ValueError(f"{language}: {key!r} is not a KEY in upper case, e.g. FOLLOWUP.")
            if not isinstance(value, str):
                raise ValueError(f"{language}.{key} must be text.")
