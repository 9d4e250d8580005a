"""What every API view of the app sets for itself instead of taking it from the host.

DRF fills a view's defaults from the host project's ``REST_FRAMEWORK`` setting. A host may
make ``IsAuthenticated`` its default permission, paginate every list, throttle anonymous
clients, render only camelCase JSON, version by URL namespace or point ``DEFAULT_SCHEMA_CLASS``
at DRF's own AutoSchema; the widget, the SatisMeter- and Segment-compatible routes and the
OpenAPI schema must answer the same in every such project. So the app's views start from
:class:`AppViewMixin` (or :class:`AppAPIView`), and each family of views names its own
authentication, permissions and throttles (a test checks that none is inherited).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from drf_spectacular import utils as spectacular
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.views import APIView

from .. import storable
from ..exceptions import InvalidInput
from . import errors
from .errors import AppErrors
from .parsers import DEFAULT_PARSERS

# The attributes each view family must set itself: there is no safe default for them.
OWN_POLICIES = ("authentication_classes", "permission_classes", "throttle_classes")

F = TypeVar("F", bound=Callable[..., Any])


def extend_schema(**kwargs: Any) -> Callable[[F], F]:
    """drf-spectacular's ``@extend_schema``, for the app's view methods.

    The annotation it builds subclasses the schema class found on the method, else the host's
    ``DEFAULT_SCHEMA_CLASS`` as it is at import time; on DRF's default there, the operation
    fails (and ``/api/schema/`` with it) even on a view whose own schema is drf-spectacular's.
    Naming drf-spectacular's AutoSchema on the method first, the way ``@action`` carries it,
    makes the annotation build on that, whatever the host set.
    """
    annotate = spectacular.extend_schema(**kwargs)

    def decorator(f: F) -> F:
        if not inspect.isclass(f):
            if getattr(f, "kwargs", None) is None:
                f.kwargs = {}  # type: ignore[attr-defined]
            f.kwargs.setdefault("schema", AppAutoSchema)  # type: ignore[attr-defined]
        return annotate(f)

    return decorator


class AppAutoSchema(AutoSchema):
    """drf-spectacular's inspector, plus what every operation of the app shares: the refusals
    :func:`errors.handle` can answer, with their bodies, and the notes of its authentication
    schemes (``operation_note`` on the extensions in api/schema.py)."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            self._note_authentication(operation)
            self._document_refusals(operation)
            self._path_ids_as_routed(operation)
        return operation

    def _path_ids_as_routed(self, operation: dict[str, Any]) -> None:
        # Django's <int:…> converter routes digits only: "-1" names no route (the host's 404).
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                parameter["schema"].setdefault("minimum", 0)

    def refusal_statuses(self) -> list[int]:
        """400 (a body, a query parameter or a path id) and 401 (a key, token, write key or
        signature) on every route; 403 where a credential names a project (not Segment's: a
        key names none); 404 with a path id or a page number; 429 where a throttle runs."""
        statuses = [400, 401]
        if not self._segment:
            statuses.append(403)
        # DRF's pagination answers an unknown page number with a 404.
        paginated = self._is_list_view() and getattr(self.view, "pagination_class", None)
        if "{" in self.path or paginated:
            statuses.append(404)
        if self.view.get_throttles():
            statuses.append(429)
        return statuses

    def _document_refusals(self, operation: dict[str, Any]) -> None:
        # The bodies are the error handler's whatever a view's own decorator said about them.
        responses = operation["responses"]
        codes = {int(code) for code in responses if str(code).startswith("4")}
        for status in sorted(codes | set(self.refusal_statuses())):
            response = responses.setdefault(str(status), {})
            if not response.get("description"):
                response["description"] = errors.REFUSALS.get(status, "Refused.")
            schema = errors.refusal_schema(status, self._segment, self._ref)
            response["content"] = {"application/json": {"schema": schema}}
            if status == 429:
                response["headers"] = errors.RETRY_AFTER

    @property
    def _segment(self) -> bool:
        """Segment's routes answer in Segment's words (api/errors.py)."""
        return bool(getattr(self.view, "segment_errors", False))

    def _ref(self, serializer: type) -> dict[str, str]:
        return dict(self.resolve_serializer(serializer, "response").ref)

    def _note_authentication(self, operation: dict[str, Any]) -> None:
        notes = [
            getattr(OpenApiAuthenticationExtension.get_match(authenticator), "operation_note", "")
            for authenticator in self.view.get_authenticators()
        ]
        text = "\n\n".join([operation.get("description", ""), *filter(None, notes)]).strip()
        if text:
            operation["description"] = text


class SpectacularSchema(ViewInspector):
    """DRF's ``DefaultSchema`` (a fresh inspector for each view instance), except that the
    inspector is always drf-spectacular's, whatever the host's ``DEFAULT_SCHEMA_CLASS``: the
    app's ``@extend_schema`` annotations need it, and ``/api/schema/`` answers 500 without."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        found = super().__get__(instance, owner)
        if not isinstance(found, SpectacularSchema):
            return found  # one that the schema generator set on this view instance
        inspector = AppAutoSchema()
        inspector.view = instance
        return inspector


class AppContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a shortcut for what nearly every call sends: no ``Accept``, or
    ``*/*``, or exactly the first renderer's type, and no format override. DRF then picks the
    first renderer with its media type; this picks it without parsing the header, on every
    widget call."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        first = renderers[0] if renderers else None
        if (
            first is not None
            and accept in ("*/*", first.media_type)
            and not format_suffix
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]


class AppViewMixin(AppErrors):
    """The host-independent defaults, and the app's own error answers (:class:`AppErrors`:
    they are part of the SatisMeter and Segment contracts, so never the handler a host installed
    for its own API); mix in before ``APIView`` or a viewset."""

    schema: Any = SpectacularSchema()
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    parser_classes: Sequence[type[BaseParser]] = DEFAULT_PARSERS
    content_negotiation_class: Any = AppContentNegotiation
    # OPTIONS must answer: browsers send it before the widget's cross-origin calls.
    metadata_class: Any = SimpleMetadata
    versioning_class: Any = None
    pagination_class: Any = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication, throttles and the handler: nothing has queried or streamed yet.
        refuse_unstorable_params(request, kwargs)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


def refuse_unstorable_params(request: Request, path_params: dict[str, Any]) -> None:
    """A 400 for a query parameter or path id holding text PostgreSQL cannot take (a NUL):
    every view may then filter on them, and a streamed answer never starts with a query that
    fails half-way."""
    if not path_params and not request.META.get("QUERY_STRING"):
        return  # nothing to check: a widget call's case, not worth parsing an empty query
    named = [*request.query_params.lists(), *((k, [v]) for k, v in path_params.items())]
    for name, values in named:
        for text in (name, *values):
            if problem := storable.text_problem(str(text)):
                field = name if storable.text_problem(name) is None else "a parameter's name"
                raise InvalidInput(field, f"must not contain {problem}")


class AppAPIView(AppViewMixin, APIView):
    """The base of the app's APIViews."""
