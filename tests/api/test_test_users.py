"""Test users — made by the sample page, never by the admin's survey preview — are marked, and
no statistic or export counts them or their displays and responses (issue #17, item 7)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import Display, EndUser, Response
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(project, survey, make_end_user, make_response) -> dict[str, Any]:
    """A real promoter and a test detractor, each shown the survey, yesterday and an hour ago
    (so that the statistics read both the daily rollups and the hours outside whole days)."""
    real = make_end_user(project, user_id="customer-1")
    tester = make_end_user(project, user_id="sample-a1b2c3", is_test=True)
    now = timezone.now()
    for when in (now - timedelta(days=1), now - timedelta(hours=1)):
        pro = {"plan": "pro"}
        make_response(survey, user=real, rating=10, feedback="real", created=when, traits=pro)
        make_response(
            survey, user=tester, rating=0, feedback="trying", created=when, traits=pro, is_test=True
        )
        Display.objects.create(project=project, survey=survey, user=real, created=when)
        Display.objects.create(
            project=project, survey=survey, user=tester, created=when, is_test=True
        )
    return {"real": real, "tester": tester, "now": now}


def test_statistics_count_no_test_row(api_client, key, mixed) -> None:
    start = (mixed["now"] - timedelta(days=3)).isoformat()
    end = (mixed["now"] + timedelta(minutes=1)).isoformat()
    reply = api_client.get(
        "/api/v2/response-statistics",
        {"startDate": start, "endDate": end},
        **auth_headers("bearer", key),
    )
    stats = reply.json()["data"][0]["attributes"]
    assert (stats["responses"], stats["displays"], stats["detractors"]) == (2, 2, 0)
    assert stats["nps"] == 100


@pytest.mark.parametrize("export_format", ["json", "csv"])
def test_the_responses_export_leaves_test_responses_out(
    api_client, key, mixed, export_format
) -> None:
    reply = api_client.get(
        "/api/responses", {"format": export_format}, **auth_headers("bearer", key)
    )
    body = b"".join(reply.streaming_content).decode()
    if export_format == "csv":
        ratings = [row["rating"] for row in csv.DictReader(io.StringIO(body))]
    else:
        ratings = [str(row["rating"]) for row in json.loads(body)["responses"]]
    assert ratings == ["10", "10"]
    assert "sample-a1b2c3" not in body


def test_the_v3_pages_and_the_users_list_leave_test_rows_out(
    api_client, key, project, survey, mixed
) -> None:
    headers = auth_headers("bearer", key)
    for url in (
        f"/api/v3/projects/{project.pk}/responses",
        f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/responses",
    ):
        ratings = [row["rating"] for row in api_client.get(url, **headers).json()["data"]]
        assert ratings == [10, 10], url
    users = api_client.get("/api/users", {"project": project.pk}, **headers)
    listed = json.loads(b"".join(users.streaming_content))["users"]
    assert [user["userId"] for user in listed] == ["customer-1"]


def test_the_dashboard_and_its_csv_leave_test_rows_out(client, make_staff, project, mixed):
    client.force_login(make_staff(project))
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    for query in ({}, {"trait": "plan", "trait_value": "pro"}):  # rollups, then responses
        page = client.get(url, query)
        summary = page.context["overview"].summary
        assert (summary.answered, summary.detractors) == (2, 0), query
    export = client.get(reverse("admin:satismeter_app_project_dashboard_export", args=[project.pk]))
    body = b"".join(export.streaming_content).decode()
    assert "customer-1" in body and "sample-a1b2c3" not in body


# --- who is made, and marked ------------------------------------------------------------------


def widget(client, project, **body: Any) -> Any:
    return client.post("/api/widget", {"writeKey": project.write_key, **body}, format="json")


def test_the_admin_preview_of_a_survey_makes_no_user(api_client, project, survey, make_staff):
    api_client.force_login(make_staff(project))
    body = {"userId": "satismeter-admin-preview-1", "previewCampaign": str(survey.pk)}
    body["traits"] = {"language": "de"}

    shown = widget(api_client, project, **body).json()["widget"]

    assert (shown["visible"], shown["preview"], shown["survey"]["language"]) == (True, True, "de")
    assert not EndUser.objects.exists()


def test_a_preview_without_the_right_to_preview_is_a_plain_call(api_client, project, survey):
    body = {"userId": "curious", "previewCampaign": str(survey.pk)}
    assert widget(api_client, project, **body).status_code == 200
    assert EndUser.objects.get().user_id == "curious"  # as any page view of a user


def test_a_plain_sample_page_visit_makes_no_user(client, project, survey, settings) -> None:
    settings.DEBUG = True
    page = client.get(reverse("satismeter:sample"))

    assert page.status_code == 200
    assert page.context["sample_user"] is None
    assert "satismeter-options" not in page.content.decode()  # the widget does not run
    assert not EndUser.objects.exists()


def test_the_sample_page_makes_a_test_user_when_asked(client, project, survey, settings):
    settings.DEBUG = True
    page = client.get(reverse("satismeter:sample"), {"userId": "sample-abcdef"})

    user = EndUser.objects.get()
    assert (user.user_id, user.is_test) == ("sample-abcdef", True)
    assert page.context["sample_user"] == user
    assert "satismeter-options" in page.content.decode()


def test_the_sample_page_leaves_a_real_user_real(client, project, survey, settings, make_end_user):
    settings.DEBUG = True
    real = make_end_user(project, user_id="customer-7")

    page = client.get(reverse("satismeter:sample"), {"userId": "customer-7"})

    real.refresh_from_db()
    assert real.is_test is False
    assert "counts as theirs" in page.content.decode()


def test_a_test_users_answers_and_displays_carry_the_mark(api_client, project, survey):
    tester = EndUser.objects.create(project=project, user_id="sample-0f0f0f", is_test=True)
    body = {"writeKey": project.write_key, "userId": tester.user_id, "campaign": str(survey.pk)}
    assert api_client.post("/api/displays", body, format="json").status_code == 201
    assert (
        api_client.post("/api/responses", {**body, "rating": 3}, format="json").status_code == 201
    )

    assert Display.objects.get().is_test and Response.objects.get().is_test
