"""Request bodies the database can store.

JSON may carry ``\\u0000`` and lone surrogates (``\\ud800``), which Python accepts and
PostgreSQL refuses (in text and in ``jsonb``): such a body is a 400 that says so, before any
view code runs, rather than a database error later.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def unstorable(value: Any, path: str = "") -> str | None:
    """Where ``value`` holds a string PostgreSQL cannot store, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "the body"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "the body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if (found := unstorable(key, where)) or (found := unstorable(item, where)):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := unstorable(item, f"{path}[{index}]"):
                return found
    return None


def check_storable(value: Any) -> None:
    if (where := unstorable(value)) is not None:
        raise ParseError(f"{where[:100]}: text must not contain NUL characters or lone surrogates.")


class StorableJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        check_storable(data)
        return data


class StorableJSONAPIParser(StorableJSONParser):
    media_type = "application/vnd.api+json"


JSON_PARSERS: list[type[parsers.BaseParser]] = [StorableJSONParser, StorableJSONAPIParser]
DEFAULT_PARSERS: list[type[parsers.BaseParser]] = [
    StorableJSONParser,
    parsers.FormParser,
    parsers.MultiPartParser,
]
