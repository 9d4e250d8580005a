"""Input that answered 500, or 200 and then a broken stream: each is now a 4xx (or, on the
dashboard's form, a field left out with a message) before anything is sent.

Issue #13, item 6 (the admin dashboard's date range; NUL characters in query parameters and
path ids). NUL is PostgreSQL-only trouble (SQLite stores it), so these tests also run on
PostgreSQL with ``DATABASE_URL`` set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from satismeter_app.models import EndUser, Project, Survey
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db


# --- the admin dashboard's date range ---------------------------------------------------------


@pytest.fixture
def staff_client(client: Client, project: Project, make_staff: Callable[..., Any]) -> Client:
    client.force_login(make_staff(project))
    return client


def dashboard_url(project: Project, page: str = "dashboard") -> str:
    return reverse(f"admin:satismeter_app_project_{page}", args=[project.pk])


@pytest.mark.parametrize("page", ["dashboard", "dashboard_export"])
@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01",
        "end=9999-12-31",
        "start=0001-01-01&end=9999-12-31",
        "start=0001-01-02&end=0001-01-03",
        "start=9999-12-30&end=9999-12-31",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused_not_a_500(
    staff_client: Client, project: Project, survey: Survey, page: str, query: str
) -> None:
    reply = staff_client.get(f"{dashboard_url(project, page)}?{query}")
    assert reply.status_code == 200
    if page == "dashboard":
        text = reply.content.decode()
        assert "Some filters were left out" in text
        assert "1970-01-01" in text or "2999-12-31" in text  # the range it takes, named


def test_a_long_range_inside_the_calendar_still_counts(
    staff_client: Client, project: Project, survey: Survey, make_response: Callable[..., Any]
) -> None:
    make_response(survey, rating=10)
    reply = staff_client.get(f"{dashboard_url(project)}?start=1970-01-01&end=2999-12-31")
    assert reply.status_code == 200
    assert "Some filters were left out" not in reply.content.decode()
    assert reply.context["overview"].summary.answered == 1


# --- NUL characters in query parameters and path ids ------------------------------------------


@pytest.fixture
def key_headers(key: str) -> dict[str, str]:
    return auth_headers("bearer", key)


def test_a_nul_in_a_query_parameter_is_a_400_before_the_stream_starts(
    api_client: Any, project: Project, key_headers: dict[str, str], make_end_user: Any
) -> None:
    make_end_user(project, user_id="a")
    reply = api_client.get("/api/users?userId=a%00b", **key_headers)
    assert reply.status_code == 400
    assert not reply.streaming
    assert json.loads(reply.content) == {
        "error": "userId: must not contain NUL characters",
        "field": "userId",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/responses?startDate=2024%00",
        "/api/responses?project=1%00",
        "/api/v2/response-statistics?endDate=%00",
        "/api/v3/projects/{project}/responses?pageCursor=x%00",
        "/api/v3/projects/{project}/campaigns/1%00",
        "/api/v3/projects/{project}%00/campaigns",
        "/api/v2/project-unsubscribes/{project}%00",
        "/api/users?unknown%00name=1",
    ],
)
def test_every_secret_key_route_refuses_a_nul_in_its_query_or_path(
    api_client: Any, project: Project, key_headers: dict[str, str], path: str
) -> None:
    reply = api_client.get(path.format(project=project.pk), **key_headers)
    assert reply.status_code == 400, reply.content
    assert "must not contain NUL characters" in json.loads(reply.content)["error"]


def test_the_management_api_refuses_a_nul_in_its_filters(
    api_client: Any, project: Project, make_staff: Callable[..., Any]
) -> None:
    api_client.force_authenticate(make_staff(project))
    reply = api_client.get("/api/manage/users?userId=a%00b")
    assert reply.status_code == 400, reply.content
    assert json.loads(reply.content)["field"] == "userId"


def test_segment_routes_answer_a_nul_in_segments_words(
    api_client: Any, project: Project, key: str
) -> None:
    reply = api_client.post(
        "/segment/webhook/1%00", {"type": "identify", "userId": "u"}, format="json"
    )
    assert reply.status_code == 400
    body = json.loads(reply.content)
    assert body["success"] is False and "NUL" in body["message"]


def test_nothing_is_written_when_a_nul_is_refused(
    api_client: Any, project: Project, key_headers: dict[str, str]
) -> None:
    reply = api_client.post(
        "/api/users?project=1%00", {"userId": "kept-out"}, format="json", **key_headers
    )
    assert reply.status_code == 400
    assert not EndUser.objects.filter(user_id="kept-out").exists()


# --- found by schemathesis --------------------------------------------------------------------


@pytest.mark.parametrize("device_types", [True, 3, [{}], [["mobile"]]])
def test_device_types_that_are_no_list_of_names_are_a_400(
    api_client: Any, project: Project, make_staff: Callable[..., Any], device_types: Any
) -> None:
    """POST /api/manage/surveys with device_types=true (form data) answered 500 (TypeError)."""
    api_client.force_authenticate(make_staff(project))
    body = {"project": project.pk, "name": "Devices", "device_types": device_types}
    reply = api_client.post("/api/manage/surveys", body, format="json")
    assert reply.status_code == 400, reply.content
    assert "device_types" in json.loads(reply.content)
