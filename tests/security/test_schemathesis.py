"""The OpenAPI schema is true to the server: schemathesis calls every operation (the management
API with a staff token included) with generated requests, valid and invalid, one by one and
then in sequences (its stateful phase, following the links it infers between operations), and
checks that no answer is a server error or contradicts the schema: status codes, content
types, headers and bodies.

Issue #13's "done when". It runs in about two minutes on two cores; set
``SCHEMATHESIS_EXAMPLES`` (per operation) and ``SCHEMATHESIS_SCENARIOS`` for a longer run (the
outside review's was 62,000 cases).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from project.wsgi import application
from satismeter_app.models import ApiKey, Display, Membership, Project, Survey

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
STATEFUL_SCENARIOS = int(os.environ.get("SCHEMATHESIS_SCENARIOS", "100"))
# Every check of an answer against the schema, and those of authentication and of resources
# (a created one can be read, a deleted one cannot). Left out: positive_data_acceptance and
# negative_data_rejection, which hold the schema to rules it cannot state (a startDate that
# parses, a survey the user has not answered yet).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    missing_required_header,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
]
# The coverage phase adds the boundary cases of every parameter and body field (hundreds per
# operation) to the fuzzing phase's generated ones.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": True}}})

# Loaded from the running application, as a client would: no database access is needed.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
}


@pytest.fixture
def connection_kept_open() -> Iterator[None]:
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
    survey: Survey
    key: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        # Both credentials at once: secret-key routes read AuthKey, staff routes the token.
        return {"Authorization": f"Token {self.token}", "AuthKey": self.key}


@pytest.fixture
def seeded(
    db: Any,
    connection_kept_open: None,
    django_user_model: Any,
    make_project: Any,
    make_survey: Any,
    make_end_user: Any,
    make_response: Any,
) -> Seeded:
    """A project with a bit of everything, its secret key and a member's staff token."""
    project = make_project(name="Schemathesis")
    survey = make_survey(project, min_tenure_days=0)
    for rating in (0, 8, 10):
        response = make_response(survey, rating=rating, feedback="ok")
        Display.objects.create(project=project, survey=survey, user=response.user)
    make_end_user(project, anonymous_id="visitor", email="visitor@example.com")
    staff = django_user_model.objects.create(username="schemathesis", is_staff=True)
    Membership.objects.create(user=staff, project=project, role=Membership.Role.ADMIN)
    key, token = ApiKey.issue(project)[1], Token.objects.create(user=staff).key
    return Seeded(project, survey, key, token)


def aim_at_the_seeded_project(case: Any, seeded: Seeded) -> None:
    """Random ids only ever reach the 403/404 branches; the seeded project's reach the rest."""
    project = seeded.project
    if "project" in (case.path_parameters or {}):
        case.path_parameters["project"] = str(project.pk)
    if "project" in (case.query or {}):
        case.query["project"] = str(project.pk)
    if isinstance(case.body, dict):
        segment = case.operation.path.startswith("/segment")
        aimed = {
            "writeKey": seeded.key if segment else project.write_key,
            "project": project.pk,
            "campaign": str(seeded.survey.pk),
        }
        case.body.update({name: value for name, value in aimed.items() if name in case.body})


def names_no_route(case: Any, response: Any) -> bool:
    """A path id the schema refuses (``abc`` for ``{id}``, a digit pattern) may name no route
    at all: that 404 is the host's page, not an answer of the operation."""
    negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    return bool(negative_path and response.status_code == 404)


def validate(case: Any, response: Any, seeded: Seeded) -> None:
    checks = [not_a_server_error] if names_no_route(case, response) else CHECKS
    case.validate_response(response, checks=checks, headers=seeded.headers)


@schema.parametrize()
@settings(max_examples=EXAMPLES, **HYPOTHESIS)
def test_every_operation_answers_as_its_schema_says(case: Any, seeded: Seeded) -> None:
    cache.clear()  # rate limits: each case reaches the view, not the throttle's 429
    aim_at_the_seeded_project(case, seeded)
    validate(case, case.call(headers=seeded.headers), seeded)


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls along the links schemathesis infers (a survey created, then read,
    changed and deleted; a response started, then saved)."""

    seeded: Seeded

    def setup(self) -> None:
        # Each scenario starts from the seeded data (a savepoint it rolls back) and fresh rate
        # limits, so that Hypothesis can replay and shrink a failing one.
        self.scenario = transaction.atomic()
        self.scenario.__enter__()
        cache.clear()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.scenario.__exit__(None, None, None)

    def before_call(self, case: Any) -> None:
        aim_at_the_seeded_project(case, self.seeded)

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": self.seeded.headers}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        validate(case, response, self.seeded)


def test_sequences_of_operations_answer_as_the_schema_says(seeded: Seeded) -> None:
    Workflows.seeded = seeded
    Workflows.run(
        settings=settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=8, **HYPOTHESIS)
    )
