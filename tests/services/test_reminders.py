"""Email reminders: who gets one, once, and what its links do (docs/email.md)."""

from __future__ import annotations

import math
import re
import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from satismeter_app import i18n
from satismeter_app.models import (
    Delivery,
    Display,
    EndUser,
    Integration,
    Reminder,
    Response,
    Survey,
    Unsubscribe,
)
from satismeter_app.services import reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(project, make_survey) -> Survey:
    project.write_key = project.write_key or "wk"
    return make_survey(
        project,
        name="Quarterly NPS",
        reminders_enabled=True,
        reminder_delay_days=7,
        reminder_sender_name="Acme Team",
        reminder_sender_email="team@acme.test",
        min_tenure_days=0,
        design={"serviceName": "Acme Cloud"},
    )


@pytest.fixture
def shown(survey, make_end_user):
    """A user shown the survey ``days`` ago who did not answer."""

    def make(days: int = 10, **fields: Any) -> EndUser:
        fields.setdefault("email", f"u{EndUser.objects.count()}@example.com")
        user = make_end_user(survey.project, **fields)
        when = timezone.now() - timedelta(days=days)
        Display.objects.create(project=survey.project, survey=survey, user=user, created=when)
        return user

    return make


def emails(survey: Survey) -> dict[str, str]:
    return {c.email: c.reason for c in reminders.select(survey, timezone.now())}


# --- who ---------------------------------------------------------------------------------------


def test_users_who_ignored_closed_or_were_inactive_are_selected(
    survey, shown, make_end_user, make_response
):
    shown(email="ignored@example.com")
    closer = shown(email="closer@example.com")
    make_response(survey, user=closer, dismissed=True)
    make_end_user(
        survey.project, email="away@example.com", last_seen=timezone.now() - timedelta(days=20)
    )
    assert emails(survey) == {
        "ignored@example.com": "ignored",
        "closer@example.com": "closed",
        "away@example.com": "inactive",
    }


def test_no_reminder_before_the_delay_nor_to_users_active_since(survey, shown, make_end_user):
    shown(days=3, email="recent@example.com")
    make_end_user(survey.project, email="active@example.com")
    make_end_user(
        survey.project,
        email="gone@example.com",
        first_seen=timezone.now() - timedelta(days=300),
        last_seen=timezone.now() - timedelta(days=200),
    )
    assert emails(survey) == {}


def test_never_to_unsubscribed_addresses_or_users_without_one(survey, shown):
    shown(email="")
    shown(email="flagged@example.com", unsubscribed=True)
    shown(email="Listed@Example.com")
    Unsubscribe.objects.create(project=survey.project, email="listed@example.com", source="api")
    assert emails(survey) == {}


def test_never_to_users_who_answered_meanwhile(survey, shown, make_response):
    user = shown()
    make_response(survey, user=user, rating=9)
    assert emails(survey) == {}


def test_targeting_rules_hold_for_reminders_too(survey, shown):
    survey.trait_conditions = [{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}]
    survey.save()
    shown(email="pro@example.com", traits={"plan": "pro"})
    shown(email="free@example.com", traits={"plan": "free"})
    shown(email="anon@example.com", user_id=None, anonymous_id="a1")
    assert emails(survey) == {"pro@example.com": "ignored"}


def test_reminders_off_or_survey_paused_sends_nothing(survey, shown, mailoutbox):
    shown()
    Survey.objects.filter(pk=survey.pk).update(state=Survey.State.PAUSED)
    assert reminders.send_all().sent == 0
    Survey.objects.filter(pk=survey.pk).update(state=Survey.State.ACTIVE, reminders_enabled=False)
    assert reminders.send_all().sent == 0
    assert mailoutbox == []


def test_one_reminder_per_survey_period(survey, shown, mailoutbox):
    shown(email="once@example.com")
    assert reminders.send_all().sent == 1
    assert reminders.send_all().sent == 0
    assert [m.to for m in mailoutbox] == [["once@example.com"]]
    reminder = Reminder.objects.get()
    assert (reminder.state, reminder.reason, reminder.period) == ("sent", "ignored", 0)


def test_the_email_is_in_the_users_language_with_eleven_buttons(survey, shown, mailoutbox):
    shown(email="ar@example.com", language="ar")
    reminders.send_all()
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    assert message.from_email == '"Acme Team" <team@acme.test>'
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert len(re.findall(r'href="[^"]*/email/r/', html)) == 11
    assert html.count("/email/u/") == 1 and html.count("/email/h/") == 1
    assert 'aria-hidden="true"' in html and "display:none" in html
    assert "/email/r/" in message.body and "/email/h/" not in message.body
    assert message.subject and "{{" not in message.subject
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")


# --- speed -------------------------------------------------------------------------------------


