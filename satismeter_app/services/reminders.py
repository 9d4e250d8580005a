"""Email reminders (docs/email.md): who gets one, the email, and its links.

**Who.** Per survey with reminders on (active, in its schedule), the users of the project
with an email address, not unsubscribed (flag or list), without a reminder for the current
survey period and without a rating for the survey in the last ``resurvey_days``; who either

* ``ignored`` / ``closed``: were shown the survey (a Display) in the last ``resurvey_days``,
  the last time at least ``reminder_delay_days`` ago, and did not rate it; or
* ``inactive``: were never shown it, passed the tenure gate, were last seen between
  ``resurvey_days`` and ``reminder_delay_days`` ago (due, but not in the app since).

The candidates come from one SQL query per ``REMINDER_BATCH_SIZE`` users (keyset pages on the
primary key); the trait conditions and the sample are then checked in Python on each page.

**Period.** ``(now - survey.created).days // resurvey_days``. The (survey, user, period) row
is inserted, and committed, before the email goes out; a second worker's insert fails on the
unique constraint and it sends nothing.

**Company text only.** An email, and the pages its links open, say only what the catalogue
and the survey say, in the user's language: never a trait's text (the ``translation`` trait
is the widget's, for the call that sends it), since anyone with the public write key sets
traits. The one trait used is the address, and only when it is one bare, valid address
(:func:`recipient_problem`); otherwise the user gets nothing and the dry run says why.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from .. import i18n, links, targeting
from ..conf import app_settings
from ..exceptions import BadLink
from ..models import Display, EndUser, Reminder, Response, Survey, Unsubscribe
from ..tally import Tally
from . import responses, unsubscribes
from .snapshots import project_config

logger = logging.getLogger(__name__)

SALT = "satismeter.reminder"
SCORES = range(11)
IGNORED, CLOSED, INACTIVE = "ignored", "closed", "inactive"
WHY = {
    IGNORED: "shown the survey {ago} ago and did not answer",
    CLOSED: "shown the survey {ago} ago and closed it",
    INACTIVE: "due, but not seen in the app for {ago}",
}


@dataclass(frozen=True)
class Candidate:
    user_id: int
    email: str
    reason: str
    since: datetime  # the last display, or last seen
    problem: str | None = None  # why the address gets nothing (see recipient_problem)

    def why(self, now: datetime) -> str:
        return WHY[self.reason].format(ago=f"{(now - self.since).days} days")


@dataclass
class SendReport(Tally):
    """What reminders a run selected, sent, skipped (another worker had them), failed, or
    did not send because the user's address is not one valid address (invalid)."""

    selected: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    invalid: int = 0


# --- who ---------------------------------------------------------------------------------------


def surveys_due(now: datetime, project_id: int | None = None) -> QuerySet[Survey]:
    surveys = Survey.objects.filter(
        reminders_enabled=True,
        state=Survey.State.ACTIVE,
    ).exclude(audience=Survey.Audience.ANONYMOUS)
    surveys = surveys.filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
    surveys = surveys.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    if project_id is not None:
        surveys = surveys.filter(project_id=project_id)
    return surveys.select_related("project").order_by("pk")


def period(survey: Survey, now: datetime) -> int:
    return max((now - survey.created).days, 0) // max(survey.resurvey_days, 1)


