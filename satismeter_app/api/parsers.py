"""Request bodies the database can store (:mod:`satismeter_app.storable`): a JSON body with
a NUL character or a lone surrogate is a 400 that says where, before any view code runs."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .. import storable


def check_storable(value: Any) -> None:
    if (found := storable.find(value)) is not None:
        raise ParseError(f"{found}.")


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
