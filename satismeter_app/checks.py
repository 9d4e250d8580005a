"""System checks: configuration mistakes reported by ``manage.py check`` with stable ids."""

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, app_settings
from .exceptions import SatismeterConfigurationError

MESSAGES = {
    "E001": ("The SATISMETER setting is invalid: {}", "Fix the name or remove it."),
    "E002": (
        "satismeter_app needs 'rest_framework' in INSTALLED_APPS.",
        "Add 'rest_framework' to INSTALLED_APPS.",
    ),
    "E003": (
        "SATISMETER[{!r}] must be a positive number, not {!r}.",
        "Use a number of seconds, bytes or characters as the name says.",
    ),
    "E004": (
        "SATISMETER['PUBLIC_BASE_URL'] must be an absolute http(s) URL, not {!r}.",
        "For example 'https://nps.example.com'.",
    ),
    "W001": (
        "SATISMETER['PUBLIC_BASE_URL'] is not set; links in emails and Slack messages "
        "cannot be absolute.",
        "Set it to the URL at which this server is reached.",
    ),
    "W002": (
        "The cache {!r} is local to each process; rate limits and the cached survey "
        "configuration are not shared between workers.",
        "Use a shared cache such as Redis (django.core.cache.backends.redis.RedisCache).",
    ),
}

POSITIVE_NUMBERS = [
    "CONFIG_CACHE_TIMEOUT",
    "MAX_TRAITS_BYTES",
    "MAX_FEEDBACK_LENGTH",
    "MAX_MESSAGE_BYTES",
    "MAX_BATCH_BYTES",
    "DELIVERY_RETRY_WINDOW",
    "REQUESTS_TIMEOUT",
]


def _message(level: Any, code: str, *args: Any) -> checks.CheckMessage:
    """A check message from the MESSAGES table; ``level`` is checks.Error or checks.Warning."""
    text, hint = MESSAGES[code]
    message: checks.CheckMessage = level(text.format(*args), hint=hint, id=f"satismeter.{code}")
    return message


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        app_settings.reload()
        for name in DEFAULTS:
            getattr(app_settings, name)
    except SatismeterConfigurationError as exc:
        return [_message(checks.Error, "E001", exc)]
    errors: list[checks.CheckMessage] = []
    if not apps.is_installed("rest_framework"):
        errors.append(_message(checks.Error, "E002"))
    for name in POSITIVE_NUMBERS:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            errors.append(_message(checks.Error, "E003", name, value))
    errors.extend(_check_base_url())
    return errors


def _check_base_url() -> list[checks.CheckMessage]:
    url = app_settings.PUBLIC_BASE_URL
    if not url:
        return [] if settings.DEBUG else [_message(checks.Warning, "W001")]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return [_message(checks.Error, "E004", url)]
    return []


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    alias = app_settings.CACHE_ALIAS
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend.endswith(("locmem.LocMemCache", "dummy.DummyCache")):
        return [_message(checks.Warning, "W002", alias)]
    return []
