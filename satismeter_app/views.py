"""Pages and files served outside the API: the widget script and the sample page.

``GET /js`` and ``GET /satismeter.js`` serve ``static/satismeter_app/widget.js`` to any
origin, gzipped when the client accepts it, with an ETag. ``/js?v=<version>`` (see
:func:`script_url`) may be cached for a year; the plain URL that customers paste is cached
for five minutes and then revalidated.

``GET /sample`` is SatisMeter's "sample app": a form (user id, traits, language, skin) and
the install snippet for a project, so that anyone can see the survey for real. It is open
when ``DEBUG`` is on (the demo) and to staff otherwise; see ``docs/widget.md``. A plain visit
records nothing; "Show the survey" makes the user a test user (``EndUser.is_test``), whose
answers count in no statistic or export, unless the project has that user already.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import as_file, files
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from . import i18n, links, permissions
from .design import Skin
from .models import Project
from .services import identity

SCRIPT = "static/satismeter_app/widget.js"
# What the widget loads to ask a survey's questions beyond the rating and the comment.
QUESTIONS_SCRIPT = "static/satismeter_app/widget-questions.js"
SHORT_CACHE = 300
LONG_CACHE = 365 * 24 * 60 * 60
DEMO_PROJECT = "Demo product"
PLANS = ("free", "starter", "pro", "enterprise")


# --- The widget script ----------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    body: bytes
    gzipped: bytes
    version: str


def widget_script(name: str = SCRIPT) -> Script:
    """The script as served, read again only when the file changes."""
    with as_file(files("satismeter_app") / name) as path:
        return _read_script(str(path), path.stat().st_mtime_ns)


def questions_script() -> Script:
    return widget_script(QUESTIONS_SCRIPT)


@lru_cache(maxsize=4)
def _read_script(path: str, mtime_ns: int) -> Script:
    with open(path, "rb") as file:
        body = file.read()
    # mtime=0: the same bytes (and so the same ETag) on every server of a deployment.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Script(body, gzipped, hashlib.sha256(body).hexdigest()[:16])


def script_url() -> str:
    """The versioned URL of the script, cacheable for a year (the pages of this app use it)."""
    return f"{reverse('satismeter:script')}?v={widget_script().version}"


def questions_script_url() -> str:
    """The versioned URL of the questions script, which the widget call hands the widget."""
    return f"{reverse('satismeter:script-questions')}?v={questions_script().version}"


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    return _serve_script(request, widget_script())


@require_safe
def questions_script_view(request: HttpRequest) -> HttpResponse:
    return _serve_script(request, questions_script())


def _serve_script(request: HttpRequest, current: Script) -> HttpResponse:
    compressed = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'"{current.version}{"-gzip" if compressed else ""}"'
    # Weak comparison, as If-None-Match wants: proxies that recompress weaken ETags (W/"…").
    known = {
        tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))
    }
    if etag in known or "*" in known:
        response: HttpResponse = HttpResponseNotModified()
    else:
        body = current.gzipped if compressed else current.body
        response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
        if compressed:
            response["Content-Encoding"] = "gzip"
    versioned = request.GET.get("v") == current.version
    response["ETag"] = etag
    response["Cache-Control"] = (
        f"public, max-age={LONG_CACHE}, immutable"
        if versioned
        else f"public, max-age={SHORT_CACHE}"
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


# --- The sample page ------------------------------------------------------------------------


def _choices(values: list[tuple[str, Any]], blank: Any) -> list[tuple[str, Any]]:
    """Choices with a first, empty one (labels may be lazy translations)."""
    return [("", blank), *values]


class SampleForm(forms.Form):
    """Who the sample visitor is; every field is optional but the user id."""

    userId = forms.CharField(label=_("User id"), max_length=255)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    createdAt = forms.DateTimeField(
        label=_("Signed up"), required=False, help_text=_("ISO-8601, e.g. 2024-01-31T09:00")
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    plan = forms.ChoiceField(
        label=_("Plan (a custom trait)"),
        required=False,
        choices=_choices([(plan, plan) for plan in PLANS], "—"),
    )
    skin = forms.ChoiceField(
        label=_("Skin"),
        required=False,
        choices=_choices(Skin.choices, _("The survey's own")),
    )
    forceSurvey = forms.BooleanField(
        label=_("Skip targeting (forceSurvey)"),
        required=False,
        help_text=_("Honoured in DEBUG, or for staff of the project."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)
        language.choices = _choices(i18n.language_choices(), str(_("The browser's")))

    def options(self, project: Project) -> dict[str, Any]:
        """The ``satismeter({...})`` options of the snippet."""
        data = self.cleaned_data
        traits = {key: data[key] for key in ("name", "email", "language", "plan") if data[key]}
        if data["createdAt"]:
            traits["createdAt"] = data["createdAt"].isoformat()
        options: dict[str, Any] = {"writeKey": project.write_key, "userId": data["userId"]}
        if traits:
            options["traits"] = traits
        if data["forceSurvey"]:
            options["forceSurvey"] = True
        if data["skin"]:
            options["design"] = {"skin": data["skin"]}
        return options


def sample_projects(request: HttpRequest) -> QuerySet[Project]:
    """The projects the sample page may show: all in DEBUG, else those the staff member sees
    (all for superusers); none (404) to anyone else when DEBUG is off."""
    if settings.DEBUG:
        return Project.objects.order_by("pk")
    if not permissions.is_staff_member(request.user):
        raise Http404("The sample page is for staff when DEBUG is off.")
    return permissions.visible_projects(request.user).order_by("pk")


def _sample_project(request: HttpRequest) -> Project:
    projects = sample_projects(request)
    wanted = request.GET.get("project", "")
    if wanted.isdigit():
        project = projects.filter(pk=int(wanted)).first()
    else:
        project = projects.filter(name=DEMO_PROJECT).first() or projects.first()
    if project is None:
        raise Http404("No project to show: create one in the admin.")
    return project


def snippet(options: dict[str, Any], src: str) -> str:
    """SatisMeter's install snippet as a customer pastes it, with this server as the host."""
    loader = (
        "(function() { window.satismeter = window.satismeter || function() {"
        "(window.satismeter.q = window.satismeter.q || []).push(arguments);};\n"
        ' window.satismeter.l = 1 * new Date(); var script = document.createElement("script");\n'
        ' var parent = document.getElementsByTagName("script")[0].parentNode; script.async = 1;\n'
        f" script.src = {json.dumps(src)}; parent.appendChild(script);}})();\n"
    )
    return f"{loader}satismeter({json.dumps(options, indent=2, ensure_ascii=False)});"


@require_safe
def sample(request: HttpRequest) -> HttpResponse:
    project = _sample_project(request)
    asked = "userId" in request.GET
    # A plain visit shows the form with a fresh visitor's id and runs nothing: the user is made
    # (a test user) only when the visitor asks for the survey.
    form = SampleForm(request.GET if asked else _fresh_visitor())
    options = form.options(project) if form.is_valid() else None
    user = None
    if asked and options is not None:
        user = identity.sample_user(project.pk, options["userId"], now=timezone.now())
    # The snippet shown has the URL customers paste (the public one); the page itself runs the
    # versioned one from where it was loaded.
    pasted = links.public_url("satismeter:script", request=request)
    context = {
        "form": form,
        "project": project,
        "projects": sample_projects(request),
        "options": options,
        "sample_user": user,
        "snippet": snippet(options, pasted) if options else "",
        "script_src": request.build_absolute_uri(script_url()),
    }
    return render(request, "satismeter_app/sample.html", context)


def _fresh_visitor() -> dict[str, Any]:
    """The form's values on a plain visit: a new user id, and the survey shown at once."""
    return {"userId": f"sample-{secrets.token_hex(3)}", "forceSurvey": True}
