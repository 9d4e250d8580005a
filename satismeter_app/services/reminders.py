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

**Period.** ``(now - survey.created).days // resurvey_days``. The (survey, user, period) rows
of a batch are inserted, and committed, before its emails go out; a second worker's insert
skips the rows it finds (the unique constraint) and it sends nothing to those users.

**Batches.** ``REMINDER_BATCH_SIZE`` recipients at a time, across surveys: two queries claim
them, one SMTP connection sends them, one or two queries record the outcomes. Each (survey,
language)'s email is rendered once (:class:`Letter`); a recipient's costs its signed links.

**Company text only.** An email, and the pages its links open, say only what the catalogue
and the survey say, in the user's language: never a trait's text (the ``translation`` trait
is the widget's, for the call that sends it), since anyone with the public write key sets
traits. The one trait used is the address, and only when it is one bare, valid address
(:func:`recipient_problem`); otherwise the user gets nothing and the dry run says why.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

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
    language: str = ""  # of the email (see language_for)

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
    for page in _pages(survey, now):
        yield from page


def _pages(survey: Survey, now: datetime) -> Iterator[list[Candidate]]:
    query = candidate_query(survey, now)
    columns = ("pk", "email", "reason", "since", "traits", "language", "user_id", "anonymous_id")
    size, after = app_settings.REMINDER_BATCH_SIZE, 0
    while True:
        rows = list(query.filter(pk__gt=after).order_by("pk").values_list(*columns)[:size])
        yield [c for row in rows if (c := _candidate(survey, row, now)) is not None]
        if len(rows) < size:
            return
        after = rows[-1][0]


def _candidate(survey: Survey, row: tuple[Any, ...], now: datetime) -> Candidate | None:
    """The row as a recipient, with the language their email is in; None if a trait
    condition or the sample leaves them out."""
    pk, email, reason, since, traits, language, user_id, anonymous_id = row
    traits = traits if isinstance(traits, dict) else {}
    if not _passes_rules(survey, traits, user_id or anonymous_id or str(pk), now):
        return None
    language = language_for(survey, traits, language)
    return Candidate(pk, email, reason, since, recipient_problem(email), language)


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
    return all(targeting.evaluate_condition(c, traits, now) for c in conditions)


def language_for(survey: Survey, traits: dict[str, Any], language: str) -> str:
    """The user's ``language`` trait, else their language, else the project's default."""
    candidates = [traits.get("language"), language, survey.project.default_language]
    return i18n.choose_language(candidates, default=app_settings.DEFAULT_LANGUAGE)


# --- sending -----------------------------------------------------------------------------------


def send_all(now: datetime | None = None, project_id: int | None = None) -> SendReport:
    """Every due survey's reminders, in batches that run on from one survey into the next."""
    now = now or timezone.now()
    due = ((survey, c) for survey in surveys_due(now, project_id) for c in select(survey, now))
    return send(due, now)


def send_for_survey(
    survey: Survey, now: datetime, *, progress: Any = None, connection: Any = None
) -> SendReport:
    return send(((survey, c) for c in select(survey, now)), now, progress, connection)


def send(
    due: Iterable[tuple[Survey, Candidate]],
    now: datetime,
    progress: Callable[[SendReport], Any] | None = None,
    connection: Any = None,
) -> SendReport:
    """Claim, render and send each batch of ``REMINDER_BATCH_SIZE`` recipients: two queries
    to claim, one SMTP connection, one or two queries to record the outcomes. Never inside a
    transaction. ``progress(report)`` is called once per recipient."""
    report, composer = SendReport(), Composer()
    connection = connection or get_connection()
    for batch in _batches(due, report, progress):
        ours = claim(batch, now)
        report.skipped += len(batch) - len(ours)
        report += _deliver(ours, composer, connection, now)
        for _ in batch:
            _step(progress, report)
    return report


def _batches(
    due: Iterable[tuple[Survey, Candidate]], report: SendReport, progress: Any
) -> Iterator[list[tuple[Survey, Candidate]]]:
    """The recipients with a valid address, in lists of ``REMINDER_BATCH_SIZE``; the others
    are counted as invalid."""
    batch: list[tuple[Survey, Candidate]] = []
    for survey, candidate in due:
        report.selected += 1
        if candidate.problem:
            report.invalid += 1
            _step(progress, report)
            continue
        batch.append((survey, candidate))
        if len(batch) == app_settings.REMINDER_BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _step(progress: Callable[[SendReport], Any] | None, report: SendReport) -> None:
    if progress is not None:
        progress(report)


def claim(batch: list[tuple[Survey, Candidate]], now: datetime) -> list[Reminder]:
    """Insert each recipient's row for the survey period, in one statement that skips the rows
    another worker or an earlier run holds; the rows inserted here (told apart by their random
    nonce) are committed, and are the ones to send."""
    rows = [_row(survey, candidate, now) for survey, candidate in batch]
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    inserted = Reminder.objects.filter(
        user_id__in={row.user_id for row in rows}, nonce__in=[row.nonce for row in rows]
    )
    pks = dict(inserted.values_list("nonce", "pk"))
    for row in rows:
        row.pk = pks.get(row.nonce)
    return [row for row in rows if row.pk is not None]


def _row(survey: Survey, candidate: Candidate, now: datetime) -> Reminder:
    return Reminder(
        project_id=survey.project_id,
        survey=survey,
        user_id=candidate.user_id,
        period=period(survey, now),
        reason=candidate.reason,
        email=candidate.email,  # the address that was checked, even if changed since
        language=candidate.language,
        nonce=secrets.token_hex(8),
        created=now,
    )


def _deliver(
    reminders: list[Reminder], composer: Composer, connection: Any, now: datetime
) -> SendReport:
    """Each message is sent, or fails, on its own, over one connection for the batch. A failed
    reminder keeps its row, so a broken mail server never causes repeated emails."""
    sent: list[int] = []
    failed: list[int] = []
    messages = []
    for reminder in reminders:
        try:
            messages.append((reminder, composer.compose(reminder, connection)))
        except Exception as exc:  # a bug, not the recipient's fault; logged with its traceback
            _fail(reminder, exc, failed)
    if messages:
        with _session(connection, reminders):
            for reminder, message in messages:
                try:
                    connection.send_messages([message])
                except Exception as exc:  # the SMTP server said no
                    _fail(reminder, exc, failed)
                else:
                    sent.append(reminder.pk)
    Reminder.objects.filter(pk__in=sent).update(state=Reminder.State.SENT, sent_at=now)
    if failed:
        Reminder.objects.filter(pk__in=failed).update(state=Reminder.State.FAILED)
    return SendReport(sent=len(sent), failed=len(failed))


def _fail(reminder: Reminder, exc: Exception, failed: list[int]) -> None:
    _log_failure(reminder, exc)
    failed.append(reminder.pk)


@contextmanager
def _session(connection: Any, reminders: list[Reminder]) -> Iterator[None]:
    """The SMTP connection, open for one batch. When it cannot be opened nothing went out:
    the batch's rows are deleted, so that the next run sends these reminders, and the error
    goes up to the caller (the task) as it did before any row was written."""
    try:
        connection.open()
    except Exception:
        Reminder.objects.filter(pk__in=[reminder.pk for reminder in reminders]).delete()
        raise
    try:
        yield
    finally:
        connection.close()


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


# --- the email ---------------------------------------------------------------------------------

TEMPLATES = "satismeter_app/email/reminder"
Slot = tuple[str, int | None]  # a link: its kind, and the score of a score link
SLOTS: list[Slot] = [("score", score) for score in SCORES] + [
    ("unsubscribe", None),
    ("honeypot", None),
]


def strings_for(reminder: Reminder) -> dict[str, str]:
    """The email's and its pages' texts (see :func:`survey_strings`)."""
    return survey_strings(reminder.survey, reminder.language)


def survey_strings(survey: Survey, language: str) -> dict[str, str]:
    """The catalogue's texts and the survey's, in ``language``. Never the user's
    ``translation`` trait: whoever holds the write key sets it."""
    return i18n.resolve_strings(
        language,
        survey_texts=survey.texts,
        service_name=str((survey.design or {}).get("serviceName") or survey.project.name),
    )


def template_context(
    survey: Survey, language: str, url: Callable[[str, int | None], str]
) -> dict[str, Any]:
    """What the templates see: the company's texts, and ``url(kind, score)`` for each link."""
    return {
        "strings": survey_strings(survey, language),
        "language": language,
        "direction": i18n.direction(language),
        "scores": [(score, url("score", score)) for score in SCORES],
        "unsubscribe_url": url("unsubscribe", None),
        "honeypot_url": url("honeypot", None),
    }


class Composer:
    """Each (survey, language)'s email is rendered once; a recipient's email then costs its
    thirteen signed links and the MIME message."""

    def __init__(self) -> None:
        self.links = LinkSigner()
        self.letters: dict[tuple[int, str], Letter] = {}

    def compose(self, reminder: Reminder, connection: Any = None) -> EmailMultiAlternatives:
        key = (reminder.survey_id, reminder.language)
        if key not in self.letters:
            self.letters[key] = Letter(reminder.survey, reminder.language)
        urls = {slot: self.links.url(reminder, *slot) for slot in SLOTS}
        return self.letters[key].message(reminder.email, urls, connection)


class Letter:
    """One survey's reminder in one language: the templates rendered with a marker in place of
    each link, cut at the markers. The links are filled in as autoescaping would have put them
    (escaped in the HTML part, as they are in the text part): so a template writes a link as a
    plain ``{{ url }}``, and every other value in it is the same for each recipient."""

    def __init__(self, survey: Survey, language: str) -> None:
        marker = f"link{secrets.token_hex(8)}"  # found in no text of the company's

        def placeholder(kind: str, score: int | None) -> str:
            return f"{marker}_{kind}_{'' if score is None else score}_"

        data = template_context(survey, language, placeholder)
        cut = re.compile(rf"{marker}_([a-z]+)_(\d*)_")
        self.subject = " ".join(render_to_string(f"{TEMPLATES}_subject.txt", data).split())
        self.text = _Part.cut(render_to_string(f"{TEMPLATES}_message.txt", data), cut, str)
        self.html = _Part.cut(render_to_string(f"{TEMPLATES}_message.html", data), cut, escape)
        self.sender = sender(survey)

    def message(
        self, to: str, urls: dict[Slot, str], connection: Any = None
    ) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text.fill(urls),
            from_email=self.sender,
            to=[to],
            connection=connection,
            headers={
                "List-Unsubscribe": f"<{urls['unsubscribe', None]}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        message.attach_alternative(self.html.fill(urls), "text/html")
        return message


@dataclass(frozen=True)
class _Part:
    """A rendered template cut at its link markers: texts[0], slots[0], texts[1], …"""

    texts: list[str]
    slots: list[Slot]
    quote: Callable[[str], str]

    @classmethod
    def cut(cls, rendered: str, marker: re.Pattern[str], quote: Callable[[str], str]) -> _Part:
        pieces = marker.split(rendered)
        pairs = zip(pieces[1::3], pieces[2::3], strict=True)
        slots = [(kind, int(score) if score else None) for kind, score in pairs]
        return cls(pieces[0::3], slots, quote)

    def fill(self, urls: dict[Slot, str]) -> str:
        out = [self.texts[0]]
        for slot, text in zip(self.slots, self.texts[1:], strict=True):
            out += (self.quote(urls[slot]), text)
        return "".join(out)


def render(reminder: Reminder, connection: Any = None) -> EmailMultiAlternatives:
    """One reminder's email (a run renders through one :class:`Composer`)."""
    return Composer().compose(reminder, connection)


def sender(survey: Survey) -> str:
    if not survey.reminder_sender_email:
        return settings.DEFAULT_FROM_EMAIL
    name = survey.reminder_sender_name.replace('"', "'").strip()
    return f'"{name}" <{survey.reminder_sender_email}>' if name else survey.reminder_sender_email


# --- the links ---------------------------------------------------------------------------------

ROUTES = {"score": "email-score", "unsubscribe": "email-unsubscribe", "honeypot": "email-honeypot"}


class LinkSigner:
    """Signed links, each ``{"r": reminder, "k": kind, "s": score, "n": nonce}`` signed with a
    timestamp (what ``signing.dumps`` makes). One signer, and each route's URL worked out once
    around a marker: a link costs its signature, not a ``reverse()``."""

    def __init__(self) -> None:
        self.signer = signing.TimestampSigner(salt=SALT)
        marker = f"token{secrets.token_hex(8)}"
        self.around = {
            kind: links.public_url(f"satismeter:{route}", marker).partition(marker)[::2]
            for kind, route in ROUTES.items()
        }

    def url(self, reminder: Reminder, kind: str, score: int | None = None) -> str:
        payload = {"r": reminder.pk, "k": kind, "s": score, "n": reminder.nonce}
        before, after = self.around[kind]
        return f"{before}{self.signer.sign_object(payload)}{after}"


def link(reminder: Reminder, kind: str, score: int | None = None) -> str:
    return LinkSigner().url(reminder, kind, score)


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
