"""Email notifications in the admin: each member manages their own, for their projects;
superusers see everyone's (docs/staff-email.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from satismeter_app.models import StaffSubscription

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:satismeter_app_staffsubscription_changelist")
ADD = reverse("admin:satismeter_app_staffsubscription_add")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change(sub: StaffSubscription) -> str:
    return reverse("admin:satismeter_app_staffsubscription_change", args=[sub.pk])


def _form(project: Any, **fields: Any) -> dict[str, Any]:
    data = {
        "project": project.pk,
        "survey": "",
        "detractor_alerts": "on",
        "alert_interval": "60",
        "digest": "weekly",
        "language": "",
    }
    return {**data, **fields}


def test_a_member_sees_and_changes_only_their_own(project, make_staff):
    ann, bob = make_staff(project), make_staff(project)
    mine = StaffSubscription.objects.create(user=ann, project=project)
    theirs = StaffSubscription.objects.create(user=bob, project=project)
    client = _client(ann)
    listed = client.get(CHANGELIST).context["cl"].result_list
    assert list(listed) == [mine]
    assert client.get(_change(theirs)).status_code == 302  # "missing", as Django says
    assert client.post(_change(theirs), _form(project, digest="none")).status_code == 302
    theirs.refresh_from_db()
    assert theirs.digest == "weekly"


def test_a_members_new_subscription_is_theirs_and_only_for_their_projects(
    project, make_project, make_staff
):
    other = make_project(name="Other")
    ann = make_staff(project)
    client = _client(ann)
    assert client.post(ADD, _form(project, alert_interval="15")).status_code == 302
    assert StaffSubscription.objects.get().user == ann
    refused = client.post(ADD, _form(other))
    assert refused.status_code == 200 and "project" in refused.context["adminform"].form.errors
    assert StaffSubscription.objects.count() == 1


def test_a_superuser_sees_everyones_but_subscribes_members_only(project, make_staff):
    ann = make_staff(project)
    outsider = make_staff()
    root = make_staff(superuser=True)
    StaffSubscription.objects.create(user=ann, project=project)
    client = _client(root)
    assert len(client.get(CHANGELIST).context["cl"].result_list) == 1
    refused = client.post(ADD, {**_form(project), "user": outsider.pk})
    assert refused.status_code == 200
    assert "Only a member of the project receives its emails." in refused.content.decode()
