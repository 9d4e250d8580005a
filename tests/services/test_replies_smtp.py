"""Replies to respondents through the outbox and a real SMTP server (aiosmtpd on loopback):
who may get one, what arrives, and what a mail server that defers, refuses or is down does
to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from satismeter_app import outbox
from satismeter_app.destinations.mail import REPLY
from satismeter_app.exceptions import ReplyRefused
from satismeter_app.models import Delivery, Reply, Unsubscribe
from satismeter_app.services import privacy, replies, unsubscribes
from tests.delivery.harness import free_port
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = pytest.mark.django_db

STAFF_TEXT = "Danke für Ihr Feedback! <b>Wir</b> melden uns & helfen.\nZweite Zeile"


class Refusing(Collector):
    """Answers every recipient with ``reply`` (a 4xx defers, a 5xx refuses) while set."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp(settings) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def staff(make_staff, project) -> Any:
    return make_staff(project, email="anna@acme.test", first_name="Anna")


@pytest.fixture
def answered(project, make_survey, make_end_user, make_response) -> Any:
    survey = make_survey(
        project,
        reminder_sender_name="Acme Team",
        reminder_sender_email="team@acme.test",
        design={"serviceName": "Acme Cloud"},
    )
    user = make_end_user(project, email="ben@example.com", language="de")
    return make_response(survey, user=user, rating=3, feedback="Zu langsam", language="de")


def due_now() -> None:
    """Make every waiting row due, as time passing would."""
    Delivery.objects.filter(state=Delivery.State.PENDING).update(next_attempt_at=timezone.now())


def body_of(message: Any, kind: str) -> str:
    return message.get_body(preferencelist=(kind,)).get_content().replace("\r\n", "\n")


def test_the_reply_arrives_from_the_sender_to_the_respondent_in_their_language(
    answered, staff, smtp
):
    reply = replies.send_reply(answered, staff, "", STAFF_TEXT)
    assert outbox.send_due_replies().delivered == 1
    assert smtp.envelopes == [("team@acme.test", ["ben@example.com"])]
    message = smtp.messages[0]
    assert message["From"] == "Acme Team <team@acme.test>"
    assert message["To"] == "ben@example.com"
    assert message["Reply-To"] == "anna@acme.test"
    assert message["Subject"] == (
        "Re: Wie wahrscheinlich ist es, dass Sie Acme Cloud einem Freund oder Kollegen empfehlen?"
    )
    text, html = body_of(message, "plain"), body_of(message, "html")
    assert text.startswith("Hallo,") and STAFF_TEXT in text
    assert "Diese E-Mail antwortet auf Ihr Feedback" in text
    assert 'lang="de"' in html and 'dir="ltr"' in html and "Hallo," in html
    assert "&lt;b&gt;Wir&lt;/b&gt; melden uns &amp; helfen.<br>Zweite Zeile" in html
    assert "<b>Wir</b>" not in html
    reply.refresh_from_db()
    assert reply.state == Reply.State.SENT
    assert [e.reply.pk for e in replies.timeline(answered)] == [reply.pk]


def test_staff_may_set_the_subject_and_the_project_a_shared_reply_to(
    answered, staff, smtp, settings
):
    settings.SATISMETER = {**settings.SATISMETER, "REPLY_TO_EMAIL": "support@acme.test"}
    replies.send_reply(answered, staff, "  Ihre   Bewertung\n", "Hallo Ben")
    outbox.send_due_replies()
    assert smtp.messages[0]["Subject"] == "Ihre Bewertung"
    assert smtp.messages[0]["Reply-To"] == "support@acme.test"


@pytest.mark.parametrize(
    ("language", "greeting", "direction"),
    [("ar", "مرحبًا،", "rtl"), ("fr-CA", "Bonjour,", "ltr"), ("ko", "Hello,", "ltr")],
)
def test_greeting_and_direction_follow_the_language_with_english_for_the_rest(
    answered, staff, language, greeting, direction
):
    answered.language = language
    reply = replies.send_reply(answered, staff, "", "Thanks")
    payload = reply.delivery.payload
    assert payload["text"].startswith(greeting)
    assert f'dir="{direction}"' in payload["html"]


