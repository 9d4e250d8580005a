"""Rate limits of the public widget routes, kept in the shared cache (Redis in production).

A fixed-window counter: one atomic ``incr`` per call and limit, so the cost does not grow with
the traffic, concurrent calls are all counted, and Redis does the counting.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from ..conf import app_settings, parse_rate


class _WindowThrottle(BaseThrottle):
    setting = ""
    scope = ""

    def key(self, request: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        ident = self.key(request)
        if ident is None:
            return True
        limit, period = parse_rate(getattr(app_settings, self.setting))
        now = time.time()
        window = int(now // period)
        self.retry_after = (window + 1) * period - now
        cache = caches[app_settings.CACHE_ALIAS]
        cache_key = f"satismeter:throttle:{self.scope}:{ident}:{window}"
        # add() is a no-op when the key exists; incr() is atomic in Redis and locmem alike.
        cache.add(cache_key, 0, timeout=period + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: this call starts the window
            cache.set(cache_key, 1, timeout=period + 1)
            count = 1
        return bool(count <= limit)

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)


class WriteKeyThrottle(_WindowThrottle):
    """Every client of one project together."""

    scope = "key"
    setting = "WIDGET_RATE_PER_KEY"

    def key(self, request: Any) -> str | None:
        write_key = request.data.get("writeKey") if isinstance(request.data, dict) else None
        if not isinstance(write_key, str) or not write_key:
            return None
        return write_key[:64]


class ClientThrottle(_WindowThrottle):
    """One client address, whatever it calls."""

    scope = "client"
    setting = "WIDGET_RATE_PER_CLIENT"

    def key(self, request: Any) -> str | None:
        return str(self.get_ident(request))
