"""Rate limits of the public widget routes, kept in the shared cache (Redis in production)."""

from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from ..conf import app_settings


class _SharedCacheThrottle(SimpleRateThrottle):
    setting = ""

    def __init__(self) -> None:
        self.cache = caches[app_settings.CACHE_ALIAS]
        super().__init__()

    def get_rate(self) -> str:
        rate: str = getattr(app_settings, self.setting)
        return rate


class WriteKeyThrottle(_SharedCacheThrottle):
    """Every client of one project together."""

    scope = "satismeter_write_key"
    setting = "WIDGET_RATE_PER_KEY"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        write_key = request.data.get("writeKey") if isinstance(request.data, dict) else None
        if not isinstance(write_key, str) or not write_key:
            return None
        return self.cache_format % {"scope": self.scope, "ident": write_key[:64]}


class ClientThrottle(_SharedCacheThrottle):
    """One client address, whatever it calls."""

    scope = "satismeter_client"
    setting = "WIDGET_RATE_PER_CLIENT"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
