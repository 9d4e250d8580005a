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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
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
from ..exceptions import BadLink, ResponseClosed
from ..models import Display, EndUser, Reminder, Response, Survey, Unsubscribe
from ..questions import COMMENT_QUESTION, MAX_LONG_TEXT, RATING_QUESTION, SCALE, Question
from ..tally import Tally
from . import email_questions, mailing, responses, unsubscribes
from .email_questions import Asked, Entry
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


# A response that answers the survey: its rating, or another question's answer (a survey
# may ask a choice first, and have no rating at all).
_ANSWERED = Q(rating__isnull=False) | ~Q(answers=[])


def candidate_query(survey: Survey, now: datetime) -> QuerySet[EndUser]:
    """Every gate that SQL can check, as one query (see the module's docstring)."""
    window = now - timedelta(days=max(survey.resurvey_days, 1))
    delay = now - timedelta(days=survey.reminder_delay_days)
    mine = {"survey_id": survey.pk, "user_id": OuterRef("pk")}
    displays = Display.objects.filter(**mine, created__gte=window)
    rated = Response.objects.filter(_ANSWERED, **mine, created__gte=window)
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
        # Nothing went out when the connection cannot be opened: the batch's rows are deleted,
        # so that the next run sends these reminders.
        unclaim = Reminder.objects.filter(pk__in=[reminder.pk for reminder in reminders]).delete
        with mailing.session(connection, unclaim):
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


def _log_failure(reminder: Reminder, exc: Exception) -> None:
    where = f"Reminder {reminder.pk} (survey {reminder.survey_id}, user {reminder.user_id})"
    mailing.log_failure(logger, where, exc)


# --- the email ---------------------------------------------------------------------------------

TEMPLATES = "satismeter_app/email/reminder"
# A link: its kind (score, answer, unsubscribe, honeypot) and the value it answers (a score
# link's rating, an answer link's value; None for the others and for the button).
Slot = tuple[str, Any]
URL = Callable[[str, Any], str]


def strings_for(reminder: Reminder) -> dict[str, str]:
    """The email's and its pages' texts (see :func:`survey_strings`)."""
    return survey_strings(reminder.survey, reminder.language)


def survey_strings(survey: Survey, language: str) -> dict[str, str]:
    """The catalogue's texts and the survey's, in ``language``. Never the user's
    ``translation`` trait: whoever holds the write key sets it."""
    return i18n.resolve_strings(
        language,
        survey_texts=survey.texts,
        service_name=_service_name(survey),
    )


def _service_name(survey: Survey) -> str:
    return str((survey.design or {}).get("serviceName") or survey.project.name)


def template_context(survey: Survey, language: str, url: URL) -> dict[str, Any]:
    """What the templates see: the company's texts, the first question, and ``url(kind,
    value)`` for each link. A survey that asks its rating first (the default) gets
    ``scores``, eleven links, as before surveys had other questions; any other first question
    comes as ``question`` (see :func:`emailed_question`), and ``scores`` is empty."""
    strings = survey_strings(survey, language)
    first = email_questions.of_survey(survey)[0]
    context: dict[str, Any] = {
        "strings": strings,
        "language": language,
        "direction": i18n.direction(language),
        "scores": [],
        "question": None,
    }
    if first.id == RATING_QUESTION:
        context["scores"] = [(score, url("score", score)) for score in SCORES]
    else:
        context["question"] = emailed_question(survey, first, strings, language, url)
        if not _sets_subject(survey, language, strings):
            strings["SUBJECT"] = context["question"]["label"] or strings["SUBJECT"]
    context["unsubscribe_url"] = url("unsubscribe", None)
    context["honeypot_url"] = url("honeypot", None)
    return context


def emailed_question(
    survey: Survey, question: Question, strings: dict[str, str], language: str, url: URL
) -> dict[str, Any]:
    """The first question as the email asks it: its texts, and ``links`` (value, text, url;
    one per value) when one click answers it, else ``url``, one button to the page."""
    shown = email_questions.asked(question, strings, language, survey.project.default_language)
    links = [(value, text, url("answer", value)) for value, text in shown.options]
    return {
        "id": shown.id,
        "type": shown.type,
        "label": shown.label,
        "low": shown.low,
        "high": shown.high,
        "links": links if shown.in_one_click else [],
        "url": None if shown.in_one_click else url("answer", None),
    }


