"""Segment, inbound, as an attacker or a retrying sender would use it (issue #13, items 3 and 5).

- A webhook body is verified over its exact bytes: a signature captured from one message does
  not sign an array that starts with that message.
- A messageId is applied once per project, for every type of message and on every route: the
  same signed body sent again, or a message Segment delivers twice, changes nothing the
  second time.
- One message that can never be stored is reported; the valid ones in the same batch are kept,
  and the answer is a 200 (a 5xx would make Segment send the batch again, forever).
"""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from satismeter_app import tasks
from satismeter_app.models import ApiKey, EndUser, InboundMessage, UserEvent
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

SECRET = "shared-secret-from-segment"


def sign(raw: bytes) -> dict[str, str]:
    return {"HTTP_X_SIGNATURE": hmac.new(SECRET.encode(), raw, hashlib.sha1).hexdigest()}


def compact(value) -> bytes:
    """What Segment's JSON.stringify writes."""
    return json.dumps(value, separators=(",", ":")).encode()


@pytest.fixture
def hooked(project):
    project.segment_webhook_secret = SECRET
    project.save()
    return project


def webhook(client, project, raw: bytes, headers: dict[str, str]):
    return client.post(
        f"/segment/webhook/{project.pk}", raw, content_type="application/json", **headers
    )


# --- item 3: forged webhook batches ---------------------------------------------------------------


def test_a_captured_signature_does_not_sign_a_batch_that_starts_with_its_message(
    api_client, hooked, make_end_user
):
    victim = make_end_user(hooked, user_id="victim", email="victim@example.com")
    captured = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "m1"}
    signature = sign(compact(captured))  # what Segment sent with the one message
    assert webhook(api_client, hooked, compact(captured), signature).status_code == 200
    forged = compact(
        [
            captured,
            {"type": "delete", "userId": "victim"},
            {"type": "identify", "userId": "victim", "traits": {"email": "evil@example.com"}},
        ]
    )
    reply = webhook(api_client, hooked, forged, signature)
    assert reply.status_code == 401
    victim.refresh_from_db()
    assert (victim.erased, victim.email) == (None, "victim@example.com")


def test_a_signature_over_another_spelling_of_the_same_json_is_refused(api_client, hooked):
    message = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}
    spaced = json.dumps([message]).encode()  # the same JSON, written with spaces
    assert webhook(api_client, hooked, spaced, sign(compact([message]))).status_code == 401
    assert webhook(api_client, hooked, spaced, sign(compact(message))).status_code == 401
    assert not EndUser.objects.exists()


def test_a_batch_signed_over_its_exact_body_is_accepted(api_client, hooked):
    raw = compact(
        [
            {"type": "identify", "userId": "u1", "traits": {"name": "Ann"}, "messageId": "a"},
            {"type": "track", "userId": "u1", "event": "Paid", "messageId": "b"},
        ]
    )
    reply = webhook(api_client, hooked, raw, sign(raw))
    assert reply.status_code == 200, reply.content
    assert reply.json()["accepted"] == 2
    assert EndUser.objects.get().name == "Ann" and UserEvent.objects.get().name == "Paid"


def test_the_same_signed_body_twice_changes_nothing_the_second_time(
    api_client, hooked, make_end_user
):
    make_end_user(hooked, user_id="victim", email="victim@example.com")
    old = compact(
        [
            {"type": "identify", "userId": "u1", "traits": {"plan": "free"}, "messageId": "i1"},
            {"type": "delete", "userId": "victim", "messageId": "d1"},
        ]
    )
    assert webhook(api_client, hooked, old, sign(old)).json()["accepted"] == 2
    # Since then, u1 upgraded and the erased victim signed up again.
    newer = compact(
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "i2"}
    )
    webhook(api_client, hooked, newer, sign(newer))
    back = make_end_user(hooked, user_id="victim", email="victim@example.com")

    again = webhook(api_client, hooked, old, sign(old))
    assert again.status_code == 200
    assert again.json() == {"success": True, "accepted": 2, "duplicates": 2, "errors": []}
    assert EndUser.objects.get(user_id="u1").traits == {"plan": "pro"}
    back.refresh_from_db()
    assert (back.erased, back.email) == (None, "victim@example.com")


