"""Working a response through the APIs: v3 carries status and tags and filters by them, the
export filters by them with SatisMeter's objects unchanged, and the management API manages
tags and works responses under the same rules as the admin."""

import csv
import io
import json

import pytest
from rest_framework.authtoken.models import Token

from satismeter_app.models import Membership, Response, ResponseNote, Tag
from satismeter_app.services import work

pytestmark = pytest.mark.django_db


def body_of(reply) -> bytes:
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


@pytest.fixture
def headers(key) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def price(project) -> Tag:
    return Tag.objects.create(project=project, name="price", color="#c62828")


@pytest.fixture
def rows(survey, make_response, price, project) -> list[Response]:
    """Three responses: tagged price and closed, tagged price, untouched."""
    closed, tagged, untouched = (
        make_response(survey, rating=r, feedback=f"r{r}") for r in (2, 5, 9)
    )
    work.update(closed, status="closed", tags=[price])
    work.update(tagged, tags=[price, Tag.objects.create(project=project, name="billing")])
    return [closed, tagged, untouched]


# --- v3 ---------------------------------------------------------------------------------------


def v3(api_client, project, headers, **params):
    return api_client.get(f"/api/v3/projects/{project.pk}/responses", params, **headers)


def test_v3_objects_carry_status_and_tags_after_the_extended_keys(
    api_client, project, headers, rows
):
    data = v3(api_client, project, headers).json()["data"]
    assert [(o["feedback"], o["status"], o["tags"]) for o in data] == [
        ("r2", "closed", ["price"]),
        ("r5", "open", ["billing", "price"]),
        ("r9", "open", []),
    ]
    assert list(data[0])[-3:] == ["user", "status", "tags"]


def test_v3_filters_by_status_and_tags(api_client, project, headers, rows):
    def feedback(**params):
        return [o["feedback"] for o in v3(api_client, project, headers, **params).json()["data"]]

    assert feedback(status="closed") == ["r2"]
    assert feedback(tag="price") == ["r2", "r5"]
    assert feedback(tag=["price", "billing"]) == ["r5"]
    assert feedback(tag="price", status="open") == ["r5"]
    assert feedback(tag="nobody-uses-this") == []
    reply = v3(api_client, project, headers, status="done")
    assert reply.status_code == 400 and reply.json()["field"] == "status"


def test_v3_campaign_pages_filter_too(api_client, project, survey, headers, rows):
    url = f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/responses"
    data = api_client.get(url, {"tag": "billing"}, **headers).json()["data"]
    assert [o["tags"] for o in data] == [["billing", "price"]]


def test_v3_page_reads_tags_in_one_query_whatever_the_rows(
    api_client, project, headers, survey, make_response, price, django_assert_max_num_queries
):
    for n in range(40):
        response = make_response(survey, rating=n % 11)
        response.tags.add(price)
    # the key, its last use, the page and the page's tags
    with django_assert_max_num_queries(4):
        reply = v3(api_client, project, headers, pageSize=50)
    assert [o["tags"] for o in reply.json()["data"]] == [["price"]] * 40


# --- the export -------------------------------------------------------------------------------


def test_the_export_filters_by_tag_and_status_and_keeps_satismeters_objects(
    api_client, headers, rows
):
    reply = api_client.get("/api/responses", {"tag": "price", "status": "open"}, **headers)
    objects = json.loads(body_of(reply))["responses"]
    assert [o["feedback"] for o in objects] == ["r5"]
    assert "tags" not in objects[0] and "status" not in objects[0]
    reply = api_client.get("/api/responses", {"format": "csv", "tag": "price"}, **headers)
    lines = list(csv.DictReader(io.StringIO(body_of(reply).decode())))
    assert sorted(line["feedback"] for line in lines) == ["r2", "r5"]
    reply = api_client.get("/api/responses", {"status": "gone"}, **headers)
    assert reply.status_code == 400 and reply.json()["field"] == "status"


def test_the_filtered_export_makes_no_query_per_row(
    api_client, headers, survey, make_response, price, django_assert_max_num_queries
):
    for n in range(30):
        make_response(survey, rating=n % 11).tags.add(price)
    with django_assert_max_num_queries(4):
        reply = api_client.get("/api/responses", {"tag": "price"}, **headers)
        assert len(json.loads(body_of(reply))["responses"]) == 30


# --- the management API -----------------------------------------------------------------------


@pytest.fixture
def staff(make_staff, project):
    return make_staff(project, first_name="Ana", last_name="Lopez")


@pytest.fixture
def token(staff) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=staff).key}"}


