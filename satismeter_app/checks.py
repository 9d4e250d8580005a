"""System checks: configuration mistakes reported by ``manage.py check`` with stable ids."""

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, app_settings, parse_rate
from .exceptions import SatismeterConfigurationError
from .routers import REPORT_PATHS, replica_alias

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
    "E005": (
        "SATISMETER[{!r}] must be a rate such as '120/min', not {!r}.",
        "Write a number of requests, a slash, and s, min, hour or day.",
    ),
    # E010–E019, W010–W019: deliveries (the outbox and its destinations).
    "E010": (
        "SATISMETER['DESTINATIONS'][{!r}] is not a destination class: {}",
        "Use a dotted path to a subclass of satismeter_app.destinations.base.Destination.",
    ),
    "E011": (
        "SATISMETER['SEGMENT_HOSTS'][{!r}] must be an http(s) URL without /v1, not {!r}.",
        "For example 'https://events.eu1.segmentapis.com'.",
    ),
    "E012": (
        "SATISMETER['DESTINATIONS'] names {!r}, which is not a kind of integration ({}).",
        "A destination class replaces one of the kinds; it cannot add one.",
    ),
    "W010": (
        "SATISMETER['DELIVERY_CLAIM_TIMEOUT'] ({}s) is short for REQUESTS_TIMEOUT ({}s): a slow "
        "destination may still be answering when the claim runs out and another worker sends "
        "the same rows again.",
        "Keep DELIVERY_CLAIM_TIMEOUT at least twenty times REQUESTS_TIMEOUT: a claim's "
        "requests, up to ten, may wait for those of the claim before it.",
    ),
    "W011": (
        "Integration {} ({}) is enabled but has no {}; its deliveries wait and then die.",
        "Complete it in the admin (Integrations), or disable it.",
    ),
    "W012": (
        "Integration {} ({}) is enabled but the package {!r} is not installed; its "
        "deliveries wait and then die. Install it: pip install 'django-satismeter[{}]'.",
        "Each kind of integration that needs a package has a pip extra of that name.",
    ),
    "W013": (
        "SATISMETER['ALLOW_PRIVATE_DESTINATIONS'] is on: project admins can point webhooks, "
        "Slack and Segment integrations at this server's own network (loopback, private "
        "addresses).",
        "Leave it off unless this is an on-premises installation whose receivers are "
        "internal and every project admin is trusted with that network.",
    ),
    "E006": (
        "SATISMETER['REPLICA_READS'] names {!r}, which is not a report path.",
        "List some of: {}.",
    ),
    "W014": (
        "The database {!r} (SATISMETER['REPLICA_DATABASE']) is configured but "
        "satismeter_app.routers.ReplicaRouter is not in DATABASE_ROUTERS: every report "
        "reads from the primary.",
        "Add 'satismeter_app.routers.ReplicaRouter' to DATABASE_ROUTERS.",
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
    # W020–W029: the production checklist (docs/deployment.md), run by `check --deploy`.
    "W020": (
        "Celery's broker is {!r}: it lives on this machine only, so workers elsewhere never "
        "see its tasks and a lost disk loses them.",
        "Use Redis or RabbitMQ: CELERY_BROKER_URL=redis://… or amqp://… (docs/deployment.md).",
    ),
    "W021": (
        "CELERY_TASK_ALWAYS_EAGER is on: deliveries and emails are sent inside the requests "
        "that cause them, and a slow destination slows those requests.",
        "Turn it off and run Celery workers and one beat.",
    ),
    "W022": (
        "EMAIL_BACKEND is {!r}: reminders, replies and staff emails never leave this server.",
        "Use django.core.mail.backends.smtp.EmailBackend (or your provider's backend).",
    ),
    "W023": (
        "The database {!r} is SQLite: one writer at a time, on one machine; the outbox's "
        "claims and the exports need PostgreSQL.",
        "Set DATABASE_URL=postgres://… .",
    ),
    "W024": (
        "SATISMETER['PUBLIC_BASE_URL'] ({!r}) is not https: the links in emails and Slack "
        "messages, which carry signed tokens, would travel in clear text.",
        "Serve the app over https and set the https URL.",
    ),
}

# What never belongs in production, by the value that gives it away (docs/deployment.md).
LOCAL_BROKERS = ("filesystem://", "memory://")
LOCAL_EMAIL_BACKENDS = ("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")

