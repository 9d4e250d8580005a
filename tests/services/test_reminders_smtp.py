"""Reminders through a real SMTP server: Django's SMTP backend → aiosmtpd on loopback; one
connection per batch, and the once-per-period guarantee when the server or the worker fails."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from django.core import signing
from django.core.mail.backends.smtp import EmailBackend
from django.template.loader import render_to_string
from django.utils import timezone

from satismeter_app.models import ApiKey, Display, Reminder, Response, Survey
from satismeter_app.services import reminders
from tests.delivery.harness import free_port
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def sent(project, make_survey, make_end_user, smtp) -> EmailMessage:
    survey = make_survey(
        project,
        reminders_enabled=True,
        reminder_sender_name="Acme Team",
        reminder_sender_email="team@acme.test",
        min_tenure_days=0,
    )
    user = make_end_user(project, email="ann@example.com", language="de")
    when = timezone.now() - timedelta(days=10)
    Display.objects.create(project=project, survey=survey, user=user, created=when)
    assert reminders.send_all().sent == 1
    assert smtp.envelopes == [("team@acme.test", ["ann@example.com"])]
    return smtp.messages[0]


def _links(message: EmailMessage) -> dict[str, list[str]]:
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    hrefs = [re.sub(r"^https?://[^/]+", "", h) for h in re.findall(r'href="([^"]+)"', html)]
    return {kind: [h for h in hrefs if f"/email/{kind}/" in h] for kind in "ruh"}


def test_the_received_message_has_both_parts_in_the_users_language(sent):
    assert sent["From"] == "Acme Team <team@acme.test>"
    assert sent["To"] == "ann@example.com"
    assert sent["List-Unsubscribe"].strip().startswith("<http")
    text = sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = sent.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "/email/r/" in text
    assert 'lang="de"' in html and 'dir="ltr"' in html
    assert "Wie wahrscheinlich" in sent["Subject"]
    links = _links(sent)
    assert (len(links["r"]), len(links["u"]), len(links["h"])) == (11, 1, 1)


def test_following_a_score_link_records_the_response_once(sent, client):
    eight = _links(sent)["r"][8]
    page = client.get(eight)
    assert page.status_code == 200
    assert "<textarea" in page.content.decode()
    client.get(eight)
    client.get(_links(sent)["r"][2])
    response = Response.objects.get()
    assert (response.rating, response.method, response.language) == (8, "Email", "de")
    assert Reminder.objects.get().response_id == response.pk


def test_the_honeypot_records_nothing_and_marks_a_scanner(sent, client):
    links = _links(sent)
    assert client.get(links["h"][0]).status_code == 204
    assert "confirm" in client.get(links["r"][10]).content.decode()
    assert not Response.objects.exists()
    assert Reminder.objects.get().scanner_hits == 1


def test_unsubscribing_shows_in_the_v2_unsubscribes_api(sent, client, api_client, project):
    assert client.get(_links(sent)["u"][0]).status_code == 200
    key = ApiKey.issue(project, "reminders")[1]
    reply = api_client.get(
        f"/api/v2/project-unsubscribes/{project.pk}", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert reply.json()["data"]["attributes"]["emails"] == ["ann@example.com"]
    survey = Survey.objects.get()
    Reminder.objects.all().delete()
    assert list(reminders.select(survey, timezone.now())) == []


# --- batches: one SMTP connection each ---------------------------------------------------------


class Sessions(Collector):
    """Counts SMTP sessions (each connection greets once) and which one carried each message."""

    def __init__(self) -> None:
        super().__init__()
        self.greetings = 0
        self.peers: list[Any] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        self.greetings += 1
        session.host_name = hostname  # what aiosmtpd does when there is no hook
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sessions(settings) -> Iterator[Sessions]:
    with running_smtp(settings, Sessions()) as server:
        yield server


def _due(project, make_survey, make_end_user, surveys: int, users: int) -> list[Survey]:
    """``users`` users, each shown one of ``surveys`` surveys ten days ago."""
    made = [make_survey(project, reminders_enabled=True, min_tenure_days=0) for _ in range(surveys)]
    when = timezone.now() - timedelta(days=10)
    for i in range(users):
        user = make_end_user(project, email=f"u{i}@example.com")
        Display.objects.create(project=project, survey=made[i % surveys], user=user, created=when)
    return made


@pytest.mark.parametrize(("batch_size", "connections"), [(2000, 1), (3, 3)])
def test_a_batch_of_reminders_goes_through_one_smtp_connection(
    project, make_survey, make_end_user, sessions, settings, batch_size, connections
):
    settings.SATISMETER = {**settings.SATISMETER, "REMINDER_BATCH_SIZE": batch_size}
    _due(project, make_survey, make_end_user, surveys=3, users=7)

    assert reminders.send_all().sent == 7

    assert len(sessions.messages) == 7
    assert sessions.greetings == connections == math.ceil(7 / batch_size)
    assert len(set(sessions.peers)) == connections
    assert sorted(r for _, (r,) in sessions.envelopes) == sorted(
        f"u{i}@example.com" for i in range(7)
    )


def test_with_the_smtp_server_down_nothing_is_claimed_and_the_next_run_sends(
    project, make_survey, make_end_user, settings
):
    _due(project, make_survey, make_end_user, surveys=2, users=3)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    with pytest.raises(ConnectionRefusedError):
        reminders.send_all()
    assert not Reminder.objects.exists()

    with running_smtp(settings, Collector()) as server:
        assert reminders.send_all().sent == 3
    assert len(server.messages) == 3


class DiesAfterOne(Collector):
    """The worker's process ends (here: an exception no one catches) once one message is out."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        raise_in_worker.set()
        return answer


