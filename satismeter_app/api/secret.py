"""The base of the routes a project's secret API key opens (SatisMeter's REST API).

No CORS: these routes are for back ends and data tools, never for a browser page, and a
secret key must not be usable from one. The ``format`` query parameter is the export format
(SatisMeter's ``format=json|csv``), not DRF's renderer override.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from .. import timeparse
from ..exceptions import InvalidInput
from .authentication import ApiKeyAuthentication, HasProjectKey, key_project_id
from .base import AppAPIView
from .parsers import DEFAULT_PARSERS

M = TypeVar("M", bound=Model)

READ_METHODS = ("GET", "HEAD")


class FormatIsNotARenderer(DefaultContentNegotiation):
    """DRF reads ``?format=`` as a renderer name and answers 404 for ``csv``; here the views
    read it themselves, so an unknown renderer name falls back to JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            return super().select_renderer(request, renderers, format_suffix)  # type: ignore[return-value]
        except Http404:
            return renderers[0], renderers[0].media_type


class KeyProjectView(AppAPIView):
    """A view that the project's secret key opens, for some of its methods or all."""

    def project_id(self, requested: Any = None) -> int:
        """The key's project; naming another one is a 403."""
        return key_project_id(self.request, requested)


class SecretKeyView(KeyProjectView):
    """A route of the REST API: the project's secret key (Bearer, Basic or AuthKey)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasProjectKey]
    throttle_classes: list[Any] = []
    parser_classes = DEFAULT_PARSERS
    content_negotiation_class = FormatIsNotARenderer


class SecretKeyReads(KeyProjectView):
    """Mixed into a public widget view: its GET (and HEAD) become reads with the secret key,
    without the widget's CORS headers and throttles; its other methods stay as they were."""

    def _reading(self) -> bool:
        method = getattr(getattr(self, "request", None), "method", None)
        return method in READ_METHODS

    def get_authenticators(self) -> list[Any]:
        if self._reading():
            return [ApiKeyAuthentication()]
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self._reading():
            return [HasProjectKey()]
        return list(super().get_permissions())

    def get_throttles(self) -> list[Any]:
        return [] if self._reading() else super().get_throttles()

    def get_content_negotiator(self) -> Any:
        if self._reading():
            return FormatIsNotARenderer()
        return super().get_content_negotiator()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in READ_METHODS:
            return APIView.finalize_response(self, request, response, *args, **kwargs)
        return super().finalize_response(request, response, *args, **kwargs)


# --- query parameters -----------------------------------------------------------------------------


def parse_time_param(
    request: Request, name: str, *, end: bool = False, zone: tzinfo = UTC
) -> datetime | None:
    """An ISO-8601 date-time or date; a date alone is that day in ``zone``, and as an end
    means the end of that day."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    when = timeparse.parse_bound(value, end=end, zone=zone)
    if when is None:
        raise InvalidInput(name, "use an ISO-8601 date (2024-01-31) or date-time")
    return when


def time_window(
    request: Request, *, default_days: int | None = None, zone: tzinfo = UTC
) -> tuple[datetime | None, datetime | None]:
    """``startDate`` (inclusive) and ``endDate`` (exclusive; a date includes its day). A date
    alone is a day in ``zone``: the statistics pass the project's (``Project.zone_of``), so
    that their days are the project's days, as on the dashboard."""
    start = parse_time_param(request, "startDate", zone=zone)
    end = parse_time_param(request, "endDate", end=True, zone=zone)
    if start is None and default_days is not None:
        start = timezone.now() - timedelta(days=default_days)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("endDate", "must come after startDate")
    return start, end


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(name, f"must be a whole number from {low} to {high}")
    return int(value)


FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}


def flag_param(request: Request, name: str) -> bool:
    """A yes/no query parameter: 1 or true, 0 or false (or absent: no)."""
    value = request.query_params.get(name, "")
    if value.lower() not in FLAG_VALUES:
        raise InvalidInput(name, "is 1 (true) or 0 (false)")
    return FLAG_VALUES[value.lower()]


def extended_param(request: Request) -> bool:
    """``?extended=1``: our keys after SatisMeter's documented ones (representations.py)."""
    return flag_param(request, "extended")


def object_id(value: Any) -> int:
    """An id from the URL or a query; 0 (no row's) when it cannot be one of ours."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return 0
    return int(text)


def project_row(rows: QuerySet[M], project_id: int, pk: Any, missing: str) -> M:
    """Row ``pk`` of the project; another project's is as missing as a deleted one (404)."""
    row = rows.filter(project_id=project_id, pk=object_id(pk)).first()
    if row is None:
        raise Http404(missing)
    return row