# --- a messageId is applied once, for every type, on every route ----------------------------------

FIRST = {
    "identify": {"traits": {"plan": "free"}},
    "group": {"groupId": "g1", "traits": {"plan": "free"}},
    "page": {"properties": {"url": "https://app.example.com/old"}},
    "screen": {"properties": {"url": "app://old"}},
    "track": {"event": "Upgraded"},
}
LATER = {
    "identify": {"traits": {"plan": "pro"}},
    "group": {"groupId": "g1", "traits": {"plan": "pro"}},
    "page": {"properties": {"url": "https://app.example.com/new"}},
    "screen": {"properties": {"url": "app://new"}},
    "track": {"event": "Upgraded"},
}


def what_the_user_shows(kind: str):
    user = EndUser.objects.get(user_id="u1")
    return {
        "identify": user.traits,
        "group": user.groups,
        "page": user.last_url,
        "screen": user.last_url,
        "track": UserEvent.objects.count(),
    }[kind]


def send(client, project, key, route: str, message: dict):
    """One message through one route, the way each sender sends it."""
    if route == "webhook":
        raw = compact(message)
        return webhook(client, project, raw, sign(raw))
    if route == "single":
        single = {k: v for k, v in message.items() if k != "type"}
        path, body = f"/segment/v1/{message['type']}", single
    else:
        path, body = f"/segment/v1/{route}", {"batch": [message]}
    return client.post(path, body, format="json", **auth_headers("basic", key))


@pytest.mark.parametrize("route", ["single", "batch", "import", "webhook"])
@pytest.mark.parametrize("kind", list(FIRST))
def test_a_message_id_is_applied_once_for_every_type_on_every_route(
    api_client, hooked, key, route, kind
):
    first = {"type": kind, "userId": "u1", "messageId": "first", **FIRST[kind]}
    later = {"type": kind, "userId": "u1", "messageId": "later", **LATER[kind]}
    assert send(api_client, hooked, key, route, first).status_code == 200
    assert send(api_client, hooked, key, route, later).status_code == 200
    shown = what_the_user_shows(kind)

    replay = send(api_client, hooked, key, route, first)
    assert replay.status_code == 200  # acknowledged, so that Segment stops sending it
    assert what_the_user_shows(kind) == shown
    assert replay.json()["duplicates"] == 1


def test_a_message_id_is_once_across_routes_and_per_project(api_client, hooked, key, make_project):
    message = {"type": "identify", "userId": "u1", "traits": {"plan": "free"}, "messageId": "m"}
    send(api_client, hooked, key, "webhook", message)
    EndUser.objects.filter(user_id="u1").update(traits={"plan": "pro"})
    assert send(api_client, hooked, key, "batch", message).json()["duplicates"] == 1
    assert EndUser.objects.get(user_id="u1").traits == {"plan": "pro"}

    other = make_project()
    other_key = ApiKey.issue(other, "other")[1]
    assert send(api_client, other, other_key, "batch", message).json()["duplicates"] == 0
    assert EndUser.objects.get(project=other, user_id="u1").traits == {"plan": "free"}


def test_the_same_message_id_twice_in_one_batch_is_applied_once(api_client, project, key):
    messages = [
        {"type": "identify", "userId": "u1", "traits": {"plan": "free"}, "messageId": "m"},
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "m"},
    ]
    reply = api_client.post(
        "/segment/v1/batch", {"batch": messages}, format="json", **auth_headers("basic", key)
    )
    assert reply.json()["duplicates"] == 1
    assert EndUser.objects.get(user_id="u1").traits == {"plan": "free"}