def test_members_manage_their_projects_tags(api_client, project, token, make_project):
    body = {"project": project.pk, "name": "onboarding", "color": "#1d4ed8"}
    reply = api_client.post("/api/manage/tags", body, format="json", **token)
    assert reply.status_code == 201, reply.content
    tag_id = reply.json()["id"]
    again = api_client.post("/api/manage/tags", body, format="json", **token)
    assert again.status_code == 400
    bad = api_client.post(
        "/api/manage/tags", {**body, "name": "x", "color": "blue"}, format="json", **token
    )
    assert bad.status_code == 400 and "color" in bad.json()
    other = make_project(name="Globex")
    elsewhere = api_client.post(
        "/api/manage/tags", {**body, "project": other.pk}, format="json", **token
    )
    assert elsewhere.status_code == 400
    url = f"/api/manage/tags/{tag_id}"
    assert api_client.patch(url, {"color": "#000000"}, format="json", **token).status_code == 200
    moved = api_client.patch(url, {"project": other.pk}, format="json", **token)
    assert moved.status_code == 400
    listed = api_client.get("/api/manage/tags", {"project": project.pk}, **token).json()
    assert [(t["name"], t["color"]) for t in listed["results"]] == [("onboarding", "#000000")]
    assert api_client.delete(url, **token).status_code == 204


def test_staff_work_a_response_through_the_api(api_client, project, token, staff, rows, price):
    url = f"/api/manage/responses/{rows[2].pk}/work"
    body = {"status": "closed", "assignee": staff.pk, "tags": ["billing", "price"]}
    reply = api_client.patch(url, body, format="json", **token)
    assert reply.status_code == 200, reply.content
    assert reply.json() == {
        "status": "closed",
        "assignee": staff.pk,
        "tags": ["billing", "price"],
        "notes": [],
    }
    cleared = api_client.patch(url, {"assignee": None, "tags": []}, format="json", **token)
    assert cleared.json()["assignee"] is None and cleared.json()["tags"] == []
    assert cleared.json()["status"] == "closed"


def test_the_api_refuses_what_the_admin_refuses(
    api_client, project, token, rows, make_project, make_staff
):
    globex = make_project(name="Globex")
    Tag.objects.create(project=globex, name="globex-only")
    outsider = make_staff(globex)
    url = f"/api/manage/responses/{rows[2].pk}/work"
    for body, field in (
        ({"tags": ["globex-only"]}, "tags"),
        ({"assignee": outsider.pk}, "assignee"),
        ({"assignee": 10**9}, "assignee"),
        ({"status": "done"}, "status"),
    ):
        reply = api_client.patch(url, body, format="json", **token)
        assert reply.status_code == 400, (body, reply.content)
        assert field in reply.content.decode()
    rows[2].refresh_from_db()
    assert rows[2].status == "open" and rows[2].assignee is None


def test_notes_keep_their_author_and_are_listed_oldest_first(api_client, token, staff, rows):
    url = f"/api/manage/responses/{rows[0].pk}/notes"
    first = api_client.post(url, {"text": "Called back"}, format="json", **token)
    assert first.status_code == 201, first.content
    assert (first.json()["author"], first.json()["authorName"]) == (staff.pk, "Ana Lopez")
    api_client.post(url, {"text": "Refund sent", "author": 999}, format="json", **token)
    assert api_client.post(url, {"text": ""}, format="json", **token).status_code == 400
    listed = api_client.get(url, **token).json()
    assert [n["text"] for n in listed] == ["Called back", "Refund sent"]
    assert set(ResponseNote.objects.values_list("author", flat=True)) == {staff.pk}
    work_state = api_client.get(f"/api/manage/responses/{rows[0].pk}/work", **token).json()
    assert [n["text"] for n in work_state["notes"]] == ["Called back", "Refund sent"]


def test_the_managed_response_list_filters_by_work(api_client, project, token, staff, rows):
    work.update(rows[1], assignee=staff)

    def feedback(**params):
        reply = api_client.get("/api/manage/responses", params, **token)
        assert reply.status_code == 200, reply.content
        return sorted(o["feedback"] for o in reply.json()["results"])

    assert feedback(status="closed") == ["r2"]
    assert feedback(tag="billing") == ["r5"]
    assert feedback(assignee=str(staff.pk)) == ["r5"]
    assert feedback(assignee="nobody") == ["r2", "r9"]
    reply = api_client.get("/api/manage/responses", {"assignee": "me!"}, **token)
    assert reply.status_code == 400


def test_a_project_admin_and_a_superuser_may_be_assigned(
    api_client, project, token, rows, make_staff
):
    project_admin = make_staff()
    Membership.objects.create(user=project_admin, project=project, role=Membership.Role.ADMIN)
    url = f"/api/manage/responses/{rows[2].pk}/work"
    for person in (project_admin, make_staff(superuser=True)):
        reply = api_client.patch(url, {"assignee": person.pk}, format="json", **token)
        assert reply.status_code == 200 and reply.json()["assignee"] == person.pk


def test_the_schema_describes_the_new_routes(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/manage/tags" in paths and "/api/manage/tags/{id}" in paths
    assert set(paths["/api/manage/responses/{id}/work"]) >= {"get", "patch"}
    assert set(paths["/api/manage/responses/{id}/notes"]) >= {"get", "post"}
    v3_params = {
        p["name"] for p in paths["/api/v3/projects/{project}/responses"]["get"]["parameters"]
    }
    assert {"status", "tag"} <= v3_params
    v3_object = schema["components"]["schemas"]["WorkedResponseObject"]["properties"]
    assert {"status", "tags"} <= set(v3_object)
