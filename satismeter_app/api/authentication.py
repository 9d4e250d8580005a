"""Secret project API keys, in any of the three ways SatisMeter's clients send them:
``Authorization: Bearer KEY``, HTTP Basic with the key as user name and an empty password,
or an ``AuthKey: KEY`` header. A key sees its own project and nothing else.

Guessing is limited: wrong keys and wrong staff tokens count against the client's address
(``AUTH_FAILURE_RATE``), and past the limit every wrong attempt from it is answered 429.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..conf import app_settings
from ..models import ApiKey
from .throttling import Window, client_key

LAST_USED_RESOLUTION = timedelta(hours=1)


class ProjectKeyUser:
    """The principal of a request made with a project API key."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.project = api_key.project

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


def key_from_request(request: Request) -> str | None:
    scheme, _, credentials = get_authorization_header(request).decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return request.META.get("HTTP_AUTHKEY") or None


@contextmanager
def guessing_limit(request: Request) -> Iterator[None]:
    """Around a check of credentials: an ``AuthenticationFailed`` counts against the client,
    and past ``AUTH_FAILURE_RATE`` failures in a window it is answered 429, not 401.

    Right credentials are neither counted nor refused: the keys and tokens are random and far
    too long to guess, so the limit is there to make guessing loud and slow, and a service
    that keeps sending a revoked key must not lock out the working ones behind the same address.
    """
    try:
        yield
    except exceptions.AuthenticationFailed:
        window = Window.of("auth-failures", app_settings.AUTH_FAILURE_RATE)
        if window.hit(client_key(request)) > window.limit:
            raise exceptions.Throttled(
                window.retry_after(), detail="Too many failed authentications from this address."
            ) from None
        raise


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ProjectKeyUser, ApiKey] | None:
        key = key_from_request(request)
        if key is None:
            return None
        return self.authenticate_key(key, request)

    def authenticate_key(self, key: str, request: Request) -> tuple[ProjectKeyUser, ApiKey]:
        with guessing_limit(request):
            api_key = ApiKey.authenticate(key)
            if api_key is None:
                raise exceptions.AuthenticationFailed(
                    "Invalid or revoked API key. Send a secret API key of the project (sk_…); "
                    "the public write key of the widget is not one."
                )
        now = timezone.now()
        if api_key.last_used is None or now - api_key.last_used > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used=now)
        return ProjectKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="satismeter"'


class StaffTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (``Authorization: Token …``) of the management API, with
    wrong tokens limited per client like wrong keys."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token sent: nothing to count
        with guessing_limit(request):
            return super().authenticate(request)


class HasProjectKey(BasePermission):
    message = "Send the project's secret API key (Bearer, Basic or AuthKey)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


def key_project_id(request: Request, requested: Any) -> int:
    """The key's project; a request naming another project is refused."""
    api_key = request.auth
    if not isinstance(api_key, ApiKey):
        raise exceptions.NotAuthenticated()
    project_id: int = api_key.project_id
    if requested not in (None, "") and str(requested) != str(project_id):
        raise exceptions.PermissionDenied("This API key belongs to another project.")
    return project_id
