"""The landing pages of reminder emails (docs/email.md): thin, the logic is in reminders.py.

``/email/r/<token>``: a GET records the answer the link carries, a score or the value of the
survey's first question (unless a link scanner just followed the hidden link: then the page
asks to confirm with a POST), and asks the next questions in a form that posts back here; the
button link (no value) asks the first questions; HEAD never records. ``/email/u/<token>``:
unsubscribes. ``/email/h/<token>``: the honeypot, 204. ``/email/staff-off/<token>``: turns off
a staff member's alerts or digest (docs/staff-email.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import i18n
from .exceptions import BadLink, InvalidInput, ResponseClosed
from .models import Reminder
from .services import reminders, staff_email


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


LinkView = Callable[[HttpRequest, Reminder, reminders.Click | None], HttpResponse]


def _opens(
    kind: str, *, head_records: bool = False
) -> Callable[[LinkView], Callable[[HttpRequest, str], HttpResponse]]:
    """The view of one kind of emailed link gets the link's reminder and what it answers (None
    but for score and answer links); a bad or expired token is a 404, and a HEAD request (a
    mail client or scanner probing the link) gets a bare 200 unless ``head_records``."""

    def decorate(view: LinkView) -> Callable[[HttpRequest, str], HttpResponse]:
        @wraps(view)
        def opened(request: HttpRequest, token: str) -> HttpResponse:
            try:
                reminder, click = reminders.open_link(token, kind)
            except BadLink:
                return _gone()
            if request.method == "HEAD" and not head_records:
                return HttpResponse(status=200)
            return view(request, reminder, click)

        return opened

    return decorate


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_opens("score")
def score(request: HttpRequest, reminder: Reminder, click: reminders.Click | None) -> HttpResponse:
    """A score or answer link records its answer, then asks the next questions; the button
    (an answer link without a value) asks the first ones. Its forms post back here."""
    assert click is not None
    now = timezone.now()
    if request.method == "POST" and ("auth" in request.POST or "page" in request.POST):
        return _save(request, reminder, now)
    if click.value is None:
        page = reminders.first_page(reminder)
        return (
            _message(request, reminder, "FILLED") if page is None else _ask(request, reminder, page)
        )
    confirmed = request.method == "POST"
    if (
        not confirmed
        and reminder.response_id is None
        and reminders.looks_like_scanner(reminder, now)
    ):
        return _confirm(request, reminder, *reminders.click_texts(reminder, click))
    try:
        recorded = reminders.record_click(reminder, click, now)
    except BadLink:
        return _gone()
    if recorded is None:
        return _message(request, reminder, "FILLED", status=410)
    if recorded.token is None:
        return _message(request, reminder, "FILLED")
    return _ask(request, reminder, reminders.page_after(reminder, recorded, (click.question,), now))


def _ask(request: HttpRequest, reminder: Reminder, page: reminders.Page | None) -> HttpResponse:
    """A form of questions; thanks when none is left. A form with a required question left
    empty comes back with a 400."""
    if page is None:
        return _message(request, reminder, "THANKS")
    status = 400 if page.incomplete else 200
    return _page(request, reminder, "email_questions.html", status, form=page)


def _save(request: HttpRequest, reminder: Reminder, now: Any) -> HttpResponse:
    form = {key: request.POST.getlist(key) for key in request.POST}
    try:
        page = reminders.save_page(reminder, request.POST.get("auth", ""), form, now)
    except InvalidInput as error:
        if error.field != "auth-token":  # a value no question takes: say which
            return HttpResponse(str(error), status=400, content_type="text/plain")
        return _message(request, reminder, "FILLED", status=400)
    except (ResponseClosed, BadLink):
        return _message(request, reminder, "FILLED", status=400)
    return _ask(request, reminder, page)


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients, without a CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_opens("unsubscribe")
def unsubscribe(
    request: HttpRequest, reminder: Reminder, _click: reminders.Click | None
) -> HttpResponse:
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
def honeypot(
    request: HttpRequest, reminder: Reminder, _click: reminders.Click | None
) -> HttpResponse:
    reminders.record_honeypot(reminder, timezone.now())
    return HttpResponse(status=204)


# --- staff email: the opt-out link (services/staff_email.py) -------------------------------------


@csrf_exempt  # the signed token is the authority; RFC 8058 one-click POSTs carry no CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def staff_email_off(request: HttpRequest, token: str) -> HttpResponse:
    """A GET shows what the link turns off and a button (link scanners follow GETs); the
    button's POST, or the mail client's one-click POST, turns it off. HEAD changes nothing."""
    try:
        subscription, kind = staff_email.open_link(token)
    except BadLink:
        return _gone()
    if request.method == "HEAD":
        return HttpResponse(status=200)
    done = request.method == "POST"
    if done:
        staff_email.turn_off(subscription, kind)
    language = subscription.email_language
    with translation.override(language):
        response = render(
            request,
            "satismeter_app/staff_email_off.html",
            {
                "subscription": subscription,
                "kind": kind,
                "done": done,
                "language": language,
                "direction": i18n.direction(language),
                "scope": str(subscription.survey or subscription.project),
            },
        )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"
    return response