def _bulk_users(survey: Survey, count: int, *, with_email: int) -> None:
    now = timezone.now()
    seen = now - timedelta(days=20)
    EndUser.objects.bulk_create(
        EndUser(
            project=survey.project,
            user_id=f"bulk-{count}-{i}",
            email=f"b{count}-{i}@example.com" if i < with_email else "",
            first_seen=seen - timedelta(days=30),
            last_seen=seen,
        )
        for i in range(count)
    )


def _select_queries(survey: Survey) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        found = len(list(reminders.select(survey, timezone.now())))
    return found, len(queries)


@pytest.mark.parametrize("users", [2_000, 100_000])
def test_selection_takes_the_same_queries_among_many_users(survey, users):
    _bulk_users(survey, users, with_email=50)
    assert _select_queries(survey) == (50, 1)


def test_selection_reads_candidates_in_pages(survey, settings):
    settings.SATISMETER = {**settings.SATISMETER, "REMINDER_BATCH_SIZE": 100}
    _bulk_users(survey, 1_000, with_email=950)
    found, queries = _select_queries(survey)
    assert found == 950
    assert queries == math.ceil(950 / 100) + (950 % 100 == 0)


@pytest.mark.parametrize("users", [3, 30])
def test_sending_takes_the_same_queries_for_few_or_many_recipients(survey, users, mailoutbox):
    _bulk_users(survey, users, with_email=users)
    with CaptureQueriesContext(connection) as queries:
        assert reminders.send_all().sent == users
    assert len(mailoutbox) == users
    # the due surveys, one page of candidates, the claim (insert, read back), the outcomes
    assert len(queries) == 5


def test_each_recipient_gets_their_own_links_in_their_language(survey, shown, mailoutbox):
    shown(email="de@example.com", language="de")
    shown(email="en@example.com")
    shown(email="fr@example.com", traits={"language": "fr"}, language="de")
    reminders.send_all()
    by_address = {m.to[0]: m for m in mailoutbox}
    assert "Wie wahrscheinlich" in by_address["de@example.com"].subject
    assert "How likely" in by_address["en@example.com"].subject
    assert "Quelle est la probabilité" in by_address["fr@example.com"].subject
    kinds = {"r": "score", "u": "unsubscribe", "h": "honeypot"}
    for reminder in Reminder.objects.all():
        html = by_address[reminder.email].alternatives[0][0]
        for kind, token in re.findall(r'href="[^"]*/email/(\w)/([^"]+)"', html):
            assert reminders.open_link(token, kinds[kind])[0] == reminder


# --- operations --------------------------------------------------------------------------------


def test_dry_run_lists_who_and_why_and_sends_nothing(survey, shown, mailoutbox):
    shown(email="who@example.com")
    out, err = StringIO(), StringIO()
    call_command("satismeter_send_reminders", "--dry-run", stdout=out, stderr=err)
    assert "who@example.com: shown the survey 10 days ago and did not answer" in out.getvalue()
    assert "1 user(s) would get a reminder" in out.getvalue()
    assert "[" in err.getvalue() and "1/1" in err.getvalue()
    assert mailoutbox == [] and not Reminder.objects.exists()


def test_command_sends_for_one_project(survey, shown, make_project, mailoutbox):
    shown(email="mine@example.com")
    other = make_project()
    out = StringIO()
    call_command("satismeter_send_reminders", "--project", str(other.pk), stdout=out)
    assert mailoutbox == []
    call_command("satismeter_send_reminders", "--project", str(survey.project_id), stdout=out)
    assert [m.to for m in mailoutbox] == [["mine@example.com"]]


def test_admin_shows_reminders_sent_and_answered(survey, shown, admin_client, client):
    shown(), shown()
    reminders.send_all()
    client.get(_path(reminders.link(Reminder.objects.first(), "score", 9)))
    page = admin_client.get(f"/admin/satismeter_app/survey/{survey.pk}/change/")
    assert "2 / 1" in page.content.decode()


# --- the links ---------------------------------------------------------------------------------


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def reminder(survey, shown, mailoutbox) -> Reminder:
    shown(email="click@example.com")
    reminders.send_all()
    return Reminder.objects.get()


def test_a_score_link_records_once_and_asks_the_followup(client, reminder):
    page = client.get(_path(reminders.link(reminder, "score", 3)))
    assert page.status_code == 200
    assert "What disappointed you" in page.content.decode()
    again = client.get(_path(reminders.link(reminder, "score", 10)))
    assert again.status_code == 200
    response = Response.objects.get()
    assert (response.rating, response.method, response.user_id) == (3, "Email", reminder.user_id)
    reminder.refresh_from_db()
    assert reminder.response_id == response.pk


