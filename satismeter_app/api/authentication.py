"""Secret project API keys, in any of the three ways SatisMeter's clients send them:
``Authorization: Bearer KEY``, HTTP Basic with the key as user name and an empty password,
or an ``AuthKey: KEY`` header. A key sees its own project and nothing else."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import ApiKey

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


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ProjectKeyUser, ApiKey] | None:
        key = key_from_request(request)
        if key is None:
            return None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[ProjectKeyUser, ApiKey]:
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
