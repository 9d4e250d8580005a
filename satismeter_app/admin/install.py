"""A project's install page: the snippet with its write key, the ``userHash`` code, the Segment
settings, and a live check of the last widget call and Segment message received.

``/admin/satismeter_app/project/<id>/install/`` and ``…/install/status.json`` (what the page
asks every few seconds). Any member of the project may open them: they show the public write
key, never a secret — the ``userHash`` code reads the verification secret from an environment
variable, and the Segment settings name the project's secret API keys by their prefix only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from .. import links
from ..models import ApiKey, Project
from ..services import installation
from ..views import snippet

SECRET_VARIABLE = "SATISMETER_VERIFICATION_SECRET"  # noqa: S105 (a name, not a secret)

# The userHash of a userId in each language: hex HMAC-SHA256 keyed with the project's
# verification secret (keys.user_hash), the secret read from the environment.
USER_HASH_CODE = {
    "Python": (
        "import hashlib\nimport hmac\nimport os\n\n\n"
        "def satismeter_user_hash(user_id: str) -> str:\n"
        f'    secret = os.environ["{SECRET_VARIABLE}"]\n'
        "    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()\n"
    ),
    "Node": (
        'const crypto = require("node:crypto");\n\n'
        "function satismeterUserHash(userId) {\n"
        f"  const secret = process.env.{SECRET_VARIABLE};\n"
        '  const hmac = crypto.createHmac("sha256", secret);\n'
        '  return hmac.update(String(userId), "utf8").digest("hex");\n'
        "}\n"
    ),
    "Ruby": (
        'require "openssl"\n\n'
        "def satismeter_user_hash(user_id)\n"
        f'  OpenSSL::HMAC.hexdigest("SHA256", ENV.fetch("{SECRET_VARIABLE}"), user_id.to_s)\n'
        "end\n"
    ),
    "PHP": (
        "function satismeter_user_hash(string $userId): string\n{\n"
        f"    return hash_hmac('sha256', $userId, getenv('{SECRET_VARIABLE}'));\n"
        "}\n"
    ),
}


class ProjectInstallViews:
    """The install page and its live check, as admin pages of a project (scoped like the
    dashboard: a staff member who is not a member gets a 404)."""

    admin_site: admin.AdminSite
    opts: Any
    get_queryset: Callable[[HttpRequest], QuerySet]

    def get_urls(self) -> list[Any]:
        site = self.admin_site
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<int:object_id>/install/",
                site.admin_view(self.install_view),
                name=f"{info}_install",
            ),
            path(
                "<int:object_id>/install/status.json",
                site.admin_view(never_cache(self.install_status_view)),
                name=f"{info}_install_status",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def install_project(self, request: HttpRequest, object_id: int) -> Project:
        return get_object_or_404(self.get_queryset(request), pk=object_id)

    def install_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        project = self.install_project(request, object_id)
        installation.watch(project.write_key)
        context = {
            **self.admin_site.each_context(request),
            **install_context(project, request),
            "opts": self.opts,
            "title": _("Install: %(project)s") % {"project": project},
            "project": project,
        }
        return TemplateResponse(request, "admin/satismeter_app/project/install.html", context)

    def install_status_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        project = self.install_project(request, object_id)
        installation.watch(project.write_key)
        return JsonResponse(live_status(project, timezone.now()))


def install_context(project: Project, request: HttpRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"writeKey": project.write_key, "userId": "USER_ID"}
    # Example traits that the server accepts as they are: the snippet works when pasted.
    options["traits"] = {
        "name": "Ann Example",
        "email": "ann@example.com",
        "createdAt": "2024-01-31T09:00:00Z",
    }
    if project.identity_verification:
        options["userHash"] = "USER_HASH"
    script = links.public_url("satismeter:script", request=request)
    return {
        "snippet": snippet(options, script),
        "user_hash_code": list(USER_HASH_CODE.items()),
        "secret_variable": SECRET_VARIABLE,
        "secret_hint": f"{project.verification_secret[:4]}…",
        "segment": segment_settings(project, request),
        "live": live_status(project, timezone.now()),
        "status_url": reverse("admin:satismeter_app_project_install_status", args=[project.pk]),
        "dashboard_url": reverse("admin:satismeter_app_project_dashboard", args=[project.pk]),
    }


def segment_settings(project: Project, request: HttpRequest) -> dict[str, Any]:
    """Where Segment and its server libraries send to, and with which key."""
    batch = links.public_url("satismeter:segment-batch", request=request)
    parts = urlsplit(batch)
    routes = ("identify", "track", "page", "screen", "group", "batch", "import")
    keys = ApiKey.objects.filter(project=project, revoked__isnull=True).order_by("-created")
    return {
        "python_host": batch.removesuffix("/v1/batch"),
        "node_host": f"{parts.scheme}://{parts.netloc}" if parts.netloc else "",
        "node_path": parts.path,
        "routes": [links.public_url(f"satismeter:segment-{r}", request=request) for r in routes],
        "webhook": links.public_url("satismeter:segment-webhook", project.pk, request=request),
        "webhook_on": bool(project.segment_webhook_secret),
        "keys": [str(key) for key in keys[:5]],
        "add_key_url": reverse("admin:satismeter_app_apikey_add") + f"?project={project.pk}",
    }


def live_status(project: Project, now: datetime) -> dict[str, Any]:
    """The live check as the page shows it: each part's facts and a sentence saying them."""
    call = installation.last_widget_call(project.write_key)
    inbound = installation.last_inbound(project.pk)
    return {
        "widget": call.as_dict(now) | {"text": _widget_text(call, now)} if call else None,
        "inbound": inbound.as_dict(now) | {"text": _inbound_text(inbound, now)}
        if inbound
        else None,
    }


def ago(then: datetime, now: datetime) -> str:
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return _("%(seconds)s s ago") % {"seconds": max(0, seconds)}
    return _("%(time)s ago") % {"time": timesince(then, now, depth=1)}


def _widget_text(call: installation.WidgetCall, now: datetime) -> str:
    where = call.origin or _("a page or server that sent no Origin")
    client = ", ".join(part for part in (call.browser, call.os) if part) or _("an unknown browser")
    return _("Received %(ago)s from %(origin)s, %(client)s") % {
        "ago": ago(call.at, now),
        "origin": where,
        "client": client,
    }


def _inbound_text(call: installation.InboundCall, now: datetime) -> str:
    return _("Received %(ago)s: %(type)s (%(count)s message(s) in the request)") % {
        "ago": ago(call.at, now),
        "type": call.type or "—",
        "count": call.messages,
    }
