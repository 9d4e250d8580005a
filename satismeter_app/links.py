"""The absolute URLs the app hands out: the ``Location`` of a new response, the widget script
on the sample page, the links of reminder emails, the admin link of a Slack message.

Each one's path is ``reverse()``'s, so a host that includes the app under a prefix
(``path("nps/", include("satismeter_app.urls"))``) gets URLs that keep it. What comes in
front of the path:

- ``SATISMETER["PUBLIC_BASE_URL"]`` when it is set. It names where the Django *site* is
  reached: scheme, host, port, and a path only if a proxy serves the whole site under one
  (what ``SCRIPT_NAME`` or ``FORCE_SCRIPT_NAME`` tell Django). The include's prefix is not
  part of it: ``reverse()`` adds that, so ``https://example.com`` with the app under ``nps/``
  gives ``https://example.com/nps/api/...``.
- else the request's scheme and host as Django sees them (``SECURE_PROXY_SSL_HEADER``,
  ``USE_X_FORWARDED_HOST``), so a request that came in over https gets an https URL back.
- else (a task, with no request and no setting) the path alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import get_script_prefix, reverse

from .conf import app_settings

if TYPE_CHECKING:
    from django.http import HttpRequest


def public_url(viewname: str, *args: Any, request: HttpRequest | None = None) -> str:
    """The absolute URL of a named route (``"satismeter:response"``, ``"admin:…"``)."""
    base = app_settings.PUBLIC_BASE_URL.rstrip("/")
    if base:
        return base + site_path(viewname, *args)
    path = reverse(viewname, args=args)
    return request.build_absolute_uri(path) if request is not None else path


def site_path(viewname: str, *args: Any) -> str:
    """The route's path below the site root: ``reverse()``'s without the script prefix, which
    a request's ``SCRIPT_NAME`` sets and a task does not know (PUBLIC_BASE_URL holds it)."""
    path = reverse(viewname, args=args)
    return "/" + path.removeprefix(get_script_prefix())
