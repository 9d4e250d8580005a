"""Text PostgreSQL can store: no NUL character, no lone surrogate, and not too long.

JSON may carry ``\\u0000`` and lone surrogates (``\\ud800``), which Python accepts and
PostgreSQL refuses, in ``text`` and in ``jsonb`` alike; and NaN or Infinity (``1e400`` reads as
Infinity), which ``jsonb`` refuses. Whatever a client sends is checked here
before it is saved, so that such text is a client error that says where, never a database
error later.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidInput

NUL = "\x00"
MAX_PATH_SHOWN = 100  # keys are client text too: a message does not repeat a huge one


@dataclass(frozen=True)
class Unstorable:
    """Where a value holds text PostgreSQL cannot store (``traits.bio``), and what is wrong."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where[:MAX_PATH_SHOWN]}: must not contain {self.problem}"


def text_problem(text: str) -> str | None:
    """What keeps PostgreSQL from storing ``text``, or None."""
    if NUL in text:
        return "NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogates"
    return None


def find(value: Any, path: str = "") -> Unstorable | None:
    """The first string (a dict key too) or number in ``value`` PostgreSQL cannot store, or
    None.

    ``path`` names ``value`` in the answer; without one, ``value`` is the request body.
    """
    if not _may_hold_unstorable(value):
        return None
    return _walk(value, path)


def check(value: Any, name: str) -> None:
    """Raises InvalidInput naming where ``value`` holds text PostgreSQL cannot store."""
    if (found := find(value, name)) is not None:
        raise InvalidInput(found.where, f"must not contain {found.problem}")


def checked_text(text: str, name: str, limit: int) -> str:
    """``text`` if PostgreSQL can store it in a column of ``limit`` characters."""
    if len(text) > limit:
        raise InvalidInput(name, f"must be at most {limit} characters")
    check(text, name)
    return text


def _may_hold_unstorable(value: Any) -> bool:
    # One pass in C for the common case: JSON escapes a NUL as \u0000 and cannot encode a lone
    # surrogate, and writes NaN and Infinity as such. Text that merely spells "\u0000" or "NaN"
    # also matches, so a match is only a suspicion that the walk confirms or clears.
    dumped = json.dumps(value, ensure_ascii=False, default=str)
    try:
        dumped.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\\u0000" in dumped or "NaN" in dumped or "Infinity" in dumped


def _walk(value: Any, path: str) -> Unstorable | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return Unstorable(path or "the body", problem) if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return Unstorable(path or "the body", "NaN or Infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if (found := _walk(str(key), inner)) or (found := _walk(item, inner)):
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := _walk(item, f"{path}[{index}]"):
                return found
    return None
