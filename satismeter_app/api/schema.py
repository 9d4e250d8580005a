"""The app's OpenAPI schema (``/api/schema/``) and its Swagger UI (``/api/docs/``), and the
descriptions of the app's own authentication classes (drf-spectacular extensions).

The schema covers the app's API views and nothing of the host's: the host's views are
described (if at all) by the host's own schema, with whatever inspector the host chose, and
one of them with DRF's default inspector would make this schema fail. Its title, version and
options are the app's, whatever the host's ``SPECTACULAR_SETTINGS``, and Swagger UI comes from
``drf_spectacular_sidecar``, never from a CDN. Who may read them follows drf-spectacular's
``SERVE_PERMISSIONS`` and ``SERVE_AUTHENTICATION`` (public by default, like SatisMeter's
documentation).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from .. import __version__
from .base import AppViewMixin, SpectacularSchema, extend_schema

TITLE = "django-satismeter API"
SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": TITLE,
    "DESCRIPTION": "SatisMeter-compatible widget, export, users and management API.",
    "VERSION": __version__,
    "COMPONENT_SPLIT_REQUEST": True,
}
DOCS_SETTINGS: dict[str, Any] = {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR"}


class AppEndpoints(EndpointEnumerator):
    """Only the views built on the app's base (api/base.py)."""

    def should_include_endpoint(self, path: Any, callback: Any, *args: Any, **kwargs: Any) -> bool:
        view = getattr(callback, "cls", None)
        if not (isinstance(view, type) and issubclass(view, AppViewMixin)):
            return False
        return bool(super().should_include_endpoint(path, callback, *args, **kwargs))


class AppSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = AppEndpoints


class SchemaView(SpectacularAPIView):
    # Like the app's API views: drf-spectacular's inspector whatever the host's default, so
    # that a schema of the whole site (the host's own, or `check --deploy`) can pass over
    # these two views instead of failing on them.
    schema = SpectacularSchema()
    generator_class = AppSchemaGenerator
    custom_settings = SCHEMA_SETTINGS
    urlconf = None  # the whole site's, filtered by AppEndpoints: paths keep the include's prefix
    throttle_classes: list[Any] = []
    versioning_class = None
    content_negotiation_class = DefaultContentNegotiation

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerView):
    schema = SpectacularSchema()
    title = TITLE
    throttle_classes: list[Any] = []
    versioning_class = None
    content_negotiation_class = DefaultContentNegotiation

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        with patched_settings(DOCS_SETTINGS):
            return super().get(request, *args, **kwargs)


# --- the app's authentication classes, described ----------------------------------------------
#
# An OpenAPI security requirement object lists schemes that are ALL required together; ways a
# client may choose between are separate objects, and an empty one ({}) means "no credential".
# So each extension below answers one requirement per way (get_security_requirement), and
# operation_note says in the operation's description what the security list cannot.


class AlternativeSchemes(OpenApiAuthenticationExtension):
    """An authentication class that accepts any one of its ``name`` schemes, or, with
    ``optional``, no credential at all (it then comes in the body)."""

    name: list[str]
    optional = False
    operation_note = ""

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [*([{}] if self.optional else []), *({name: []} for name in self.name)]


class StaffSessionScheme(AlternativeSchemes):
    target_class = "satismeter_app.api.widget.StaffSessionAuthentication"
    name = ["staffSession"]
    optional = True
    operation_note = (
        "Public: the widget's calls need no credential. They name the project by its public "
        "write key in the JSON body (`writeKey`); an admin session (`staffSession`) only adds "
        "survey previews."
    )

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {
                "type": "apiKey",
                "in": "cookie",
                "name": "sessionid",
                "description": "The admin login; only needed for survey previews.",
            }
        ]


class ApiKeyScheme(AlternativeSchemes):
    target_class = "satismeter_app.api.authentication.ApiKeyAuthentication"
    name = ["apiKeyBearer", "apiKeyBasic", "apiKeyHeader"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "The project's secret API key."},
            {"type": "http", "scheme": "basic", "description": "The API key as user name."},
            {"type": "apiKey", "in": "header", "name": "AuthKey"},
        ]


class SegmentKeyScheme(AlternativeSchemes):
    target_class = "satismeter_app.api.segment.SegmentKeyAuthentication"
    name = ["segmentKeyBasic", "segmentKeyBearer", "segmentKeyHeader"]
    optional = True
    operation_note = (
        "The project's secret API key: as the HTTP Basic user name (Segment's libraries), a "
        "Bearer token, an `AuthKey` header, or `writeKey` in the JSON body."
    )

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        note = " Or send it as writeKey in the JSON body, as Segment's libraries do."
        return [
            {"type": "http", "scheme": "basic", "description": "The API key as user name." + note},
            {"type": "http", "scheme": "bearer", "description": "The project's secret API key."},
            {"type": "apiKey", "in": "header", "name": "AuthKey"},
        ]


# --- bodies that refuse unknown keys ------------------------------------------------------------


class StrictBodies(OpenApiSerializerExtension):
    """A :class:`~satismeter_app.api.serializers.StrictSerializer` refuses keys it does not
    know (400): its request schema says so with ``additionalProperties: false``."""

    target_class = "satismeter_app.api.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = dict(auto_schema._map_serializer(self.target, direction, bypass_extensions=True))
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
