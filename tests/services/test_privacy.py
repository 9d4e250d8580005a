"""Erasing a user (anonymise or delete) and exporting everything stored about them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from satismeter_app import nps
from satismeter_app.exceptions import InvalidInput
from satismeter_app.models import (
    Delivery,
    Display,
    EndUser,
    Response,
    Unsubscribe,
    UserEvent,
)
from satismeter_app.services import privacy

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_user(project, make_end_user, make_survey, make_response):
    """A user with a bit of everything: traits, groups, events, displays, answers, outbox."""
    now = timezone.now()
    user = make_end_user(
        project,
        user_id="ann-42",
        anonymous_id="anon-1",
        email="ann@example.com",
        name="Ann Smith",
        created_at=now - timedelta(days=400),
        traits={"plan": "pro", "email": "ann@example.com"},
        groups={"acme": {"name": "Acme Inc"}},
        last_url="https://app.example.com/billing?user=ann",
        history={"events": {"Upgraded": now.isoformat()}, "surveys": {"1": {"displays": 0}}},
    )
    survey = make_survey(project)
    UserEvent.objects.create(project=project, user=user, name="Upgraded", properties={"a": 1})
    Display.objects.create(project=project, survey=survey, user=user, url="https://x/ann")
    response = make_response(
        survey,
        user=user,
        rating=3,
        feedback="Ann here: too slow",
        answers=[
            {"id": "why", "label": "Why?", "value": "Call me at 555", "type": "long-text"},
            {"id": "pick", "label": "Pick", "value": "Speed", "type": "single-choice"},
            {"id": "ces", "label": "Effort", "value": 4, "type": "scale", "metric": "ces"},
        ],
        traits={"plan": "pro", "email": "ann@example.com"},
        referrer="https://app.example.com/billing?user=ann",
        device={"os": "macOS", "type": "desktop"},
        language="en",
    )
    payload = {"response": {"user": {"id": str(user.pk), "email": "ann@example.com"}}}
    Delivery.objects.create(
        project=project, response=response, destination="slack", event="completed",
        payload=payload, message_id="m-pending",
    )  # fmt: skip
    Delivery.objects.create(
        project=project, response=response, destination="webhook", event="answered",
        payload=payload, message_id="m-sent", state="delivered", delivered_at=now,
    )  # fmt: skip
    Delivery.objects.create(
        project=project, destination="segment", event="viewed", message_id="m-display",
        payload={"event": "viewed", "user": {"id": str(user.pk), "email": "ann@example.com"}},
    )  # fmt: skip
    Unsubscribe.objects.create(project=project, email="ann@example.com", source="link")
    return user


def test_anonymise_keeps_the_score_and_drops_identity(rich_user):
    before = Response.objects.summary()
    privacy.erase_user(rich_user)
    user = EndUser.objects.get(pk=rich_user.pk)
    assert user.user_id == f"erased-{user.pk}"
    assert (user.anonymous_id, user.email, user.name, user.created_at) == (None, "", "", None)
    assert (user.traits, user.groups, user.last_url) == ({}, {}, "")
    assert "events" not in user.history and user.history["surveys"]
    assert user.erased is not None
    response = Response.objects.get()
    assert (response.rating, response.language, response.device["os"]) == (3, "en", "macOS")
    assert (response.feedback, response.traits, response.referrer) == ("", {}, "")
    assert [a["id"] for a in response.answers] == ["pick", "ces"]  # free text gone
    after = Response.objects.summary()
    assert (after.nps, after.frequency) == (before.nps, before.frequency)  # the past NPS stays
    assert (before.commented, after.commented) == (1, 0)
    assert nps.category(response.rating) == "detractor"


def test_anonymise_removes_events_and_pages_and_scrubs_the_outbox(rich_user):
    privacy.erase_user(rich_user)
    assert not UserEvent.objects.exists()
    assert Display.objects.get().url == ""
    assert set(Delivery.objects.values_list("message_id", flat=True)) == {"m-sent"}
    assert Delivery.objects.get().payload == {"erased": True}
    assert "ann" not in json.dumps(privacy.export_user(EndUser.objects.get())).lower()


def test_the_unsubscribe_list_keeps_the_address(rich_user):
    privacy.erase_user(rich_user)
    assert Unsubscribe.objects.filter(email="ann@example.com").exists()


def test_delete_mode_removes_the_user_and_everything_theirs(rich_user, make_end_user, project):
    bystander = make_end_user(project, user_id="bob")
    privacy.erase_user(rich_user, mode="delete")
    assert list(EndUser.objects.all()) == [bystander]
    assert not Response.objects.exists() and not UserEvent.objects.exists()
    assert not Display.objects.exists()
    assert Delivery.objects.get().payload == {"erased": True}


def test_an_unknown_mode_is_refused(rich_user):
    with pytest.raises(InvalidInput, match="mode: is one of anonymise, delete"):
        privacy.erase_user(rich_user, mode="shred")  # type: ignore[arg-type]
    assert EndUser.objects.get().erased is None


def test_erasure_leaves_other_users_alone(
    rich_user, make_end_user, project, make_survey, make_response
):
    bob = make_end_user(project, user_id="bob", email="bob@example.com", traits={"x": 1})
    make_response(make_survey(project), user=bob, rating=10, feedback="Bob likes it")
    privacy.erase_user(rich_user)
    bob.refresh_from_db()
    assert (bob.user_id, bob.email, bob.traits) == ("bob", "bob@example.com", {"x": 1})
    assert Response.objects.get(user=bob).feedback == "Bob likes it"


def test_export_holds_everything_stored(rich_user):
    data = privacy.export_user(rich_user)
    assert data["user"]["userId"] == "ann-42" and data["user"]["anonymousId"] == "anon-1"
    assert data["user"]["traits"] == {"plan": "pro", "email": "ann@example.com"}
    assert data["user"]["groups"] == {"acme": {"name": "Acme Inc"}}
    assert set(data["user"]) == {
        "id", "project", "userId", "anonymousId", "email", "name", "createdAt", "firstSeen",
        "lastSeen", "language", "traits", "groups", "lastUrl", "unsubscribed", "surveyDate",
        "history", "erased",
    }  # fmt: skip
    assert data["user"]["lastUrl"] == "https://app.example.com/billing?user=ann"
    assert [r["feedback"] for r in data["responses"]] == ["Ann here: too slow"]
    assert [e["event"] for e in data["events"]] == ["Upgraded"]
    assert [d["url"] for d in data["displays"]] == ["https://x/ann"]
    assert [u["email"] for u in data["unsubscribes"]] == ["ann@example.com"]
    assert len(data["deliveries"]) == 3
    json.dumps(data)  # JSON-ready as it is


def test_admin_actions_erase_and_export(admin_client, rich_user):
    url = "/admin/satismeter_app/enduser/"
    reply = admin_client.post(url, {"action": "export_data", "_selected_action": [rich_user.pk]})
    assert reply.status_code == 200 and reply["Content-Type"] == "application/json"
    assert json.loads(reply.content)[0]["user"]["userId"] == "ann-42"
    admin_client.post(url, {"action": "erase_anonymise", "_selected_action": [rich_user.pk]})
    assert EndUser.objects.get().erased is not None


def test_admin_erase_only_touches_the_members_projects(
    client, make_staff, make_project, make_end_user, project
):
    staff = make_staff(project)
    theirs = make_end_user(make_project(), user_id="not-yours")
    client.force_login(staff)
    client.post(
        "/admin/satismeter_app/enduser/",
        {"action": "erase_anonymise", "_selected_action": [theirs.pk]},
    )
    theirs.refresh_from_db()
    assert theirs.erased is None
