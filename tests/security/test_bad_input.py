"""Bad input that was a 500 and is now a 4xx that says what is wrong (issue #13, items 6 and
13): JSON nested about 950 deep on every JSON route, a 400-digit ``createdAt``, a non-ASCII
``X-Signature``, a time offset no zone has in ``startDate``, and an answer of the wrong type
stored as Python's repr."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token

from satismeter_app.api.parsers import MAX_JSON_DEPTH
from satismeter_app.models import EndUser, Membership, Response
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

SECRET = "shared-secret-from-segment"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def staff_token(make_staff, project):
    user = make_staff(project)
    Membership.objects.filter(user=user).update(role=Membership.Role.ADMIN)
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


@pytest.fixture
def started(api_client, project, survey):
    """A response the widget started, and the auth-token that saves more of it."""
    reply = api_client.post(
        "/api/responses",
        {"writeKey": project.write_key, "userId": "u1", "campaign": str(survey.pk), "rating": 9},
        format="json",
    )
    assert reply.status_code == 201, reply.content
    return reply["Location"], {"HTTP_AUTH_TOKEN": reply["auth-token"]}


def json_routes(project, survey, key, staff_token, started, make_end_user):
    """Every route that reads a JSON body: (method, path, body with ``DEEP`` in it, headers)."""
    user = make_end_user(project, user_id="someone")
    location, token = started
    write = f'"writeKey": "{project.write_key}", "userId": "u1"'
    secret = auth_headers("bearer", key)
    return [
        ("post", "/api/widget", f'{{{write}, "traits": {{"a": DEEP}}}}', {}),
        ("post", "/api/displays", f'{{{write}, "campaign": "{survey.pk}", "traits": DEEP}}', {}),
        ("post", "/api/responses", f'{{{write}, "campaign": "{survey.pk}", "traits": DEEP}}', {}),
        ("put", location, '{"answers": [{"id": "q", "value": DEEP}]}', token),
        ("post", "/api/users", '{"userId": "u1", "traits": {"a": DEEP}}', secret),
        ("patch", f"/api/v2/project-unsubscribes/{project.pk}", '{"data": DEEP}', secret),
        ("post", "/api/manage/surveys", f'{{"project": {project.pk}, "texts": DEEP}}', staff_token),
        ("patch", f"/api/manage/projects/{project.pk}", '{"name": DEEP}', staff_token),
        ("post", "/api/manage/integrations", '{"settings": DEEP}', staff_token),
        ("post", f"/api/manage/users/{user.pk}/erase", '{"mode": DEEP}', staff_token),
        ("post", "/segment/v1/identify", '{"userId": "u1", "traits": {"a": DEEP}}', secret),
        ("post", "/segment/v1/batch", '{"batch": [{"type": "identify", "a": DEEP}]}', secret),
        ("post", f"/segment/webhook/{project.pk}", '{"type": "identify", "a": DEEP}', "signed"),
    ]


def send(client, method, path, raw: str, headers):
    if headers == "signed":
        signature = hmac.new(SECRET.encode(), raw.encode(), hashlib.sha1).hexdigest()
        headers = {"HTTP_X_SIGNATURE": signature}
    return getattr(client, method)(path, raw, content_type="application/json", **headers)


def test_json_nested_950_deep_is_a_400_on_every_json_route(
    api_client, project, survey, key, staff_token, started, make_end_user
):
    project.segment_webhook_secret = SECRET
    project.save()
    routes = json_routes(project, survey, key, staff_token, started, make_end_user)
    for method, path, body, headers in routes:
        reply = send(api_client, method, path, body.replace("DEEP", nested(950)), headers)
        assert reply.status_code == 400, (path, reply.content)
        assert f"nested deeper than {MAX_JSON_DEPTH} levels" in reply.content.decode(), path


def test_json_at_the_depth_limit_is_read(api_client, project, key):
    traits = {"a": json.loads(nested(MAX_JSON_DEPTH - 2))}  # the body and traits are 2 levels
    reply = api_client.post(
        "/api/users",
        {"userId": "u1", "traits": traits},
        format="json",
        **auth_headers("bearer", key),
    )
    assert reply.status_code == 200, reply.content
    too_deep = {"a": json.loads(nested(MAX_JSON_DEPTH - 1))}
    reply = api_client.post(
        "/api/users",
        {"userId": "u2", "traits": too_deep},
        format="json",
        **auth_headers("bearer", key),
    )
    assert reply.status_code == 400


# --- createdAt as a 400-digit integer -------------------------------------------------------------

HUGE = 10**400


def test_a_400_digit_created_at_is_a_400_naming_it_on_every_route(api_client, project, key):
    traits = f'{{"createdAt": {HUGE}}}'
    write = f'"writeKey": "{project.write_key}"'
    routes = [
        ("/api/widget", f'{{{write}, "userId": "u1", "traits": {traits}}}', {}),
        ("/api/users", f'{{"userId": "u1", "traits": {traits}}}', auth_headers("bearer", key)),
        (
            "/segment/v1/identify",
            f'{{"userId": "u1", "traits": {traits}}}',
            auth_headers("basic", key),
        ),
    ]
    for path, raw, headers in routes:
        reply = api_client.post(path, raw, content_type="application/json", **headers)
        assert reply.status_code == 400, (path, reply.content)
        assert "traits.createdAt" in reply.content.decode(), path
    assert not EndUser.objects.exists()


def test_infinity_in_traits_is_a_400_naming_it(api_client, project):
    raw = f'{{"writeKey": "{project.write_key}", "userId": "u1", "traits": {{"score": 1e400}}}}'
    reply = api_client.post("/api/widget", raw, content_type="application/json")
    assert reply.status_code == 400, reply.content
    assert "traits.score" in reply.content.decode() and "NaN or Infinity" in reply.content.decode()
    assert not EndUser.objects.exists()


# --- X-Signature ----------------------------------------------------------------------------------


def test_a_non_ascii_signature_is_a_401(api_client, project):
    project.segment_webhook_secret = SECRET
    project.save()
    reply = api_client.post(
        f"/segment/webhook/{project.pk}",
        json.dumps({"type": "identify", "userId": "u1"}),
        content_type="application/json",
        HTTP_X_SIGNATURE="é" * 40,
    )
    assert reply.status_code == 401
    assert reply.json()["code"] == "invalid_signature"


# --- startDate and endDate: one reading on every route --------------------------------------------


@pytest.fixture
def answered_on_the_31st(survey, make_response):
    return make_response(survey, rating=9, created=datetime(2024, 1, 31, 12, tzinfo=UTC))


def time_routes(project, key, staff_token):
    secret = auth_headers("bearer", key)
    return [
        ("/api/manage/responses", {"project": project.pk}, staff_token),
        ("/api/responses", {"project": project.pk, "format": "json"}, secret),
        ("/api/v2/response-statistics", {"project": project.pk}, secret),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00-18:57",  # past -18:00: schemathesis found 48 of these
        "2024-01-01T00:00:00+18:01",
        "2024-01-01T00:00:00+05:30:15",  # not a whole minute
        "2024-01-01T00:00:00+05:30:15.5",
    ],
)
def test_a_time_offset_no_zone_has_is_a_400_naming_the_parameter(
    api_client, project, key, staff_token, value
):
    for path, params, headers in time_routes(project, key, staff_token):
        for name in ("startDate", "endDate"):
            reply = api_client.get(path, {**params, name: value}, **headers)
            assert reply.status_code == 400, (path, name, reply.content)
            assert name in reply.content.decode(), (path, name)


def test_every_route_reads_start_and_end_dates_alike(
    api_client, project, key, staff_token, answered_on_the_31st
):
    counts = {}
    for path, params, headers in time_routes(project, key, staff_token):
        for window in (
            {"startDate": "2024-01-31", "endDate": "2024-01-31"},  # a date includes its day
            {"startDate": "2024-01-31T14:00:00+02:00", "endDate": "2024-01-31T12:00:01Z"},
            {"startDate": "2024-01-31T10:00:00+18:00", "endDate": "9999-12-31"},  # widest bounds
        ):
            reply = api_client.get(path, {**params, **window}, **headers)
            assert reply.status_code == 200, (path, window, reply.content)
            counts[path, window["startDate"]] = len(found(path, reply))
    assert set(counts.values()) == {1}, counts


def found(path: str, reply) -> list:
    if path.endswith("statistics"):
        return [None] * reply.json()["data"][0]["attributes"]["responses"]
    body = json.loads(b"".join(reply.streaming_content) if reply.streaming else reply.content)
    return body["results"] if "results" in body else body["responses"]


# --- answers of the wrong type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"id": "SM_comment", "value": {"text": "hi"}}, "SM_comment"),
        ({"id": "SM_comment", "value": ["hi"]}, "SM_comment"),
        ({"id": "SM_comment", "value": 5}, "SM_comment"),
        ({"id": "SM_comment", "value": False}, "SM_comment"),
        ({"id": "SM_rating", "value": {"n": 9}}, "SM_rating"),
        ({"id": "SM_rating", "value": True}, "SM_rating"),
        ({"id": "SM_rating", "value": 9.5}, "SM_rating"),
        ({"id": "SM_rating", "value": "9"}, "SM_rating"),
    ],
)
def test_a_built_in_answer_of_the_wrong_type_is_a_400_naming_it(
    api_client, project, survey, started, answer, field
):
    location, token = started
    reply = api_client.put(location, {"answers": [answer]}, format="json", **token)
    assert reply.status_code == 400, reply.content
    assert reply.json()["field"] == field
    new = api_client.post(
        "/api/responses",
        {
            "writeKey": project.write_key,
            "userId": "u2",
            "campaign": str(survey.pk),
            "answers": [answer],
        },
        format="json",
    )
    assert new.status_code == 400, new.content
    assert new.json()["field"] == field
    assert Response.objects.get().feedback == ""  # the one started by the fixture, unchanged


def test_a_comment_as_text_is_stored_as_sent(api_client, started):
    location, token = started
    answer = {"id": "SM_comment", "value": "{'not': 'a dict'}"}
    reply = api_client.put(location, {"answers": [answer]}, format="json", **token)
    assert reply.status_code == 200, reply.content
    assert Response.objects.get().feedback == "{'not': 'a dict'}"
