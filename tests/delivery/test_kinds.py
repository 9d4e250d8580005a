"""Each kind of integration as its Destination class declares it: the registry, every kind's
settings validation, and a configured subclass changing what its kind is."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from satismeter_app import checks
from satismeter_app.destinations import KINDS, destination_class, kind_class, kind_classes
from satismeter_app.destinations.base import LIFECYCLE_EVENTS
from satismeter_app.destinations.slack import SlackDestination
from satismeter_app.destinations.webhook import WebhookDestination
from satismeter_app.models import Integration, Project

LOCMEM = "satismeter_app.destinations.locmem.LocmemDestination"
HERE = "tests.delivery.test_kinds"


class EveryRatingSlack(SlackDestination):
    """A host's Slack that posts ratings as they come, without waiting for the comment."""

    default_events = ("answered", "completed")


class ChannelWebhook(WebhookDestination):
    """A host's webhook with one more setting, which its admin section shows."""

    @classmethod
    def settings_fields(cls) -> dict[str, forms.Field]:
        return super().settings_fields() | {
            "channel": forms.CharField(label=_("channel"), required=False, initial="#nps")
        }


class NotADestination:
    kind = "slack"


# --- the registry ---------------------------------------------------------------------------------


def test_the_stored_kinds_are_the_registrys_with_their_classes_labels() -> None:
    assert tuple(Integration.Kind.values) == KINDS
    assert [(kind, str(cls.label)) for kind, cls in kind_classes().items()] == [
        (value, str(label)) for value, label in Integration.Kind.choices
    ]


def test_every_kind_declares_what_it_takes() -> None:
    for kind, cls in kind_classes().items():
        assert cls.kind == kind
        assert set(cls.default_events) <= set(cls.events) <= set(LIFECYCLE_EVENTS)
        assert cls.secret is not None and str(cls.secret.name)
        assert set(cls.needs) <= set(cls.settings_fields())


def test_a_stand_in_leaves_the_declaration_to_the_built_in_class(settings: Any) -> None:
    settings.SATISMETER = {"DESTINATIONS": {"slack": LOCMEM}}

    assert destination_class("slack").__name__ == "LocmemDestination"
    assert kind_class("slack") is SlackDestination


@pytest.mark.parametrize("path", ["nowhere.Destination", f"{HERE}.NotADestination"])
def test_a_broken_class_never_stops_an_answer_from_being_recorded(
    settings: Any, project: Project, path: str
) -> None:
    settings.SATISMETER = {"DESTINATIONS": {"slack": path}}
    slack = Integration(project=project, kind="slack", secret="https://hooks.slack.com/x")

    assert kind_class("slack") is SlackDestination
    assert slack.wants("completed", {"response": {"rating": 9}})


# --- every kind's settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "valid"),
    [
        ("segment", {}),
        ("segment", {"region": "eu", "traits": []}),
        ("segment", {"host": "https://segment.example.com", "traits": ["NPS_rating"]}),
        ("slack", {"filter": "commented"}),
        ("webhook", {"url": "http://127.0.0.1:8080/hook"}),
    ],
)
def test_valid_settings_pass_unchanged(kind: str, valid: dict[str, Any]) -> None:
    assert kind_class(kind).clean_settings(valid) == valid


