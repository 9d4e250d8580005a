"""Staff email (docs/staff-email.md): detractor alerts and daily or weekly digests, sent to
the members of a project who subscribed (:class:`~satismeter_app.models.StaffSubscription`),
in each one's language.

**Alerts.** Every minute (beat), each subscription with alerts on whose interval has passed
since its last alert gets the detractor responses (rating 0–6, no test user's) that came in
after ``alerted_until``, in one email; nothing new, no email and the interval does not start.

**Digests.** Every hour (beat), each subscription with a digest gets the one of the last
complete period in the project's time zone: yesterday (daily), the last week from Monday to
Sunday (weekly), unless ``digested_until`` already reaches its last day. The numbers are the
dashboard's (:func:`.dashboard.numbers`, from the daily rollups): the NPS, its change against
the period before, the counts, the NPS per day of the last seven days and the latest comments.
A period without a single response sends nothing.

**Once.** Before an email goes out its subscription is moved forward by a conditional UPDATE
(``alerted_until`` to now, ``digested_until`` to the period's last day); the worker whose UPDATE
changed the row sends it, any other skips it. When the mail server cannot be reached the
batch's claims are given back, so that the next run sends them; a message the server refuses
is not sent again. One SMTP connection serves a run.

**Opting out.** Every email carries a signed link (and ``List-Unsubscribe`` headers, RFC 8058
one-click) that turns off that subscription's alerts, or its digest: see :func:`open_link`.
Respondents' text (comments, names) is escaped in the HTML part; nothing else of theirs is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .. import i18n, links, nps
from ..exceptions import BadLink
from ..models import Membership, Response, StaffSubscription
from ..tally import Tally
from . import dashboard, mailing

logger = logging.getLogger(__name__)

SALT = "satismeter.staff-email"
ALERT, DIGEST = "alert", "digest"
TEMPLATES = "satismeter_app/email/staff_"
ALERT_RESPONSES_SHOWN = 20
DIGEST_COMMENTS = 5
TREND_DAYS = 7
_DAY = timedelta(days=1)


@dataclass
class StaffReport(Tally):
    """What a run found due (selected), sent, skipped (another worker had it), left out
    (empty: nothing to say) or failed to send."""

    selected: int = 0
    sent: int = 0
    skipped: int = 0
    empty: int = 0
    failed: int = 0


@dataclass
class Email:
    """One staff email, rendered; ``claim`` moves its subscription forward (see the module's
    docstring) and ``release`` gives the claim back."""

    subscription: StaffSubscription
    kind: str
    message: EmailMultiAlternatives
    until: Any  # the new alerted_until, or digested_until

    @property
    def recipient(self) -> str:
        return self.subscription.user.email

    def claim(self) -> bool:
        sub = self.subscription
        rows = StaffSubscription.objects.filter(pk=sub.pk)
        if self.kind == ALERT:
            rows = rows.filter(alerted_until=sub.alerted_until)
            return rows.update(alerted_until=self.until, last_alert_at=self.until) == 1
        rows = rows.filter(Q(digested_until__isnull=True) | Q(digested_until__lt=self.until))
        return rows.update(digested_until=self.until) == 1

    def release(self) -> None:
        sub = self.subscription
        rows = StaffSubscription.objects.filter(pk=sub.pk)
        if self.kind == ALERT:
            rows.filter(alerted_until=self.until).update(
                alerted_until=sub.alerted_until, last_alert_at=sub.last_alert_at
            )
        else:
            rows.filter(digested_until=self.until).update(digested_until=sub.digested_until)


# --- who ---------------------------------------------------------------------------------------


def subscriptions(project_id: int | None = None) -> QuerySet[StaffSubscription]:
    """The subscriptions that get email: of an active staff user with an address who is
    still a member of the project."""
    member = Membership.objects.filter(
        user_id=OuterRef("user_id"), project_id=OuterRef("project_id")
    )
    qs = StaffSubscription.objects.filter(
        Exists(member), user__is_active=True, user__is_staff=True
    ).exclude(user__email="")
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs.select_related("user", "project", "survey").order_by("pk")


def alerts_due(now: datetime, project_id: int | None = None) -> Iterator[StaffSubscription]:
    """Subscriptions with alerts on whose interval has passed since their last alert."""
    for sub in subscriptions(project_id).filter(detractor_alerts=True):
        if sub.last_alert_at is None or now - sub.last_alert_at >= _interval(sub):
            yield sub


def _interval(sub: StaffSubscription) -> timedelta:
    return timedelta(minutes=sub.alert_interval)


def detractors(sub: StaffSubscription, until: datetime) -> QuerySet[Response]:
    """The detractor responses of the subscription since its last alert, latest first."""
    qs = Response.objects.counted().filter(
        nps.category_q(nps.DETRACTOR),
        project_id=sub.project_id,
        created__gt=sub.alerted_until,
        created__lte=until,
    )
    if sub.survey_id is not None:
        qs = qs.filter(survey_id=sub.survey_id)
    return qs.select_related("survey", "user").order_by("-created", "-pk")


@dataclass(frozen=True)
class Period:
    """The days a digest counts, ``start`` to ``end`` included, in the project's days."""

    kind: str  # StaffSubscription.Digest
    start: date
    end: date

    def filters(self, sub: StaffSubscription, start: date | None = None) -> dashboard.Filters:
        return dashboard.Filters(
            start=start or self.start, end=self.end, survey=sub.survey, interval="day"
        )