def test_a_webhook_message_older_than_the_ids_are_kept_is_refused(api_client, hooked):
    # Its id may have been forgotten, so a replay could no longer be told from a delivery.
    long_ago = (timezone.now() - timedelta(days=3)).isoformat()
    now = timezone.now().isoformat()
    messages = [
        {"type": "identify", "userId": "u1", "receivedAt": long_ago, "messageId": "old"},
        {"type": "identify", "userId": "u2", "sentAt": long_ago, "messageId": "old-too"},
        {"type": "delete", "userId": "u3", "receivedAt": long_ago, "messageId": "old-delete"},
        # A library may date an event in the past: Segment received this one just now.
        {"type": "identify", "userId": "u4", "receivedAt": now, "timestamp": long_ago},
    ]
    raw = compact(messages)
    with override_settings(SATISMETER={"SEGMENT_MESSAGE_ID_RETENTION": 2 * 24 * 3600}):
        reply = webhook(api_client, hooked, raw, sign(raw))
    assert reply.status_code == 200
    assert [e["messageId"] for e in reply.json()["errors"]] == ["old", "old-too", "old-delete"]
    assert list(EndUser.objects.values_list("user_id", flat=True)) == ["u4"]


def test_message_ids_are_forgotten_after_the_retention(project):
    now = timezone.now()
    InboundMessage.objects.create(
        project=project, message_id="old", received=now - timedelta(days=3)
    )
    InboundMessage.objects.create(
        project=project, message_id="new", received=now - timedelta(hours=1)
    )
    with override_settings(SATISMETER={"SEGMENT_MESSAGE_ID_RETENTION": 2 * 24 * 3600}):
        tasks.forget_segment_message_ids()
    assert list(InboundMessage.objects.values_list("message_id", flat=True)) == ["new"]


def test_the_example_project_schedules_the_forgetting() -> None:
    from project import settings as example

    schedule = example.CELERY_BEAT_SCHEDULE["satismeter-forget-segment-message-ids"]
    assert schedule["task"] == tasks.forget_segment_message_ids.name


# --- item 5: a bad message does not drop the good ones --------------------------------------------

NEVER_STORABLE = {
    "NaN in traits": {"type": "identify", "userId": "u2", "traits": {"score": float("nan")}},
    "Infinity in properties": {
        "type": "track",
        "userId": "u2",
        "event": "E",
        "properties": {"x": float("inf")},
    },
    "a 400-digit timestamp": {"type": "identify", "userId": "u2", "timestamp": 10**400},
    "a 400-digit createdAt": {"type": "identify", "userId": "u2", "traits": {"createdAt": 10**400}},
}


@pytest.mark.parametrize("bad", list(NEVER_STORABLE))
def test_a_batch_keeps_the_good_messages_and_reports_the_bad_one(api_client, project, key, bad):
    good = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "good"}
    message = {**NEVER_STORABLE[bad], "messageId": "bad"}
    raw = json.dumps({"batch": [good, message]}).encode()  # Python writes NaN, as some senders do
    reply = api_client.post(
        "/segment/v1/batch", raw, content_type="application/json", **auth_headers("basic", key)
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert (body["accepted"], [(e["index"], e["messageId"]) for e in body["errors"]]) == (
        1,
        [(1, "bad")],
    )
    assert list(EndUser.objects.values_list("user_id", flat=True)) == ["u1"]
    assert EndUser.objects.get().traits == {"plan": "pro"}


@pytest.mark.parametrize("bad", list(NEVER_STORABLE))
def test_a_single_message_that_can_never_be_stored_is_a_400(api_client, project, key, bad):
    message = NEVER_STORABLE[bad]
    single = {k: v for k, v in message.items() if k != "type"}
    reply = api_client.post(
        f"/segment/v1/{message['type']}",
        json.dumps(single).encode(),
        content_type="application/json",
        **auth_headers("basic", key),
    )
    assert reply.status_code == 400, reply.content
    assert reply.json()["code"] == "invalid_message"
    assert not EndUser.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_body_sent_four_times_at_once_is_applied_once(make_project):
    import threading

    from django.db import connection, connections
    from rest_framework.test import APIClient

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs at once")
    project = make_project(segment_webhook_secret=SECRET)
    raw = compact(
        [
            {"type": "track", "userId": f"u{n}", "event": "Paid", "messageId": f"m{n}"}
            for n in range(50)
        ]
    )
    start_line = threading.Barrier(4)
    duplicates: list[int] = []

    def deliver() -> None:
        try:
            start_line.wait()
            duplicates.append(webhook(APIClient(), project, raw, sign(raw)).json()["duplicates"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(duplicates) == [0, 50, 50, 50]
    assert UserEvent.objects.count() == 50
    assert all(len(u.history["events"]) == 1 for u in EndUser.objects.all())
