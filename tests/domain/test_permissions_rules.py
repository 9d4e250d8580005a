"""Tenancy rules (permissions.py): who sees which project, in which role.

The query functions and the request-cached ``Access`` must give the same answers: the admin
uses one, the management API, the widget's previews and the sample page the other.
"""

from itertools import product
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from satismeter_app import permissions
from satismeter_app.models import Membership, Project
from satismeter_app.permissions import ADMIN_ROLE, ANY_ROLE, NO_ROLE, Access

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(make_project) -> Project:
    return make_project(name="Alpha")


@pytest.fixture
def beta(make_project) -> Project:
    return make_project(name="Beta")


def _admin_of(make_staff, project: Project, **fields: Any) -> Any:
    """A project admin, with ``fields`` (is_active, is_staff, is_superuser) changed after."""
    user = make_staff()
    Membership.objects.create(user=user, project=project, role=Membership.Role.ADMIN)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    return user


def _visible(user: Any, roles: frozenset[str] = ANY_ROLE) -> set[str]:
    return set(permissions.visible_projects(user, roles).values_list("name", flat=True))


def test_a_member_sees_only_their_projects(make_staff, alpha, beta) -> None:
    member = make_staff(alpha)

    assert _visible(member) == {"Alpha"}
    assert permissions.may(member, alpha.pk)
    assert not permissions.may(member, beta.pk)
    assert permissions.roles_of(member) == {alpha.pk: "member"}


def test_only_a_project_admin_holds_the_admin_role(make_staff, alpha, beta) -> None:
    member, admin = make_staff(alpha), _admin_of(make_staff, alpha)

    assert _visible(member, ADMIN_ROLE) == set()
    assert not permissions.may(member, alpha.pk, ADMIN_ROLE)
    assert _visible(admin, ADMIN_ROLE) == {"Alpha"}
    assert permissions.may(admin, alpha.pk, ADMIN_ROLE)


def test_only_superusers_hold_no_role(make_staff, alpha, beta) -> None:
    """NO_ROLE marks what no membership grants: creating projects, granting access."""
    admin, superuser = _admin_of(make_staff, alpha), make_staff(superuser=True)

    assert not permissions.may(admin, alpha.pk, NO_ROLE)
    assert permissions.may(superuser, alpha.pk, NO_ROLE)
    assert _visible(superuser, NO_ROLE) == {"Alpha", "Beta"}


def test_a_superuser_sees_every_project_without_a_membership(make_staff, alpha, beta) -> None:
    superuser = make_staff(superuser=True)

    assert _visible(superuser) == {"Alpha", "Beta"}
    assert permissions.may(superuser, beta.pk, ADMIN_ROLE)


@pytest.mark.parametrize(
    "fields",
    [{"is_active": False}, {"is_staff": False}, {"is_active": False, "is_superuser": True}],
    ids=["inactive", "not-staff", "inactive-superuser"],
)
def test_a_membership_grants_nothing_unless_active_staff(make_staff, alpha, fields) -> None:
    user = _admin_of(make_staff, alpha, **fields)

    assert _visible(user) == set()
    assert not permissions.may(user, alpha.pk)
    assert permissions.roles_of(user) == {}
    assert Access.of(user) == Access()


def test_a_non_staff_superuser_sees_nothing(make_staff, alpha) -> None:
    """Superusers see everything as staff; Django's admin, too, wants is_staff first."""
    user = make_staff(superuser=True)
    user.is_staff = False
    user.save()

    assert _visible(user) == set()
    assert not permissions.may(user, alpha.pk)


@pytest.mark.parametrize("user", [AnonymousUser(), None], ids=["anonymous", "none"])
def test_nobody_logged_in_sees_nothing(user: Any, alpha) -> None:
    assert not permissions.is_staff_member(user)
    assert _visible(user) == set()
    assert not permissions.may(user, alpha.pk)
    assert not Access.of(user).may_somewhere()


def test_access_answers_as_the_queries_do(make_staff, alpha, beta) -> None:
    users = [
        make_staff(alpha),
        _admin_of(make_staff, beta),
        make_staff(superuser=True),
        make_staff(alpha, is_active=False),
        AnonymousUser(),
    ]
    for user, project, roles in product(users, (alpha, beta), (ANY_ROLE, ADMIN_ROLE, NO_ROLE)):
        access = Access.of(user)
        assert access.may(project.pk, roles) == permissions.may(user, project.pk, roles)
        assert set(access.projects(roles)) == set(permissions.visible_projects(user, roles))


def test_access_reads_the_memberships_once(make_staff, alpha, beta, django_assert_num_queries):
    member = make_staff(alpha, beta)
    superuser = make_staff(superuser=True)

    with django_assert_num_queries(1):
        access = Access.of(member)
    assert access.project_ids() == {alpha.pk, beta.pk}
    assert access.may(alpha.pk) and access.may_somewhere()
    with django_assert_num_queries(0):
        assert Access.of(superuser).may(beta.pk, NO_ROLE)
