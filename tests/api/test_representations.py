"""The objects the SatisMeter-compatible routes answer, pinned byte for byte: clients parse
them, so a key renamed, reordered or formatted differently is a break for someone."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from satismeter_app.api import serializers
from satismeter_app.models import ApiKey, EndUser, Project, Survey
from satismeter_app.models import Response as SurveyResponse

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LATER = datetime(2024, 6, 1, 12, 0, 0, 654321, tzinfo=UTC)


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def body_of(reply) -> bytes:
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


@pytest.fixture
def headers(project) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiKey.issue(project, 'pins')[1]}"}


@pytest.fixture
def survey(project, make_survey) -> Survey:
    survey = make_survey(project, name="Quarterly NPS", starts_at=WHEN)
    Survey.objects.filter(pk=survey.pk).update(created=WHEN, updated=LATER)
    return Survey.objects.get(pk=survey.pk)


@pytest.fixture
def user(project, make_end_user) -> EndUser:
    return make_end_user(
        project,
        user_id="u1",
        name="Zoë",
        email="zoe@example.com",
        created_at=WHEN,
        first_seen=WHEN,
        last_seen=LATER,
        traits={"plan": "pro"},
        groups={"g1": {"seats": 3}},
    )


@pytest.fixture
def response(survey, user, make_response) -> SurveyResponse:
    response = make_response(
        survey,
        user=user,
        rating=9,
        feedback="Très bien",
        # Keys in the order PostgreSQL's jsonb keeps them (shortest first), as SQLite does.
        answers=[{"id": "q2", "type": "single-choice", "label": "Why?", "value": "Speed"}],
        language="fr",
        referrer="https://app.example.com/x",
        device={"os": "iOS", "type": "mobile"},
        traits={"plan": "free"},
        created=WHEN,
    )
    return response


def expected_response(response: SurveyResponse, *, extended: bool = False) -> dict[str, Any]:
    """SatisMeter's documented keys; extended, ours after them."""
    obj = {
        "id": str(response.pk),
        "project": str(response.project_id),
        "campaign": str(response.survey_id),
        "created": "2024-05-06T07:08:09.123456Z",
        "rating": 9,
        "feedback": "Très bien",
        "answers": [
            {"id": "SM_rating", "label": "Rating", "value": 9, "type": "scale", "metric": "nps"},
            {"id": "SM_comment", "label": "Feedback", "value": "Très bien", "type": "long-text"},
            {"id": "q2", "type": "single-choice", "label": "Why?", "value": "Speed"},
        ],
        "category": "promoter",
        "score": 100,
        "dismissed": False,
        "pending": False,
        "completed": True,
        "method": "In-app",
        "language": "fr",
        "referrer": "https://app.example.com/x",
        "device": {"os": "iOS", "type": "mobile"},
        "user": {
            "id": str(response.user_id),
            "userId": "u1",
            "name": "Zoë",
            "email": "zoe@example.com",
            "createdAt": "2024-05-06T07:08:09.123456Z",
            "deleted": False,
            "traits": {"plan": "free"},
            "groups": {"g1": {"seats": 3}},
        },
    }
    if extended:
        obj["user"]["anonymousId"] = None
    return obj


def test_one_response_is_satismeters_response_object(api_client, headers, response):
    reply = api_client.get(f"/api/responses/{response.pk}", **headers)
    assert reply.status_code == 200
    assert reply.content == compact(expected_response(response))


def test_the_export_streams_the_same_response_objects(api_client, headers, response):
    reply = api_client.get("/api/responses", **headers)
    assert body_of(reply) == compact({"responses": [expected_response(response)]})


def test_v3_pages_carry_the_same_response_objects(api_client, headers, project, response):
    reply = api_client.get(
        f"/api/v3/projects/{project.pk}/responses?startDate=2024-01-01", **headers
    )
    # The extended object, key for key and in order, then staff's work on the response.
    worked = {**expected_response(response, extended=True), "status": "open", "tags": []}
    assert json.loads(reply.content)["data"] == [worked]
    assert compact(worked) in reply.content


def test_the_management_api_shows_the_same_response_objects(
    api_client, make_staff, project, response
):
    api_client.force_authenticate(make_staff(project))
    reply = api_client.get(f"/api/manage/responses/{response.pk}")
    assert reply.content == compact(expected_response(response, extended=True))


