"""The secret-key reads of responses: export (JSON and CSV, streamed), one response, and the
v2 statistics — next to the widget's POST/PUT on the same paths."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from satismeter_app.models import Display
from satismeter_app.services import exporting
from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def body_of(reply) -> bytes:
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


def export(client, key, scheme="bearer", **params):
    return client.get("/api/responses", params, **auth_headers(scheme, key))


@pytest.mark.parametrize("scheme", ["bearer", "basic", "authkey"])
def test_export_json_with_every_key_scheme(api_client, project, key, survey, make_response, scheme):
    make_response(survey, rating=10, feedback="Love it")
    reply = export(api_client, key, scheme, project=project.pk)
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/json"
    (obj,) = json.loads(body_of(reply))["responses"]
    assert (obj["rating"], obj["category"], obj["score"], obj["feedback"]) == (
        10,
        "promoter",
        100,
        "Love it",
    )


def test_response_object_has_every_field_with_the_user_snapshot(
    api_client, project, key, survey, make_end_user, make_response
):
    user = make_end_user(
        project, user_id="u1", name="Ann", email="ann@example.com", groups={"g1": {"plan": "pro"}}
    )
    make_response(
        survey,
        user=user,
        rating=3,
        feedback="Slow",
        answers=[{"id": "q2", "label": "Why?", "value": "Speed", "type": "single-choice"}],
        language="de",
        referrer="https://app.example.com/x",
        device={"os": "iOS", "type": "mobile"},
        traits={"plan": "free"},
    )
    (obj,) = json.loads(body_of(export(api_client, key)))["responses"]
    assert set(obj) >= {
        "id", "project", "campaign", "created", "rating", "feedback", "answers", "category",
        "score", "dismissed", "pending", "completed", "method", "language", "referrer",
        "device", "user",
    }  # fmt: skip
    assert obj["campaign"] == str(survey.pk) and obj["project"] == str(project.pk)
    assert obj["category"] == "detractor" and obj["score"] == -100
    assert [a["id"] for a in obj["answers"]] == ["SM_rating", "SM_comment", "q2"]
    assert obj["answers"][0] == {
        "id": "SM_rating", "label": "Rating", "value": 3, "type": "scale", "metric": "nps",
    }  # fmt: skip
    assert obj["device"] == {"os": "iOS", "type": "mobile"}
    assert obj["user"] == {
        "id": str(user.pk),
        "userId": "u1",
        "name": "Ann",
        "email": "ann@example.com",
        "createdAt": None,
        "deleted": False,
        "traits": {"plan": "free"},  # the snapshot taken when they answered
        "groups": {"g1": {"plan": "pro"}},
    }


def test_device_is_parsed_from_the_widget_users_agent(api_client, project, key, survey):
    survey.min_tenure_days = 0
    survey.save()
    started = api_client.post(
        "/api/responses",
        {"writeKey": project.write_key, "userId": "u", "campaign": str(survey.pk), "rating": 9},
        format="json",
        HTTP_USER_AGENT=IPHONE,
    )
    assert started.status_code == 201, started.content
    (obj,) = json.loads(body_of(export(api_client, key)))["responses"]
    assert obj["device"] == {"os": "iOS", "type": "mobile"}


def test_export_csv_has_a_header_and_one_row_per_response(
    api_client, project, key, survey, make_response
):
    for rating in (0, 7, 9):
        make_response(survey, rating=rating)
    reply = export(api_client, key, format="csv")
    assert reply.status_code == 200
    assert reply["Content-Type"].startswith("text/csv")
    assert "attachment" in reply["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body_of(reply).decode())))
    assert [(r["rating"], r["category"], r["score"]) for r in rows] == [
        ("0", "detractor", "-100"),
        ("7", "passive", "0"),
        ("9", "promoter", "100"),
    ]
    assert list(rows[0]) == list(exporting.CSV_COLUMNS)


@pytest.mark.parametrize(
    "evil", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_cells_cannot_become_spreadsheet_formulas(
    api_client, project, key, survey, make_end_user, make_response, evil
):
    user = make_end_user(project, user_id=evil, name=evil)
    make_response(survey, user=user, rating=5, feedback=evil, traits={"note": evil})
    (row,) = csv.DictReader(io.StringIO(body_of(export(api_client, key, format="csv")).decode()))
    for column in ("userId", "name", "feedback"):
        assert row[column] == "'" + evil
    assert row["score"] == "-100"  # numbers are numbers, not text to escape


def test_dates_filter_the_export(api_client, project, key, survey, make_response):
    now = timezone.now()
    for days in (40, 10, 1):
        make_response(survey, rating=8, created=now - timedelta(days=days))
    start = (now - timedelta(days=20)).isoformat()
    reply = export(api_client, key, startDate=start)
    assert len(json.loads(body_of(reply))["responses"]) == 2
    end_day = (now - timedelta(days=10)).date().isoformat()  # a date alone includes its day
    reply = export(api_client, key, startDate=start, endDate=end_day)
    assert len(json.loads(body_of(reply))["responses"]) == 1


@pytest.mark.parametrize(
    "params", [{"startDate": "yesterday"}, {"endDate": "2024-13-01"}, {"format": "xml"}]
)
def test_bad_parameters_are_400s_that_say_which(api_client, key, params):
    reply = export(api_client, key, **params)
    assert reply.status_code == 400
    assert reply.json()["field"] == next(iter(params))


def test_export_streams_and_builds_each_object_without_a_query_per_row(
    api_client, project, key, survey, make_response, django_assert_max_num_queries
):
    for n in range(30):
        make_response(survey, rating=n % 11, traits={"n": n})
    with django_assert_max_num_queries(4):
        reply = export(api_client, key)
        assert reply.streaming
        assert len(json.loads(body_of(reply))["responses"]) == 30


def test_export_is_empty_json_without_responses(api_client, key):
    assert json.loads(body_of(export(api_client, key))) == {"responses": []}


def test_get_export_has_no_cors_but_the_widget_post_keeps_it(api_client, project, key, survey):
    reply = export(api_client, key, HTTP_ORIGIN="https://evil.example")
    assert reply.status_code == 200
    assert "Access-Control-Allow-Origin" not in reply
    widget = api_client.post(
        "/api/responses",
        {"writeKey": project.write_key, "userId": "u", "campaign": str(survey.pk), "rating": 9},
        format="json",
    )
    assert widget["Access-Control-Allow-Origin"] == "*"
    assert "GET" not in widget["Access-Control-Allow-Methods"]


def test_get_needs_the_secret_key_not_the_write_key(api_client, project):
    assert api_client.get("/api/responses").status_code == 401
    reply = api_client.get(
        "/api/responses",
        {"writeKey": project.write_key},
        HTTP_AUTHORIZATION=f"Bearer {project.write_key}",
    )
    assert reply.status_code == 401


def test_one_response_by_id(api_client, project, key, survey, make_response):
    response = make_response(survey, rating=6)
    reply = api_client.get(f"/api/responses/{response.pk}", **auth_headers("authkey", key))
    assert reply.status_code == 200
    assert reply.json()["id"] == str(response.pk)
    assert "Access-Control-Allow-Origin" not in reply


def test_another_projects_response_is_not_found(
    api_client, key, make_project, make_survey, make_response
):
    other = make_response(make_survey(make_project()), rating=1)
    reply = api_client.get(f"/api/responses/{other.pk}", **auth_headers("bearer", key))
    assert reply.status_code == 404


def test_naming_another_project_is_403(api_client, key, make_project):
    other = make_project()
    assert export(api_client, key, project=other.pk).status_code == 403
    reply = api_client.get(
        "/api/v2/response-statistics", {"project": other.pk}, **auth_headers("bearer", key)
    )
    assert reply.status_code == 403


def test_statistics_in_satismeters_shape(
    api_client, project, key, survey, make_response, make_end_user, make_survey, make_project
):
    for rating in (10, 9, 8, 3, 0):
        make_response(survey, rating=rating, feedback="x" if rating == 3 else "")
    make_response(survey, dismissed=True)
    make_response(survey, pending=True)
    user = make_end_user(project)
    Display.objects.create(project=project, survey=survey, user=user)
    Display.objects.create(project=project, survey=survey, user=user)
    make_response(make_survey(make_project()), rating=0)  # another tenant, not counted
    reply = api_client.get(
        "/api/v2/response-statistics",
        {"project": project.pk, "format": "json"},
        **auth_headers("basic", key),
    )
    assert reply.status_code == 200
    (item,) = reply.json()["data"]
    stats = item["attributes"]
    assert stats == {
        "responses": 5,
        "displays": 2,
        "dismissed": 1,
        "pending": 1,
        "commented": 1,
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
        "nps": 0.0,  # (2 - 2) / 5: dismissed and pending are not in the denominator
        "frequency": [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1],
    }


def test_statistics_are_two_queries_whatever_the_number_of_responses(
    api_client, project, key, survey, make_response, django_assert_max_num_queries
):
    for n in range(40):
        make_response(survey, rating=n % 11)
    with django_assert_max_num_queries(4):  # key, last_used, responses, displays
        reply = api_client.get("/api/v2/response-statistics", **auth_headers("bearer", key))
    assert reply.json()["data"][0]["attributes"]["responses"] == 40


def test_statistics_of_a_window_without_answers_have_no_nps(api_client, key):
    reply = api_client.get(
        "/api/v2/response-statistics", {"startDate": "2001-01-01"}, **auth_headers("bearer", key)
    )
    assert reply.json()["data"][0]["attributes"]["nps"] is None