POSITIVE_NUMBERS = [
    "CONFIG_CACHE_TIMEOUT",
    "MAX_TRAITS_BYTES",
    "MAX_FEEDBACK_LENGTH",
    "MAX_MESSAGE_BYTES",
    "MAX_BATCH_BYTES",
    "DELIVERY_RETRY_WINDOW",
    "DELIVERY_RETRY_BASE_DELAY",
    "DELIVERY_RETRY_MAX_DELAY",
    "DELIVERY_CLAIM_TIMEOUT",
    "REQUESTS_TIMEOUT",
    "BEAT_STANDBY_POLL",
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
    errors.extend(_check_rates())
    errors.extend(_check_proxies())
    errors.extend(_check_base_url())
    errors.extend(_check_deliveries())
    errors.extend(_check_replica())
    return errors


def _check_replica() -> list[checks.CheckMessage]:
    unknown = [path for path in app_settings.REPLICA_READS if path not in REPORT_PATHS]
    errors = [_message(checks.Error, "E006", path, ", ".join(REPORT_PATHS)) for path in unknown]
    alias = replica_alias()
    router = "satismeter_app.routers.ReplicaRouter"
    if alias and router not in getattr(settings, "DATABASE_ROUTERS", []):
        errors.append(_message(checks.Warning, "W014", alias))
    return errors


def _check_deliveries() -> list[checks.CheckMessage]:
    from .destinations import KINDS

    errors = [_message(checks.Error, "E010", kind, why) for kind, why in _misconfigured_kinds()]
    for kind in sorted(set(app_settings.DESTINATIONS) - set(KINDS)):
        errors.append(_message(checks.Error, "E012", kind, ", ".join(KINDS)))
    for region, host in app_settings.SEGMENT_HOSTS.items():
        parts = urlsplit(str(host))
        if parts.scheme not in {"http", "https"} or not parts.netloc or "/v1" in parts.path:
            errors.append(_message(checks.Error, "E011", region, host))
    claim, timeout = app_settings.DELIVERY_CLAIM_TIMEOUT, app_settings.REQUESTS_TIMEOUT
    if isinstance(claim, int | float) and isinstance(timeout, int | float) and claim < 20 * timeout:
        errors.append(_message(checks.Warning, "W010", claim, timeout))
    return errors


def _misconfigured_kinds() -> list[tuple[str, str]]:
    """(kind, why) for each kind whose configured class cannot send it."""
    from .destinations import KINDS, destination_class
    from .destinations.base import Destination

    found = []
    for kind in KINDS:
        try:
            cls = destination_class(kind)
        except SatismeterConfigurationError as exc:
            found.append((kind, str(exc)))
            continue
        if not (isinstance(cls, type) and issubclass(cls, Destination)):
            found.append((kind, f"{cls!r}"))
        elif cls.kind not in {"", kind}:
            found.append((kind, f"{cls.__name__} sends {cls.kind!r} integrations"))
    return found


@checks.register(checks.Tags.database)
def check_integrations(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Enabled integrations that cannot send. Reads the database, so it runs only where
    Django asks for database checks (``migrate``, ``check --database default``)."""
    if not databases:
        return []
    from django.db import DatabaseError

    from .models import Integration

    try:
        integrations = list(Integration.objects.filter(enabled=True).order_by("pk"))
    except DatabaseError:
        return []  # not migrated yet
    errors = []
    for integration in integrations:
        label = f"{integration.pk} ({integration})"
        missing = integration.missing()
        if missing:
            errors.append(
                _message(checks.Warning, "W011", label, integration.kind, ", ".join(missing))
            )
        extra = integration.declared.extra
        if extra and not extra.installed():
            errors.append(
                _message(checks.Warning, "W012", label, integration.kind, extra.package, extra.name)
            )
    return errors


def _check_rates() -> list[checks.CheckMessage]:
    errors = []
    for name in ("WIDGET_RATE_PER_KEY", "WIDGET_RATE_PER_CLIENT", "AUTH_FAILURE_RATE"):
        value = getattr(app_settings, name)
        try:
            parse_rate(value)
        except ValueError:
            errors.append(_message(checks.Error, "E005", name, value))
    return errors


def _check_proxies() -> list[checks.CheckMessage]:
    value = app_settings.TRUSTED_PROXIES
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        why = (
            "TRUSTED_PROXIES must be the number of reverse proxies in front of the server "
            f"(0 or more; docs/security.md), not {value!r}."
        )
        return [_message(checks.Error, "E001", why)]
    return []


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


@checks.register(deploy=True)
def check_private_destinations(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The tests and the demo post to loopback; a production server should not."""
    if app_settings.ALLOW_PRIVATE_DESTINATIONS and not settings.DEBUG:
        return [_message(checks.Warning, "W013")]
    return []


@checks.register(deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The production checklist of docs/deployment.md, as far as settings can tell it."""
    found: list[checks.CheckMessage] = []
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if broker.startswith(LOCAL_BROKERS):
        found.append(_message(checks.Warning, "W020", broker))
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        found.append(_message(checks.Warning, "W021"))
    if settings.EMAIL_BACKEND.endswith(LOCAL_EMAIL_BACKENDS):
        found.append(_message(checks.Warning, "W022", settings.EMAIL_BACKEND))
    found.extend(check_databases(settings.DATABASES))
    url = app_settings.PUBLIC_BASE_URL
    if url and urlsplit(url).scheme == "http":
        found.append(_message(checks.Warning, "W024", url))
    return found


def check_databases(databases: dict[str, dict[str, Any]]) -> list[checks.CheckMessage]:
    return [
        _message(checks.Warning, "W023", alias)
        for alias, database in databases.items()
        if database.get("ENGINE", "").endswith("sqlite3")
    ]
