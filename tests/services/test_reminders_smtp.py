"""Reminders through a real SMTP server: Django's SMTP backend → aiosmtpd on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone

from satismeter_app.models import ApiKey, Display, Reminder, Response, Survey
from satismeter_app.services import reminders
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
