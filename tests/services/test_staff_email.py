"""Staff email through a real SMTP server (aiosmtpd on loopback): detractor alerts, digests,
the once-per-period guarantee, the dry run and the opt-out link."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from satismeter_app.models import Membership, StaffSubscription
from satismeter_app.services import staff_email
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def marie(project, make_staff) -> Any:
    return make_staff(project, username="marie", email="marie@acme.test", first_name="Marie")


@pytest.fixture
def subscribe(project, marie):
    def make(**fields: Any) -> StaffSubscription:
        fields.setdefault("user", marie)
        fields.setdefault("project", project)
        return StaffSubscription.objects.create(**fields)

    return make


def _text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def _html(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


# --- alerts ------------------------------------------------------------------------------------


def test_an_alert_bundles_the_detractors_in_one_email_in_the_members_language(
    survey, subscribe, make_response, make_end_user, smtp
):
    subscribe(language="fr", digest=StaffSubscription.Digest.NONE)
    make_response(survey, rating=3, feedback="<script>alert(1)</script> trop lent")
    make_response(survey, rating=6, user=make_end_user(survey.project, name="Zoé"))
    make_response(survey, rating=7, feedback="passive")
    make_response(survey, rating=10, feedback="promoter")
    make_response(survey, rating=0, is_test=True)
    make_response(survey, dismissed=True)

    report = staff_email.send_alerts()

    assert (report.sent, len(smtp.messages)) == (1, 1)
    message = smtp.messages[0]
    assert message["To"] == "marie@acme.test"
    assert message["Subject"].strip() == "2 détracteurs ont répondu : Acme"
    assert _text(message).startswith("Bonjour Marie,")
    html = _html(message)
    assert 'lang="fr"' in html and "Zoé" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; trop lent" in html
    assert "<script>" not in html
    assert "passive" not in html and "promoter" not in html
    assert len(re.findall(r"/admin/satismeter_app/response/\d+/change/", html)) == 2
    assert message["List-Unsubscribe"].strip().startswith("<http://testserver/email/staff-off/")
    assert message["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"


def test_alerts_wait_for_the_interval_and_then_bring_only_what_is_new(
    survey, subscribe, make_response, smtp
):
    sub = subscribe(alert_interval=60)
    make_response(survey, rating=2, feedback="first")
    start = timezone.now()
    assert staff_email.send_alerts(start).sent == 1

    make_response(survey, rating=1, feedback="second")
    assert staff_email.send_alerts(start + timedelta(minutes=30)).sent == 0
    assert staff_email.send_alerts(start + timedelta(minutes=61)).sent == 1

    assert len(smtp.messages) == 2
    later = _text(smtp.messages[1])
    assert "second" in later and "first" not in later
    sub.refresh_from_db()
    assert sub.last_alert_at == start + timedelta(minutes=61)


def test_without_new_detractors_no_alert_goes_and_the_interval_does_not_start(
    survey, subscribe, make_response, smtp
):
    sub = subscribe()
    make_response(survey, rating=8)
    assert staff_email.send_alerts().sent == 0
    sub.refresh_from_db()
    assert sub.last_alert_at is None
    make_response(survey, rating=4)
    assert staff_email.send_alerts().sent == 1
    assert len(smtp.messages) == 1


def test_a_survey_subscription_hears_of_its_survey_only(
    project, survey, make_survey, subscribe, make_response, smtp
):
    subscribe(survey=survey)
    make_response(make_survey(project, name="Other"), rating=0)
    assert staff_email.send_alerts().sent == 0
    make_response(survey, rating=0)
    assert staff_email.send_alerts().sent == 1


def test_a_former_member_gets_nothing(survey, marie, subscribe, make_response, smtp):
    subscribe()
    Membership.objects.filter(user=marie).delete()
    make_response(survey, rating=0)
    assert staff_email.send_alerts().sent == 0
    assert smtp.messages == []


def test_only_a_member_of_the_project_subscribes(make_project, marie):
    other = make_project(name="Other")
    with pytest.raises(ValidationError) as error:
        StaffSubscription(user=marie, project=other).full_clean()
    assert "project" in error.value.message_dict


# --- digests -----------------------------------------------------------------------------------

PARIS_MONDAY = datetime(2026, 11, 30, 0, 30, tzinfo=UTC) - timedelta(hours=1)  # 00:30 in Paris


@pytest.fixture
def week(project, survey, make_response) -> None:
    """Week of 23–29 November 2026 (Paris): 3 promoters, 1 passive, 2 detractors (NPS 1/6 =
    16.7), 1 dismissed; the week before: 1 promoter, 2 passives, 1 detractor (NPS 0)."""
    project.time_zone = "Europe/Paris"
    project.save()
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    for day, rating, feedback in [
        (0, 10, "love it"),
        (0, 9, ""),
        (2, 9, ""),
        (2, 8, ""),
        (4, 2, "slow <b>pages</b>"),
        (6, 5, ""),
    ]:
        make_response(survey, rating=rating, feedback=feedback, created=monday + timedelta(day))
    make_response(survey, dismissed=True, created=monday + timedelta(days=1))
    for rating in (10, 7, 8, 0):
        make_response(survey, rating=rating, created=monday - timedelta(days=3))
    # 23:10 UTC on Sunday is 00:10 on Monday in Paris: the next week.
    make_response(survey, rating=9, created=datetime(2026, 11, 29, 23, 10, tzinfo=UTC))


def test_the_weekly_digest_has_the_dashboards_numbers_and_the_change(
    week, subscribe, smtp, django_assert_max_num_queries
):
    subscribe(digest=StaffSubscription.Digest.WEEKLY, detractor_alerts=False)
    with django_assert_max_num_queries(8):
        report = staff_email.send_digests(PARIS_MONDAY)
    assert report.sent == 1
    message = smtp.messages[0]
    assert message["Subject"].strip() == "Weekly NPS digest: Acme, 11/23/2026 – 11/29/2026"
    text = _text(message)
    assert "NPS: 17 (+17 against the week before)" in text
    for line in ("Answered: 6", "Promoters: 3", "Passives: 1", "Detractors: 2", "Dismissed: 1"):
        assert line in text
    assert "Mon 23: 100 (2)" in text and "Tue 24: — (0)" in text and "Fri 27: -100 (1)" in text
    html = _html(message)
    assert "slow &lt;b&gt;pages&lt;/b&gt;" in html and "<svg" not in html and "<img" not in html
    assert 'width="50%"' in html  # Monday's bar: NPS 100, half the row
    assert "start=2026-11-23&amp;end=2026-11-29" in html


def test_a_digest_goes_once_per_period(week, subscribe, smtp):
    sub = subscribe(digest=StaffSubscription.Digest.WEEKLY)
    assert staff_email.send_digests(PARIS_MONDAY).sent == 1
    assert staff_email.send_digests(PARIS_MONDAY + timedelta(hours=1)).sent == 0
    assert staff_email.send_digests(PARIS_MONDAY + timedelta(days=2)).sent == 0
    sub.refresh_from_db()
    assert sub.digested_until == date(2026, 11, 29)
    assert len(smtp.messages) == 1


def test_a_daily_digest_counts_yesterday_in_the_projects_time_zone(week, subscribe, smtp):
    subscribe(digest=StaffSubscription.Digest.DAILY)
    assert staff_email.send_digests(PARIS_MONDAY).sent == 1
    text = _text(smtp.messages[0])
    assert smtp.messages[0]["Subject"].strip() == "Daily NPS digest: Acme, 11/29/2026"
    # Sunday in Paris: the 5 at 10:00; the 9 at 23:10 UTC is Monday there. No Saturday answer.
    assert "NPS: -100" in text.splitlines()
    assert "Answered: 1" in text and "Promoters: 0" in text and "Detractors: 1" in text


def test_a_period_without_responses_sends_no_digest(subscribe, smtp):
    subscribe(digest=StaffSubscription.Digest.DAILY)
    report = staff_email.send_digests()
    assert (report.selected, report.empty, report.sent) == (1, 1, 0)


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_one_digest(week, subscribe, smtp):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs at once")
    subscribe(digest=StaffSubscription.Digest.WEEKLY)
    start = threading.Barrier(2)
    reports: list[staff_email.StaffReport] = []

    def work() -> None:
        try:
            start.wait()
            reports.append(staff_email.send_digests(PARIS_MONDAY))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.sent for r in reports) == [0, 1]
    assert sum(r.skipped for r in reports) == 1
    assert len(smtp.messages) == 1


def test_the_dry_run_lists_the_digests_and_sends_and_records_nothing(week, subscribe, smtp):
    sub = subscribe(digest=StaffSubscription.Digest.WEEKLY)
    out = io.StringIO()
    call_command("satismeter_send_digests", "--dry-run", "--date", "2026-11-29", stdout=out)
    assert "marie <marie@acme.test>, Weekly (on Mondays) (en): Weekly NPS digest" in out.getvalue()
    assert "1 digest(s) would be sent" in out.getvalue()
    assert smtp.messages == []
    sub.refresh_from_db()
    assert sub.digested_until is None
    call_command("satismeter_send_digests", "--date", "2026-11-29", stdout=io.StringIO())
    call_command("satismeter_send_digests", "--date", "2026-11-29", stdout=io.StringIO())
    assert len(smtp.messages) == 1


# --- opting out --------------------------------------------------------------------------------


def _off_path(message: EmailMessage) -> str:
    return urlsplit(message["List-Unsubscribe"].strip().strip("<>")).path


def test_the_opt_out_link_asks_first_then_turns_the_alerts_off(
    survey, subscribe, make_response, smtp, client
):
    sub = subscribe(digest=StaffSubscription.Digest.WEEKLY)
    make_response(survey, rating=0)
    staff_email.send_alerts()
    path = _off_path(smtp.messages[0])
    assert path in _html(smtp.messages[0])

    page = client.get(path)  # what a link scanner does: nothing changes
    assert page.status_code == 200 and "<form" in page.content.decode()
    sub.refresh_from_db()
    assert sub.detractor_alerts

    done = client.post(path)
    assert done.status_code == 200 and "Detractor alerts are off" in done.content.decode()
    sub.refresh_from_db()
    assert not sub.detractor_alerts and sub.digest == StaffSubscription.Digest.WEEKLY
    make_response(survey, rating=1)
    assert staff_email.send_alerts(timezone.now() + timedelta(days=1)).sent == 0


def test_the_one_click_post_of_a_digest_turns_the_digest_off(week, subscribe, smtp, client):
    sub = subscribe(digest=StaffSubscription.Digest.WEEKLY)
    staff_email.send_digests(PARIS_MONDAY)
    reply = client.post(
        _off_path(smtp.messages[0]), {"List-Unsubscribe": "One-Click"}, HTTP_USER_AGENT="mail"
    )
    assert reply.status_code == 200
    sub.refresh_from_db()
    assert sub.digest == StaffSubscription.Digest.NONE and sub.detractor_alerts


def test_a_tampered_opt_out_link_is_refused(survey, subscribe, make_response, smtp, client):
    sub = subscribe()
    make_response(survey, rating=0)
    staff_email.send_alerts()
    path = _off_path(smtp.messages[0])
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(path.replace(token, forged)).status_code == 404
    sub.refresh_from_db()
    assert sub.detractor_alerts


def test_when_the_mail_server_is_down_the_next_run_sends(
    survey, subscribe, make_response, settings
):
    from tests.delivery.harness import free_port

    sub = subscribe()
    make_response(survey, rating=0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    with pytest.raises(OSError):
        staff_email.send_alerts()
    sub.refresh_from_db()
    assert sub.last_alert_at is None  # the claim was given back
    with running_smtp(settings, Collector()) as smtp:
        assert staff_email.send_alerts().sent == 1
    assert len(smtp.messages) == 1
