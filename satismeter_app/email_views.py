"""The landing pages of reminder emails (docs/email.md): thin, the logic is in reminders.py.

``/email/r/<token>``: a GET records the score (unless a link scanner just followed the hidden
link: then the page asks to confirm with a POST) and asks the follow-up question; HEAD never
records. ``/email/u/<token>``: unsubscribes. ``/email/h/<token>``: the honeypot, 204.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import i18n, nps
from .conf import app_settings
from .exceptions import BadLink, InvalidInput, ResponseClosed
from .models import Reminder
from .services import reminders


def _page(
    request: HttpRequest, reminder: Reminder, template: str, status: int = 200, **extra: Any
) -> HttpResponse:
    data = {
        "strings": reminders.strings_for(reminder),
        "language": reminder.language,
        "direction": i18n.direction(reminder.language),
        **extra,
    }
    response = render(request, f"satismeter_app/{template}", data, status=status)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"  # no token leaks; forms keep Origin
    return response


def _message(request: HttpRequest, reminder: Reminder, key: str, status: int = 200) -> HttpResponse:
    strings = reminders.strings_for(reminder)
    return _page(request, reminder, "email_message.html", status, message=strings[key])


def _gone() -> HttpResponse:
    return HttpResponse(
        "This link is not valid or has expired.", status=404, content_type="text/plain"
    )


LinkView = Callable[[HttpRequest, Reminder, int | None], HttpResponse]


def _opens(
    kind: str, *, head_records: bool = False
) -> Callable[[LinkView], Callable[[HttpRequest, str], HttpResponse]]:
    """The view of one kind of emailed link gets the link's reminder and score (None but for
    score links); a bad or expired token is a 404, and a HEAD request (a mail client or
    scanner probing the link) gets a bare 200 unless ``head_records``."""

    def decorate(view: LinkView) -> Callable[[HttpRequest, str], HttpResponse]:
        @wraps(view)
        def opened(request: HttpRequest, token: str) -> HttpResponse:
            try:
                reminder, rating = reminders.open_link(token, kind)
            except BadLink:
                return _gone()
            if request.method == "HEAD" and not head_records:
                return HttpResponse(status=200)
            return view(request, reminder, rating)

        return opened

    return decorate


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_opens("score")
def score(request: HttpRequest, reminder: Reminder, rating: int | None) -> HttpResponse:
    now = timezone.now()
    if request.method == "POST" and "auth" in request.POST:
        return _followup(request, reminder, now)
    confirmed = request.method == "POST"
    if (
        not confirmed
        and reminder.response_id is None
        and reminders.looks_like_scanner(reminder, now)
    ):
        strings = reminders.strings_for(reminder)
        return _confirm(request, reminder, strings["HOW_LIKELY"], f"{rating} / 10")
    assert rating is not None
    recorded = reminders.record_score(reminder, rating, now)
    if recorded is None:
        return _message(request, reminder, "FILLED", status=410)
    if recorded.token is None:
        return _message(request, reminder, "FILLED")
    strings = reminders.strings_for(reminder)
    question = i18n.followup_question(strings, nps.category(recorded.response.rating))
    return _page(
        request,
        reminder,
        "email_followup.html",
        question=question,
        auth=recorded.token,
        max_length=app_settings.MAX_FEEDBACK_LENGTH,
    )


def _followup(request: HttpRequest, reminder: Reminder, now: Any) -> HttpResponse:
    feedback = request.POST.get("feedback", "").strip()
    try:
        reminders.save_followup(reminder, request.POST.get("auth", ""), feedback, now)
    except (InvalidInput, ResponseClosed, BadLink):
        return _message(request, reminder, "FILLED", status=400)
    return _message(request, reminder, "THANKS")


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients, without a CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_opens("unsubscribe")
def unsubscribe(request: HttpRequest, reminder: Reminder, _rating: int | None) -> HttpResponse:
    strings = reminders.strings_for(reminder)
    if request.method == "GET" and reminders.looks_like_scanner(reminder, timezone.now()):
        return _confirm(request, reminder, strings["UNSUBSCRIBE"], reminder.email)
    reminders.unsubscribe(reminder)
    return _page(
        request,
        reminder,
        "email_message.html",
        message=strings["UNSUBSCRIBED"],
        detail=reminder.email,
    )


def _confirm(request: HttpRequest, reminder: Reminder, heading: str, detail: str) -> HttpResponse:
    """A link scanner just followed the hidden link: a person confirms with one more click."""
    return _page(request, reminder, "email_confirm.html", heading=heading, detail=detail)


@csrf_exempt
@never_cache
@_opens("honeypot", head_records=True)  # any request here is a scanner's
def honeypot(request: HttpRequest, reminder: Reminder, _rating: int | None) -> HttpResponse:
    reminders.record_honeypot(reminder, timezone.now())
    return HttpResponse(status=204)