def digest_period(sub: StaffSubscription, day: date) -> Period | None:
    """The last complete period ending on or before ``day``: that day (daily), or the week
    from Monday to the Sunday on or before it (weekly); None without a digest."""
    if sub.digest == StaffSubscription.Digest.DAILY:
        return Period(sub.digest, day, day)
    if sub.digest == StaffSubscription.Digest.WEEKLY:
        sunday = day - timedelta(days=(day.weekday() + 1) % 7)
        return Period(sub.digest, sunday - 6 * _DAY, sunday)
    return None


def yesterday(sub: StaffSubscription, now: datetime) -> date:
    """The day before ``now`` in the project's time zone: the last complete day."""
    return timezone.localtime(now, sub.project.zone).date() - _DAY


def digests_due(
    now: datetime, project_id: int | None = None, day: date | None = None
) -> Iterator[tuple[StaffSubscription, Period]]:
    """Subscriptions whose digest of the last complete period (of ``day``, else yesterday in
    each project's time zone) has not gone out."""
    qs = subscriptions(project_id).exclude(digest=StaffSubscription.Digest.NONE)
    for sub in qs:
        period = digest_period(sub, day or yesterday(sub, now))
        if period is not None and (sub.digested_until is None or sub.digested_until < period.end):
            yield sub, period


