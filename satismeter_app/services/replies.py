"""Replying to a respondent (docs/email.md, "Replying to a respondent").

Staff write a subject and a message on a response's page; the respondent gets an email:

* **From** the survey's sender (:func:`reminders.sender`: the survey's sender name and
  address, else ``DEFAULT_FROM_EMAIL``), **To** the respondent's address, **Reply-To** the
  ``REPLY_TO_EMAIL`` setting, else the address of the staff member who wrote it (none when
  they have none: answers then go to the sender);
* the greeting and footer in the respondent's language (the response's, else the user's, else
  the project's default; :func:`i18n.reply_strings`), the staff's text as written (escaped in
  the HTML part, its line breaks kept), right-to-left where the language is; the subject
  ``Re: <the survey's question in that language>`` unless staff set one.

Never to a user who may not be emailed (:meth:`EndUser.mail_refusal`: erased, no address,
unsubscribed by flag or list) nor to an address that is not one bare, valid address
(:func:`reminders.recipient_problem`): :class:`ReplyRefused` says why, and nothing is queued.
The email is rendered and written as a Delivery row of the outbox (destination ``"reply"``)
with its :class:`Reply`, in one transaction; the outbox sends it, retries it while the mail
server defers or is down, and asks again before sending whether the address may be emailed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .. import i18n, outbox
from ..conf import app_settings
from ..destinations.mail import REPLY
from ..exceptions import ReplyRefused
from ..models import Delivery, Reply, Response
from . import reminders

TEMPLATES = "satismeter_app/email/reply"
MAX_SUBJECT_LENGTH = 200
MAX_BODY_LENGTH = 10_000


@dataclass(frozen=True)
class TimelineEntry:
    """One dated entry of a response's timeline: here, a reply and its state."""

    when: datetime
    kind: str
    reply: Reply


def refusal(response: Response) -> str | None:
    """Why no reply may go to the respondent, in staff's words, or None."""
    problem = response.user.mail_refusal()
    if problem is not None:
        return str(problem)
    address_problem = reminders.recipient_problem(response.user.email)
    if address_problem is not None:
        return _("The user's email address cannot be used: %(problem)s.") % {
            "problem": address_problem
        }
    return None


def language_of(response: Response) -> str:
    candidates = [response.language, response.user.language, response.project.default_language]
    return i18n.choose_language(candidates, default=app_settings.DEFAULT_LANGUAGE)


def default_subject(response: Response) -> str:
    """``Re:`` and the survey's question, in the respondent's language."""
    strings = reminders.survey_strings(response.survey, language_of(response))
    return f"Re: {strings['HOW_LIKELY']}"[:MAX_SUBJECT_LENGTH]


def reply_to_address(author: Any) -> str:
    """The setting's address, else the author's; "" when neither is one bare address."""
    address = app_settings.REPLY_TO_EMAIL or getattr(author, "email", "") or ""
    return "" if not address or reminders.recipient_problem(address) else address


def send_reply(response: Response, author: Any, subject: str, body: str) -> Reply:
    """Queue a reply to the respondent; :class:`ReplyRefused` when none may go (nothing is
    written then). The email goes out once the transaction commits."""
    problem = refusal(response)
    if problem is not None:
        raise ReplyRefused(problem)
    if not body.strip():
        raise ReplyRefused(_("Write a message."))
    subject = " ".join(subject.split())[:MAX_SUBJECT_LENGTH] or default_subject(response)
    reply = Reply(
        response=response,
        author=author if getattr(author, "pk", None) else None,
        to_email=response.user.email,
        reply_to=reply_to_address(author),
        subject=subject,
        body=body[:MAX_BODY_LENGTH],
        language=language_of(response),
    )
    with transaction.atomic():
        reply.delivery = Delivery.objects.create(
            project_id=response.project_id,
            response=response,
            destination=REPLY,
            event="reply",
            payload=email_payload(reply, response),
            message_id=str(uuid.uuid4()),
        )
        reply.save()
        outbox.schedule_replies()
    return reply


def email_payload(reply: Reply, response: Response) -> dict[str, str]:
    """The whole message, as the outbox sends it (destinations/mail.py)."""
    context = {
        "strings": i18n.reply_strings(reply.language),
        "language": reply.language,
        "direction": i18n.direction(reply.language),
        "subject": reply.subject,
        "body": reply.body,
    }
    return {
        "from": reminders.sender(response.survey),
        "to": reply.to_email,
        "reply_to": reply.reply_to,
        "subject": reply.subject,
        "text": render_to_string(f"{TEMPLATES}_message.txt", context),
        "html": render_to_string(f"{TEMPLATES}_message.html", context),
    }


def timeline(response: Response) -> list[TimelineEntry]:
    """The response's replies as dated entries, oldest first, each with its state."""
    replies = Reply.objects.filter(response=response).select_related("author", "delivery")
    return [TimelineEntry(reply.created, "reply", reply) for reply in replies]