def candidate_query(survey: Survey, now: datetime) -> QuerySet[EndUser]:
    """Every gate that SQL can check, as one query (see the module's docstring)."""
    window = now - timedelta(days=max(survey.resurvey_days, 1))
    delay = now - timedelta(days=survey.reminder_delay_days)
    mine = {"survey_id": survey.pk, "user_id": OuterRef("pk")}
    displays = Display.objects.filter(**mine, created__gte=window)
    rated = Response.objects.filter(**mine, rating__isnull=False, created__gte=window)
    closed = Response.objects.filter(**mine, dismissed=True, created__gte=window)
    unsubscribed = Unsubscribe.objects.filter(
        project_id=survey.project_id, email__iexact=OuterRef("email")
    )
    reminded = Reminder.objects.filter(**mine, period=period(survey, now))
    users = EndUser.objects.filter(project_id=survey.project_id, erased__isnull=True)
    users = users.exclude(email="").filter(unsubscribed=False)
    if survey.audience == Survey.Audience.IDENTIFIED:
        users = users.filter(user_id__isnull=False)
    users = users.annotate(
        tenure_since=Coalesce("created_at", "first_seen"),
        last_display=displays.values("user_id").annotate(m=Max("created")).values("m")[:1],
    )
    users = users.filter(~Exists(unsubscribed), ~Exists(reminded), ~Exists(rated))
    return users.filter(
        Q(last_display__lte=delay) | Q(last_display__isnull=True, **_inactive(survey, now))
    ).annotate(
        reason=Case(
            When(last_display__isnull=True, then=Value(INACTIVE)),
            When(Exists(closed), then=Value(CLOSED)),
            default=Value(IGNORED),
        ),
        since=Coalesce("last_display", F("last_seen")),
    )


def _inactive(survey: Survey, now: datetime) -> dict[str, Any]:
    window = now - timedelta(days=max(survey.resurvey_days, 1))
    delay = now - timedelta(days=survey.reminder_delay_days)
    tenure = now - timedelta(days=survey.min_tenure_days)
    basis = "first_seen"
    if survey.tenure_basis == Survey.TenureBasis.CREATED_AT:
        basis = "tenure_since"
    return {"last_seen__lte": delay, "last_seen__gte": window, f"{basis}__lte": tenure}


def select(survey: Survey, now: datetime) -> Iterator[Candidate]:
    """The recipients, page by page: one query per ``REMINDER_BATCH_SIZE`` candidates."""
    query = candidate_query(survey, now)
    columns = ("pk", "email", "reason", "since", "traits", "user_id", "anonymous_id")
    size, after = app_settings.REMINDER_BATCH_SIZE, 0
    while True:
        page = list(query.filter(pk__gt=after).order_by("pk").values_list(*columns)[:size])
        for pk, email, reason, since, traits, user_id, anonymous_id in page:
            if _passes_rules(survey, traits, user_id or anonymous_id or str(pk), now):
                yield Candidate(pk, email, reason, since, recipient_problem(email))
        if len(page) < size:
            return
        after = page[-1][0]


def recipient_problem(address: str) -> str | None:
    """Why ``address`` (the user's email trait) is not one bare, valid address, or None.

    A reminder goes to exactly the address the user gave: never to a list (``a@x, b@y``), a
    display name that could hide another address, or a value that could add header lines."""
    if "\r" in address or "\n" in address:
        return "the email trait holds a line break"
    if "," in address or ";" in address:
        return "the email trait holds more than one address"
    if any(mark in address for mark in '<>"'):
        return "the email trait holds a display name or quotes, not a bare address"
    try:
        validate_email(address)
    except ValidationError:
        return "the email trait is not a valid address"
    return None


def _passes_rules(survey: Survey, traits: dict[str, Any], key: str, now: datetime) -> bool:
    if survey.sample_percent < 100:
        bucket = targeting.sample_bucket(survey.project_id, survey.pk, key)
        if bucket >= survey.sample_percent * 100:
            return False
    conditions = survey.trait_conditions or []
    return all(targeting.evaluate_condition(c, traits or {}, now) for c in conditions)


# --- sending -----------------------------------------------------------------------------------


def send_all(now: datetime | None = None, project_id: int | None = None) -> SendReport:
    now = now or timezone.now()
    total = SendReport()
    for survey in surveys_due(now, project_id):
        total += send_for_survey(survey, now)
    return total


