"""The app's settings: one ``SATISMETER`` dict in the host's settings, read through
:data:`app_settings`.

    SATISMETER = {"PUBLIC_BASE_URL": "https://nps.example.com"}

Every name has a default in :data:`DEFAULTS`; an unknown name raises, so a typo never passes
silently. Values are cached and reloaded when a test changes ``SATISMETER``.
"""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .exceptions import SatismeterConfigurationError

DEFAULTS: dict[str, Any] = {
    # Absolute base URL of this Django site (scheme, host, and the path a proxy serves the site
    # under, if any; not the app's include prefix, which reverse() adds): the Location of new
    # responses and links in emails and Slack messages. Empty: the request's address (links.py).
    "PUBLIC_BASE_URL": "",
    # Language used when neither the user nor the project names one.
    "DEFAULT_LANGUAGE": "en",
    # Cache alias and lifetime (seconds) of the cached project and survey configuration.
    "CACHE_ALIAS": "default",
    "CONFIG_CACHE_TIMEOUT": 300,
    # Rate limits of the public widget routes, per write key and per client address.
    "WIDGET_RATE_PER_KEY": "6000/min",
    "WIDGET_RATE_PER_CLIENT": "120/min",
    # How many reverse proxies stand in front of the server. 0: the client is REMOTE_ADDR and
    # X-Forwarded-For is ignored (anyone can write it). N: the client is the Nth address from
    # the right of X-Forwarded-For, the one the outermost proxy saw (docs/security.md).
    "TRUSTED_PROXIES": 0,
    # Failed authentications (wrong secret keys or management tokens) allowed per client
    # address; past it every attempt from that address is answered 429 until the window ends.
    "AUTH_FAILURE_RATE": "20/min",
    # Size caps on what clients send.
    "MAX_TRAITS_BYTES": 32 * 1024,
    "MAX_FEEDBACK_LENGTH": 5000,
    "MAX_MESSAGE_BYTES": 32 * 1024,
    "MAX_BATCH_BYTES": 500 * 1024,
    # Staff preview (forceSurvey, previewCampaign) without a staff login when DEBUG is on.
    "ALLOW_PREVIEW_IN_DEBUG": True,
    # How long (seconds) a failing delivery is retried before it is marked dead.
    "DELIVERY_RETRY_WINDOW": 4 * 60 * 60,
    # Retries wait about BASE * 2**(attempt - 1) seconds, jittered, at most MAX_DELAY, and never
    # less than the destination's Retry-After.
    "DELIVERY_RETRY_BASE_DELAY": 10,
    "DELIVERY_RETRY_MAX_DELAY": 30 * 60,
    # Seconds a worker may hold the rows it claimed; after that (the worker died) the sweep hands
    # them to another. Keep it well above REQUESTS_TIMEOUT times the requests of two claims (a
    # worker sends one while it holds the next).
    "DELIVERY_CLAIM_TIMEOUT": 5 * 60,
    # The class that sends each kind of integration, as a dotted path; point a kind at
    # "satismeter_app.destinations.locmem.LocmemDestination" in tests to send nothing.
    "DESTINATIONS": {
        "segment": "satismeter_app.destinations.segment.SegmentDestination",
        "slack": "satismeter_app.destinations.slack.SlackDestination",
        "webhook": "satismeter_app.destinations.webhook.WebhookDestination",
    },
    # Segment's regional hosts by the name an integration's "region" setting uses.
    "SEGMENT_HOSTS": {
        "us": "https://api.segment.io",
        "eu": "https://events.eu1.segmentapis.com",
    },
    # Segment, inbound (docs/rest-api.md): how long (seconds) the messageIds of applied messages
    # are kept, so that a message delivered again or replayed is skipped. Segment retries for up
    # to four hours. A webhook message Segment received longer ago than this is refused: a replay
    # of it could no longer be told from a delivery.
    "SEGMENT_MESSAGE_ID_RETENTION": 48 * 60 * 60,
    # Timeout (seconds) of every outbound HTTP request.
    "REQUESTS_TIMEOUT": 10,
    # Whether integrations may post to this server's own network: loopback, private,
    # link-local, shared (CGNAT) and reserved addresses, checked when a URL is saved and again
    # on the address each connection opens to (destinations/network.py). Off: a project admin's
    # URL must not reach inside. On only for on-premises installations whose receivers are
    # internal; cloud metadata addresses stay refused either way.
    "ALLOW_PRIVATE_DESTINATIONS": False,
    # Email reminders (docs/email.md): how long (seconds) the links in a reminder work, how
    # soon (seconds) after a honeypot hit a score click counts as a link scanner's, and how
    # many candidates one selection query reads.
    "REMINDER_LINK_MAX_AGE": 30 * 24 * 60 * 60,
    "REMINDER_SCANNER_WINDOW": 120,
    "REMINDER_BATCH_SIZE": 2000,
    # Replies to respondents (docs/email.md): the Reply-To of every reply, a shared support
    # inbox say; empty: the address of the staff member who writes it.
    "REPLY_TO_EMAIL": "",
    # The database alias of a read replica, and the report paths that read from it when the
    # host configures that alias (satismeter_app/routers.py, docs/deployment.md).
    "REPLICA_DATABASE": "replica",
    "REPLICA_READS": ("dashboard", "exports", "statistics", "v3"),
    # One beat (docs/deployment.md): each celery beat waits for a PostgreSQL advisory lock
    # before it sends the schedule; a standby tries again every BEAT_STANDBY_POLL seconds.
    "BEAT_LOCK": True,
    "BEAT_STANDBY_POLL": 10,
}


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """A rate setting such as ``"120/min"`` as (requests, period in seconds): (120, 60).

    The period is read by its first letter, as Django REST framework reads it: ``s``, ``min``,
    ``hour``, ``day`` (or ``second``, ``m``, ``h``, ``d``). Raises ValueError naming the problem.
    """
    count, _slash, period = str(rate).partition("/")
    seconds = _RATE_PERIODS.get(period.strip()[:1])
    if not count.strip().isdigit() or seconds is None:
        raise ValueError(f"{rate!r} is not a rate such as '120/min'.")
    return int(count), seconds


class AppSettings:
    """Attribute access to ``settings.SATISMETER`` with :data:`DEFAULTS` filled in."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "SATISMETER", {})
        if not isinstance(value, dict):
            raise SatismeterConfigurationError("The SATISMETER setting must be a dict.")
        unknown = sorted(set(value) - set(self.defaults))
        if unknown:
            raise SatismeterConfigurationError(
                f"Unknown name(s) in the SATISMETER setting: {', '.join(unknown)}. "
                f"Known names: {', '.join(sorted(self.defaults))}."
            )
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in self.defaults:
            raise AttributeError(f"Unknown satismeter setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self.user_settings.get(name, self.defaults[name])
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


app_settings = AppSettings(DEFAULTS)


def _reload_app_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == "SATISMETER":
        app_settings.reload()


setting_changed.connect(_reload_app_settings)