def _sets_subject(survey: Survey, language: str, strings: dict[str, str]) -> bool:
    """Whether the survey words the subject itself; else the email's subject is the question
    it asks (the catalogue's subject is the rating's)."""
    built_in = i18n.resolve_strings(language, service_name=_service_name(survey))
    return strings["SUBJECT"] != built_in["SUBJECT"]


class Composer:
    """Each (survey, language)'s email is rendered once; a recipient's email then costs its
    signed links (thirteen for a rating) and the MIME message."""

    def __init__(self) -> None:
        self.links = LinkSigner()
        self.letters: dict[tuple[int, str], Letter] = {}

    def compose(self, reminder: Reminder, connection: Any = None) -> EmailMultiAlternatives:
        key = (reminder.survey_id, reminder.language)
        if key not in self.letters:
            self.letters[key] = Letter(reminder.survey, reminder.language)
        letter = self.letters[key]
        urls = {
            slot: self.links.url(reminder, *slot, question=letter.question) for slot in letter.slots
        }
        return letter.message(reminder.email, urls, connection)


class Letter:
    """One survey's reminder in one language: the templates rendered with a marker in place of
    each link, cut at the markers. The links are filled in as autoescaping would have put them
    (escaped in the HTML part, as they are in the text part): so a template writes a link as a
    plain ``{{ url }}``, and every other value in it is the same for each recipient."""

    def __init__(self, survey: Survey, language: str) -> None:
        marker = f"link{secrets.token_hex(8)}"  # found in no text of the company's
        self.slots: list[Slot] = []

        def placeholder(kind: str, value: Any) -> str:
            self.slots.append((kind, value))
            return f"{marker}_{len(self.slots) - 1}_"

        data = template_context(survey, language, placeholder)
        self.question = email_questions.of_survey(survey)[0].id
        cut = re.compile(rf"{marker}_(\d+)_")
        self.subject = " ".join(render_to_string(f"{TEMPLATES}_subject.txt", data).split())
        self.text = _Part.cut(
            render_to_string(f"{TEMPLATES}_message.txt", data), cut, str, self.slots
        )
        self.html = _Part.cut(
            render_to_string(f"{TEMPLATES}_message.html", data), cut, escape, self.slots
        )
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
    def cut(
        cls, rendered: str, marker: re.Pattern[str], quote: Callable[[str], str], slots: list[Slot]
    ) -> _Part:
        pieces = marker.split(rendered)
        return cls(pieces[0::2], [slots[int(index)] for index in pieces[1::2]], quote)

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

ROUTES = {
    "score": "email-score",
    "answer": "email-score",
    "unsubscribe": "email-unsubscribe",
    "honeypot": "email-honeypot",
}


class LinkSigner:
    """Signed links, each ``{"r": reminder, "k": kind, "s": score, "n": nonce}`` signed with a
    timestamp (what ``signing.dumps`` makes); an answer link (a first question other than the
    rating) carries the question and the value instead of the score: ``{"r", "k": "answer",
    "q": question id, "v": value, "n"}``, ``v`` null for the button to the page. One signer,
    and each route's URL worked out once around a marker: a link costs its signature, not a
    ``reverse()``."""

    def __init__(self) -> None:
        self.signer = signing.TimestampSigner(salt=SALT)
        marker = f"token{secrets.token_hex(8)}"
        self.around = {
            kind: links.public_url(f"satismeter:{route}", marker).partition(marker)[::2]
            for kind, route in ROUTES.items()
        }

    def url(self, reminder: Reminder, kind: str, value: Any = None, *, question: str = "") -> str:
        payload: dict[str, Any]
        if kind == "answer":
            payload = {"r": reminder.pk, "k": kind, "q": question, "v": value, "n": reminder.nonce}
        else:
            payload = {"r": reminder.pk, "k": kind, "s": value, "n": reminder.nonce}
        before, after = self.around[kind]
        return f"{before}{self.signer.sign_object(payload)}{after}"


