"""The base of every destination: one HTTP session, our User-Agent, the timeout setting, and
one way of turning a failure into a :class:`DeliveryError` that says what happened.

A destination gets the claimed Delivery rows of one integration and answers with an
:class:`Outcome` per row. Subclasses only build the requests (:meth:`Destination.build`): the
outbox decides what an outcome means for the row (delivered, retry later, dead).

Each subclass is also the one declaration of its kind of integration, as django-anymail's
backends declare what they need: its name, the lifecycle events it takes, its settings (as
form fields, which validate both the admin form and the JSON of the API), its secret, its
optional package, and which snapshots it wants. The model, the admin and the checks ask it.

This module and its subclasses import no models at run time, so that
``satismeter_app.destinations.webhook.verify_signature`` can be imported by a receiver that
has the package installed but not configured as a Django app.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from .. import __version__
from ..conf import app_settings
from ..exceptions import (
    DeliveryError,
    MessageRejected,
    MissingExtraError,
    SatismeterConfigurationError,
)
from .network import CheckedAdapter, host_refusal

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

    from ..models import Delivery, Integration

USER_AGENT = f"django-satismeter/{__version__}"
# What happens to a response, in order; each kind takes some of them (Destination.events).
LIFECYCLE_EVENTS = ("viewed", "closed", "answered", "completed")
# Form fields accept ftp:// URLs; nothing here speaks anything but HTTP.
_http_url_syntax = URLValidator(schemes=["http", "https"])
# The code of the error a URL whose host is refused raises (see network.py).
REFUSED_HOST = "refused_host"

logger = logging.getLogger(__name__)


def http_url(value: str) -> None:
    """The validator of every outbound URL a project admin sets: http(s), and a host that is
    not this server's own network (network.py; checked again when the connection opens)."""
    _http_url_syntax(value)
    refusal = host_refusal(urlsplit(value).hostname or "")
    if refusal:
        raise ValidationError(refusal, code=REFUSED_HOST)


@dataclass(frozen=True)
class Secret:
    """What an integration's secret is for a kind: its name (in warnings, "missing write
    key"), what the admin says about it, and the validators a typed-in value must pass.

    A kind whose secret this server makes (a webhook's signing secret) names how: ``generate``
    gives a new integration one, and ``for_receivers`` is the form the other end needs, which
    the admin shows to those who may change the integration."""

    name: StrOrPromise
    help_text: StrOrPromise
    validators: tuple[Callable[[str], None], ...] = ()
    generate: Callable[[], str] | None = None
    for_receivers: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Extra:
    """The optional package a kind needs: the module it imports, the distribution pip
    installs, and the extra of this package that brings it in; ``uses``, the modules sending
    imports, which a worker imports as it starts (:meth:`load`)."""

    module: str
    package: str
    name: str
    uses: tuple[str, ...] = ()

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def load(self) -> None:
        """Import the modules sending uses, if the package is installed: a worker does it as
        it starts, so that its first delivery does not wait for them (Segment's client takes
        about 0.1 s)."""
        for module in self.uses:
            try:
                importlib.import_module(module)
            except ImportError:
                return  # sending says so, with the extra to install

    def missing(self) -> MissingExtraError:
        """The error to raise when the import fails; it names the pip extra."""
        return MissingExtraError(self.package, self.name)


@dataclass
class Request:
    """One HTTP POST carrying one or more deliveries (Segment batches, others one each)."""

    url: str
    body: bytes
    headers: dict[str, str]
    deliveries: list[Delivery]

    @property
    def where(self) -> str:
        """The URL without credentials, path or query: a Slack webhook URL is itself a secret,
        and a URL may carry ``user:password@``."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Built:
    """What :meth:`Destination.build` made: requests to send and rows that cannot go at all."""

    requests: list[Request] = field(default_factory=list)
    rejected: list[tuple[Delivery, DeliveryError]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery in one attempt; ``started`` and ``duration_ms`` time the
    request that carried it (None: nothing was sent)."""

    delivery_id: int
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None
    started: datetime | None = None
    duration_ms: int | None = None

    @classmethod
    def success(cls, delivery: Delivery, status_code: int, **timing: Any) -> Outcome:
        """``timing``: ``started`` and ``duration_ms`` of the request, when one was made."""
        return cls(delivery.pk, delivered=True, status_code=status_code, **timing)

    @classmethod
    def failure(cls, delivery: Delivery, error: DeliveryError, **timing: Any) -> Outcome:
        return cls(
            delivery.pk,
            delivered=False,
            status_code=error.status_code,
            error=str(error),
            retryable=error.retryable,
            retry_after=error.retry_after,
            **timing,
        )


