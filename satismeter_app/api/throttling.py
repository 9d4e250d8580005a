"""Rate limits, kept in the shared cache (Redis in production), and the client address they
count by (docs/security.md, "Client addresses and rate limits").

A fixed-window counter: one atomic ``incr`` per call and limit, so the cost does not grow with
the traffic, concurrent calls are all counted, and Redis does the counting. A widget call's
limits are counted together in one round trip (:func:`check`). While the cache
cannot be reached the limits let requests through (:mod:`satismeter_app.shared_cache`).

The widget routes list :class:`ClientThrottle` before :class:`WriteKeyThrottle`: DRF asks every
throttle, but a request the client's limit refused is not counted toward the project's, so
one client flooding the widget cannot use up its project's allowance for everyone else.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

from .. import keys, shared_cache
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

    def counter(self, ident: str) -> shared_cache.Counter:
        return shared_cache.Counter(self.key(ident), self.limit, self.period + 1)

    def count(self, ident: str) -> int:
        """Calls counted so far in this window; 0 while the cache cannot be reached."""
        key = self.key(ident)
        return int(shared_cache.use(lambda cache: cache.get(key, 0), 0))

    def hit(self, ident: str) -> int:
        """Count one more call; the count with it (0 while the cache cannot be reached)."""
        return shared_cache.count_and_read([self.counter(ident)]).counts[0]


class _WindowThrottle(BaseThrottle):
    setting = ""
    scope = ""
    retry_after: float | None = None  # set when it refuses a call

    def key(self, request: Any) -> str | None:
        raise NotImplementedError

    def window(self) -> Window:
        return Window.of(self.scope, getattr(app_settings, self.setting))

    def allow_request(self, request: Any, view: Any) -> bool:
        return check(request, [self]).wait is None

    def wait(self) -> float | None:
        return self.retry_after


@dataclass(frozen=True)
class Checked:
    """What :func:`check` found: the seconds to wait when a limit refused the call (else
    None), and the values read along."""

    wait: float | None
    values: tuple[Any, ...]
    reached: bool


def check(
    request: Any,
    throttles: Sequence[BaseThrottle],
    reads: Sequence[str] = (),
    writes: Sequence[shared_cache.Write] = (),
) -> Checked:
    """Count the call against every throttle, in order, read ``reads`` and store ``writes``:
    one round trip to the cache (:func:`shared_cache.count_and_read`). A call a throttle
    refuses is not counted by the ones after it."""
    counted: list[tuple[_WindowThrottle, Window]] = []
    counters: list[shared_cache.Counter] = []
    if not getattr(request, _REFUSED, False):
        for throttle in throttles:
            if not isinstance(throttle, _WindowThrottle):
                continue
            ident = throttle.key(request)
            if ident is not None:
                window = throttle.window()
                counted.append((throttle, window))
                counters.append(window.counter(ident))
    found = shared_cache.count_and_read(counters, reads, writes)
    for (throttle, window), count in zip(counted, found.counts, strict=True):
        if count > window.limit:
            throttle.retry_after = window.retry_after()
            setattr(request, _REFUSED, True)
            return Checked(throttle.retry_after, found.values, found.reached)
    return Checked(None, found.values, found.reached)


class WriteKeyThrottle(_WindowThrottle):
    """Every client of one project together."""

    scope = "key"
    setting = "WIDGET_RATE_PER_KEY"

    def key(self, request: Any) -> str | None:
        write_key = write_key_of(request)
        return write_key[:64] if write_key else None


def write_key_of(request: Any) -> str | None:
    """The ``writeKey`` of a widget call's body, if it sent one that may be a write key."""
    write_key = request.data.get("writeKey") if isinstance(request.data, dict) else None
    return write_key if isinstance(write_key, str) and keys.may_be_write_key(write_key) else None


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