def test_the_user_list_is_satismeters_user_object(api_client, headers, user):
    reply = api_client.get("/api/users", **headers)
    # The streamed list writes dates as Django's JSON encoder does: to the millisecond.
    expected = {
        "id": str(user.pk),
        "project": str(user.project_id),
        "userId": "u1",
        "name": "Zoë",
        "email": "zoe@example.com",
        "traits": {"plan": "pro"},
        "unsubscribed": False,
        "lastSeen": "2024-06-01T12:00:00.654Z",
        "created": "2024-05-06T07:08:09.123Z",
    }
    assert body_of(reply) == compact({"users": [expected]})


def test_an_upserted_user_is_answered_as_the_same_user_object(api_client, headers, user):
    body = {"userId": "u1", "surveyDate": "2024-06-01T12:00:00.654321Z"}
    reply = api_client.post("/api/users", body, format="json", **headers)
    assert reply.status_code == 200, reply.content
    expected = {
        "id": str(user.pk),
        "project": str(user.project_id),
        "userId": "u1",
        "name": "Zoë",
        "email": "zoe@example.com",
        "traits": {"plan": "pro"},
        "unsubscribed": False,
        "lastSeen": "2024-06-01T12:00:00.654321Z",
        "created": "2024-05-06T07:08:09.123456Z",
        "surveyDate": "2024-06-01T12:00:00.654321Z",
    }
    assert reply.content == compact({"user": expected})


def test_v3_project_and_campaign_objects(api_client, headers, project, survey):
    Project.objects.filter(pk=project.pk).update(created=WHEN)
    reply = api_client.get(f"/api/v3/projects/{project.pk}", **headers)
    assert reply.content == compact(
        {
            "data": {
                "id": str(project.pk),
                "name": "Acme",
                "defaultLanguage": project.default_language,
                "identityVerification": False,
                "created": "2024-05-06T07:08:09.123456Z",
            }
        }
    )
    reply = api_client.get(f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}", **headers)
    assert reply.content == compact(
        {
            "data": {
                "id": str(survey.pk),
                "project": str(project.pk),
                "name": "Quarterly NPS",
                "type": "nps",
                "state": "active",
                "priority": survey.priority,
                "startsAt": "2024-05-06T07:08:09.123456Z",
                "endsAt": None,
                "created": "2024-05-06T07:08:09.123456Z",
                "updated": "2024-06-01T12:00:00.654321Z",
            }
        }
    )


def test_statistics_and_unsubscribes_documents(api_client, headers, project, response):
    reply = api_client.get("/api/v2/response-statistics?startDate=2024-01-01", **headers)
    attributes = {
        "responses": 1,
        "displays": 0,
        "dismissed": 0,
        "pending": 0,
        "commented": 1,
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "nps": 100.0,
        "frequency": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
    }
    resource = {"id": str(project.pk), "type": "response-statistics", "attributes": attributes}
    assert reply.content == compact({"data": [resource]})
    reply = api_client.get(f"/api/v2/project-unsubscribes/{project.pk}", **headers)
    assert reply.content == compact(
        {
            "data": {
                "id": str(project.pk),
                "type": "project-unsubscribes",
                "attributes": {"emails": []},
            }
        }
    )


@pytest.mark.parametrize(
    ("serializer_class", "instance_of"),
    [
        (serializers.ResponseObjectSerializer, lambda response: response),
        (serializers.ExtendedResponseObjectSerializer, lambda response: response),
        (serializers.UserSnapshotSerializer, lambda response: response.user),
        (serializers.ExtendedUserSnapshotSerializer, lambda response: response.user),
        (serializers.UserObjectSerializer, lambda response: response.user),
        (serializers.ExtendedUserObjectSerializer, lambda response: response.user),
        (serializers.ProjectObjectSerializer, lambda response: response.project),
        (serializers.CampaignObjectSerializer, lambda response: response.survey),
    ],
)
def test_the_schema_describes_every_key_of_each_object(serializer_class, instance_of, response):
    """Each schema serializer answers what its representation builds, key for key."""
    serializer = serializer_class(instance_of(response))
    assert list(serializer.data) == list(serializer.fields)
