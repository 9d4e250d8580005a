"""The shared cache (Redis in production) and what the app does when it cannot be reached.

The cache holds rate-limit counters and copies of the project configuration: nothing that a
request cannot do without. So every use names a fallback, and while the cache is unreachable
requests are served without it: rate limits let them through and the configuration is read
from the database (docs/security.md, "When Redis or the database is down").

- One warning per outage and kind of failure, not one per request of a flood.
- After a failure the cache is left alone for :data:`RETRY_AFTER_FAILURE` seconds: a cache
  that hangs costs the socket timeout once, not on every call.
- A copy that could not be dropped (the configuration changed during the outage) is dropped
  on the first call that reaches the cache again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from redis.exceptions import RedisError

from .conf import app_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds the cache is not asked after a failure; the first call after them tries it again.
RETRY_AFTER_FAILURE = 5.0

# What a cache that cannot be reached raises: redis-py's errors, socket errors of the others.
UNREACHABLE = (RedisError, OSError)


class _Health:
    """This process's view of the cache: whether it failed, and when to try it again."""

    failure: str | None  # the kind of the last failure; None while the cache answers
    retry_at: float

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.failure = None
        self.retry_at = 0.0

    def failed(self, exc: Exception, now: float) -> None:
        self.retry_at = now + RETRY_AFTER_FAILURE
        kind = type(exc).__name__
        if kind != self.failure:
            logger.warning(
                "The cache %r cannot be reached (%s: %s). Requests are served without it: "
                "rate limits are not enforced and the configuration is read from the "
                "database until it answers again.",
                app_settings.CACHE_ALIAS,
                kind,
                exc,
            )
        self.failure = kind

    def answered(self) -> None:
        if self.failure is not None:
            logger.info("The cache %r answers again.", app_settings.CACHE_ALIAS)
        self.failure = None


_health = _Health()
_undropped: set[str] = set()  # keys whose delete failed, retried when the cache answers


def use(operation: Callable[[BaseCache], T], fallback: T) -> T:
    """``operation(cache)``, or ``fallback`` when the cache cannot be reached."""
    now = time.monotonic()
    if now < _health.retry_at:
        return fallback
    cache = caches[app_settings.CACHE_ALIAS]
    try:
        if _undropped:
            _drop_undropped(cache)
        result = operation(cache)
    except UNREACHABLE as exc:
        _health.failed(exc, now)
        return fallback
    _health.answered()
    return result


def delete(key: str) -> None:
    """Delete ``key`` now, or on the first call that reaches the cache again."""
    _undropped.add(key)
    use(_nothing, None)


def _nothing(cache: BaseCache) -> None:
    return None


def _drop_undropped(cache: BaseCache) -> None:
    keys = list(_undropped)
    cache.delete_many(keys)
    _undropped.difference_update(keys)


def _cache_settings_changed(*, setting: str, **kwargs: Any) -> None:
    # Tests point the cache elsewhere: the new one has not failed yet.
    if setting in ("CACHES", "SATISMETER"):
        _health.reset()


setting_changed.connect(_cache_settings_changed)
