"""Working a response in the admin: the project's tags, the response page's status, assignee,
tags, notes and timeline, the responses list's chips and filters, and the dashboard's filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import Project, Response, ResponseNote, Survey, Tag
from satismeter_app.services import dashboard, work

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:satismeter_app_{name}", args=args)


@pytest.fixture
def member(make_staff: Callable[..., Any], project: Project) -> Any:
    return make_staff(project, first_name="Ana", last_name="Lopez")


@pytest.fixture
def member_client(client: Client, member: Any) -> Client:
    client.force_login(member)
    return client


@pytest.fixture
def price(project: Project) -> Tag:
    return Tag.objects.create(project=project, name="price", color="#c62828")


@pytest.fixture
def globex(make_project: Callable[..., Project], make_survey, make_response) -> dict[str, Any]:
    project = make_project(name="Globex")
    response = make_response(make_survey(project), rating=4, feedback="globex feedback")
    return {
        "project": project,
        "response": response,
        "tag": Tag.objects.create(project=project, name="globex-tag"),
    }


@pytest.fixture
def answered(survey: Survey, make_response: Callable[..., Response]) -> Response:
    return make_response(survey, rating=2, feedback="Too expensive")


# --- tags -------------------------------------------------------------------------------------


def test_a_member_adds_a_coloured_tag_to_their_project_only(
    member_client: Client, project: Project, globex: dict
) -> None:
    page = member_client.get(url("tag_add"))
    assert 'type="color"' in page.content.decode()
    assert [p.pk for p in page.context["adminform"].form.fields["project"].queryset] == [project.pk]
    body = {"project": project.pk, "name": "onboarding", "color": "#1d4ed8", "keywords": ""}
    assert member_client.post(url("tag_add"), body).status_code == 302
    assert Tag.objects.get(name="onboarding").project == project
    again = member_client.post(url("tag_add"), body)
    assert again.status_code == 200 and Tag.objects.filter(name="onboarding").count() == 1
    elsewhere = member_client.post(url("tag_add"), {**body, "project": globex["project"].pk})
    assert elsewhere.status_code == 200
    assert not Tag.objects.filter(project=globex["project"], name="onboarding").exists()
    assert member_client.get(url("tag_change", globex["tag"].pk)).status_code == 302  # missing


def test_renaming_a_tag_to_a_taken_name_is_refused(
    member_client: Client, project: Project, price: Tag
) -> None:
    fast = Tag.objects.create(project=project, name="fast")
    reply = member_client.post(url("tag_change", fast.pk), {"name": "price", "color": "#000000"})
    assert reply.status_code == 200
    assert "already" in reply.content.decode()
    fast.refresh_from_db()
    assert fast.name == "fast"


# --- the response's page ----------------------------------------------------------------------


def test_the_response_page_has_the_work_panel_and_timeline(
    member_client: Client, answered: Response, price: Tag, member: Any
) -> None:
    ResponseNote.objects.create(response=answered, author=member, text="Called <b>back</b>")
    page = member_client.get(url("response_change", answered.pk)).content.decode()
    assert "Working this response" in page and "Timeline" in page
    assert 'name="work-status"' in page and 'name="note-text"' in page
    assert "Called &lt;b&gt;back&lt;/b&gt;" in page and "Ana Lopez" in page
    assert page.index("Response received") < page.index("Called &lt;b&gt;back")
    # What the user sent stays read-only: no field of the response's own form.
    assert 'name="feedback"' not in page


def test_a_member_closes_assigns_and_tags_a_response(
    member_client: Client, answered: Response, price: Tag, member: Any
) -> None:
    body = {"work-status": "closed", "work-assignee": member.pk, "work-tags": [price.pk]}
    reply = member_client.post(url("response_work", answered.pk), body)
    assert reply.status_code == 302
    answered.refresh_from_db()
    assert (answered.status, answered.assignee) == ("closed", member)
    assert list(answered.tags.all()) == [price]
    # The response's history says who did it.
    entry = LogEntry.objects.get(object_id=str(answered.pk))
    assert entry.user == member and "closed; Ana Lopez; price" in entry.get_change_message()


def test_a_response_id_that_is_no_number_is_missing(member_client: Client) -> None:
    assert member_client.get(url("response_change", "abc")).status_code == 302


def test_another_projects_tag_or_person_is_refused(
    member_client: Client, answered: Response, globex: dict, make_staff: Callable[..., Any]
) -> None:
    outsider = make_staff(globex["project"])
    for body in (
        {"work-status": "closed", "work-tags": [globex["tag"].pk]},
        {"work-status": "closed", "work-assignee": outsider.pk},
    ):
        reply = member_client.post(url("response_work", answered.pk), body, follow=True)
        assert "Nothing changed" in reply.content.decode()
    answered.refresh_from_db()
    assert answered.status == "open" and not answered.tags.exists()


def test_a_note_is_written_by_whoever_posts_it(
    member_client: Client, answered: Response, member: Any
) -> None:
    reply = member_client.post(url("response_note", answered.pk), {"note-text": "Refund sent"})
    assert reply.status_code == 302
    note = answered.notes.get()
    assert (note.author, note.text) == (member, "Refund sent")
    blank = member_client.post(url("response_note", answered.pk), {"note-text": " "}, follow=True)
    assert "not added" in blank.content.decode() and answered.notes.count() == 1


def test_another_projects_response_cannot_be_worked(member_client: Client, globex: dict) -> None:
    theirs = globex["response"]
    assert (
        member_client.post(url("response_work", theirs.pk), {"work-status": "closed"}).status_code
        == 404
    )
    assert (
        member_client.post(url("response_note", theirs.pk), {"note-text": "x"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == "open" and not theirs.notes.exists()


# --- the responses list ----------------------------------------------------------------------


@pytest.fixture
def worked(survey, make_response, price, member, project) -> dict[str, Response]:
    closed, mine, other = (make_response(survey, rating=r, feedback=f"r{r}") for r in (1, 5, 9))
    work.update(closed, status="closed", tags=[price])
    work.update(mine, assignee=member, tags=[Tag.objects.create(project=project, name="ux")])
    return {"closed": closed, "mine": mine, "other": other}


def listed(client: Client, **params: Any) -> set[str]:
    page = client.get(url("response_changelist"), params)
    assert page.status_code == 200
    return {row.feedback for row in page.context["cl"].result_list}


def test_the_list_filters_by_status_assignee_and_tag(
    member_client: Client, worked: dict, price: Tag, globex: dict
) -> None:
    assert listed(member_client, status__exact="closed") == {"r1"}
    assert listed(member_client, assignee="me") == {"r5"}
    assert listed(member_client, assignee="nobody") == {"r1", "r9"}
    assert listed(member_client, tag=price.pk) == {"r1"}
    assert listed(member_client, tag=globex["tag"].pk) == set()
    page = member_client.get(url("response_changelist")).content.decode()
    assert "globex-tag" not in page  # the tag filter offers the member's projects' tags only


def test_the_list_shows_coloured_chips_and_closed(member_client: Client, worked: dict) -> None:
    page = member_client.get(url("response_changelist")).content.decode()
    assert 'style="background:#c62828;color:#fff">price</span>' in page
    assert '<span class="sm-state">closed</span>' in page


def test_the_list_reads_tags_in_one_query_whatever_the_rows(
    member_client: Client, survey, make_response, price, project, django_assert_max_num_queries
) -> None:
    ux = Tag.objects.create(project=project, name="ux")
    for n in range(30):
        make_response(survey, rating=n % 11).tags.add(price, ux)
    with django_assert_max_num_queries(14):
        page = member_client.get(url("response_changelist"))
    assert len(page.context["cl"].result_list) == 30


# --- the dashboard --------------------------------------------------------------------------


def test_the_dashboard_counts_only_the_chosen_work(
    member_client: Client, project: Project, worked: dict, price: Tag, member: Any
) -> None:
    today = timezone.localdate()
    base = dashboard.Filters(start=today - timedelta(days=30), end=today)
    tagged = dashboard.Filters(**{**base.__dict__, "tag": price})
    assert not dashboard.from_rollups(tagged)
    assert dashboard.overview(project, tagged).summary.detractors == 1
    assert dashboard.overview(project, tagged).summary.answered == 1
    closed = dashboard.Filters(**{**base.__dict__, "status": "open"})
    assert dashboard.overview(project, closed).summary.answered == 2
    mine = dashboard.Filters(**{**base.__dict__, "assignee": str(member.pk)})
    assert dashboard.numbers(project, mine).overview.summary.passives == 0
    assert dashboard.numbers(project, mine).overview.summary.detractors == 1

    page = member_client.get(url("project_dashboard", project.pk), {"tag": price.pk})
    assert page.context["overview"].summary.answered == 1
    assert any("tagged price" in note for note in page.context["scope"])
    export = member_client.get(url("project_dashboard_export", project.pk), {"status": "closed"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["feedback"] for row in rows] == ["r1"]


def test_the_dashboard_refuses_another_projects_tag(
    member_client: Client, project: Project, worked: dict, globex: dict
) -> None:
    page = member_client.get(url("project_dashboard", project.pk), {"tag": globex["tag"].pk})
    assert page.context["form"].errors["tag"]
    assert page.context["overview"].summary.answered == 3  # left out: every response counts
