"""The management API for staff: projects, surveys, integrations, users, responses."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from satismeter_app.models import EndUser, Integration, Membership, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_staff, project):
    return make_staff(project)


@pytest.fixture
def token(staff) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=staff).key}"}


@pytest.fixture
def project_admin(make_staff, project):
    user = make_staff()
    Membership.objects.create(user=user, project=project, role=Membership.Role.ADMIN)
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


def test_staff_see_their_own_projects_only(api_client, project, token, make_project):
    make_project(name="Someone else's")
    reply = api_client.get("/api/manage/projects", **token)
    assert reply.status_code == 200
    assert [p["name"] for p in reply.json()["results"]] == ["Acme"]
    assert "segment_webhook_secret" not in reply.json()["results"][0]


def test_superusers_see_every_project(api_client, project, make_staff, make_project):
    make_project(name="Other")
    admin = make_staff(superuser=True)
    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=admin).key}"}
    assert api_client.get("/api/manage/projects", **headers).json()["count"] == 2


def test_non_staff_and_anonymous_are_refused(api_client, project, django_user_model):
    assert api_client.get("/api/manage/projects").status_code in (401, 403)
    user = django_user_model.objects.create_user("plain", password="x" * 12)
    Membership.objects.create(user=user, project=project)
    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}
    assert api_client.get("/api/manage/surveys", **headers).status_code == 403


def test_session_login_works_with_csrf_for_writes(project, staff):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.get("/api/manage/surveys").status_code == 200
    body = {"project": project.pk, "name": "No CSRF"}
    assert client.post("/api/manage/surveys", body, format="json").status_code == 403


def test_project_settings_need_the_admin_role(api_client, project, token, project_admin):
    url = f"/api/manage/projects/{project.pk}"
    assert api_client.patch(url, {"name": "Renamed"}, format="json", **token).status_code == 403
    reply = api_client.patch(
        url, {"name": "Renamed", "segment_webhook_secret": "s3cret"}, format="json", **project_admin
    )
    assert reply.status_code == 200, reply.content
    assert reply.json()["segment_webhook_enabled"] is True
    assert "segment_webhook_secret" not in reply.json()
    project.refresh_from_db()
    assert (project.name, project.segment_webhook_secret) == ("Renamed", "s3cret")


def test_create_a_survey_with_texts_and_targeting(api_client, project, token):
    body = {
        "project": project.pk,
        "name": "Pro users NPS",
        "state": "active",
        "texts": {"en": {"FOLLOWUP": "What could we improve?"}},
        "trait_conditions": [{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}],
        "url_rules": [{"op": "contains", "value": "/app"}],
        "device_types": ["desktop"],
        "sample_percent": 50,
    }
    reply = api_client.post("/api/manage/surveys", body, format="json", **token)
    assert reply.status_code == 201, reply.content
    survey = Survey.objects.get()
    assert survey.trait_conditions[0]["value"] == "pro" and survey.sample_percent == 50
    assert reply.json()["texts"] == {"en": {"FOLLOWUP": "What could we improve?"}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trait_conditions": [{"trait": "plan", "op": "nonsense"}]}, "trait_conditions"),
        ({"device_types": ["fridge"]}, "device_types"),
        ({"url_rules": "not a list"}, "url_rules"),
        ({"reminders_enabled": True}, "reminder_sender_email"),
        ({"sample_percent": 101}, "sample_percent"),
        ({"texts": {"en": {"X": "a\x00b"}}}, "texts"),
    ],
)
def test_surveys_are_validated_by_the_model(api_client, project, token, change, field):
    body = {"project": project.pk, "name": "S", **change}
    reply = api_client.post("/api/manage/surveys", body, format="json", **token)
    assert reply.status_code == 400, reply.content
    assert field in str(reply.json())
    assert not Survey.objects.exists()


def test_schedule_must_end_after_it_starts(api_client, project, token, make_survey):
    survey = make_survey(project)
    now = timezone.now()
    body = {"starts_at": now.isoformat(), "ends_at": (now - timedelta(days=1)).isoformat()}
    reply = api_client.patch(f"/api/manage/surveys/{survey.pk}", body, format="json", **token)
    assert reply.status_code == 400 and "ends_at" in reply.json()


def test_a_survey_cannot_move_or_be_made_in_another_project(
    api_client, project, token, make_project, make_survey
):
    other = make_project()
    reply = api_client.post(
        "/api/manage/surveys", {"project": other.pk, "name": "Sneaky"}, format="json", **token
    )
    assert reply.status_code == 400 and "project" in reply.json()
    survey = make_survey(project)
    reply = api_client.patch(
        f"/api/manage/surveys/{survey.pk}", {"project": other.pk}, format="json", **token
    )
    assert reply.status_code == 400
    assert Survey.objects.get().project == project


def test_survey_filters_and_pagination(api_client, project, token, make_survey):
    for n in range(5):
        make_survey(project, name=f"A{n}", state="active")
    make_survey(project, name="Drafty", state="draft", type="csat")
    reply = api_client.get("/api/manage/surveys", {"state": "draft"}, **token).json()
    assert [s["name"] for s in reply["results"]] == ["Drafty"]
    reply = api_client.get("/api/manage/surveys", {"type": "nps", "pageSize": 2}, **token).json()
    assert reply["count"] == 5 and len(reply["results"]) == 2 and reply["next"]
    assert api_client.get("/api/manage/surveys", {"state": "bogus"}, **token).status_code == 400


def test_integrations_secret_is_write_only_and_admins_set_them_up(
    api_client, project, token, project_admin, make_survey
):
    body = {
        "project": project.pk,
        "kind": "webhook",
        "name": "Our CRM",
        "events": ["completed"],
        "settings": {"url": "https://crm.example.com/hook"},
        "secret": "hush",
    }
    assert (
        api_client.post("/api/manage/integrations", body, format="json", **token).status_code == 400
    )
    reply = api_client.post("/api/manage/integrations", body, format="json", **project_admin)
    assert reply.status_code == 201, reply.content
    assert "secret" not in reply.json() and reply.json()["has_secret"] is True
    assert Integration.objects.get().secret == "hush"
    listed = api_client.get("/api/manage/integrations", **token).json()["results"]
    assert listed[0]["name"] == "Our CRM" and "secret" not in listed[0]
    bad = {**body, "events": ["exploded"]}
    reply = api_client.post("/api/manage/integrations", bad, format="json", **project_admin)
    assert reply.status_code == 400 and "events" in reply.json()


def test_users_with_filters_and_erase(api_client, project, token, make_end_user):
    make_end_user(project, user_id="u1", email="Ann@Example.com")
    target = make_end_user(project, user_id="u2")
    reply = api_client.get("/api/manage/users", {"email": "ann@example.com"}, **token).json()
    assert [u["user_id"] for u in reply["results"]] == ["u1"]
    reply = api_client.get("/api/manage/users", {"userId": "u2"}, **token).json()
    assert [u["id"] for u in reply["results"]] == [target.pk]
    erase = api_client.post(f"/api/manage/users/{target.pk}/erase", {}, format="json", **token)
    assert erase.status_code == 204
    assert EndUser.objects.get(pk=target.pk).erased is not None
    erased = api_client.get("/api/manage/users", {"erased": "true"}, **token).json()["results"]
    assert [u["id"] for u in erased] == [target.pk]
    export = api_client.get(f"/api/manage/users/{target.pk}/export", **token)
    assert export.json()["user"]["userId"] == f"erased-{target.pk}"


def test_responses_with_filters(
    api_client, project, token, make_survey, make_response, make_end_user
):
    survey = make_survey(project)
    other_survey = make_survey(project)
    ann = make_end_user(project, user_id="ann")
    now = timezone.now()
    make_response(survey, user=ann, rating=10, method="Email", created=now - timedelta(days=3))
    make_response(survey, rating=7, created=now - timedelta(days=2))
    make_response(other_survey, rating=2, created=now - timedelta(days=1))
    make_response(survey, dismissed=True)

    def ratings(**params):
        reply = api_client.get("/api/manage/responses", params, **token)
        assert reply.status_code == 200, reply.content
        return [r["rating"] for r in reply.json()["results"]]

    assert ratings() == [None, 2, 7, 10]  # newest first
    assert ratings(category="promoter") == [10]
    assert ratings(category="detractor") == [2]
    assert ratings(survey=survey.pk, ratingMin=5) == [7, 10]
    assert ratings(method="Email") == [10]
    assert ratings(userId="ann") == [10]
    assert ratings(dismissed="true") == [None]
    assert ratings(startDate=(now - timedelta(days=2, hours=1)).isoformat(), rating=7) == [7]
    reply = api_client.get("/api/manage/responses", {"category": "grumpy"}, **token)
    assert reply.status_code == 400


def test_response_objects_are_satismeters(api_client, project, token, make_survey, make_response):
    response = make_response(make_survey(project), rating=9, feedback="Nice")
    reply = api_client.get(f"/api/manage/responses/{response.pk}", **token).json()
    assert (reply["category"], reply["score"], reply["feedback"]) == ("promoter", 100, "Nice")
    assert reply["user"]["userId"] == response.user.user_id