raise_in_worker = threading.Event()


def test_a_worker_dying_mid_batch_never_causes_a_second_email(
    project, make_survey, make_end_user, settings, monkeypatch
):
    _due(project, make_survey, make_end_user, surveys=1, users=4)
    raise_in_worker.clear()
    send_messages = EmailBackend.send_messages

    def dying(self: EmailBackend, messages: list[Any]) -> int:
        if raise_in_worker.is_set():
            raise SystemExit("killed")
        return send_messages(self, messages)

    with running_smtp(settings, DiesAfterOne()) as server:
        monkeypatch.setattr(EmailBackend, "send_messages", dying)
        with pytest.raises(SystemExit):
            reminders.send_all()
        monkeypatch.undo()
        assert reminders.send_all().sent == 0  # the rest of the batch waits for the next period
    assert len(server.messages) == 1
    assert list(Reminder.objects.values_list("state", flat=True)) == ["sending"] * 4


# --- render once, fill each recipient's links ----------------------------------------------------


def test_the_email_is_what_the_templates_render_with_the_recipients_links(
    project, make_survey, make_end_user, settings, monkeypatch
):
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": "https://nps.test/a&b"}
    survey = make_survey(
        project, texts={"en": {"INTRO": 'Tom & Jerry\'s <b>"tool"</b>'}}, reminders_enabled=True
    )
    monkeypatch.setattr(signing.time, "time", lambda: 1_700_000_000)  # the same signatures
    made = [
        Reminder.objects.create(
            project=project,
            survey=survey,
            user=make_end_user(project),
            period=0,
            email=f"r{i}@example.com",
            language="en",
            nonce=f"n{i}",
        )
        for i in range(2)
    ]
    composer = reminders.Composer()

    for reminder in made:
        message = composer.compose(reminder)
        context = reminders.template_context(survey, "en", partial(reminders.link, reminder))
        name = "satismeter_app/email/reminder"
        assert message.body == render_to_string(f"{name}_message.txt", context)
        assert message.alternatives[0][0] == render_to_string(f"{name}_message.html", context)
        assert "https://nps.test/a&amp;b/email/r/" in message.alternatives[0][0]
        assert (
            "Tom &amp; Jerry&#x27;s &lt;b&gt;&quot;tool&quot;&lt;/b&gt;"
            in message.alternatives[0][0]
        )
        assert "https://nps.test/a&b/email/r/" in message.body
