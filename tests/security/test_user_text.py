"""Text a visitor sends never speaks in the company's voice (issue #13, items 1, 9 and 11).

A visitor holding the public write key can set any trait of the user they identify as. The
``translation`` trait overrides only the widget answer of the very call that sends it; stored
traits never reach an email, an email landing page, the widget of a later call, or Slack
unescaped. Reminders go to one valid address or to nobody, and their failures are logged by
ids, never by address.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from satismeter_app import outbox, tasks
from satismeter_app.destinations.slack import slack_message
from satismeter_app.models import Display, EndUser, Integration, Project, Reminder, Survey
from satismeter_app.services import reminders, responses
from satismeter_app.services.snapshots import project_config
from tests.delivery.harness import Sink
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = pytest.mark.django_db

FORGED = {
    "SUBJECT": "Security alert: your account is locked",
    "INTRO": "Sign in again at https://evil.example/login within 24 hours.",
    "HOW_LIKELY": "Forged question?",
    "OUTRO": "The security team",
    "UNSUBSCRIBE": "Forged unsubscribe",
    "UNSUBSCRIBED": "Forged unsubscribed",
    "FOLLOWUP": "Forged follow-up: type your password",
    "FILLED": "Forged filled",
    "THANKS": "Forged thanks",
}
FORGED_WORDS = ("Security alert", "evil.example", "Forged", "security team")


@pytest.fixture
def smtp(settings) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def survey(project: Project, make_survey: Callable[..., Survey]) -> Survey:
    return make_survey(
        project,
        name="Quarterly NPS",
        reminders_enabled=True,
        reminder_delay_days=7,
        min_tenure_days=0,
    )


def widget(client: Any, project: Project, **body: Any) -> Any:
    return client.post("/api/widget", {"writeKey": project.write_key, **body}, format="json")


def shown_ten_days_ago(client: Any, project: Project, survey: Survey, **body: Any) -> EndUser:
    """The visitor's call, as the widget makes it: identify, then the display of the survey."""
    assert widget(client, project, **body).json()["widget"]["visible"] is True
    display = {"writeKey": project.write_key, "campaign": str(survey.pk), **body}
    assert client.post("/api/displays", display, format="json").status_code == 201
    Display.objects.update(created=timezone.now() - timedelta(days=10))
    return EndUser.objects.get(user_id=body["userId"])


