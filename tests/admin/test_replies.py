"""The reply form on a response's page: who may reply, what a reply posts, and what the page
shows of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from satismeter_app import outbox
from satismeter_app.models import Delivery, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(project, survey, make_end_user, make_response) -> Any:
    user = make_end_user(project, email="ben@example.com", language="fr")
    return make_response(survey, user=user, rating=9, feedback="Très bien", language="fr")


def page_url(response: Any) -> str:
    return reverse("admin:satismeter_app_response_change", args=[response.pk])


def reply_url(response: Any) -> str:
    return reverse("admin:satismeter_app_response_reply", args=[response.pk])


def test_a_member_replies_and_sees_the_reply_pending_then_sent(
    client, make_staff, project, answered, mailoutbox, django_assert_max_num_queries
):
    staff = make_staff(project, email="anna@acme.test")
    client.force_login(staff)
    page = client.get(page_url(answered)).content.decode()
    assert 'id="replies"' in page and 'name="message"' in page
    assert "Re: Quelle est la probabilité" in page  # the subject it will have
    posted = client.post(reply_url(answered), {"subject": "", "message": "Merci <3"})
    assert posted.status_code == 302 and posted["Location"].endswith("#replies")
    assert [str(m) for m in get_messages(posted.wsgi_request)] == [
        "Your reply to ben@example.com is on its way."
    ]
    reply = Reply.objects.get()
    assert (reply.author, reply.to_email, reply.reply_to) == (
        staff,
        "ben@example.com",
        "anna@acme.test",
    )
    assert reply.delivery.destination == "reply" and reply.delivery.integration is None
    client.post(reply_url(answered), {"subject": "Encore", "message": "Et merci"})
    # Whatever the number of replies (the page also has the work panel and the timeline).
    with django_assert_max_num_queries(18):
        page = client.get(page_url(answered)).content.decode()
    assert page.count("sm-reply-pending") == 2 and "Merci &lt;3" in page
    outbox.send_all_due()
    assert [m.to for m in mailoutbox] == [["ben@example.com"]] * 2
    assert "sm-reply-sent" in client.get(page_url(answered)).content.decode()


def test_staff_of_another_project_cannot_reply(client, make_staff, make_project, answered):
    client.force_login(make_staff(make_project()))
    posted = client.post(reply_url(answered), {"message": "Hello"})
    assert posted.status_code == 404
    assert not Reply.objects.exists() and not Delivery.objects.exists()


def test_replying_takes_a_post_with_the_csrf_token(make_staff, project, answered):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff(project))
    assert client.get(reply_url(answered)).status_code == 405
    assert client.post(reply_url(answered), {"message": "Hello"}).status_code == 403
    assert not Reply.objects.exists()


def test_an_unsubscribed_respondent_gets_no_form_and_a_post_is_refused(
    client, make_staff, project, answered
):
    answered.user.unsubscribed = True
    answered.user.save()
    client.force_login(make_staff(project))
    page = client.get(page_url(answered)).content.decode()
    assert 'name="message"' not in page
    assert "No reply can be sent: The user unsubscribed from email." in page
    posted = client.post(reply_url(answered), {"message": "Hello"})
    assert [str(m) for m in get_messages(posted.wsgi_request)] == [
        "The user unsubscribed from email."
    ]
    assert not Reply.objects.exists() and not Delivery.objects.exists()


def test_an_empty_message_is_refused(client, make_staff, project, answered):
    client.force_login(make_staff(project))
    posted = client.post(reply_url(answered), {"subject": "Hi", "message": "   "})
    assert [str(m) for m in get_messages(posted.wsgi_request)] == ["This field is required."]
    assert not Reply.objects.exists()


def test_the_section_speaks_the_staff_members_language(client, make_staff, project, answered):
    client.force_login(make_staff(project))
    with translation.override("en"):  # and back to English after: the middleware leaves German on
        page = client.get(page_url(answered), headers={"accept-language": "de"}).content.decode()
    assert "Der befragten Person antworten" in page and "Antwort senden" in page