def test_the_followup_completes_the_response_with_the_same_events(client, reminder):
    Integration.objects.create(project=reminder.project, kind="segment", secret="wk")
    page = client.get(_path(reminders.link(reminder, "score", 9)))
    auth = re.search(r'name="auth" value="([^"]+)"', page.content.decode()).group(1)
    done = client.post(
        _path(reminders.link(reminder, "score", 9)), {"auth": auth, "feedback": "Fast"}
    )
    assert "Thank you for your feedback!" in done.content.decode()
    response = Response.objects.get()
    assert (response.feedback, response.completed) == ("Fast", True)
    assert sorted(Delivery.objects.values_list("event", flat=True)) == ["answered", "completed"]
    user = EndUser.objects.get(pk=reminder.user_id)
    assert user.history["surveys"][str(reminder.survey_id)]["answered"]


def test_a_click_after_answering_in_the_app_records_nothing(client, reminder, make_response):
    make_response(reminder.survey, user=reminder.user, rating=6)
    page = client.get(_path(reminders.link(reminder, "score", 10)))
    assert page.status_code == 410
    assert "already answered" in page.content.decode()
    assert list(Response.objects.values_list("rating", flat=True)) == [6]


def test_head_requests_record_nothing(client, reminder):
    assert client.head(_path(reminders.link(reminder, "score", 9))).status_code == 200
    assert not Response.objects.exists()


def test_a_forged_or_expired_link_records_nothing(client, reminder, settings):
    url = _path(reminders.link(reminder, "score", 9))
    assert client.get(url[:-2] + "xx").status_code == 404
    assert (
        client.get(_path(reminders.link(reminder, "honeypot")).replace("/h/", "/r/")).status_code
        == 404
    )
    settings.SATISMETER = {**settings.SATISMETER, "REMINDER_LINK_MAX_AGE": -1}
    assert client.get(url).status_code == 404
    assert not Response.objects.exists()


def test_after_the_honeypot_a_score_click_only_asks_to_confirm(client, reminder):
    assert client.get(_path(reminders.link(reminder, "honeypot"))).status_code == 204
    url = _path(reminders.link(reminder, "score", 10))
    page = client.get(url)
    assert 'name="confirm"' in page.content.decode()
    assert not Response.objects.exists()
    reminder.refresh_from_db()
    assert reminder.scanner_hits == 1
    client.post(url, {"confirm": "1"})
    assert Response.objects.get().rating == 10


def test_after_the_honeypot_unsubscribing_asks_to_confirm(client, reminder):
    client.get(_path(reminders.link(reminder, "honeypot")))
    url = _path(reminders.link(reminder, "unsubscribe"))
    assert 'name="confirm"' in client.get(url).content.decode()
    assert not Unsubscribe.objects.exists()
    client.post(url, {"confirm": "1"})
    assert Unsubscribe.objects.get().email == "click@example.com"


def test_mail_clients_unsubscribe_with_a_one_click_post(reminder, mailoutbox):
    message = mailoutbox[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = _path(message.extra_headers["List-Unsubscribe"].strip("<>"))
    csrf_checking = Client(enforce_csrf_checks=True)
    assert csrf_checking.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Unsubscribe.objects.filter(email="click@example.com").exists()


def test_the_unsubscribe_link_puts_the_address_on_the_list(client, reminder):
    page = client.get(_path(reminders.link(reminder, "unsubscribe")))
    assert page.status_code == 200 and "click@example.com" in page.content.decode()
    assert list(Unsubscribe.objects.values_list("email", "source")) == [
        ("click@example.com", "link")
    ]
    assert EndUser.objects.get(pk=reminder.user_id).unsubscribed
    client.get(_path(reminders.link(reminder, "unsubscribe")))
    assert Unsubscribe.objects.count() == 1


@pytest.mark.parametrize("language", ["en", "de", "ru", "ar", "ja"])
def test_the_unsubscribe_page_says_so_in_the_users_language(client, survey, shown, language):
    shown(email="lang@example.com", language=language)
    reminders.send_all()
    page = client.get(_path(reminders.link(Reminder.objects.get(), "unsubscribe")))
    strings = i18n.catalog(language)
    html = page.content.decode()
    assert f'<h1 id="message">{strings["UNSUBSCRIBED"]}</h1>' in html
    assert '<p id="detail">lang@example.com</p>' in html
    assert strings["UNSUBSCRIBE"] not in html


# --- several workers ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_email_each(survey, shown, mailoutbox):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs at once")
    for _ in range(20):
        shown()
    survey = Survey.objects.select_related("project").get(pk=survey.pk)
    start = threading.Barrier(2)
    reports = []

    def work() -> None:
        try:
            start.wait()
            reports.append(reminders.send_for_survey(survey, timezone.now()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 20
    assert len(mailoutbox) == 20
    assert len({m.to[0] for m in mailoutbox}) == 20
