"""Users with the secret key: listing, erasing, exporting; and the unsubscribe list (v2)."""

import json

import pytest

from satismeter_app.models import EndUser, Response, Unsubscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def headers(key) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def body_of(reply) -> dict:
    return json.loads(b"".join(reply.streaming_content) if reply.streaming else reply.content)


def test_list_users_in_satismeters_shape(api_client, project, headers, make_end_user, make_project):
    make_end_user(project, user_id="u1", email="a@example.com", traits={"plan": "pro"})
    make_end_user(project, user_id="u2")
    make_end_user(project, anonymous_id="visitor")  # not identified: not listed
    make_end_user(make_project(), user_id="u3")  # another tenant
    reply = api_client.get("/api/users", {"project": project.pk}, **headers)
    assert reply.status_code == 200
    users = body_of(reply)["users"]
    assert [u["userId"] for u in users] == ["u1", "u2"]
    assert set(users[0]) == {
        "id", "project", "userId", "name", "email", "traits", "unsubscribed", "lastSeen",
        "created",
    }  # fmt: skip
    assert users[0]["traits"] == {"plan": "pro"} and users[0]["email"] == "a@example.com"
    assert users[0]["lastSeen"].endswith("Z")


def test_list_one_user_by_user_id(api_client, project, headers, make_end_user):
    make_end_user(project, user_id="u1")
    make_end_user(project, user_id="u2")
    users = body_of(api_client.get("/api/users", {"userId": "u2"}, **headers))["users"]
    assert [u["userId"] for u in users] == ["u2"]


def test_delete_anonymises_by_default(
    api_client, project, headers, make_end_user, make_survey, make_response
):
    user = make_end_user(project, user_id="u1", email="a@example.com", traits={"plan": "pro"})
    make_response(make_survey(project), user=user, rating=9, feedback="Great, Ann here")
    reply = api_client.delete(f"/api/users/{user.pk}", **headers)
    assert reply.status_code == 204
    user.refresh_from_db()
    assert (user.user_id, user.email, user.traits) == (f"erased-{user.pk}", "", {})
    assert user.erased is not None
    response = Response.objects.get()
    assert (response.rating, response.feedback) == (9, "")


def test_delete_with_mode_delete_removes_the_user_and_responses(
    api_client, project, headers, make_end_user, make_survey, make_response
):
    user = make_end_user(project)
    make_response(make_survey(project), user=user, rating=9)
    reply = api_client.delete(f"/api/users/{user.pk}?mode=delete", **headers)
    assert reply.status_code == 204
    assert not EndUser.objects.exists() and not Response.objects.exists()


def test_delete_with_an_unknown_mode_is_400(api_client, project, headers, make_end_user):
    user = make_end_user(project)
    reply = api_client.delete(f"/api/users/{user.pk}?mode=shred", **headers)
    assert reply.status_code == 400
    assert EndUser.objects.get().erased is None


def test_another_projects_user_is_not_found(api_client, headers, make_end_user, make_project):
    other = make_end_user(make_project(), user_id="theirs")
    assert api_client.delete(f"/api/users/{other.pk}", **headers).status_code == 404
    assert api_client.get(f"/api/users/{other.pk}/export", **headers).status_code == 404
    other.refresh_from_db()
    assert other.user_id == "theirs" and other.erased is None


def test_export_everything_about_a_user(
    api_client, project, headers, make_end_user, make_survey, make_response
):
    user = make_end_user(project, user_id="u1", email="a@example.com")
    make_response(make_survey(project), user=user, rating=2, feedback="Meh")
    reply = api_client.get(f"/api/users/{user.pk}/export", **headers)
    assert reply.status_code == 200
    data = reply.json()
    assert data["user"]["userId"] == "u1" and data["user"]["email"] == "a@example.com"
    assert [r["feedback"] for r in data["responses"]] == ["Meh"]
    assert set(data) >= {"user", "responses", "displays", "events", "unsubscribes", "deliveries"}


# --- the unsubscribe list --------------------------------------------------------------------------


def unsubscribes_url(project) -> str:
    return f"/api/v2/project-unsubscribes/{project.pk}"


def test_unsubscribes_get_in_json_api_shape(api_client, project, headers):
    Unsubscribe.objects.create(project=project, email="a@example.com", source="link")
    reply = api_client.get(unsubscribes_url(project), **headers)
    assert reply.json() == {
        "data": {
            "id": str(project.pk),
            "type": "project-unsubscribes",
            "attributes": {"emails": ["a@example.com"]},
        }
    }


def test_patch_replaces_the_list(api_client, project, headers, make_end_user):
    Unsubscribe.objects.create(project=project, email="old@example.com", source="link")
    Unsubscribe.objects.create(project=project, email="Kept@example.com", source="link")
    kept = make_end_user(project, email="kept@example.com", unsubscribed=True)
    old = make_end_user(project, email="old@example.com", unsubscribed=True)
    new = make_end_user(project, email="NEW@example.com")
    body = {
        "data": {
            "type": "project-unsubscribes",
            "attributes": {"emails": ["kept@example.com", "new@example.com", "NEW@example.com"]},
        }
    }
    reply = api_client.patch(
        unsubscribes_url(project),
        json.dumps(body),
        content_type="application/vnd.api+json",
        **headers,
    )
    assert reply.status_code == 200, reply.content
    assert sorted(e.lower() for e in reply.json()["data"]["attributes"]["emails"]) == [
        "kept@example.com",
        "new@example.com",
    ]
    assert Unsubscribe.objects.get(email__iexact="new@example.com").source == "api"
    flags = {u.pk: u.unsubscribed for u in EndUser.objects.all()}
    assert flags == {kept.pk: True, old.pk: False, new.pk: True}


def test_patch_with_a_bad_address_changes_nothing(api_client, project, headers):
    Unsubscribe.objects.create(project=project, email="a@example.com", source="link")
    body = {"data": {"attributes": {"emails": ["b@example.com", "not an address"]}}}
    reply = api_client.patch(unsubscribes_url(project), body, format="json", **headers)
    assert reply.status_code == 400
    assert "emails[1]" in reply.json()["error"]
    assert list(Unsubscribe.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_patch_an_empty_list_clears_it(api_client, project, headers):
    Unsubscribe.objects.create(project=project, email="a@example.com", source="link")
    body = {"data": {"attributes": {"emails": []}}}
    reply = api_client.patch(unsubscribes_url(project), body, format="json", **headers)
    assert reply.status_code == 200
    assert not Unsubscribe.objects.exists()


def test_unsubscribes_of_another_project_are_403(api_client, headers, make_project):
    other = make_project()
    Unsubscribe.objects.create(project=other, email="a@example.com", source="link")
    assert api_client.get(unsubscribes_url(other), **headers).status_code == 403
    body = {"data": {"attributes": {"emails": []}}}
    reply = api_client.patch(unsubscribes_url(other), body, format="json", **headers)
    assert reply.status_code == 403
    assert Unsubscribe.objects.filter(project=other).exists()
