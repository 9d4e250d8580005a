"""Rate limits, kept in the shared cache (Redis in production), and the client address they
count by (docs/security.md, "Client addresses and rate limits").

A fixed-window counter: one atomic ``incr`` per call and limit, so the cost does not grow with
the traffic, concurrent calls are all counted, and Redis does the counting. While the cache
cannot be reached the limits let requests through (:mod:`satismeter_app.shared_cache`).

The widget routes list :class:`ClientThrottle` before :class:`WriteKeyThrottle`: DRF asks every
throttle, but a request the client's limit refused is not counted toward the project's, so
one client flooding the widget cannot use up its project's allowance for everyone else.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

from .. import shared_cache
from ..conf import app_settings, parse_rate

# Set on a request that a throttle refused: the throttles after it do not count it.
_REFUSED = "_satismeter_throttled"


# --- who the client is ----------------------------------------------------------------------------


def client_address(request: Any) -> str:
    """The client's IP address, by the ``TRUSTED_PROXIES`` rule.

    Without trusted proxies it is ``REMOTE_ADDR``: ``X-Forwarded-For`` is whatever the client
    wrote. Behind N proxies each appends the address it saw, so the Nth from the right is the
    one the outermost proxy saw, and everything to its left was written by the client.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = app_settings.TRUSTED_PROXIES
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if not proxies or not forwarded.strip():
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    seen = hops[-min(proxies, len(hops))]
    return seen if _is_ip(seen) else remote


def client_key(request: Any) -> str:
    """The address rate limits count by: the client's, or for IPv6 its /64 network (written
    as an address), since whoever holds one address of a /64 usually holds them all.
    Also django-axes' ``AXES_CLIENT_IP_CALLABLE``, so the admin login counts the same way."""
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address)
    return str(ip)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- counting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """``limit`` per ``period`` seconds for each identity, counted in the shared cache."""

    scope: str
    limit: int
    period: int

    @classmethod
    def of(cls, scope: str, rate: str) -> Window:
        limit, period = parse_rate(rate)
        return cls(scope, limit, period)

    def retry_after(self) -> float:
        """Seconds until the current window ends."""
        now = time.time()
        return (int(now // self.period) + 1) * self.period - now

    def key(self, ident: str) -> str:
        return f"satismeter:throttle:{self.scope}:{ident}:{int(time.time() // self.period)}"

    def count(self, ident: str) -> int:
        """Calls counted so far in this window; 0 while the cache cannot be reached."""
        key = self.key(ident)
        return int(shared_cache.use(lambda cache: cache.get(key, 0), 0))

    def hit(self, ident: str) -> int:
        """Count one more call; the count with it (0 while the cache cannot be reached)."""
        key = self.key(ident)
        return int(shared_cache.use(lambda cache: self._incr(cache, key), 0))

    def _incr(self, cache: Any, key: str) -> int:
        # add() is a no-op when the key exists; incr() is atomic in Redis and locmem alike.
        cache.add(key, 0, timeout=self.period + 1)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr: this call starts the window
            cache.set(key, 1, timeout=self.period + 1)
            return 1


class _WindowThrottle(BaseThrottle):
    setting = ""
    scope = ""

    def key(self, request: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        ident = self.key(request)
        if ident is None or getattr(request, _REFUSED, False):
            return True
        window = Window.of(self.scope, getattr(app_settings, self.setting))
        self.retry_after = window.retry_after()
        if window.hit(ident) <= window.limit:
            return True
        setattr(request, _REFUSED, True)
        return False

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
        return client_key(request)


# --- the admin login (django-axes) ------------------------------------------------------------


def admin_lockout(request: HttpRequest, *args: Any) -> HttpResponse:
    """django-axes' ``AXES_LOCKOUT_CALLABLE``: a locked-out login is answered as every limit
    of the app is, 429 with ``Retry-After`` (the cool-off time, restarted by each attempt)."""
    from axes.helpers import get_cool_off, get_lockout_message  # only hosts with axes call it

    answer = HttpResponse(get_lockout_message(), status=429, content_type="text/plain")
    cool_off: timedelta | None = get_cool_off(request)
    if cool_off:
        answer["Retry-After"] = str(max(1, int(cool_off.total_seconds())))
    return answer
