"""SatisMeter's 2015 call shape, as raw bodies of the widget routes: the 2015 snippet and
Segment's integration 1.0.x call ``satismeter({token, user: {id, name, email, signUpDate},
trackAnonymous, preview})``, and clients that post that object as it is."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import override_settings

from satismeter_app.models import Display, EndUser, Response, Survey

pytestmark = pytest.mark.django_db

SIGN_UP = "2015-03-02T09:30:00.000Z"


def post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, body, format="json")


def old_call(project: Any, **body: Any) -> dict[str, Any]:
    user = {"id": "007", "name": "James Bond", "email": "james@bond.com", "signUpDate": SIGN_UP}
    return {"token": project.write_key, "user": user, **body}


def test_token_and_user_identify_and_decide(api_client, project, survey) -> None:
    body = old_call(project, trackAnonymous=False, preview=False)
    body["user"]["plan"] = "gold"
    reply = post(api_client, "/api/widget", body)
    assert reply.status_code == 200, reply.content
    assert reply.json()["widget"]["campaign"] == str(survey.pk)
    user = EndUser.objects.get()
    assert (user.user_id, user.name, user.email) == ("007", "James Bond", "james@bond.com")
    assert user.created_at == datetime(2015, 3, 2, 9, 30, tzinfo=UTC)  # signUpDate
    assert user.traits["plan"] == "gold"  # other keys of `user` are traits
    assert "signUpDate" not in user.traits and "id" not in user.traits


def test_an_old_response_lands_on_the_user(api_client, project, survey) -> None:
    body = old_call(project, campaign=str(survey.pk), rating=9, trackAnonymous=False)
    reply = post(api_client, "/api/responses", body)
    assert reply.status_code == 201, reply.content
    response = Response.objects.get()
    assert (response.rating, response.user.user_id, response.user.name) == (9, "007", "James Bond")


def test_old_keys_are_read_on_displays_too(api_client, project, survey) -> None:
    reply = post(api_client, "/api/displays", old_call(project, campaign=str(survey.pk)))
    assert reply.status_code == 201, reply.content
    assert Display.objects.get().user.user_id == "007"


def test_todays_names_win_over_the_old_ones(api_client, project, make_project, survey) -> None:
    other = make_project(name="Other")
    body = old_call(other, writeKey=project.write_key, userId="42", traits={"name": "Ann"})
    assert post(api_client, "/api/widget", body).status_code == 200
    user = EndUser.objects.get()
    assert (user.project_id, user.user_id, user.name) == (project.pk, "42", "Ann")
    assert user.email == "james@bond.com"  # a trait only the old shape named


def test_track_anonymous_false_refuses_a_call_without_a_user(api_client, project, survey) -> None:
    body = {"token": project.write_key, "anonymousId": "v-1", "trackAnonymous": False}
    reply = post(api_client, "/api/widget", body)
    assert reply.status_code == 400
    assert "trackAnonymous is false" in reply.json()["non_field_errors"][0]
    assert not EndUser.objects.exists()
    body = {**body, "user": {"id": ""}, "campaign": str(survey.pk), "rating": 3}
    assert post(api_client, "/api/responses", body).status_code == 400
    assert not Response.objects.exists()


def test_track_anonymous_lets_a_visitor_in(api_client, project, survey) -> None:
    survey.audience = Survey.Audience.EVERYONE  # the survey still decides who is asked
    survey.save()
    body = {"token": project.write_key, "anonymousId": "v-1", "trackAnonymous": True}
    reply = post(api_client, "/api/widget", body)
    assert reply.status_code == 200, reply.content
    assert reply.json()["widget"]["visible"] is True
    assert EndUser.objects.get().anonymous_id == "v-1"


def test_preview_is_force_survey_and_needs_staff(api_client, project, make_survey) -> None:
    make_survey(project, min_tenure_days=365)  # not due for a user who signed up today
    body = old_call(project, preview=True)
    body["user"]["signUpDate"] = datetime.now(UTC).isoformat()
    assert post(api_client, "/api/widget", body).json()["widget"] == {"visible": False}
    with override_settings(DEBUG=True):  # the demo: previews for everyone
        shown = post(api_client, "/api/widget", body).json()["widget"]
    assert (shown["visible"], shown["preview"]) == (True, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": {"id": "u"}}, "writeKey"),  # neither token nor writeKey
        ({"token": 7, "user": "007"}, "user"),
        ({"token": "k", "user": {"id": ["007"]}}, "user"),
        ({"token": "k" * 65, "user": {"id": "u"}}, "token"),
        ({"token": "k", "user": {"id": "u"}, "preview": "sometimes"}, "preview"),
        ({"token": "k", "user": {"id": "u"}, "trackAnonymous": "yes please"}, "trackAnonymous"),
    ],
)
def test_bad_old_keys_are_a_400_naming_them(api_client, project, body, field) -> None:
    reply = post(api_client, "/api/widget", body)
    assert reply.status_code == 400, reply.content
    assert field in reply.content.decode()
    assert not EndUser.objects.exists()


def test_the_schema_describes_the_old_keys_as_deprecated(client) -> None:
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ("WidgetCallRequest", "NewResponseRequest"):
        properties = schemas[name]["properties"]
        for key in ("token", "user", "trackAnonymous", "preview"):
            assert properties[key].get("deprecated") is True, (name, key)
        assert "writeKey" in properties
