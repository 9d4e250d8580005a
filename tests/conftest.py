"""Factory fixtures shared by the whole suite."""

from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from satismeter_app.models import ApiKey, EndUser, Membership, Project, Response, Survey

_serial = count(1)


@pytest.fixture
def make_project(db: Any) -> Callable[..., Project]:
    def make(**fields: Any) -> Project:
        fields.setdefault("name", f"Product {next(_serial)}")
        return Project.objects.create(**fields)

    return make


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return make_project(name="Acme")


@pytest.fixture
def make_staff(db: Any) -> Callable[..., Any]:
    """A staff user, member of the given projects (superuser with superuser=True)."""

    def make(*projects: Project, superuser: bool = False, **fields: Any) -> Any:
        username = fields.pop("username", f"staff{next(_serial)}")
        user = get_user_model().objects.create_user(
            username=username,
            password=fields.pop("password", "correct horse battery staple"),
            is_staff=True,
            is_superuser=superuser,
            **fields,
        )
        for project in projects:
            Membership.objects.create(user=user, project=project)
        return user

    return make


@pytest.fixture
def make_end_user(db: Any) -> Callable[..., EndUser]:
    def make(project: Project, **fields: Any) -> EndUser:
        if "anonymous_id" not in fields:
            fields.setdefault("user_id", f"user-{next(_serial)}")
        first_seen = fields.setdefault("first_seen", timezone.now() - timedelta(days=60))
        fields.setdefault("last_seen", max(first_seen, timezone.now()))
        return EndUser.objects.create(project=project, **fields)

    return make


@pytest.fixture
def make_survey(db: Any) -> Callable[..., Survey]:
    def make(project: Project, **fields: Any) -> Survey:
        fields.setdefault("name", f"NPS {next(_serial)}")
        fields.setdefault("state", Survey.State.ACTIVE)
        return Survey.objects.create(project=project, **fields)

    return make


@pytest.fixture
def survey(project: Project, make_survey: Callable[..., Survey]) -> Survey:
    """The project's active NPS survey, shown to anyone at once (no tenure to wait for)."""
    return make_survey(project, name="Quarterly NPS", min_tenure_days=0)


@pytest.fixture
def key(project: Project) -> str:
    """A secret API key of the project, in clear."""
    return ApiKey.issue(project, "tests")[1]


@pytest.fixture
def make_response(make_end_user: Callable[..., EndUser]) -> Callable[..., Response]:
    def make(survey: Survey, **fields: Any) -> Response:
        if "user" not in fields:
            fields["user"] = make_end_user(survey.project)
        if fields.get("rating") is not None and not fields.get("dismissed"):
            fields.setdefault("completed", True)
        if fields.get("completed"):
            fields.setdefault("completed_at", fields.get("created") or timezone.now())
        return Response.objects.create(project=survey.project, survey=survey, **fields)

    return make


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and cached configuration must not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()