def parts(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    return f"{message['Subject']}\n{text}\n{html}"


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- item 1: the translation trait ---------------------------------------------------------------


def test_a_visitors_translation_never_reaches_the_reminder_email(
    api_client, project, survey, smtp: Collector
):
    traits = {"email": "victim@example.com", "language": "de", "translation": FORGED}
    shown_ten_days_ago(api_client, project, survey, userId="victim-1", traits=traits)

    tasks.send_reminders()  # the hourly job, to a real SMTP server

    (message,) = smtp.messages
    assert [rcpt for _, rcpt in smtp.envelopes] == [["victim@example.com"]]
    assert "Wie wahrscheinlich" in message["Subject"]  # the user's language still applies
    for word in FORGED_WORDS:
        assert word not in parts(message)


def test_the_email_landing_pages_ignore_the_translation_trait(
    api_client, client, project, survey, mailoutbox
):
    traits = {"email": "victim@example.com", "translation": FORGED}
    shown_ten_days_ago(api_client, project, survey, userId="victim-2", traits=traits)
    reminders.send_all()
    reminder = Reminder.objects.get()

    followup = client.get(path_of(reminders.link(reminder, "score", 3))).content.decode()
    again = client.get(path_of(reminders.link(reminder, "score", 9))).content.decode()
    unsubscribed = client.get(path_of(reminders.link(reminder, "unsubscribe"))).content.decode()

    assert "What disappointed you" in followup
    assert "You have already answered" in again
    for page in (followup, again, unsubscribed):
        assert "Forged" not in page


def test_the_translation_applies_to_the_answer_of_its_own_call_only(api_client, project, survey):
    first = widget(api_client, project, userId="u1", traits={"translation": FORGED})
    later = widget(api_client, project, userId="u1")

    assert first.json()["widget"]["survey"]["translation"]["HOW_LIKELY"] == "Forged question?"
    assert "How likely" in later.json()["widget"]["survey"]["translation"]["HOW_LIKELY"]
    assert EndUser.objects.get().traits["translation"] == FORGED  # kept, as a trait


def test_a_visitor_posing_as_someone_else_does_not_change_their_widget(api_client, project, survey):
    widget(api_client, project, userId="ceo", traits={"translation": FORGED})  # the attacker

    mine = widget(api_client, project, userId="ceo", traits={"plan": "pro"})  # the real user

    strings = mine.json()["widget"]["survey"]["translation"]
    assert not any("Forged" in text for text in strings.values())


# --- item 1: one valid address ---------------------------------------------------------------------


MANY = "the email trait holds more than one address"
NAMED = "the email trait holds a display name or quotes, not a bare address"
BAD_ADDRESSES = [
    ("victim@example.com, other@example.com", MANY),
    ("victim@example.com;other@example.com", MANY),
    ("Victim <victim@example.com>", NAMED),
    ('"victim@example.com" <other@example.com>', NAMED),
    ("victim@example.com\nBcc: other@example.com", "the email trait holds a line break"),
    ("victim at example.com", "the email trait is not a valid address"),
]


@pytest.mark.parametrize(("address", "why"), BAD_ADDRESSES)
def test_an_invalid_address_stays_a_trait_but_receives_nothing(
    api_client, project, survey, smtp: Collector, address: str, why: str
):
    user = shown_ten_days_ago(api_client, project, survey, userId="many", traits={"email": address})

    report = reminders.send_all()

    assert smtp.envelopes == []
    assert (report.sent, report.invalid) == (0, 1)
    assert EndUser.objects.get(pk=user.pk).traits["email"] == address
    out = StringIO()
    call_command("satismeter_send_reminders", "--dry-run", stdout=out, stderr=StringIO())
    assert f"user {user.pk}: no reminder: {why}" in out.getvalue()
    assert "0 user(s) would get a reminder" in out.getvalue()


# --- item 11: failed reminders are logged by ids ---------------------------------------------------


class Refusing(Collector):
    """An SMTP server that refuses every recipient, naming the address in its answer."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected"


@pytest.fixture
def refusing(settings) -> Iterator[Refusing]:
    with running_smtp(settings, Refusing()) as server:
        yield server


def test_a_failed_reminder_logs_the_user_not_the_address(
    api_client, project, survey, refusing, caplog
):
    traits = {"email": "private.person@example.com"}
    user = shown_ten_days_ago(api_client, project, survey, userId="p1", traits=traits)

    with caplog.at_level(logging.DEBUG):
        assert reminders.send_all().failed == 1

    ours = [record for record in caplog.records if record.name.startswith("satismeter_app")]
    logged = "\n".join(logging.Formatter().format(record) for record in ours)
    assert "private.person" not in logged
    assert f"user {user.pk}" in logged and "SMTPRecipientsRefused" in logged


# --- item 9: Slack's fallback text -----------------------------------------------------------------

ATTACK = "<!channel> <https://evil.example|verify your account> & more"
ESCAPED = "&lt;!channel&gt; &lt;https://evil.example|verify your account&gt; &amp; more"


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    yield server
    server.stop()


def test_slacks_fallback_text_escapes_the_comment_like_the_blocks(
    project, survey, make_end_user, sink: Sink
):
    Integration.objects.create(project=project, kind="slack", secret=f"{sink.url}/services/T/B/x")
    data = responses.ResponseInput(rating=2, feedback=ATTACK, completed=True)
    config = project_config(project.write_key)
    responses.start_response(config, make_end_user(project), survey.pk, data, now=timezone.now())

    outbox.send_all_due()

    (request,) = sink.received
    body = request.json()
    assert "<!channel>" not in body["text"] and "<https://" not in body["text"]
    assert ESCAPED in body["text"]
    assert ESCAPED in json.dumps(body["blocks"])


def test_slacks_fallback_text_escapes_the_survey_name_too():
    payload = {"response": {"rating": 9, "feedback": ""}, "campaign": {"name": "<!here> NPS"}}

    text = slack_message("completed", payload)["text"]

    assert "<!here>" not in text and "&lt;!here&gt; NPS" in text