def test_a_server_that_is_down_delays_the_reply_until_it_comes_back(answered, staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    reply = replies.send_reply(answered, staff, "", "Hallo")
    report = outbox.send_due_replies()
    assert (report.claimed, report.retrying) == (1, 1)
    row = Delivery.objects.get()
    assert row.state == Delivery.State.PENDING and row.next_attempt_at > timezone.now()
    assert "No answer from the mail server" in row.last_error
    assert outbox.send_due_replies().claimed == 0  # not due yet
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING
    with running_smtp(settings, Collector()) as smtp:
        due_now()
        assert outbox.send_due_replies().delivered == 1
    assert len(smtp.messages) == 1
    assert Reply.objects.get().state == Reply.State.SENT
    assert Delivery.objects.get().attempts == 2


def test_a_deferring_server_gets_the_reply_again_and_a_refusing_one_kills_it(
    answered, staff, settings
):
    with running_smtp(settings, Refusing("451 4.7.1 Try again later")) as smtp:
        replies.send_reply(answered, staff, "", "Hallo")
        assert outbox.send_due_replies().retrying == 1
        assert "deferred the message (SMTP 451)" in Delivery.objects.get().last_error
        smtp.reply = "550 5.1.1 No such user"
        due_now()
        assert outbox.send_due_replies().dead == 1
    row = Delivery.objects.get()
    assert row.state == Delivery.State.DEAD
    assert row.last_error == "The mail server refused the message (SMTP 550)."
    assert "ben@example.com" not in row.last_error
    assert Reply.objects.get().state == Reply.State.FAILED
    assert smtp.messages == []


@pytest.mark.parametrize("why", ["flag", "list", "no address", "erased", "bad address"])
def test_no_reply_is_queued_for_who_may_not_be_emailed(answered, staff, why):
    user = answered.user
    if why == "flag":
        user.unsubscribed = True
    elif why == "list":
        Unsubscribe.objects.create(project=user.project, email="BEN@example.com", source="api")
    elif why == "no address":
        user.email = ""
    elif why == "bad address":
        user.email = "ben@example.com, eve@example.com"
    user.save()
    if why == "erased":
        privacy.erase_user(user)
        answered.refresh_from_db()
    with pytest.raises(ReplyRefused):
        replies.send_reply(answered, staff, "", "Hallo")
    assert not Delivery.objects.exists() and not Reply.objects.exists()


def test_an_address_unsubscribed_after_the_reply_was_written_gets_nothing(answered, staff, smtp):
    replies.send_reply(answered, staff, "", "Hallo")
    unsubscribes.add(answered.project_id, "ben@example.com")
    assert outbox.send_due_replies().dead == 1
    assert smtp.messages == []
    assert Delivery.objects.get().last_error == "Not sent. The user unsubscribed from email."
    assert Reply.objects.get().state == Reply.State.FAILED


def test_the_sweep_keeps_reply_rows_and_enqueues_their_queue(answered, staff):
    enqueued: list[Any] = []

    def listen(sender: Any, **kwargs: Any) -> None:
        enqueued.append(sender)

    outbox.replies_due.connect(listen)
    try:
        replies.send_reply(answered, staff, "", "Hallo")
        outbox.sweep()
    finally:
        outbox.replies_due.disconnect(listen)
    assert Delivery.objects.get().state == Delivery.State.PENDING
    assert Delivery.objects.get().destination == REPLY
    assert len(enqueued) == 1


def test_erasing_the_user_keeps_only_the_dates_of_the_replies(answered, staff, smtp):
    replies.send_reply(answered, staff, "Ihre Bewertung", "Hallo Ben")
    outbox.send_due_replies()
    privacy.erase_user(answered.user)
    reply = Reply.objects.get()
    assert (reply.to_email, reply.subject, reply.body) == ("", "", "")
    assert Delivery.objects.get().payload == {"erased": True}


def test_retry_now_sends_a_dead_reply_again(
    answered, staff, settings, django_capture_on_commit_callbacks
):
    with running_smtp(settings, Refusing("550 5.7.1 Policy")) as smtp:
        replies.send_reply(answered, staff, "", "Hallo")
        assert outbox.send_due_replies().dead == 1
        smtp.reply = ""  # the postmaster fixed the policy
        enqueued: list[Any] = []

        def listen(sender: Any, **kwargs: Any) -> None:
            enqueued.append(sender)

        outbox.replies_due.connect(listen)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                assert outbox.retry_now(Delivery.objects.all()) == 1
        finally:
            outbox.replies_due.disconnect(listen)
        assert enqueued == [Delivery]
        assert outbox.send_due_replies().delivered == 1
    assert len(smtp.messages) == 1
    assert Reply.objects.get().state == Reply.State.SENT


def test_a_message_the_mail_library_refuses_dies_instead_of_blocking_the_queue(
    answered, staff, smtp
):
    reply = replies.send_reply(answered, staff, "", "Hallo")
    delivery = reply.delivery
    delivery.payload = {**delivery.payload, "from": "Acme\n<team@acme.test>"}
    delivery.save()
    replies.send_reply(answered, staff, "", "Noch einmal")
    report = outbox.send_due_replies()
    assert (report.dead, report.delivered) == (1, 1)
    assert "cannot be sent as written" in Delivery.objects.get(pk=delivery.pk).last_error
    assert len(smtp.messages) == 1
