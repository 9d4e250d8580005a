"""OpenAPI descriptions of the app's own authentication classes (drf-spectacular)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "satismeter_app.api.widget.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The admin login; only needed for survey previews.",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "satismeter_app.api.authentication.ApiKeyAuthentication"
    name = ["apiKeyBearer", "apiKeyBasic", "apiKeyHeader"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "The project's secret API key."},
            {"type": "http", "scheme": "basic", "description": "The API key as user name."},
            {"type": "apiKey", "in": "header", "name": "AuthKey"},
        ]


class SegmentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "satismeter_app.api.segment.SegmentKeyAuthentication"
    name = ["segmentKeyBasic", "segmentKeyBearer", "segmentKeyHeader"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        note = " Or send it as writeKey in the JSON body, as Segment's libraries do."
        return [
            {"type": "http", "scheme": "basic", "description": "The API key as user name." + note},
            {"type": "http", "scheme": "bearer", "description": "The project's secret API key."},
            {"type": "apiKey", "in": "header", "name": "AuthKey"},
        ]