class Destination:
    """Sends the deliveries of one integration; one instance per integration and task run.

    The class attributes and class methods declare the kind; a subclass configured in
    ``SATISMETER["DESTINATIONS"]`` for a kind may change them (other events, settings, a
    filter). A class with an empty ``kind`` stands in for any kind (LocmemDestination) and
    declares nothing: the built-in class of the kind does.
    """

    # The value of Integration.kind this class sends, and its name for people.
    kind: ClassVar[str] = ""
    label: ClassVar[StrOrPromise] = ""
    # What the admin says above the kind's settings.
    description: ClassVar[StrOrPromise] = ""
    # The lifecycle events it can send, and those it sends when an integration ticks none.
    events: ClassVar[tuple[str, ...]] = LIFECYCLE_EVENTS
    default_events: ClassVar[tuple[str, ...]] = LIFECYCLE_EVENTS
    secret: ClassVar[Secret | None] = None
    extra: ClassVar[Extra | None] = None
    # The settings it cannot send without (each one of settings_fields()).
    needs: ClassVar[tuple[str, ...]] = ()
    # How many rows one claim takes: one Segment batch, a few one-by-one posts for the others.
    claim_size: int = 10

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.timeout = app_settings.REQUESTS_TIMEOUT

    # The declaration ---------------------------------------------------------------------------

    @classmethod
    def settings_fields(cls) -> dict[str, forms.Field]:
        """The settings, by their name in ``Integration.settings``, as new form fields: the
        admin shows them, :meth:`clean_settings` validates JSON with them, and their
        ``initial`` is the value a setting left out takes."""
        return {}

    @classmethod
    def clean_settings(cls, settings: Any) -> dict[str, Any]:
        """``settings`` if every name is known and every value is valid as written; else a
        ValidationError with one message per problem, each naming its setting."""
        if not isinstance(settings, dict):
            raise ValidationError(_("Use an object."))
        fields = cls.settings_fields()
        unknown = sorted(set(settings) - set(fields))
        if unknown:
            raise ValidationError(
                _("Unknown setting(s): %(names)s.") % {"names": ", ".join(unknown)}
            )
        problems = [
            f"{name}: {problem}"
            for name, value in settings.items()
            for problem in _problems(fields[name], value)
        ]
        if problems:
            raise ValidationError(problems)
        return settings

    @classmethod
    def with_defaults(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared setting: the integration's value, or the field's ``initial``."""
        fields = cls.settings_fields()
        return {name: settings.get(name, field.initial) for name, field in fields.items()}

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        """The secret if it passes the kind's validators (empty means "not set yet")."""
        if secret and cls.secret:
            for validator in cls.secret.validators:
                validator(secret)
        return secret

    @classmethod
    def new_secret(cls) -> str:
        """A secret for a new integration, when the kind makes its own; else ""."""
        if cls.secret and cls.secret.generate:
            return cls.secret.generate()
        return ""

    @classmethod
    def receiver_secret(cls, secret: str) -> str:
        """What the receiving end needs to know of ``secret``, when the kind shows it; else ""."""
        if secret and cls.secret and cls.secret.for_receivers:
            return cls.secret.for_receivers(secret)
        return ""

    @classmethod
    def missing(cls, settings: Mapping[str, Any], secret: str) -> list[str]:
        """What an integration of this kind still needs before it can send, by name."""
        missing = [str(cls.secret.name)] if cls.secret and not secret else []
        fields = cls.settings_fields()
        return missing + [str(fields[name].label) for name in cls.needs if not settings.get(name)]

    @classmethod
    def sends(cls, chosen: Sequence[str]) -> tuple[str, ...]:
        """The events an integration sends when it ticked ``chosen`` (none: the default)."""
        if not chosen:
            return cls.default_events
        return tuple(event for event in cls.events if event in chosen)

    @classmethod
    def wants(cls, event: str, payload: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
        """Whether an event it sends goes out with this snapshot; kinds with filters say no."""
        return True

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The integration's settings with the declared defaults filled in."""
        return self.with_defaults(self.integration.settings or {})

    def required(self, value: Any, what: str) -> str:
        """``value``, or a configuration error naming what this integration lacks: its
        deliveries wait (and then die) until staff complete it."""
        if not value:
            raise SatismeterConfigurationError(
                f"The {self.label} integration {self.integration.pk} has no {what}."
            )
        return str(value)

    # The hooks -------------------------------------------------------------------------------

    def build(self, deliveries: Sequence[Delivery]) -> Built:
        """Turn claimed rows into requests; subclasses implement it."""
        raise NotImplementedError

    def post(self, request: Request) -> int:
        """Send one request and return its 2xx status, or raise DeliveryError.

        Redirects are not followed: a 3xx is the destination's answer, recorded like any
        other, so that a URL is the one place a delivery goes."""
        try:
            response = self.session.post(
                request.url,
                data=request.body,
                headers=request.headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise DeliveryError(f"No answer from {request.where}: {no_answer_reason(err)}") from err
        raise_for_status(request, response.status_code, response.headers)
        return response.status_code

    # The template ----------------------------------------------------------------------------

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """An outcome for every row: built, sent, and what the destination said."""
        built = self._build(deliveries)
        outcomes = [Outcome.failure(delivery, error) for delivery, error in built.rejected]
        for request in built.requests:
            outcomes.extend(self._send(request))
        return outcomes

    def _build(self, deliveries: Sequence[Delivery]) -> Built:
        """build(); when it breaks unexpectedly, row by row, so that a row whose message
        cannot be made dies alone instead of holding back the queue."""
        try:
            return self.build(deliveries)
        except SatismeterConfigurationError:
            raise  # the integration's fault, not a row's: the outbox retries them all
        except Exception:
            if len(deliveries) == 1:
                logger.exception("Cannot build delivery %s", deliveries[0].pk)
                return Built(rejected=[(deliveries[0], _unbuildable())])
        built = Built()
        for delivery in deliveries:
            one = self._build([delivery])
            built.requests += one.requests
            built.rejected += one.rejected
        return built

    def _send(self, request: Request) -> list[Outcome]:
        started, clock = datetime.now(UTC), time.monotonic()
        error: DeliveryError | None = None
        try:
            status = self.post(request)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug must not leave rows claimed until the sweep
            logger.exception("Unexpected error posting to %s", request.where)
            error = DeliveryError(f"Unexpected error posting to {request.where}: {exc!r}")
        timing = {"started": started, "duration_ms": int((time.monotonic() - clock) * 1000)}
        if error is not None:
            return [Outcome.failure(row, error, **timing) for row in request.deliveries]
        return [Outcome.success(row, status, **timing) for row in request.deliveries]

    @cached_property
    def session(self) -> requests.Session:
        """Every request of the destination: our User-Agent, and connections that open only
        to addresses network.py allows, checked on the address actually connected to."""
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        adapter = CheckedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()


def _problems(field: forms.Field, value: Any) -> list[str]:
    """What is wrong with one JSON setting: the field's own errors, or that the field would
    have to rewrite it (a URL without its scheme), since the API stores what it was sent."""
    if value in ("", None):
        return [str(_("leave it out rather than empty."))]
    try:
        cleaned = field.clean(value)
    except ValidationError as error:
        return list(error.messages)
    if cleaned != value:
        return [str(_("write it in full, as %(value)s.") % {"value": cleaned})]
    return []


def _unbuildable() -> MessageRejected:
    return MessageRejected("The message cannot be built from this delivery; see the worker log.")


_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def no_answer_reason(err: requests.RequestException) -> str:
    """Why a request got no answer, in words that hold no part of its URL: requests' own
    messages quote the path, which for Slack is the secret."""
    if isinstance(err, requests.Timeout):
        return "timed out"
    found = _OS_ERROR.search(str(err))
    if isinstance(err, requests.ConnectionError):
        return f"could not connect ({found.group(0).strip()})" if found else "could not connect"
    return type(err).__name__


def raise_for_status(request: Request, status: int, headers: Mapping[str, str]) -> None:
    """Any 2xx is success; anything else becomes a DeliveryError with the status in it.

    Never the body: the delivery log is read by project admins, and what a server answers
    is not theirs to read (the URL they set may be someone else's)."""
    if 200 <= status < 300:
        return
    raise DeliveryError(
        f"{request.where} answered {status}",
        status_code=status,
        retry_after=parse_retry_after(headers.get("Retry-After")),
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110); None when absent or bad."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def user_of(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The user object of a snapshot: a response's user, or the user a survey was shown to."""
    response = payload.get("response") or {}
    return response.get("user") or payload.get("user") or {}
