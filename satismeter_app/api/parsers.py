"""Request bodies as JSON, read in one place (:func:`parse_json`), for every route that takes
JSON: DRF's parsers below and the Segment routes, which read their body themselves.

A body nested deeper than :data:`MAX_JSON_DEPTH` is refused before anything walks it: Python's
parser, its encoder and any recursive walk fail with a RecursionError about a thousand levels
down, which was a 500. Through :class:`StorableJSONParser`, a body the database cannot store
(:mod:`satismeter_app.storable`: a NUL character, a lone surrogate, NaN or Infinity) is a 400
that says where, before any view code runs.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .. import storable

# No client sends data nested this deep on purpose; Segment's own messages are about 5 levels.
MAX_JSON_DEPTH = 64


def parse_json(data: bytes | str) -> Any:
    """``data`` as JSON; raises ValueError saying what is wrong with it.

    NaN and Infinity are read (some senders write them); :mod:`.storable` says where a value
    holds one, so that a Segment batch can report that message and keep the others.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"it is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if _nested_deeper(data, value, MAX_JSON_DEPTH):
        raise ValueError(f"it is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _nested_deeper(data: bytes | str, value: Any, limit: int) -> bool:
    # Counting brackets is one pass in C and clears nearly every body without the walk.
    brackets = ("[", "{") if isinstance(data, str) else (b"[", b"{")
    if data.count(brackets[0]) + data.count(brackets[1]) <= limit:  # type: ignore[arg-type]
        return False
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:  # a loop, not a recursion: the point is to stay clear of the stack's limit
        item, depth = stack.pop()
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def check_storable(value: Any) -> None:
    if (found := storable.find(value)) is not None:
        raise ParseError(f"{found}.")


class StorableJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = parse_json(stream.read().decode(encoding))
        except ValueError as exc:  # a UnicodeDecodeError too
            raise ParseError(f"JSON parse error - {exc}") from None
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