# --- the emails --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """A digest's numbers: the dashboard's overview of the period (and the one before), its
    trend by day over the last ``TREND_DAYS`` days, and the latest comments."""

    period: Period
    overview: dashboard.Overview
    trend: list[dict[str, Any]]
    comments: list[Response] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        s = self.overview.summary
        return s.answered + s.dismissed + s.pending == 0


def digest_numbers(sub: StaffSubscription, period: Period) -> Digest:
    """Three queries: the overview (both periods), the trend and the comments."""
    filters = period.filters(sub)
    trend_start = min(period.start, period.end - (TREND_DAYS - 1) * _DAY)
    return Digest(
        period=period,
        overview=dashboard.overview(sub.project, filters),
        trend=dashboard.trend(sub.project, period.filters(sub, trend_start)),
        comments=dashboard.comments(sub.project, filters, limit=DIGEST_COMMENTS),
    )


def alert_email(
    sub: StaffSubscription, responses: list[Response], total: int, now: datetime
) -> Email:
    context = {"responses": [_shown(sub, r) for r in responses], "count": total}
    context["more"] = total - len(responses)
    return Email(sub, ALERT, _message(sub, ALERT, context), now)


def digest_email(sub: StaffSubscription, digest: Digest) -> Email:
    period = digest.period
    overview = digest.overview
    context = {
        "digest": digest,
        "weekly": period.kind == StaffSubscription.Digest.WEEKLY,
        "summary": overview.summary,
        "nps": _rounded(overview.summary.nps),
        "change": _rounded(overview.change),
        "previous_nps": _rounded(overview.previous.nps),
        "trend": [_bar(row) for row in digest.trend],
        "comments": [_shown(sub, r) for r in digest.comments],
        "dashboard_url": _dashboard_url(sub, period),
    }
    return Email(sub, DIGEST, _message(sub, DIGEST, context), period.end)


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def _bar(row: dict[str, Any]) -> dict[str, Any]:
    """A day of the trend as the email draws it: a bar from the middle, right for a positive
    NPS, left for a negative one, as wide as half the NPS in percent of the row."""
    value = _rounded(row["nps"])
    width = 0 if value is None else max(abs(value) // 2, 1)
    return {
        "day": row["period"],
        "nps": value,
        "answered": row["answered"],
        "positive": width if value is not None and value >= 0 else 0,
        "negative": width if value is not None and value < 0 else 0,
    }


def _shown(sub: StaffSubscription, response: Response) -> dict[str, Any]:
    """A response as the email shows it: the company's names, the respondent's comment and
    name or ids (escaped by the template), and its page in the admin."""
    user = response.user
    return {
        "rating": response.rating,
        "category": response.category,
        "comment": response.feedback,
        "survey": response.survey.name,
        "when": timezone.localtime(response.created, sub.project.zone),
        "who": user.name or user.user_id or user.anonymous_id or "",
        "email": user.email,
        "url": links.public_url("admin:satismeter_app_response_change", response.pk),
    }


def _dashboard_url(sub: StaffSubscription, period: Period | None = None) -> str:
    url = links.public_url("admin:satismeter_app_project_dashboard", sub.project_id)
    query = [f"survey={sub.survey_id}"] if sub.survey_id else []
    if period is not None:
        query += [f"start={period.start.isoformat()}", f"end={period.end.isoformat()}"]
    return f"{url}?{'&'.join(query)}" if query else url


def _message(sub: StaffSubscription, kind: str, extra: dict[str, Any]) -> EmailMultiAlternatives:
    """The email of ``kind`` in the subscriber's language: subject, text and HTML parts, and
    the opt-out link in the body and the List-Unsubscribe headers."""
    off_url = off_link(sub, kind)
    language = sub.email_language
    context = {
        "subscription": sub,
        "kind": kind,
        "name": sub.user.get_full_name() or sub.user.get_username(),
        "scope": str(sub.survey or sub.project),
        "project": sub.project,
        "language": language,
        "direction": "rtl" if i18n.is_rtl(language) else "ltr",
        "off_url": off_url,
        "settings_url": links.public_url("admin:satismeter_app_staffsubscription_change", sub.pk),
        "dashboard_url": _dashboard_url(sub),
        **extra,
    }
    with translation.override(language):
        subject = render_to_string(f"{TEMPLATES}{kind}_subject.txt", context)
        text = render_to_string(f"{TEMPLATES}{kind}_message.txt", context)
        html = render_to_string(f"{TEMPLATES}{kind}_message.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[sub.user.email],
        headers={
            "List-Unsubscribe": f"<{off_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# --- sending -----------------------------------------------------------------------------------


def alert_emails(now: datetime, project_id: int | None, report: StaffReport) -> Iterator[Email]:
    """The alert of each subscription due that has detractors to tell: one query each."""
    for sub in alerts_due(now, project_id):
        report.selected += 1
        found = list(detractors(sub, now)[: ALERT_RESPONSES_SHOWN + 1])
        if not found:
            report.empty += 1
            continue
        total = len(found)
        if total > ALERT_RESPONSES_SHOWN:
            total = detractors(sub, now).count()
        yield alert_email(sub, found[:ALERT_RESPONSES_SHOWN], total, now)


def digest_emails(
    now: datetime, project_id: int | None, report: StaffReport, day: date | None = None
) -> Iterator[Email]:
    """The digest of each subscription due whose period had responses: three queries each."""
    for sub, period in digests_due(now, project_id, day):
        report.selected += 1
        digest = digest_numbers(sub, period)
        if digest.empty:
            report.empty += 1
            continue
        yield digest_email(sub, digest)


def send_alerts(now: datetime | None = None, project_id: int | None = None) -> StaffReport:
    now = now or timezone.now()
    report = StaffReport()
    return send(alert_emails(now, project_id, report), report)


def send_digests(
    now: datetime | None = None, project_id: int | None = None, day: date | None = None
) -> StaffReport:
    now = now or timezone.now()
    report = StaffReport()
    return send(digest_emails(now, project_id, report, day), report)


def send(emails: Iterable[Email], report: StaffReport, connection: Any = None) -> StaffReport:
    """Claim each email, then send the claimed ones over one SMTP connection. Never inside
    a transaction (each claim commits on its own)."""
    claimed = []
    for email in emails:
        if email.claim():
            claimed.append(email)
        else:
            report.skipped += 1
    if not claimed:
        return report
    connection = connection or get_connection()
    with mailing.session(connection, partial(_release, claimed)):
        for email in claimed:
            email.message.connection = connection
            try:
                connection.send_messages([email.message])
            except Exception as exc:  # the SMTP server said no: logged, not sent again
                _log_failure(email, exc)
                report.failed += 1
            else:
                report.sent += 1
    return report


def _release(claimed: list[Email]) -> None:
    """The run's claims given back: nothing went out, the next run sends."""
    for email in claimed:
        email.release()


def _log_failure(email: Email, exc: Exception) -> None:
    where = f"Staff {email.kind} of subscription {email.subscription.pk}"
    mailing.log_failure(logger, where, exc)


# --- opting out --------------------------------------------------------------------------------


def off_link(sub: StaffSubscription, kind: str) -> str:
    """The signed link that turns off the subscription's alerts (``alert``) or digest."""
    token = signing.dumps({"s": sub.pk, "k": kind}, salt=SALT)
    return links.public_url("satismeter:staff-email-off", token)


def open_link(token: str) -> tuple[StaffSubscription, str]:
    """The subscription and what an opt-out link turns off; ``BadLink`` when the token was
    not signed here or its subscription is gone."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise BadLink from None
    kind = data.get("k") if isinstance(data, dict) else None
    if kind not in (ALERT, DIGEST):
        raise BadLink
    rows = StaffSubscription.objects.select_related("project", "survey", "user")
    found = rows.filter(pk=data.get("s")).first()
    if found is None:
        raise BadLink
    return found, str(kind)


def turn_off(sub: StaffSubscription, kind: str) -> None:
    """Alerts off, or the digest off; the other one stays as it was."""
    rows = StaffSubscription.objects.filter(pk=sub.pk)
    if kind == ALERT:
        rows.update(detractor_alerts=False)
        sub.detractor_alerts = False
    else:
        rows.update(digest=StaffSubscription.Digest.NONE)
        sub.digest = StaffSubscription.Digest.NONE
