"""Slack: a Block Kit message per response, made with slack_sdk's block models and posted to
the incoming-webhook URL over the destinations' one session.

The integration's secret is the incoming-webhook URL (the URL is the credential, so it is
never shown back and error messages name only its host). Which responses go is decided when
the outbox row is written (:meth:`SlackDestination.wants`: every response, detractors only,
or only those with a comment).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import links, nps
from ..conf import app_settings
from ..questions import BUILT_IN
from .base import (
    REFUSED_HOST,
    Built,
    Destination,
    Extra,
    Request,
    Secret,
    compact_json,
    http_url,
    user_of,
)

if TYPE_CHECKING:
    from ..models import Delivery

# Block Kit's limits: header text 150 characters, a section's text 3,000, a field's 2,000.
HEADER_LIMIT = 150
COMMENT_LIMIT = 2900
FIELD_LIMIT = 1900
FALLBACK_COMMENT_LIMIT = 200
_PARTIAL_ESCAPE = re.compile(r"&[a-z]{0,3}$")
CATEGORY_EMOJI = {"promoter": ":star-struck:", "passive": ":neutral_face:", "detractor": ":rage:"}
EXTRA = Extra(
    module="slack_sdk", package="slack_sdk", name="slack", uses=("slack_sdk.models.blocks",)
)
# The "post" setting: which responses reach the channel.
FILTERS = {
    "all": _("Every response"),
    "detractors": _("Detractors only (0–6)"),
    "commented": _("Only responses with a comment"),
}


def passes_filter(name: str, payload: Mapping[str, Any]) -> bool:
    """Whether a snapshot passes the "post" setting ``name``."""
    response = payload.get("response") or {}
    if name == "detractors":
        return bool(response.get("category") == nps.DETRACTOR)
    if name == "commented":
        return bool(response.get("feedback"))
    return True


def webhook_url(secret: str) -> None:
    """The secret of a Slack integration is its incoming-webhook URL."""
    try:
        http_url(secret)
    except ValidationError as error:
        if error.code == REFUSED_HOST:
            raise
        raise ValidationError(
            _("Use the Slack incoming-webhook URL (https://hooks.slack.com/…).")
        ) from None


def _sdk(module: str) -> Any:
    """A module of slack_sdk; without the package, the error that names the pip extra."""
    try:
        return importlib.import_module(f"slack_sdk.{module}")
    except ImportError as exc:
        raise EXTRA.missing() from exc


def escape(text: Any) -> str:
    """Slack's mrkdwn treats &, < and > as markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def literal(text: Any, limit: int) -> str:
    """Text someone typed, for mrkdwn, shown as typed: escaped, so that ``<!channel>`` does
    not notify and ``<https://…|label>`` does not link, and then cut to ``limit`` characters
    (never inside an escape). The blocks and the notification fallback both use it."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ESCAPE.sub("", escaped[: limit - 1]) + "…"


def describe_user(user: Mapping[str, Any]) -> str:
    name = user.get("name") or user.get("userId") or user.get("anonymousId") or "anonymous"
    parts = [escape(name)]
    if user.get("email"):
        parts.append(f"<mailto:{escape(user['email'])}|{escape(user['email'])}>")
    if user.get("userId") and user.get("name"):
        parts.append(f"(`{escape(user['userId'])}`)")
    return " ".join(parts)


def admin_link(response_id: Any) -> str:
    """The response's page in the admin, when this server's base URL is known."""
    from django.urls import NoReverseMatch

    if not app_settings.PUBLIC_BASE_URL or not str(response_id).isdigit():
        return ""
    try:
        return links.public_url("admin:satismeter_app_response_change", response_id)
    except NoReverseMatch:
        return ""


def slack_message(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The Block Kit message for one outbox row; ``text`` is the notification fallback."""
    blocks = _sdk("models.blocks")
    response = payload.get("response") or {}
    campaign = payload.get("campaign") or {}
    rating, category = response.get("rating"), response.get("category") or "—"
    title = f"New NPS response: {rating}" if rating is not None else "New response"
    if event == "test":
        title = "Test message from django-satismeter"
    comment = response.get("feedback") or ""
    emoji, score = CATEGORY_EMOJI.get(category, ""), response.get("score")
    fields = [
        f"*Score*\n{rating} {emoji} ({category}, {score})",
        f"*Survey*\n{escape(campaign.get('name') or campaign.get('id'))}",
        f"*User*\n{describe_user(user_of(payload))}",
        f"*Method*\n{escape(response.get('method') or '—')}",
    ]
    quoted = _quote(literal(comment, COMMENT_LIMIT))
    content = [
        blocks.HeaderBlock(text=blocks.PlainTextObject(text=_short(title, HEADER_LIMIT))),
        blocks.SectionBlock(
            fields=[blocks.MarkdownTextObject(text=_short(f, FIELD_LIMIT)) for f in fields]
        ),
        blocks.SectionBlock(text=blocks.MarkdownTextObject(text=quoted or "_No comment_")),
        *(
            blocks.SectionBlock(text=blocks.MarkdownTextObject(text=_short(text, COMMENT_LIMIT)))
            for text in answer_texts(payload)
        ),
    ]
    link = admin_link(response.get("id"))
    if link:
        context = blocks.MarkdownTextObject(text=f"<{link}|View the response in the admin>")
        content.append(blocks.ContextBlock(elements=[context]))
    return {
        "text": _fallback(title, category, campaign.get("name") or campaign.get("id"), comment),
        "blocks": [block.to_dict() for block in content],
    }


