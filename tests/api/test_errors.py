"""Error answers, route family by route family: the status and the body each client reads.

SatisMeter's clients read ``{"error": …}``; Segment's libraries read ``{"success": false,
"code", "message"}``; DRF's own errors (authentication, validation, not found) keep DRF's
bodies. A host project's own ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` changes none of them.
"""

import json
import logging

import pytest
from django.test import override_settings
from rest_framework.response import Response

from satismeter_app.exceptions import SatismeterConfigurationError
from satismeter_app.models import ApiKey

pytestmark = pytest.mark.django_db


def host_handler(exc, context):
    """A host project's handler, for its own views; the app's routes must not use it."""
    return Response({"host": "handled"}, status=418)


@pytest.fixture
def key(project) -> str:
    return ApiKey.issue(project, "errors")[1]


@pytest.fixture
def headers(key) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def survey(project, make_survey):
    return make_survey(project, min_tenure_days=0)


def answer(reply) -> tuple[int, dict]:
    return reply.status_code, json.loads(reply.content)


# --- the secret-key REST API ------------------------------------------------------------------


def test_a_malformed_parameter_names_its_field(api_client, headers):
    reply = api_client.get("/api/v2/response-statistics?startDate=soon", **headers)
    assert answer(reply) == (
        400,
        {
            "error": "startDate: use an ISO-8601 date (2024-01-31) or date-time",
            "field": "startDate",
        },
    )


def test_an_unknown_export_format_names_its_field(api_client, headers):
    reply = api_client.get("/api/responses?format=xml", **headers)
    assert answer(reply) == (400, {"error": "format: is json or csv", "field": "format"})


def test_no_key_and_another_projects_key_keep_drfs_bodies(api_client, headers, make_project):
    assert answer(api_client.get("/api/users")) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    other = make_project()
    reply = api_client.get(f"/api/v3/projects/{other.pk}", **headers)
    assert answer(reply) == (403, {"detail": "This API key belongs to another project."})


def test_a_missing_object_is_drfs_404(api_client, headers):
    assert answer(api_client.get("/api/users/999999/export", **headers)) == (
        404,
        {"detail": "No such user."},
    )


def test_an_invalid_body_lists_the_fields_in_error(api_client, headers):
    reply = api_client.post("/api/users", {}, format="json", **headers)
    assert answer(reply) == (400, {"userId": ["This field is required."]})


def test_an_unknown_erase_mode_names_its_field(api_client, headers, make_end_user, project):
    user = make_end_user(project)
    reply = api_client.delete(f"/api/users/{user.pk}?mode=shred", **headers)
    assert answer(reply) == (
        400,
        {"error": "mode: is one of anonymise, delete", "field": "mode"},
    )


def test_unsubscribes_of_another_id_are_a_conflict(api_client, headers, project):
    body = {"data": {"id": "0", "type": "project-unsubscribes", "attributes": {"emails": []}}}
    reply = api_client.patch(
        f"/api/v2/project-unsubscribes/{project.pk}", body, format="json", **headers
    )
    assert answer(reply) == (409, {"error": "data.id is not this project."})


def test_text_the_database_cannot_store_is_a_400_that_says_where(api_client, headers):
    reply = api_client.post("/api/users", {"userId": "u\x00"}, format="json", **headers)
    status, body = answer(reply)
    assert status == 400 and set(body) == {"detail"}
    assert body["detail"].startswith("userId: ") and "NUL" in body["detail"]


# --- the widget -------------------------------------------------------------------------------


def test_the_widget_reads_error_bodies(api_client, project, survey):
    reply = api_client.post("/api/widget", {"writeKey": "nope", "userId": "u"}, format="json")
    assert answer(reply) == (401, {"error": "Invalid write key."})
    assert reply["Access-Control-Allow-Origin"] == "*"
    body = {"writeKey": project.write_key, "userId": "u", "campaign": str(survey.pk), "rating": 9}
    reply = api_client.post("/api/responses", body, format="json")
    assert reply.status_code == 201, reply.content
    location = reply["Location"]
    assert answer(api_client.put(location, {"feedback": "x"}, format="json")) == (
        401,
        {"error": "Send the auth-token header from the POST."},
    )
    status, wrong = answer(
        api_client.put(location, {"feedback": "x"}, format="json", HTTP_AUTH_TOKEN="forged")
    )
    assert status == 403 and set(wrong) == {"error"}
    again = api_client.post("/api/responses", body, format="json")
    status, duplicate = answer(again)
    assert status == 400 and duplicate["error"] == "Duplicate response"
    assert set(duplicate) == {"error", "reason"}


WIDGET_BODIES = {
    "/api/widget": {"userId": "u"},
    "/api/displays": {"userId": "u", "campaign": "1"},
    "/api/responses": {"userId": "u", "campaign": "1", "rating": 9},
}


