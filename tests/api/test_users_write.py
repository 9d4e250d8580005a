"""``POST /api/users`` with the project's secret key: upserts, surveyDate, server-side events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from satismeter_app.models import EndUser, UserEvent
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("scheme", ["bearer", "basic", "authkey"])
def test_every_key_scheme_upserts_a_user(api_client, project, key, scheme):
    reply = api_client.post(
        "/api/users",
        {"project": str(project.pk), "userId": "u1", "traits": {"plan": "pro", "name": "Ann"}},
        format="json",
        **auth_headers(scheme, key),
    )
    assert reply.status_code == 200, reply.content
    assert reply.json()["user"]["userId"] == "u1"
    user = EndUser.objects.get(project=project, user_id="u1")
    assert (user.name, user.traits["plan"]) == ("Ann", "pro")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer sk_nope.x"},
        {"HTTP_AUTHKEY": "wrong"},
        {"HTTP_AUTHORIZATION": "Basic !!!"},
    ],
)
def test_missing_or_wrong_keys_are_401(api_client, project, headers):
    reply = api_client.post("/api/users", {"userId": "u"}, format="json", **headers)
    assert reply.status_code == 401
    assert not EndUser.objects.exists()


def test_the_write_key_is_not_a_secret_key(api_client, project):
    reply = api_client.post(
        "/api/users",
        {"userId": "u"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {project.write_key}",
    )
    assert reply.status_code == 401


def test_a_key_cannot_write_into_another_project(api_client, project, make_project, key):
    other = make_project()
    reply = api_client.post(
        "/api/users",
        {"project": str(other.pk), "userId": "u"},
        format="json",
        **auth_headers("bearer", key),
    )
    assert reply.status_code == 403
    assert not EndUser.objects.exists()


def test_server_side_upserts_do_not_make_the_user_active(api_client, project, key, make_end_user):
    long_ago = timezone.now() - timedelta(days=200)
    make_end_user(project, user_id="u", first_seen=long_ago, last_seen=long_ago)
    api_client.post(
        "/api/users",
        {"userId": "u", "traits": {"plan": "team"}},
        format="json",
        **auth_headers("bearer", key),
    )
    user = EndUser.objects.get(user_id="u")
    assert (user.traits["plan"], user.last_seen) == ("team", long_ago)


def test_survey_date_is_set_and_cleared(api_client, project, key):
    headers = auth_headers("bearer", key)
    api_client.post(
        "/api/users",
        {"userId": "u", "surveyDate": "2030-01-02T03:04:05Z"},
        format="json",
        **headers,
    )
    assert EndUser.objects.get().survey_date.year == 2030
    api_client.post("/api/users", {"userId": "u", "surveyDate": None}, format="json", **headers)
    assert EndUser.objects.get().survey_date is None


def test_bad_survey_date_is_400(api_client, project, key):
    reply = api_client.post(
        "/api/users",
        {"userId": "u", "surveyDate": "soon"},
        format="json",
        **auth_headers("bearer", key),
    )
    assert reply.status_code == 400
    assert "surveyDate" in reply.json()


def test_server_side_event_triggers_the_survey_on_the_next_visit(
    api_client, project, key, make_survey
):
    make_survey(project, min_tenure_days=0, trigger_event="Upgraded", event_window_days=7)
    visit = {"writeKey": project.write_key, "userId": "u"}
    assert api_client.post("/api/widget", visit, format="json").json()["widget"]["visible"] is False
    reply = api_client.post(
        "/api/users",
        {"type": "track", "userId": "u", "event": "Upgraded", "properties": {"plan": "pro"}},
        format="json",
        **auth_headers("authkey", key),
    )
    assert reply.status_code == 200, reply.content
    assert UserEvent.objects.get().name == "Upgraded"
    assert api_client.post("/api/widget", visit, format="json").json()["widget"]["visible"] is True


def test_event_outside_its_window_does_not_trigger(api_client, project, key, make_survey):
    make_survey(project, min_tenure_days=0, trigger_event="Upgraded", event_window_days=7)
    old = (timezone.now() - timedelta(days=8)).isoformat()
    reply = api_client.post(
        "/api/users",
        {"type": "track", "userId": "u", "event": "Upgraded", "timestamp": old},
        format="json",
        **auth_headers("bearer", key),
    )
    assert reply.status_code == 200, reply.content
    assert UserEvent.objects.get().name == "Upgraded"  # recorded, only too long ago
    visit = {"writeKey": project.write_key, "userId": "u"}
    assert api_client.post("/api/widget", visit, format="json").json()["widget"]["visible"] is False