def link(reminder: Reminder, kind: str, value: Any = None) -> str:
    """One link of a reminder; an answer link answers the survey's first question."""
    question = email_questions.of_survey(reminder.survey)[0].id if kind == "answer" else ""
    return LinkSigner().url(reminder, kind, value, question=question)


@dataclass(frozen=True)
class Click:
    """What a score or answer link answers: the question, and the value (None: the button,
    which opens the page without answering)."""

    question: str
    value: Any


def open_link(token: str, kind: str) -> tuple[Reminder, Click | None]:
    """The reminder of a link of ``kind`` (``score`` for score and answer links, which open
    the same page), and for those what it answers; ``BadLink`` when forged, expired or not
    of that kind."""
    try:
        data = signing.loads(token, salt=SALT, max_age=app_settings.REMINDER_LINK_MAX_AGE)
    except signing.BadSignature:
        raise BadLink from None
    reminder = (
        Reminder.objects.select_related("survey__project", "user__project", "response")
        .filter(pk=data.get("r"), nonce=data.get("n"))
        .first()
    )
    if reminder is None or ROUTES.get(data.get("k")) != ROUTES[kind]:
        raise BadLink
    return reminder, _click(data)


def _click(data: dict[str, Any]) -> Click | None:
    if data["k"] == "answer":
        if not isinstance(data.get("q"), str):
            raise BadLink
        return Click(data["q"], data.get("v"))
    if data["k"] != "score":
        return None
    if data.get("s") not in SCORES:
        raise BadLink
    return Click(RATING_QUESTION, data["s"])


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
    token: str | None  # authorises the next saves; None when the click changed nothing


def record_click(reminder: Reminder, click: Click, now: datetime) -> Recorded | None:
    """The first click on an answer (a score) records a response (method Email) with it;
    later clicks return the recorded response unchanged. None: the survey is closed.
    ``BadLink`` when the survey no longer takes that answer (it changed since)."""
    try:
        value = email_questions.check_click(
            email_questions.of_survey(reminder.survey), click.question, click.value
        )
    except ValueError:
        raise BadLink from None
    return record_answers(reminder, {click.question: value}, now)


def record_answers(
    reminder: Reminder, answers: dict[str, Any], now: datetime, *, complete: bool = False
) -> Recorded | None:
    """A response to the reminder (method Email, the email's language) with these answers,
    through the usual service; the reminder's response unchanged when it has one. None: the
    survey is closed, or the user answered it in the app since the email went out."""
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
            answers=[{"id": qid, "value": value} for qid, value in answers.items()],
            method=Response.Method.EMAIL,
            language=reminder.language,
            completed=complete or None,
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
        _ANSWERED,
        survey_id=reminder.survey_id,
        user_id=reminder.user_id,
        created__gte=reminder.created,
    ).exists()


# --- the page the links open -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A question of the page, with what was entered when the page comes back."""

    question: Asked
    value: Any = None
    missing: bool = False  # required, and left empty

    @property
    def choices(self) -> list[tuple[Any, str, bool]]:
        """Each option (value, text) and whether it is the one entered."""
        entered = self.value if isinstance(self.value, list) else [self.value]
        return [(value, text, value in entered) for value, text in self.question.options]

    @property
    def max_length(self) -> int:
        if self.question.id == COMMENT_QUESTION:
            return app_settings.MAX_FEEDBACK_LENGTH
        return MAX_LONG_TEXT


@dataclass(frozen=True)
class Page:
    """A form of the page: its questions, those asked before it, and the token that
    authorises saving (empty before the response exists: the button's page)."""

    fields: list[Field]
    earlier: tuple[str, ...]
    auth: str

    @property
    def ids(self) -> str:
        return " ".join(f.question.id for f in self.fields)

    @property
    def incomplete(self) -> bool:
        return any(f.missing for f in self.fields)

    @property
    def heading(self) -> str:
        """One question is the page's heading; several are headings under it."""
        return "h1" if len(self.fields) == 1 else "h2"

    @property
    def title(self) -> str:
        return self.fields[0].question.label if len(self.fields) == 1 else ""


