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


def _objects(
    items: Any, plural: str, singular: str, keys: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item of a stored rule list with where it stands ("Condition 2"); raises
    ValueError unless the list is a list of objects with only the given keys."""
    if not isinstance(items, list):
        raise ValueError(f"{plural} must be a list.")
    for index, item in enumerate(items, start=1):
        where = f"{singular} {index}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object.")
        unknown = set(item) - keys
        if unknown:
            raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        yield where, item


def validate_trait_conditions(conditions: Any) -> None:
    """Raise ValueError saying what is wrong with the first bad condition."""
    keys = {"trait", "type", "op", "value"}
    for where, condition in _objects(conditions, "Trait conditions", "Condition", keys):
        trait, kind, op = condition.get("trait"), condition.get("type"), condition.get("op")
        if not isinstance(trait, str) or not trait:
            raise ValueError(f"{where} needs a trait name.")
        if op in PRESENCE_OPERATORS:
            continue
        if kind not in OPERATORS:
            raise ValueError(f"{where}: type must be one of {', '.join(sorted(OPERATORS))}.")
        if op not in OPERATORS[kind]:
            allowed = ", ".join(sorted(OPERATORS[kind] | PRESENCE_OPERATORS))
            raise ValueError(f"{where}: operator {op!r} does not apply to {kind}; use {allowed}.")
        problem = _value_error(kind, op, condition.get("value"))
        if problem:
            raise ValueError(f"{where}: {op} {problem}.")


def validate_url_rules(rules: Any) -> None:
    """Raise ValueError saying what is wrong with the first bad page rule."""
    for where, rule in _objects(rules, "Page rules", "Page rule", {"op", "value", "exclude"}):
        if rule.get("op") not in URL_OPERATORS:
            raise ValueError(f"{where}: op must be one of {', '.join(sorted(URL_OPERATORS))}.")
        if not isinstance(rule.get("value"), str) or not rule["value"]:
            raise ValueError(f"{where} needs a non-empty value.")
        if not isinstance(rule.get("exclude", False), bool):
            raise ValueError(f"{where}: exclude must be true or false.")
        if rule["op"] == "regex":
            try:
                re.compile(rule["value"])
            except re.error as exc:
                raise ValueError(f"{where}: invalid regular expression ({exc}).") from exc


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
