"""Identity verification holds (issue #13, items 6 and 14; docs/widget.md, "Identity
verification").

With verification on, a ``userHash`` that is not the right one — also one that is not even
ASCII — is a 403, and a verified user who sends someone else's ``anonymousId`` does not take
over that visitor's row when the row names someone (an email or a name): the verified user
gets a row of their own and the anonymous row is left as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from satismeter_app import keys
from satismeter_app.models import EndUser, Project, Response, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(project: Project, survey: Survey) -> Project:
    project.identity_verification = True
    project.save()
    return project


def call(client: Any, route: str, project: Project, **body: Any) -> Any:
    return client.post(route, {"writeKey": project.write_key, **body}, format="json")


def as_verified(client: Any, project: Project, user_id: str, **body: Any) -> Any:
    user_hash = keys.user_hash(user_id, project.verification_secret)
    return call(client, "/api/widget", project, userId=user_id, userHash=user_hash, **body)


# --- item 6: a userHash that is not ASCII ----------------------------------------------------------


@pytest.mark.parametrize("user_hash", ["é" * 64, "\u0661" * 64, "ä"])
def test_a_non_ascii_user_hash_is_a_wrong_hash(api_client, verified, survey, user_hash):
    widget = call(api_client, "/api/widget", verified, userId="u", userHash=user_hash)
    started = call(
        api_client,
        "/api/responses",
        verified,
        userId="u",
        userHash=user_hash,
        campaign=str(survey.pk),
        rating=3,
    )

    for reply in (widget, started):
        assert reply.status_code == 403
        assert "userHash" in reply.json()["error"]
    assert not EndUser.objects.exists() and not Response.objects.exists()


# --- item 14: someone else's anonymousId -----------------------------------------------------------


def test_a_verified_user_does_not_take_over_an_anonymous_row_with_an_email(api_client, verified):
    victim = {"email": "victim@example.com", "name": "Vic Tim", "plan": "pro"}
    call(api_client, "/api/widget", verified, anonymousId="anon-victim", traits=victim)

    reply = as_verified(api_client, verified, "mallory", anonymousId="anon-victim")

    assert reply.status_code == 200
    anonymous = EndUser.objects.get(anonymous_id="anon-victim", user_id__isnull=True)
    assert (anonymous.email, anonymous.traits) == ("victim@example.com", victim)
    mallory = EndUser.objects.get(user_id="mallory")
    assert (mallory.email, mallory.name, mallory.traits) == ("", "", {})
    assert mallory.anonymous_id is None  # the anonymousId stays the visitor's


def test_a_verified_user_does_not_take_over_an_anonymous_row_with_a_name(api_client, verified):
    call(api_client, "/api/widget", verified, anonymousId="anon-named", traits={"name": "Vic"})

    as_verified(api_client, verified, "mallory", anonymousId="anon-named")

    assert EndUser.objects.get(anonymous_id="anon-named", user_id__isnull=True).name == "Vic"
    assert EndUser.objects.get(user_id="mallory").name == ""


def test_a_verified_user_keeps_an_anonymous_history_that_names_no_one(api_client, verified):
    call(api_client, "/api/widget", verified, anonymousId="anon-1", traits={"plan": "pro"})

    as_verified(api_client, verified, "ann", anonymousId="anon-1", traits={"email": "a@x.test"})

    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id, user.email) == ("ann", "anon-1", "a@x.test")
    assert user.traits == {"plan": "pro", "email": "a@x.test"}


def test_without_verification_an_identifying_visitor_keeps_their_row(api_client, project):
    traits = {"email": "ann@example.com"}
    call(api_client, "/api/widget", project, anonymousId="anon-2", traits=traits)

    call(api_client, "/api/widget", project, anonymousId="anon-2", userId="ann")

    user = EndUser.objects.get()
    assert (user.user_id, user.email) == ("ann", "ann@example.com")