def click_texts(reminder: Reminder, click: Click) -> tuple[str, str]:
    """The question a link answers and the answer, as the page asking to confirm says them."""
    strings = strings_for(reminder)
    if click.question == RATING_QUESTION:
        return strings["HOW_LIKELY"], f"{click.value} / 10"
    question = next(
        (q for q in email_questions.of_survey(reminder.survey) if q.id == click.question), None
    )
    if question is None:
        return "", str(click.value)
    default_language = reminder.survey.project.default_language
    shown = email_questions.asked(question, strings, reminder.language, default_language)
    answer = dict(shown.options).get(click.value, str(click.value))
    if question.type == SCALE:
        answer = f"{click.value} / {shown.options[-1][0]}"
    return shown.label, answer


def first_page(reminder: Reminder) -> Page | None:
    """The button's page: the questions shown before any answer, the first one required
    (it is what the email asked). None once the reminder was answered."""
    if reminder.response_id is not None:
        return None
    survey_questions = email_questions.of_survey(reminder.survey)
    ask = email_questions.next_questions(survey_questions, {}, ())
    return _page(reminder, ask, {}, (), "", required=survey_questions[0].id)


def page_after(
    reminder: Reminder, recorded: Recorded, asked: tuple[str, ...], now: datetime
) -> Page | None:
    """The next form after a click answered ``asked``; None when there is none left, in
    which case the response is completed."""
    assert recorded.token is not None
    answers = email_questions.answers_of(recorded.response)
    ask = email_questions.next_questions(email_questions.of_survey(reminder.survey), answers, asked)
    if not ask:
        data = responses.ResponseInput(completed=True)
        responses.update_response(recorded.response.pk, recorded.token, data, now=now)
        return None
    return _page(reminder, ask, answers, asked, recorded.token)


def save_page(
    reminder: Reminder, auth: str, form: dict[str, list[str]], now: datetime
) -> Page | None:
    """Save a posted form's answers: the same form back when a required question is left
    empty, the next form when the answers show more questions, else None (completed).
    ``InvalidInput`` names a value no question takes; ``ResponseClosed``: already answered."""
    survey_questions = email_questions.of_survey(reminder.survey)
    entry = email_questions.read_form(survey_questions, form)
    response = reminder.response if auth else None  # read with the reminder (open_link)
    if auth and response is None:
        raise BadLink
    so_far = {**email_questions.answers_of(response), **entry.answers}
    first = survey_questions[0].id if response is None else ""
    on_page = [q for q in survey_questions if q.id in entry.page]
    missing = [
        q.id
        for q in on_page
        if (q.required or q.id == first) and email_questions.unanswered(so_far.get(q.id))
    ]
    if missing:
        return _page(
            reminder, on_page, so_far, entry.earlier, auth, required=first, missing=missing
        )
    ask = email_questions.next_questions(survey_questions, so_far, entry.asked)
    token = _save(reminder, response, auth, entry, complete=not ask, now=now)
    return _page(reminder, ask, so_far, entry.asked, token) if ask else None


def _save(
    reminder: Reminder,
    response: Response | None,
    auth: str,
    entry: Entry,
    *,
    complete: bool,
    now: datetime,
) -> str:
    if response is None:
        recorded = record_answers(reminder, entry.answers, now, complete=complete)
        if recorded is None or recorded.token is None:
            raise ResponseClosed("This survey was answered already.")
        return recorded.token
    data = responses.ResponseInput(
        answers=[{"id": qid, "value": value} for qid, value in entry.answers.items()],
        completed=complete or None,
    )
    responses.update_response(response.pk, auth, data, now=now)
    return auth


def _page(
    reminder: Reminder,
    ask: list[Question],
    answers: dict[str, Any],
    earlier: tuple[str, ...],
    auth: str,
    *,
    required: str = "",
    missing: Sequence[str] = (),
) -> Page:
    strings = strings_for(reminder)
    default_language = reminder.survey.project.default_language
    fields = []
    for question in ask:
        shown = email_questions.asked(
            question, strings, reminder.language, default_language, answers
        )
        if question.id == required:
            shown = replace(shown, required=True)
        fields.append(Field(shown, answers.get(question.id), question.id in missing))
    return Page(fields, earlier, auth)


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
    "record_click",
    "record_honeypot",
    "render",
    "select",
    "send_all",
    "send_for_survey",
]
