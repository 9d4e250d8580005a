"""Automatic tags: which of a project's keyword tags a comment calls for. Pure: no database.

A tag's ``keywords`` are words or phrases separated by ``|`` (``price|pricing|too expensive``),
matched as plain text — never as a regular expression, so no keyword can make matching slow —
on whole words (``price`` does not match ``priceless``), whatever their case (``PRICING``,
``Straße`` and ``STRASSE`` alike), in any script (``café``, ``дорого``, ``高い``). Spaces in a
phrase match any run of white space. services/tagging.py applies the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from django.utils.translation import gettext as _

SEPARATOR = "|"
# (tag id, keywords) of a project's tags that have keywords.
Rules = Sequence[tuple[int, str]]


def terms(keywords: str) -> list[str]:
    """The words and phrases of ``keywords``, trimmed, the empty ones left out."""
    return [" ".join(term.split()) for term in keywords.split(SEPARATOR) if term.strip()]


def keyword_problem(keywords: str) -> str | None:
    """What is wrong with ``keywords`` as a tag's rule, in words staff can act on; None if
    nothing is."""
    if not keywords.strip():
        return None
    parts = keywords.split(SEPARATOR)
    if any(not part.strip() for part in parts):
        return _(
            "Leave no empty keyword: separate words with a single | and none at either end "
            "(for example price|pricing|expensive)."
        )
    for term in terms(keywords):
        if not any(char.isalnum() for char in term):
            return _("“%(term)s” has no letter or digit: a keyword is a word or a phrase.") % {
                "term": term
            }
    return None


@lru_cache(maxsize=1024)
def pattern(keywords: str) -> re.Pattern[str] | None:
    """One expression for all the terms: each escaped, between non-word characters."""
    found = sorted({term.casefold() for term in terms(keywords)}, key=len, reverse=True)
    if not found:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, term.split(" "))) for term in found)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def matches(keywords: str, text: str) -> bool:
    expression = pattern(keywords)
    return expression is not None and expression.search(text.casefold()) is not None


def matching(rules: Rules, texts: Iterable[str]) -> set[int]:
    """The ids of the tags whose keywords appear in any of ``texts``."""
    written = "\n".join(text for text in texts if text)
    if not written or not rules:
        return set()
    return {tag_id for tag_id, keywords in rules if matches(keywords, written)}
