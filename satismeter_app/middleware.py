"""The widget's calls skip the host's middleware they do not need.

``POST /api/widget`` runs on every page view of every customer's product. A Django site's
middleware runs on every request: static files, the locale, CSRF, messages, clickjacking,
django-axes. None of that does anything for the widget's calls, yet it cost them about a
fifth of their CPU (bench/widget.py). :class:`WidgetFastLane`, first in ``MIDDLEWARE``, sends
the widget's calls — ``POST``, ``PUT`` and ``OPTIONS`` to ``/api/widget``, ``/api/displays``,
``/api/responses`` and ``/api/responses/<id>``, wherever the host includes the app's URLs —
to their views through only the middleware they need, in the host's order:

- ``SecurityMiddleware``: the HTTPS redirect and the security headers of every response;
- ``SessionMiddleware`` and ``AuthenticationMiddleware``: a staff member's session, for
  previews. Both are lazy: a page view's call reads no session.

Every other request goes through the whole stack, as before. The host's own middleware is
skipped on these calls too; a host that needs one of its own there leaves the fast lane out
(the routes work the same without it, slower). With ``ATOMIC_REQUESTS`` on any database the
fast lane steps aside, so that the views run in the transaction the host asked for. Error
messages of these routes are English whatever the browser's language (the locale middleware
no longer runs on them); the texts a respondent reads follow the widget's own language
choice, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import connections
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from .api.widget import PublicWidgetView

# The host's middleware the widget's calls still go through, when the host uses it.
KEPT = (
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)
METHODS = frozenset({"POST", "PUT", "OPTIONS"})

Handler = Callable[[HttpRequest], Any]  # a response (Django types it as maybe awaitable too)


class WidgetFastLane:
    def __init__(self, get_response: Handler):
        self.get_response = get_response
        self.atomic = any(db.settings_dict.get("ATOMIC_REQUESTS") for db in connections.all())
        lane: Handler = convert_exception_to_response(_call_view)
        for path in reversed([path for path in settings.MIDDLEWARE if path in KEPT]):
            lane = convert_exception_to_response(import_string(path)(lane))
        self.lane = lane

    def __call__(self, request: HttpRequest) -> Any:
        if request.method in METHODS and not self.atomic:
            match = _widget_route(request.path_info)
            if match is not None:
                request.resolver_match = match
                return self.lane(request)
        return self.get_response(request)


def _widget_route(path: str) -> Any:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, PublicWidgetView):
        return None
    return match


def _call_view(request: HttpRequest) -> HttpResponseBase:
    match = request.resolver_match
    assert match is not None
    response = match.func(request, *match.args, **match.kwargs)
    render = getattr(response, "render", None)
    return render() if callable(render) else response