@pytest.mark.parametrize(
    ("kind", "invalid", "message"),
    [
        ("segment", ["eu"], "Use an object."),
        ("segment", {"regoin": "eu"}, "Unknown setting(s): regoin."),
        ("segment", {"region": "mars"}, "region: Select a valid choice. mars is not one"),
        ("segment", {"region": ""}, "region: leave it out rather than empty."),
        (
            "segment",
            {"host": "api.segment.io"},
            "host: write it in full, as https://api.segment.io",
        ),
        ("segment", {"host": "https://api.segment.io/v1"}, "host: leave out /v1"),
        ("segment", {"traits": "NPS_rating"}, "traits: Enter a list of values."),
        ("segment", {"traits": ["NPS_mood"]}, "traits: Select a valid choice. NPS_mood"),
        ("slack", {"filter": "promoters"}, "filter: Select a valid choice. promoters"),
        ("webhook", {"url": "ftp://example.com/x"}, "url: Enter a valid URL."),
    ],
)
def test_invalid_settings_are_refused_naming_the_setting(
    kind: str, invalid: Any, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        kind_class(kind).clean_settings(invalid)

    assert any(text.startswith(message) for text in caught.value.messages), caught.value.messages


def test_a_slack_secret_must_be_the_webhook_url() -> None:
    with pytest.raises(ValidationError, match="incoming-webhook URL"):
        SlackDestination.clean_secret("xoxb-a-bot-token")
    assert SlackDestination.clean_secret("https://hooks.slack.com/x") == "https://hooks.slack.com/x"


def test_settings_left_out_take_the_declared_defaults() -> None:
    segment = kind_class("segment")

    assert segment.with_defaults({"region": "eu"}) == {
        "region": "eu",
        "host": None,
        "traits": ["NPS_rating", "NPS_comment", "NPS_date", "CSAT_rating", "CES_rating"],
    }
    assert SlackDestination.with_defaults({}) == {"filter": "all"}


# --- a configured subclass declares its kind ------------------------------------------------------


def test_a_configured_subclass_changes_what_its_kind_sends(settings: Any, project: Project) -> None:
    slack = Integration(project=project, kind="slack", secret="https://hooks.slack.com/x")
    assert slack.sends == ("completed",)

    settings.SATISMETER = {"DESTINATIONS": {"slack": f"{HERE}.EveryRatingSlack"}}

    assert slack.sends == ("answered", "completed")
    assert slack.wants("answered", {"response": {"rating": 3}})


def test_a_configured_subclass_gets_its_own_settings_in_the_admin(
    settings: Any, admin_client: Client, project: Project
) -> None:
    settings.SATISMETER = {"DESTINATIONS": {"webhook": f"{HERE}.ChannelWebhook"}}
    url = reverse("admin:satismeter_app_integration_add")

    page = admin_client.get(url).content.decode()
    admin_client.post(
        url,
        {
            "project": project.pk,
            "kind": "webhook",
            "name": "crm",
            "enabled": "on",
            "secret": "s3cret",
            "webhook_url": "https://crm.example.com/hook",
            "webhook_channel": "#feedback",
            "segment_region": "us",
            "slack_filter": "all",
        },
    )

    assert 'name="webhook_channel"' in page and 'value="#nps"' in page
    hook = Integration.objects.get(name="crm")
    assert hook.settings == {"url": "https://crm.example.com/hook", "channel": "#feedback"}


def test_the_admin_shows_a_section_per_kind_with_its_description(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:satismeter_app_integration_add")).content.decode()

    for kind, cls in kind_classes().items():
        assert str(cls.description) in page
        for name in cls.settings_fields():
            assert f'name="{kind}_{name}"' in page


# --- checks read the same declarations ------------------------------------------------------------


def _ids(settings: Any, destinations: dict[str, str]) -> list[str]:
    settings.SATISMETER = {"DESTINATIONS": destinations}
    return [message.id for message in checks.check_settings() if message.id]


def test_checks_refuse_a_class_that_sends_another_kind(settings: Any) -> None:
    path = "satismeter_app.destinations.webhook.WebhookDestination"

    assert "satismeter.E010" in _ids(settings, {"slack": path})
    assert "satismeter.E010" not in _ids(settings, {"slack": LOCMEM})
    assert "satismeter.E010" not in _ids(settings, {"slack": f"{HERE}.EveryRatingSlack"})


def test_checks_refuse_a_kind_the_database_cannot_store(settings: Any) -> None:
    assert "satismeter.E012" in _ids(settings, {"teams": LOCMEM})
