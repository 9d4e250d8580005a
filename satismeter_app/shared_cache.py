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

The widget routes make one round trip to the cache per call (:func:`count_and_read`): with
Django's ``RedisCache`` one Lua script on a client this process keeps, which counts the rate
limits, reads the configuration's version and notes the call for the install page's live check
together; with any other backend, the same
through the backend's own ``add``/``incr``/``get``/``set``.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from redis import Redis
from redis import exceptions as redis_errors
from redis.connection import ConnectionPool
from redis.exceptions import NoScriptError, RedisError

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


# --- counting and reading in one round trip ----------------------------------------------------


@dataclass(frozen=True)
class Counter:
    """A fixed-window counter: ``key`` counts calls up to ``limit``, and expires ``seconds``
    after its first call."""

    key: str
    limit: int
    seconds: int


# Counts the windows in order, stopping at the first one over its limit (the calls it refuses
# are not counted by the windows after it), reads the other keys, then replaces the values of
# the last ones where they exist (SET XX: a call cannot create keys, only refresh them).
# KEYS: the counters' keys, the keys to read, the keys to write. ARGV: the number of counters,
# the number of writes, each counter's limit and seconds, then each write's value and seconds.
# Answers each counter's count (0: not counted), then the values read.
_COUNT_AND_READ = """
local counters = tonumber(ARGV[1])
local writes = tonumber(ARGV[2])
local answer = {}
local refused = false
for i = 1, counters do
  if refused then
    answer[i] = 0
  else
    local count = redis.call('INCR', KEYS[i])
    if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 2]) end
    answer[i] = count
    refused = count > tonumber(ARGV[2 * i + 1])
  end
end
for i = counters + 1, #KEYS - writes do
  answer[i] = redis.call('GET', KEYS[i])
end
local first = 2 * counters + 3
for w = 1, writes do
  local key = KEYS[#KEYS - writes + w]
  redis.call('SET', key, ARGV[first + 2 * (w - 1)], 'EX', ARGV[first + 2 * (w - 1) + 1], 'XX')
end
return answer
"""
_COUNT_AND_READ_SHA = hashlib.sha1(_COUNT_AND_READ.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Counted:
    """What :func:`count_and_read` found: each counter's count (0 when it did not count the
    call: an earlier counter refused it, or the cache could not be reached) and each value read
    (None when absent). ``reached`` is false when the cache could not be reached."""

    counts: tuple[int, ...]
    values: tuple[Any, ...]
    reached: bool = True


@dataclass(frozen=True)
class Write:
    """A value to store under ``key`` for ``seconds``, as Django's cache would store it, if
    ``key`` exists: whoever creates the key decides that it is kept (a call naming a key that
    does not exist, a made-up write key, cannot fill the cache)."""

    key: str
    value: Any
    seconds: int


def count_and_read(
    counters: Sequence[Counter], reads: Sequence[str] = (), writes: Sequence[Write] = ()
) -> Counted:
    """Count one call in each counter (in order, up to the first that refuses it), read
    ``reads`` and store ``writes`` (where their keys exist), in one round trip to Redis. The
    values read are those Django's cache stores: integers come back as ``int``."""
    unreachable = Counted((0,) * len(counters), (None,) * len(reads), reached=False)
    return use(lambda cache: _count_and_read(cache, counters, reads, writes), unreachable)


def _count_and_read(
    cache: BaseCache,
    counters: Sequence[Counter],
    reads: Sequence[str],
    writes: Sequence[Write] = (),
) -> Counted:
    pool = _pool(cache)
    if pool is None:
        return _count_and_read_slowly(cache, counters, reads, writes)
    keys = [cache.make_key(c.key) for c in counters] + [cache.make_key(k) for k in reads]
    keys += [cache.make_key(w.key) for w in writes]
    args: list[int | bytes] = [len(counters), len(writes)]
    for counter in counters:
        args += [counter.limit, counter.seconds]
    serializer = cache._cache._serializer  # type: ignore[attr-defined]
    for write in writes:
        args += [serializer.dumps(write.value), write.seconds]
    answer = _run_script(pool, keys, args)
    counts = tuple(int(n) for n in answer[: len(counters)])
    values = tuple(_stored_value(cache, v) for v in answer[len(counters) :])
    return Counted(counts, values)


def _run_script(pool: ConnectionPool, keys: list[str], args: list[int | bytes]) -> list[Any]:
    """The script on a connection of the cache's pool: EVALSHA, or EVAL when Redis does not
    know the script yet (after a restart). redis-py's client and Script objects cost a widget
    call twice the CPU of the command itself."""
    connection = pool.get_connection()
    try:
        try:
            connection.send_command("EVALSHA", _COUNT_AND_READ_SHA, len(keys), *keys, *args)
            return list(connection.read_response())
        except NoScriptError:
            connection.send_command("EVAL", _COUNT_AND_READ, len(keys), *keys, *args)
            return list(connection.read_response())
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
        connection.disconnect()  # a half-read reply must not reach the next call
        raise
    finally:
        pool.release(connection)


def _stored_value(cache: BaseCache, raw: bytes | None) -> Any:
    if raw is None:
        return None
    return cache._cache._serializer.loads(raw)  # type: ignore[attr-defined]


def _count_and_read_slowly(
    cache: BaseCache, counters: Sequence[Counter], reads: Sequence[str], writes: Sequence[Write]
) -> Counted:
    """The same with the backend's own operations (locmem in development, memcached, …)."""
    for write in writes:
        if cache.get(write.key) is not None:
            cache.set(write.key, write.value, timeout=write.seconds)
    counts: list[int] = []
    refused = False
    for counter in counters:
        count = 0 if refused else _incr(cache, counter)
        refused = refused or count > counter.limit
        counts.append(count)
    return Counted(tuple(counts), tuple(cache.get(key) for key in reads))


def _incr(cache: BaseCache, counter: Counter) -> int:
    # add() is a no-op when the key exists; incr() is atomic in Redis and locmem alike.
    cache.add(counter.key, 0, timeout=counter.seconds)
    try:
        return int(cache.incr(counter.key))
    except ValueError:  # expired between add and incr: this call starts the window
        cache.set(counter.key, 1, timeout=counter.seconds)
        return 1


# Django's RedisCache builds a new client object for every command; the script goes straight to
# a connection of the cache's own pool (one pool per cache object, and one cache object per
# thread: Django's caches are per thread).
_pools: weakref.WeakKeyDictionary[BaseCache, ConnectionPool] = weakref.WeakKeyDictionary()


def _pool(cache: BaseCache) -> ConnectionPool | None:
    if not isinstance(cache, RedisCache):
        return None
    pool = _pools.get(cache)
    if pool is None:
        client: Redis = cache._cache.get_client(write=True)
        pool = _pools[cache] = client.connection_pool
    return pool


def _cache_settings_changed(*, setting: str, **kwargs: Any) -> None:
    # Tests point the cache elsewhere: the new one has not failed yet.
    if setting in ("CACHES", "SATISMETER"):
        _health.reset()


setting_changed.connect(_cache_settings_changed)
