"""Segment, inbound: the tracking-API routes under /segment and the Webhooks destination."""

import base64
import gzip
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from satismeter_app import timeparse
from satismeter_app.models import ApiKey, EndUser, Response, UserEvent

pytestmark = pytest.mark.django_db

CREATED = datetime(2015, 6, 16, 9, 19, 47, tzinfo=UTC)


def basic(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(client, route, body, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(f"/segment/v1/{route}", data, content_type="application/json", **headers)


def batch_of(messages, key=None, **extra):
    body = {"batch": messages, "sentAt": timezone.now().isoformat(), **extra}
    if key:
        body["writeKey"] = key
    return body


# --- the single-message routes and the key ----------------------------------------------------------


def test_identify_with_the_key_as_basic_user_name(api_client, project, key):
    message = {"userId": "u1", "traits": {"email": "a@example.com", "name": "Ann", "plan": "pro"}}
    reply = post(api_client, "identify", message, **basic(key))
    assert reply.status_code == 200, reply.content
    assert reply.json() == {"success": True, "accepted": 1, "duplicates": 0, "errors": []}
    user = EndUser.objects.get(project=project, user_id="u1")
    assert (user.email, user.name, user.traits["plan"]) == ("a@example.com", "Ann", "pro")


def test_write_key_in_the_body_and_bearer_work_too(api_client, project, key):
    assert post(api_client, "identify", {"userId": "u1", "writeKey": key}).status_code == 200
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert post(api_client, "track", {"userId": "u1", "event": "E"}, **bearer).status_code == 200
    assert UserEvent.objects.get().name == "E"


@pytest.mark.parametrize("how", ["basic", "body"])
def test_the_public_write_key_is_refused(api_client, project, how):
    message = {"userId": "u1"}
    if how == "body":
        reply = post(api_client, "identify", {**message, "writeKey": project.write_key})
    else:
        reply = post(api_client, "identify", message, **basic(project.write_key))
    assert reply.status_code == 401
    assert set(reply.json()) == {"success", "code", "message"}  # what Segment's clients read
    assert not EndUser.objects.exists()


def test_no_key_is_401(api_client, project):
    assert post(api_client, "identify", {"userId": "u1"}).status_code == 401


def test_invalid_single_message_is_a_400_that_says_why(api_client, key):
    reply = post(api_client, "track", {"userId": "u1"}, **basic(key))
    assert reply.status_code == 400
    assert reply.json()["code"] == "invalid_message"
    assert "event" in reply.json()["message"]


def test_malformed_json_is_400(api_client, key):
    reply = post(api_client, "batch", b'{"batch": [', **basic(key))
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_json"


def test_a_message_over_32_kb_is_400(api_client, key):
    message = {"userId": "u1", "traits": {"bio": "x" * (33 * 1024)}}
    reply = post(api_client, "identify", message, **basic(key))
    assert reply.status_code == 400 and reply.json()["code"] == "too_large"
    assert "32768" in reply.json()["message"]
    assert not EndUser.objects.exists()


def test_a_batch_over_500_kb_is_400(api_client, key):
    messages = [
        {"type": "identify", "userId": f"u{n}", "traits": {"t": "x" * 1000}} for n in range(520)
    ]
    reply = post(api_client, "batch", batch_of(messages), **basic(key))
    assert reply.status_code == 400 and reply.json()["code"] == "too_large"
    assert not EndUser.objects.exists()


def test_page_group_and_screen(api_client, project, key):
    headers = basic(key)
    post(api_client, "page", {"userId": "u1", "properties": {"url": "https://app/x"}}, **headers)
    post(
        api_client,
        "group",
        {"userId": "u1", "groupId": "g1", "traits": {"plan": "team"}},
        **headers,
    )
    post(api_client, "screen", {"userId": "u1", "name": "Home"}, **headers)
    user = EndUser.objects.get(user_id="u1")
    assert (user.last_url, user.groups) == ("https://app/x", {"g1": {"plan": "team"}})


# --- batches ----------------------------------------------------------------------------------------


def test_a_batch_keeps_the_valid_messages_and_reports_the_invalid_ones(api_client, project, key):
    messages = [
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "m0"},
        {"type": "track", "userId": "u1", "messageId": "m1"},  # no event
        {"type": "alias", "userId": "u1", "previousId": "x", "messageId": "m2"},
        "not an object",
        {"type": "identify", "traits": {"a": 1}, "messageId": "m4"},  # nobody
        {"type": "identify", "userId": "u2", "timestamp": "soon", "messageId": "m5"},
        {"type": "identify", "userId": "u3", "traits": {"big": "x" * 33000}, "messageId": "m6"},
        {"type": "identify", "userId": "u4", "traits": {"createdAt": "never"}, "messageId": "m7"},
        {"type": "track", "userId": "u1", "event": "Upgraded", "messageId": "m8"},
    ]
    reply = post(api_client, "batch", batch_of(messages, key))
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["success"] is True and body["accepted"] == 2
    assert [(e["index"], e["messageId"]) for e in body["errors"]] == [
        (1, "m1"), (2, "m2"), (3, None), (4, "m4"), (5, "m5"), (6, "m6"), (7, "m7"),
    ]  # fmt: skip
    assert "event" in body["errors"][0]["error"]
    assert "createdAt" in body["errors"][-1]["error"]
    assert list(EndUser.objects.values_list("user_id", flat=True)) == ["u1"]
    assert UserEvent.objects.get().name == "Upgraded"


def test_import_is_the_same_as_batch(api_client, project, key):
    reply = post(api_client, "import", batch_of([{"type": "identify", "userId": "u1"}], key))
    assert reply.json()["accepted"] == 1


def test_batch_needs_an_array(api_client, key):
    reply = post(api_client, "batch", {"batch": {"type": "identify"}}, **basic(key))
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_batch"


def test_top_level_context_is_merged_into_each_message(api_client, project, key):
    messages = [{"type": "track", "userId": "u1", "event": "E"}]
    body = batch_of(messages, key, context={"traits": {"plan": "pro"}})
    post(api_client, "batch", body)
    assert EndUser.objects.get().traits == {"plan": "pro"}


def test_gzip_bodies(api_client, project, key):
    raw = gzip.compress(json.dumps(batch_of([{"type": "identify", "userId": "u1"}], key)).encode())
    reply = api_client.post(
        "/segment/v1/batch", raw, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert reply.status_code == 200, reply.content
    assert EndUser.objects.filter(user_id="u1").exists()


def test_an_anonymous_visitor_who_identifies_keeps_their_row(api_client, project, key):
    messages = [
        {"type": "page", "anonymousId": "a1", "properties": {"url": "https://x/pricing"}},
        {"type": "track", "anonymousId": "a1", "event": "Signed up"},
        {"type": "identify", "anonymousId": "a1", "userId": "u1", "traits": {"name": "Ann"}},
        {"type": "track", "userId": "u1", "event": "Upgraded"},
    ]
    assert post(api_client, "batch", batch_of(messages, key)).json()["errors"] == []
    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id, user.name) == ("u1", "a1", "Ann")
    assert set(user.history["events"]) == {"Signed up", "Upgraded"}
    assert UserEvent.objects.filter(user=user).count() == 2


def test_an_existing_anonymous_row_is_claimed(api_client, project, key, make_end_user):
    visitor = make_end_user(project, anonymous_id="a1", traits={"seen": True})
    post(
        api_client,
        "identify",
        {"anonymousId": "a1", "userId": "u1", "traits": {"x": 1}},
        **basic(key),
    )
    visitor.refresh_from_db()
    assert visitor.user_id == "u1" and visitor.traits == {"seen": True, "x": 1}


def test_a_message_delivered_twice_is_one_event(api_client, project, key):
    message = {"type": "track", "userId": "u1", "event": "E", "messageId": "same"}
    post(api_client, "batch", batch_of([message, message], key))
    post(api_client, "batch", batch_of([message], key))
    assert UserEvent.objects.count() == 1


def test_traits_are_merged_not_replaced(api_client, project, key, make_end_user):
    make_end_user(project, user_id="u1", traits={"plan": "free", "seats": 3})
    post(api_client, "identify", {"userId": "u1", "traits": {"plan": "pro"}}, **basic(key))
    assert EndUser.objects.get().traits == {"plan": "pro", "seats": 3}


def test_server_side_traits_do_not_make_the_user_active(api_client, project, key, make_end_user):
    long_ago = timezone.now() - timedelta(days=100)
    make_end_user(project, user_id="u1", first_seen=long_ago, last_seen=long_ago)
    post(api_client, "identify", {"userId": "u1", "traits": {"plan": "pro"}}, **basic(key))
    assert EndUser.objects.get().last_seen == long_ago


def test_another_projects_users_are_untouched(
    api_client, project, key, make_project, make_end_user
):
    theirs = make_end_user(make_project(), user_id="u1", traits={"plan": "free"})
    post(api_client, "identify", {"userId": "u1", "traits": {"plan": "pro"}}, **basic(key))
    theirs.refresh_from_db()
    assert theirs.traits == {"plan": "free"}
    assert EndUser.objects.filter(project=project, user_id="u1").exists()


# --- createdAt and timestamps in every form Segment allows -----------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2015-06-16T09:19:47Z",
        "2015-06-16T09:19:47.000Z",
        "2015-06-16T11:19:47+02:00",
        "2015-06-16T11:19:47.000+0200",
        "2015-06-16 09:19:47",
        1434446387,
        1434446387000,
        1434446387.0,
        "1434446387",
        "1434446387000",
        "1434446387.000",
        "Tue, 16 Jun 2015 09:19:47 GMT",
        "Tue Jun 16 2015 11:19:47 GMT+0200 (Central European Summer Time)",
    ],
)
def test_created_at_in_every_form(api_client, project, key, value):
    reply = post(
        api_client, "identify", {"userId": "u1", "traits": {"createdAt": value}}, **basic(key)
    )
    assert reply.status_code == 200, reply.content
    assert EndUser.objects.get().created_at == CREATED


