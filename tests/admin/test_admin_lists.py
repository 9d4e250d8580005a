"""Issue #17 in the admin: the dashboards in reach (index, sidebar, a project picker, each
survey's last 90 days), the product's data view-only, test users marked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import (
    Delivery,
    Display,
    EndUser,
    Project,
    Response,
    Survey,
    UserEvent,
)


def admin_url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:satismeter_app_{model._meta.model_name}_{view}", args=args)


def dashboard_url(project: Project) -> str:
    return reverse("admin:satismeter_app_project_dashboard", args=[project.pk])


PICKER = reverse("admin:satismeter_app_projectdashboard_changelist")


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def answered(
    project: Project,
    survey: Survey,
    make_end_user: Callable[..., EndUser],
    make_response: Callable[..., Response],
) -> dict[str, Any]:
    user = make_end_user(
        project,
        user_id="anna",
        name="Anna",
        email="anna@example.com",
        traits={"plan": "pro", "seats": 12, "createdAt": "2024-01-31T09:00:00+00:00"},
    )
    response = make_response(survey, user=user, rating=9, feedback="Great " * 80)
    display = Display.objects.create(project=project, survey=survey, user=user)
    event = UserEvent.objects.create(project=project, user=user, name="Upgraded")
    return {"user": user, "response": response, "display": display, "event": event}


@pytest.fixture(params=["superuser", "member"])
def staff_client(
    request: pytest.FixtureRequest, client: Client, make_staff: Callable[..., Any], project
) -> Client:
    client.force_login(make_staff(project, superuser=request.param == "superuser"))
    return client


# --- 3. the dashboards in reach -------------------------------------------------------------------


def test_the_index_and_the_sidebar_link_the_dashboards(
    client: Client, make_staff: Callable[..., Any], project: Project
) -> None:
    client.force_login(make_staff(project))
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{PICKER}"' in index and "NPS dashboards" in index
    # The sidebar (nav_sidebar) of any admin page lists it too.
    page = client.get(admin_url(Survey, "changelist")).content.decode()
    assert page.count(f'href="{PICKER}"') >= 1


def test_one_project_goes_straight_to_its_dashboard(
    client: Client, make_staff: Callable[..., Any], project: Project
) -> None:
    client.force_login(make_staff(project))
    reply = client.get(PICKER)
    assert (reply.status_code, reply["Location"]) == (302, dashboard_url(project))


def test_the_picker_lists_the_members_projects_with_their_last_90_days(
    client: Client,
    make_staff: Callable[..., Any],
    make_project: Callable[..., Project],
    make_survey: Callable[..., Survey],
    make_response: Callable[..., Response],
) -> None:
    mine, also_mine, not_mine = make_project(name="Mine"), make_project(name="Also"), make_project()
    survey = make_survey(mine)
    for rating in (10, 10, 0):
        make_response(survey, rating=rating)
    make_response(survey, rating=0, created=timezone.now() - timedelta(days=91))  # too old
    client.force_login(make_staff(mine, also_mine))

    page = client.get(PICKER)
    rows = {row.pk: row.recent_summary for row in page.context["cl"].result_list}
    assert set(rows) == {mine.pk, also_mine.pk}
    assert (rows[mine.pk].answered, round(rows[mine.pk].nps)) == (3, 33)
    assert f'href="{dashboard_url(mine)}"' in page.content.decode()

    assert client.get(PICKER, {"project": also_mine.pk})["Location"] == dashboard_url(also_mine)
    assert client.get(PICKER, {"project": not_mine.pk}).status_code == 404
    dashboard = client.get(dashboard_url(mine)).content.decode()
    assert 'id="sm-picker-project"' in dashboard and ">Also</option>" in dashboard
    assert not_mine.name not in dashboard


def test_the_survey_list_shows_the_last_90_days_in_one_query_per_page(
    client: Client,
    make_staff: Callable[..., Any],
    project: Project,
    make_survey: Callable[..., Survey],
    make_response: Callable[..., Response],
    django_assert_max_num_queries: Any,
) -> None:
    client.force_login(make_staff(project))
    first = make_survey(project, name="First")
    for rating in (9, 10, 3, 8):
        make_response(first, rating=rating)
    make_response(first, dismissed=True)
    with CaptureQueriesContext(connection) as few:
        page = client.get(admin_url(Survey, "changelist"))
    figures = {
        s.pk: (s.recent_summary.answered, s.recent_summary.nps)
        for s in page.context["cl"].result_list
    }
    assert figures[first.pk] == (4, 25.0)
    body = page.content.decode()
    assert f'href="{dashboard_url(project)}?survey={first.pk}">25</a>' in body

    for n in range(25):
        make_response(make_survey(project), rating=n % 11)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(admin_url(Survey, "changelist"))
    assert len(page.context["cl"].result_list) == 26


# --- 5. what the product recorded is view-only -----------------------------------------------------


@pytest.mark.parametrize("name", ["response", "display", "event"])
def test_responses_displays_and_events_are_view_only(
    staff_client: Client, answered: dict[str, Any], name: str
) -> None:
    obj = answered[name]
    model = type(obj)
    assert staff_client.get(admin_url(model, "add")).status_code == 403
    listing = staff_client.get(admin_url(model, "changelist"))
    assert "delete_selected" not in listing.content.decode()
    assert listing.context["has_add_permission"] is False

    page = staff_client.get(admin_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}  # nothing to type in
    assert staff_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert staff_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_a_response_page_shows_all_of_it_and_traits_as_a_table(
    staff_client: Client, answered: dict[str, Any]
) -> None:
    response = answered["response"]
    response.traits = {"plan": "pro"}
    response.save()
    body = staff_client.get(admin_url(Response, "change", response.pk)).content.decode()
    assert response.feedback.strip() in body  # the list clips it, the page has it whole
    assert '<th scope="row"><code>plan</code></th><td>pro</td>' in body
    listing = staff_client.get(admin_url(Response, "changelist")).content.decode()
    assert response.feedback.strip() not in listing
    assert "promoter" in listing


def test_a_users_ids_and_traits_are_view_only_and_staff_fields_stay_editable(
    staff_client: Client, answered: dict[str, Any]
) -> None:
    user = answered["user"]
    url = admin_url(EndUser, "change", user.pk)
    page = staff_client.get(url)
    assert set(page.context["adminform"].form.fields) == {"survey_date", "unsubscribed"}
    body = page.content.decode()
    assert '<th scope="row"><code>seats</code></th><td>12</td>' in body
    assert 'name="traits"' not in body and 'name="user_id"' not in body

    staff_client.post(
        url,
        {
            "user_id": "someone-else",
            "name": "Mallory",
            "traits": '{"plan": "free"}',
            "unsubscribed": "on",
            "survey_date_0": "",
            "survey_date_1": "",
        },
    )
    user.refresh_from_db()
    assert (user.user_id, user.name, user.traits["plan"], user.unsubscribed) == (
        "anna",
        "Anna",
        "pro",
        True,
    )
    assert staff_client.get(admin_url(EndUser, "add")).status_code == 403


def test_deleting_a_user_is_their_erasure(
    staff_client: Client, project: Project, answered: dict[str, Any]
) -> None:
    user = answered["user"]
    shown = Delivery.objects.create(
        project=project,
        destination="webhook",
        event="viewed",
        payload={"user": {"id": str(user.pk), "email": "anna@example.com"}},
        message_id="display:1",
        state=Delivery.State.DELIVERED,
        delivered_at=timezone.now(),
    )
    staff_client.post(admin_url(EndUser, "delete", user.pk), {"post": "yes"})

    assert not EndUser.objects.filter(pk=user.pk).exists()
    assert not Response.objects.filter(user_id=user.pk).exists()
    shown.refresh_from_db()
    assert shown.payload == {"erased": True}  # a plain delete would have left the address


def test_a_survey_with_answers_can_still_be_deleted(
    client: Client, make_staff: Callable[..., Any], project: Project, answered: dict[str, Any]
) -> None:
    """Its responses go with it: view-only rows need no delete permission of their own."""
    client.force_login(make_staff(project))
    survey = answered["response"].survey
    client.post(admin_url(Survey, "delete", survey.pk), {"post": "yes"})
    assert not Survey.objects.filter(pk=survey.pk).exists()


# --- 7. test users are marked ----------------------------------------------------------------------


def test_test_users_are_marked_in_the_lists(
    staff_client: Client, project: Project, survey: Survey, make_response: Callable[..., Any]
) -> None:
    tester = EndUser.objects.create(project=project, user_id="sample-123abc", is_test=True)
    make_response(survey, user=tester, rating=3, is_test=True)
    for model in (EndUser, Response):
        body = staff_client.get(admin_url(model, "changelist")).content.decode()
        assert (
            '<span class="sm-clip">sample-123abc</span> <span class="sm-test">test</span>' in body
        )
    only = staff_client.get(admin_url(EndUser, "changelist"), {"is_test__exact": "1"})
    assert [user.pk for user in only.context["cl"].result_list] == [tester.pk]