def send_for_survey(
    survey: Survey, now: datetime, *, progress: Any = None, connection: Any = None
) -> SendReport:
    """Claim and send each recipient's reminder; never inside a transaction."""
    report = SendReport()
    connection = connection or get_connection()
    with connection:
        for candidate in select(survey, now):
            report.selected += 1
            if candidate.problem:
                report.invalid += 1
            elif (reminder := claim(survey, candidate, now)) is None:
                report.skipped += 1
            elif _send(reminder, connection, now):
                report.sent += 1
            else:
                report.failed += 1
            if progress is not None:
                progress(report)
    return report


def claim(survey: Survey, candidate: Candidate, now: datetime) -> Reminder | None:
    """Insert the period's reminder row; None when another worker already has it."""
    user = EndUser.objects.select_related("project").get(pk=candidate.user_id)
    try:
        with transaction.atomic():
            return Reminder.objects.create(
                project_id=survey.project_id,
                survey=survey,
                user=user,
                period=period(survey, now),
                reason=candidate.reason,
                email=candidate.email,  # the address that was checked, even if changed since
                language=language_for(user),
                nonce=secrets.token_hex(8),
                created=now,
            )
    except IntegrityError:
        return None


def _send(reminder: Reminder, connection: Any, now: datetime) -> bool:
    try:
        render(reminder, connection).send()
    except Exception as exc:  # the SMTP server said no: keep the row, so no retry storm
        _log_failure(reminder, exc)
        Reminder.objects.filter(pk=reminder.pk).update(state=Reminder.State.FAILED)
        return False
    Reminder.objects.filter(pk=reminder.pk).update(state=Reminder.State.SENT, sent_at=now)
    return True


def _log_failure(reminder: Reminder, exc: Exception) -> None:
    """By ids, never by address: mail errors quote the recipient (in their text, and so in a
    traceback), so they are logged by class and SMTP code; anything else is a bug, logged
    with its traceback."""
    where = f"Reminder {reminder.pk} (survey {reminder.survey_id}, user {reminder.user_id})"
    if not isinstance(exc, smtplib.SMTPException | OSError | ValueError):
        logger.exception("%s failed", where)
        return
    code = getattr(exc, "smtp_code", None)
    logger.error("%s failed: %s%s", where, type(exc).__name__, f" {code}" if code else "")


def language_for(user: EndUser) -> str:
    traits = user.traits if isinstance(user.traits, dict) else {}
    candidates = [traits.get("language"), user.language, user.project.default_language]
    return i18n.choose_language(candidates, default=app_settings.DEFAULT_LANGUAGE)


# --- the email ---------------------------------------------------------------------------------


def strings_for(reminder: Reminder) -> dict[str, str]:
    """The email's and its pages' texts: the catalogue and the survey's, in the reminder's
    language. Never the user's ``translation`` trait: whoever holds the write key sets it."""
    survey = reminder.survey
    return i18n.resolve_strings(
        reminder.language,
        survey_texts=survey.texts,
        service_name=str((survey.design or {}).get("serviceName") or survey.project.name),
    )


def context(reminder: Reminder) -> dict[str, Any]:
    strings = strings_for(reminder)
    return {
        "reminder": reminder,
        "strings": strings,
        "language": reminder.language,
        "direction": i18n.direction(reminder.language),
        "scores": [(score, link(reminder, "score", score)) for score in SCORES],
        "unsubscribe_url": link(reminder, "unsubscribe"),
        "honeypot_url": link(reminder, "honeypot"),
    }