def _quote(text: str) -> str:
    return "\n".join(f">{line}" for line in text.splitlines())


def answer_texts(payload: Mapping[str, Any]) -> list[str]:
    """The answers beyond the rating and the comment, one mrkdwn text each: the question's
    label, then the answer as people read it (a choice by its text, in the project's default
    language, from the payload's ``choiceLabels``; a long text quoted)."""
    response = payload.get("response") or {}
    labels = payload.get("choiceLabels") or {}
    texts = []
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict) or answer.get("id") in BUILT_IN:
            continue
        question = escape(answer.get("label") or answer.get("id"))
        said = _answer_text(answer, labels.get(answer.get("id")) or {})
        texts.append(f"*{question}*\n{said}")
    return texts


def _answer_text(answer: Mapping[str, Any], choices: Mapping[str, str]) -> str:
    value = answer.get("value")
    if isinstance(value, list):
        return escape(", ".join(_choice(v, choices) for v in value)) or "—"
    if answer.get("type") == "long-text":
        return _quote(literal(value or "", FIELD_LIMIT)) or "—"
    return escape(_choice(value, choices))


def _choice(value: Any, choices: Mapping[str, str]) -> str:
    return choices.get(value, value) if isinstance(value, str) else str(value)


def _fallback(title: str, category: str, survey: Any, comment: str) -> str:
    """The notification text (and what clients without blocks show): mrkdwn too."""
    said = literal(comment, FALLBACK_COMMENT_LIMIT) or "no comment"
    return f"{title} ({category}) on {literal(survey, FIELD_LIMIT)}: {said}"


class SlackDestination(Destination):
    kind = "slack"
    label = _("Slack")
    description = _("A message per completed response, in the webhook's channel.")
    # A rating alone is usually followed by a comment, so one message per completed response
    # unless answered is ticked too.
    events = ("answered", "completed")
    default_events = ("completed",)
    secret = Secret(
        _("incoming-webhook URL"), _("Slack: the incoming-webhook URL."), (webhook_url,)
    )
    extra = EXTRA

    @classmethod
    def settings_fields(cls) -> dict[str, forms.Field]:
        return {
            "filter": forms.ChoiceField(
                label=_("post"), required=False, choices=list(FILTERS.items()), initial="all"
            )
        }

    @classmethod
    def wants(cls, event: str, payload: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
        return passes_filter(cls.with_defaults(settings)["filter"], payload)

    def build(self, deliveries: Sequence[Delivery]) -> Built:
        url = self.required(self.integration.secret, "incoming-webhook URL")
        # Posted over the base class's session (not slack_sdk's WebhookClient, whose urllib
        # connections the private-address check of network.py cannot see).
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return Built(
            requests=[
                Request(url, compact_json(slack_message(d.event, d.payload)), headers, [d])
                for d in deliveries
            ]
        )