@pytest.mark.parametrize("route", list(WIDGET_BODIES))
@pytest.mark.parametrize("field", ["writeKey", "token"])
@pytest.mark.parametrize("form", [True, False])
def test_a_write_key_no_project_can_have_is_a_401_before_the_cache(api_client, route, field, form):
    """Control characters, spaces or a 64-character run of anything but letters, digits, -
    and _ never name a rate limit's or a configuration's cache key (a memcached-unsafe key
    was a 500 wherever Django's CacheKeyWarning is an error)."""
    for bad in ["𣟴k\x184\r\x14!¾.>", "a b", "key\n"]:
        body = {field: bad, **WIDGET_BODIES[route]}
        reply = api_client.post(route, body, format="multipart" if form else "json")
        assert answer(reply) == (401, {"error": "Invalid write key."}), (bad, reply.content)


def test_an_oversized_widget_body_is_413(api_client, project):
    body = {"writeKey": project.write_key, "userId": "u", "traits": {"x": "y" * 70000}}
    reply = api_client.post("/api/widget", body, format="json")
    status, body = answer(reply)
    assert status == 413 and set(body) == {"error"}


def test_unexpected_widget_errors_are_logged_and_answered(
    api_client, project, survey, monkeypatch, caplog
):
    from satismeter_app.services import decisions

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(decisions, "decide", broken)
    with caplog.at_level(logging.ERROR):
        reply = api_client.post(
            "/api/widget", {"writeKey": project.write_key, "userId": "u"}, format="json"
        )
    assert answer(reply) == (500, {"error": "Internal server error."})
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


# --- Segment inbound --------------------------------------------------------------------------


def test_segment_libraries_read_code_and_message(api_client, key):
    reply = api_client.post(
        "/segment/v1/identify", b"{", content_type="application/json", HTTP_AUTHKEY=key
    )
    status, body = answer(reply)
    assert status == 400 and body["code"] == "invalid_json" and body["success"] is False
    reply = api_client.post("/segment/v1/identify", {"userId": "u"}, format="json")
    assert answer(reply) == (
        401,
        {
            "success": False,
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
        },
    )
    reply = api_client.post("/segment/v1/track", {"userId": "u"}, format="json", HTTP_AUTHKEY=key)
    assert answer(reply) == (
        400,
        {"success": False, "code": "invalid_message", "message": "event: is required"},
    )


def test_a_wrongly_signed_webhook_is_401(api_client, project):
    project.segment_webhook_secret = "s3cret"
    project.save()
    reply = api_client.post(
        f"/segment/webhook/{project.pk}",
        {"type": "identify", "userId": "u"},
        format="json",
        HTTP_X_SIGNATURE="00",
    )
    assert answer(reply) == (
        401,
        {
            "success": False,
            "code": "invalid_signature",
            "message": "Unknown webhook, or a wrong X-Signature.",
        },
    )


# --- the management API -----------------------------------------------------------------------


def test_the_management_api_keeps_drfs_bodies(api_client, make_staff, project):
    api_client.force_authenticate(make_staff(project))
    assert answer(api_client.get("/api/manage/surveys/999999")) == (
        404,
        {"detail": "No Survey matches the given query."},
    )
    status, body = answer(api_client.post("/api/manage/surveys", {}, format="json"))
    assert status == 400 and body["project"] == ["This field is required."]


# --- the host's own handler -------------------------------------------------------------------


def test_a_hosts_exception_handler_does_not_change_the_apps_answers(
    api_client, headers, project, make_staff
):
    with override_settings(
        REST_FRAMEWORK={"EXCEPTION_HANDLER": "tests.api.test_errors.host_handler"}
    ):
        assert api_client.get("/api/users").status_code == 401
        reply = api_client.post("/api/widget", {"writeKey": "nope", "userId": "u"}, format="json")
        assert answer(reply) == (401, {"error": "Invalid write key."})
        reply = api_client.post("/segment/v1/identify", {"userId": "u"}, format="json")
        assert reply.status_code == 401 and answer(reply)[1]["code"] == "not_authenticated"
        api_client.force_authenticate(make_staff(project))
        assert api_client.get("/api/manage/surveys/999999").status_code == 404


def test_a_misconfiguration_is_a_logged_server_error_never_a_400(
    api_client, headers, monkeypatch, caplog
):
    from satismeter_app.services import reporting

    def misconfigured(*args, **kwargs):
        raise SatismeterConfigurationError("SATISMETER['X'] is wrong")

    monkeypatch.setattr(reporting, "statistics", misconfigured)
    api_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        reply = api_client.get("/api/v2/response-statistics", **headers)
    assert reply.status_code == 500 and b"SATISMETER" not in reply.content
    assert any(record.exc_info for record in caplog.records)
