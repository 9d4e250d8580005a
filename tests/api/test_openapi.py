"""The OpenAPI schema: served, valid, with interactive docs that load nothing from the internet,
and true to the server — schemathesis calls every operation with generated requests (valid and
invalid) and checks that none answers 5xx and that every answer matches the schema."""

import re
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from project.wsgi import application
from satismeter_app.models import ApiKey, Display, Membership, Project

MAX_EXAMPLES = 25

# Generated cases (valid and invalid) per operation; the coverage phase's exhaustive boundary
# cases (hundreds per operation) are left out so that the file runs in about a minute.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})

# Loaded from the running application, as a client would: no database access is needed.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


def test_schema_is_served_as_openapi_3(client: Client) -> None:
    reply = client.get("/api/schema/?format=json")
    assert reply.status_code == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    for path in (
        "/api/responses",
        "/api/responses/{id}",
        "/api/v2/response-statistics",
        "/api/users",
        "/api/users/{id}",
        "/api/users/{id}/export",
        "/api/v2/project-unsubscribes/{project}",
        "/api/v3/projects/{project}/campaigns/{cid}/responses",
        "/segment/v1/batch",
        "/segment/webhook/{project}",
        "/api/manage/surveys/{id}",
    ):
        assert path in paths, path
    schemes = document["components"]["securitySchemes"]
    assert {"apiKeyBearer", "apiKeyBasic", "apiKeyHeader", "tokenAuth", "cookieAuth"} <= set(
        schemes
    )


def test_interactive_docs_load_swagger_ui_from_this_server(client: Client) -> None:
    reply = client.get("/api/docs/")
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "swagger-ui" in html.lower()
    external = [
        src
        for src in re.findall(r'(?:src|href)="([^"]+)"', html)
        if src.startswith(("http://", "https://", "//"))
    ]
    assert external == []  # the sidecar serves Swagger UI: no CDN
    assert "/api/schema/" in html


@pytest.fixture
def connection_kept_open():
    """Schemathesis calls the WSGI application directly, and Django closes the database
    connection after each request — the test's transaction with it. Django's own test client
    keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@dataclass
class Seeded:
    project: Project
    key: str
    token: str


@pytest.fixture
def seeded(
    db,
    connection_kept_open,
    django_user_model,
    make_project,
    make_survey,
    make_end_user,
    make_response,
):
    """A project with a bit of everything, its secret key and a member's staff token."""
    project = make_project(name="Schemathesis")
    survey = make_survey(project, min_tenure_days=0)
    for rating in (0, 8, 10):
        response = make_response(survey, rating=rating, feedback="ok")
        Display.objects.create(project=project, survey=survey, user=response.user)
    make_end_user(project, anonymous_id="visitor", email="visitor@example.com")
    staff = django_user_model.objects.create(username="schemathesis", is_staff=True)
    Membership.objects.create(user=staff, project=project, role=Membership.Role.ADMIN)
    return Seeded(project, ApiKey.issue(project)[1], Token.objects.create(user=staff).key)


def aim_at_the_seeded_project(case, seeded: Seeded) -> None:
    """Random ids only ever reach the 403/404 branches; the seeded project's reach the rest."""
    if "project" in (case.path_parameters or {}):
        case.path_parameters["project"] = str(seeded.project.pk)
    if isinstance(case.body, dict) and "writeKey" in case.body:
        segment = case.operation.path.startswith("/segment")
        case.body["writeKey"] = seeded.key if segment else seeded.project.write_key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, seeded: Seeded) -> None:
    aim_at_the_seeded_project(case, seeded)
    case.call_and_validate(
        # Both credentials at once: secret-key routes read AuthKey, staff routes the token.
        headers={"Authorization": f"Token {seeded.token}", "AuthKey": seeded.key},
        checks=[not_a_server_error, response_schema_conformance],
    )