def render(reminder: Reminder, connection: Any = None) -> EmailMultiAlternatives:
    data = context(reminder)
    name = "satismeter_app/email/reminder"
    subject = " ".join(render_to_string(f"{name}_subject.txt", data).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{name}_message.txt", data),
        from_email=sender(reminder.survey),
        to=[reminder.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{data['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string(f"{name}_message.html", data), "text/html")
    return message


def sender(survey: Survey) -> str:
    if not survey.reminder_sender_email:
        return settings.DEFAULT_FROM_EMAIL
    name = survey.reminder_sender_name.replace('"', "'").strip()
    return f'"{name}" <{survey.reminder_sender_email}>' if name else survey.reminder_sender_email


# --- the links ---------------------------------------------------------------------------------

ROUTES = {"score": "email-score", "unsubscribe": "email-unsubscribe", "honeypot": "email-honeypot"}


def link(reminder: Reminder, kind: str, score: int | None = None) -> str:
    token = signing.dumps({"r": reminder.pk, "k": kind, "s": score, "n": reminder.nonce}, salt=SALT)
    return links.public_url(f"satismeter:{ROUTES[kind]}", token)


def open_link(token: str, kind: str) -> tuple[Reminder, int | None]:
    try:
        data = signing.loads(token, salt=SALT, max_age=app_settings.REMINDER_LINK_MAX_AGE)
    except signing.BadSignature:
        raise BadLink from None
    reminder = (
        Reminder.objects.select_related("survey__project", "user__project", "response")
        .filter(pk=data.get("r"), nonce=data.get("n"))
        .first()
    )
    if reminder is None or data.get("k") != kind:
        raise BadLink
    score = data.get("s")
    if kind == "score" and score not in SCORES:
        raise BadLink
    return reminder, score


def looks_like_scanner(reminder: Reminder, now: datetime) -> bool:
    """A score click soon after the hidden link was followed is a link scanner's."""
    hit = reminder.last_scanner_hit
    window = timedelta(seconds=app_settings.REMINDER_SCANNER_WINDOW)
    return hit is not None and now - hit <= window


def record_honeypot(reminder: Reminder, now: datetime) -> None:
    Reminder.objects.filter(pk=reminder.pk).update(
        scanner_hits=F("scanner_hits") + 1, last_scanner_hit=now
    )


@dataclass(frozen=True)
class Recorded:
    response: Response
    token: str | None  # authorises the follow-up; None when the click changed nothing


def record_score(reminder: Reminder, score: int, now: datetime) -> Recorded | None:
    """The first score click records a response (method Email) through the usual service;
    later clicks return the recorded response unchanged. None: the survey is closed."""
    with transaction.atomic():
        locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
        if locked.response_id is not None:
            return Recorded(Response.objects.get(pk=locked.response_id), None)
        if reminder.survey.state != Survey.State.ACTIVE or _answered_since(locked):
            return None
        config = project_config(reminder.survey.project.write_key)
        if config is None or config.survey(reminder.survey_id) is None:
            return None
        data = responses.ResponseInput(
            rating=score, method=Response.Method.EMAIL, language=reminder.language
        )
        # forced: the reminder row, not targeting, decides that this user may answer now.
        response, token = responses.start_response(
            config, reminder.user, reminder.survey_id, data, now=now, forced=True
        )
        locked.response = response
        locked.save(update_fields=["response"])
    return Recorded(response, token)


def _answered_since(reminder: Reminder) -> bool:
    """The user answered the survey in the app after the reminder went out."""
    return Response.objects.filter(
        survey_id=reminder.survey_id,
        user_id=reminder.user_id,
        rating__isnull=False,
        created__gte=reminder.created,
    ).exists()


def save_followup(reminder: Reminder, token: str, feedback: str, now: datetime) -> Response:
    if reminder.response_id is None:
        raise BadLink
    data = responses.ResponseInput(feedback=feedback, completed=True)
    return responses.update_response(reminder.response_id, token, data, now=now)


def unsubscribe(reminder: Reminder) -> None:
    unsubscribes.add(reminder.project_id, reminder.email)


def counts(survey_id: int) -> dict[str, int]:
    """Reminders sent and answered for one survey, in one aggregate query."""
    return Reminder.objects.filter(survey_id=survey_id, sent_at__isnull=False).aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(response__isnull=False))
    )


__all__ = [
    "BadLink",
    "Candidate",
    "candidate_query",
    "open_link",
    "recipient_problem",
    "record_honeypot",
    "record_score",
    "render",
    "select",
    "send_all",
    "send_for_survey",
]