def test_created_at_as_a_date(api_client, project, key):
    post(
        api_client,
        "identify",
        {"userId": "u1", "traits": {"createdAt": "2015-06-16"}},
        **basic(key),
    )
    assert EndUser.objects.get().created_at == datetime(2015, 6, 16, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2015-06-16T09:19:47.155Z", 1434446387155, "1434446387155"])
def test_event_timestamps_in_every_form(api_client, project, key, value):
    message = {"userId": "u1", "event": "E", "timestamp": value}
    assert post(api_client, "track", message, **basic(key)).status_code == 200
    assert UserEvent.objects.get().timestamp == CREATED + timedelta(milliseconds=155)


def test_parse_time_refuses_nonsense():
    for value in ("soon", "", None, True, [], "2015-13-45T00:00:00Z"):
        assert timeparse.parse_loose(value) is None


# --- what the data does -------------------------------------------------------------------------------


def test_a_tracked_event_triggers_the_survey_waiting_for_it(api_client, project, key, make_survey):
    make_survey(project, min_tenure_days=0, trigger_event="Upgraded", event_window_days=7)
    visit = {"writeKey": project.write_key, "userId": "u1"}
    assert api_client.post("/api/widget", visit, format="json").json()["widget"]["visible"] is False
    post(api_client, "track", {"userId": "u1", "event": "Upgraded"}, **basic(key))
    assert api_client.post("/api/widget", visit, format="json").json()["widget"]["visible"] is True


def test_traits_land_on_later_responses(api_client, project, key, make_survey):
    survey = make_survey(project, min_tenure_days=0)
    post(api_client, "identify", {"userId": "u1", "traits": {"plan": "enterprise"}}, **basic(key))
    api_client.post(
        "/api/responses",
        {"writeKey": project.write_key, "userId": "u1", "campaign": str(survey.pk), "rating": 9},
        format="json",
    )
    assert Response.objects.get().traits == {"plan": "enterprise"}


def test_a_500_message_batch_is_a_few_queries(
    api_client, project, key, make_end_user, django_assert_max_num_queries
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite caps the rows of one INSERT, PostgreSQL (CI) does not")
    for n in range(0, 500, 2):  # half of the users exist already
        make_end_user(project, user_id=f"u{n}", traits={"old": True})
    messages = []
    for n in range(250):
        messages.append(
            {
                "type": "identify",
                "userId": f"u{n}",
                "traits": {"plan": "pro", "n": n},
                "messageId": f"i{n}",
            }
        )
        messages.append(
            {"type": "track", "userId": f"u{n + 250}", "event": "E", "messageId": f"m{n}"}
        )
    with django_assert_max_num_queries(10):
        reply = post(api_client, "batch", batch_of(messages, key))
    assert reply.json()["accepted"] == 500
    assert EndUser.objects.filter(project=project).count() == 500
    assert UserEvent.objects.count() == 250
    assert EndUser.objects.get(user_id="u2").traits == {"old": True, "plan": "pro", "n": 2}
    assert "E" in EndUser.objects.get(user_id="u300").history["events"]


# --- the Webhooks destination ---------------------------------------------------------------------


SECRET = "shared-secret-from-segment"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_X_SIGNATURE": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


@pytest.fixture
def webhook_project(project):
    project.segment_webhook_secret = SECRET
    project.save()
    return project


def webhook(client, project, raw: bytes, **headers):
    return client.post(
        f"/segment/webhook/{project.pk}", raw, content_type="application/json", **headers
    )


def test_webhook_with_a_valid_signature(api_client, webhook_project):
    raw = json.dumps(
        {
            "version": 1,
            "type": "identify",
            "userId": "019mr8mf4r",
            "traits": {"email": "achilles@segment.com", "friendCount": 29},
            "timestamp": "2012-12-02T00:30:08.276Z",
        }
    ).encode()
    reply = webhook(api_client, webhook_project, raw, **signed(raw))
    assert reply.status_code == 200, reply.content
    assert EndUser.objects.get().email == "achilles@segment.com"


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_SIGNATURE": "0" * 40}, signed(b"x", "wrong")])
def test_webhook_without_the_right_signature_is_401(api_client, webhook_project, headers):
    raw = json.dumps({"type": "identify", "userId": "u1"}).encode()
    assert webhook(api_client, webhook_project, raw, **headers).status_code == 401
    assert not EndUser.objects.exists()


def test_webhook_is_off_without_a_secret(api_client, project):
    raw = json.dumps({"type": "identify", "userId": "u1"}).encode()
    assert webhook(api_client, project, raw, **signed(raw, "")).status_code == 401


def test_webhook_batch_signed_over_the_whole_body(api_client, webhook_project):
    messages = [
        {"type": "identify", "userId": "u1", "traits": {"name": "Ann"}},
        {"type": "track", "userId": "u1", "event": "Paid"},
    ]
    raw = json.dumps(messages).encode()
    first = json.dumps(messages[0], separators=(",", ":")).encode()
    # Segment's batched webhooks sign the first message alone: that signs nothing else.
    assert webhook(api_client, webhook_project, raw, **signed(first)).status_code == 401
    assert webhook(api_client, webhook_project, raw, **signed(raw)).json()["accepted"] == 2


def test_webhook_delete_request_anonymises_the_user(api_client, webhook_project, make_end_user):
    make_end_user(webhook_project, user_id="u1", email="a@example.com")
    raw = json.dumps({"type": "delete", "userId": "u1"}).encode()
    assert webhook(api_client, webhook_project, raw, **signed(raw)).status_code == 200
    user = EndUser.objects.get()
    assert user.erased is not None and user.email == ""


def test_webhook_reports_unsupported_types_without_failing(api_client, webhook_project):
    raw = json.dumps({"type": "alias", "userId": "u1", "previousId": "a"}).encode()
    reply = webhook(api_client, webhook_project, raw, **signed(raw))
    assert reply.status_code == 200
    assert reply.json()["accepted"] == 0 and len(reply.json()["errors"]) == 1


# --- the real client ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("gzip_body", [False, True])
def test_segment_analytics_python_sends_here(live_server, project, gzip_body):
    from segment.analytics import Client
    from segment.analytics import request as segment_request

    key = ApiKey.issue(project, "segment-python")[1]
    client = Client(
        write_key=key, host=f"{live_server.url}/segment", sync_mode=True, gzip=gzip_body
    )
    try:
        client.identify("u-42", {"email": "ann@example.com", "plan": "pro", "createdAt": CREATED})
        client.group("u-42", "acme", {"name": "Acme Inc"})
        client.track("u-42", "Upgraded", {"to": "pro"})
    finally:
        # The library's module-level session keeps the connection alive; let the server go.
        segment_request._session.close()
    user = EndUser.objects.get(project=project, user_id="u-42")
    assert (user.email, user.traits["plan"], user.created_at) == ("ann@example.com", "pro", CREATED)
    assert user.groups == {"acme": {"name": "Acme Inc"}}
    event = UserEvent.objects.get(user=user)
    assert (event.name, event.properties, bool(event.message_id)) == (
        "Upgraded",
        {"to": "pro"},
        True,
    )


def test_text_the_database_cannot_store_is_reported_per_message(api_client, project, key):
    messages = [
        {"type": "identify", "userId": "u\x00", "messageId": "nul-id"},
        {"type": "identify", "userId": "u1", "traits": {"bio": "a\x00b"}, "messageId": "nul-trait"},
        {
            "type": "track",
            "userId": "u1",
            "event": "E",
            "properties": {"k": "\ud800"},
            "messageId": "s",
        },
        {"type": "identify", "userId": "u2", "messageId": "fine"},
    ]
    reply = post(api_client, "batch", batch_of(messages, key))
    assert reply.status_code == 200, reply.content
    assert [e["messageId"] for e in reply.json()["errors"]] == ["nul-id", "nul-trait", "s"]
    assert list(EndUser.objects.values_list("user_id", flat=True)) == ["u2"]


def test_text_that_spells_a_json_escape_is_stored(api_client, project, key):
    traits = {"note": "JSON writes NUL as \\u0000"}
    reply = post(api_client, "identify", {"userId": "u1", "traits": traits}, **basic(key))
    assert reply.status_code == 200 and reply.json()["errors"] == []
    assert EndUser.objects.get().traits == traits
