"""SatisMeter's v3 API: the project, campaigns, cursor-paged responses, campaign statistics."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def headers(key) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_project(api_client, project, headers):
    reply = api_client.get(f"/api/v3/projects/{project.pk}", **headers)
    assert reply.status_code == 200
    assert reply.json()["data"]["name"] == "Acme"
    assert reply.json()["data"]["id"] == str(project.pk)


def test_campaigns_and_one_campaign(api_client, project, headers, survey, make_survey):
    second = make_survey(project, name="CSAT", type="csat", state="draft")
    reply = api_client.get(f"/api/v3/projects/{project.pk}/campaigns", **headers)
    assert [(c["name"], c["type"], c["state"]) for c in reply.json()["data"]] == [
        ("Quarterly NPS", "nps", "active"),
        ("CSAT", "csat", "draft"),
    ]
    reply = api_client.get(f"/api/v3/projects/{project.pk}/campaigns/{second.pk}", **headers)
    assert reply.json()["data"]["id"] == str(second.pk)


def test_another_projects_ids_are_403_for_projects_and_404_for_campaigns(
    api_client, project, headers, make_project, make_survey
):
    other = make_project()
    other_survey = make_survey(other)
    assert api_client.get(f"/api/v3/projects/{other.pk}", **headers).status_code == 403
    assert api_client.get(f"/api/v3/projects/{other.pk}/responses", **headers).status_code == 403
    for suffix in ("", "/responses", "/statistics"):
        url = f"/api/v3/projects/{project.pk}/campaigns/{other_survey.pk}{suffix}"
        assert api_client.get(url, **headers).status_code == 404, url


def pages(client, url, headers, **params):
    """Every page of a listing; yields each page's body."""
    params = dict(params)
    while True:
        body = client.get(url, params, **headers).json()
        yield body
        if not body["page"]["hasNextPage"]:
            return
        params["pageCursor"] = body["page"]["nextPageCursor"]


def test_pages_oldest_first_without_gaps(api_client, project, headers, survey, make_response):
    now = timezone.now()
    made = [
        make_response(survey, rating=n % 11, created=now - timedelta(hours=50 - n))
        for n in range(45)
    ]
    url = f"/api/v3/projects/{project.pk}/responses"
    bodies = list(pages(api_client, url, headers, pageSize=20))
    assert [len(b["data"]) for b in bodies] == [20, 20, 5]
    assert [r["id"] for b in bodies for r in b["data"]] == [str(r.pk) for r in made]


def test_responses_with_the_same_created_time_are_paged_by_id(
    api_client, project, headers, survey, make_response
):
    moment = timezone.now() - timedelta(hours=1)
    made = [make_response(survey, rating=5, created=moment) for _ in range(7)]
    url = f"/api/v3/projects/{project.pk}/responses"
    seen = [r["id"] for b in pages(api_client, url, headers, pageSize=3) for r in b["data"]]
    assert seen == [str(r.pk) for r in made]


def test_responses_arriving_while_paging_are_neither_skipped_nor_repeated(
    api_client, project, headers, survey, make_response
):
    now = timezone.now()
    old = [
        make_response(survey, rating=7, created=now - timedelta(hours=10 - n)) for n in range(10)
    ]
    url = f"/api/v3/projects/{project.pk}/responses"
    first = api_client.get(url, {"pageSize": 4}, **headers).json()
    # New answers arrive between pages, one with the very timestamp of the page's last row.
    last_served = old[3]
    arrivals = [
        make_response(survey, rating=9, created=last_served.created),
        make_response(survey, rating=9),
        make_response(survey, rating=9),
    ]
    seen = [r["id"] for r in first["data"]]
    cursor = first["page"]["nextPageCursor"]
    for body in pages(api_client, url, headers, pageSize=4, pageCursor=cursor):
        seen += [r["id"] for r in body["data"]]
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen) == {str(r.pk) for r in old + arrivals}  # nothing skipped


def test_the_last_page_cursor_resumes_with_what_arrived_since(
    api_client, project, headers, survey, make_response
):
    make_response(survey, rating=9)
    url = f"/api/v3/projects/{project.pk}/responses"
    body = api_client.get(url, **headers).json()
    assert body["page"]["hasNextPage"] is False
    later = make_response(survey, rating=2)
    resumed = api_client.get(url, {"pageCursor": body["page"]["nextPageCursor"]}, **headers).json()
    assert [r["id"] for r in resumed["data"]] == [str(later.pk)]


def test_without_start_date_the_last_30_days(api_client, project, headers, survey, make_response):
    now = timezone.now()
    make_response(survey, rating=1, created=now - timedelta(days=31))
    recent = make_response(survey, rating=1, created=now - timedelta(days=29))
    url = f"/api/v3/projects/{project.pk}/responses"
    assert [r["id"] for r in api_client.get(url, **headers).json()["data"]] == [str(recent.pk)]
    everything = api_client.get(url, {"startDate": "2000-01-01"}, **headers).json()["data"]
    assert len(everything) == 2


def test_campaign_responses_only_that_campaign(
    api_client, project, headers, survey, make_survey, make_response
):
    mine = make_response(survey, rating=4)
    make_response(make_survey(project), rating=4)
    url = f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/responses"
    assert [r["id"] for r in api_client.get(url, **headers).json()["data"]] == [str(mine.pk)]


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "0"},
        {"pageSize": "101"},
        {"pageSize": "ten"},
        {"pageCursor": "garbage!"},
        {"pageCursor": base64.urlsafe_b64encode(b'["not a date", 3]').decode()},
        {"pageCursor": base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode()},
    ],
)
def test_bad_page_parameters_are_400(api_client, project, headers, params):
    reply = api_client.get(f"/api/v3/projects/{project.pk}/responses", params, **headers)
    assert reply.status_code == 400
    assert reply.json()["field"] == next(iter(params))


def test_page_size_defaults_to_20(api_client, project, headers, survey, make_response):
    for _ in range(21):
        make_response(survey, rating=3)
    body = api_client.get(f"/api/v3/projects/{project.pk}/responses", **headers).json()
    assert len(body["data"]) == 20 and body["page"]["hasNextPage"] is True


def test_campaign_statistics(api_client, project, headers, survey, make_survey, make_response):
    for rating in (10, 6):
        make_response(survey, rating=rating)
    make_response(make_survey(project), rating=10)
    url = f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/statistics"
    stats = api_client.get(url, **headers).json()["data"]["attributes"]
    assert (stats["responses"], stats["promoters"], stats["detractors"], stats["nps"]) == (
        2,
        1,
        1,
        0.0,
    )
