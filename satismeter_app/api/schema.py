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
