"""Tenancy: which projects a staff member may see, and with which role.

The one definition that the admin, the management API, the widget's staff previews and the
sample page all ask:

- only an active staff user has access at all; anyone else (anonymous, inactive, not staff)
  sees no project, whatever memberships they hold;
- an active staff superuser sees every project and holds every role in it;
- any other staff user sees the projects they hold a :class:`~satismeter_app.models.Membership`
  of, in that membership's role, ``member`` or ``admin``.

Callers name the roles that may do a thing: ``ANY_ROLE`` (every member), ``ADMIN_ROLE``
(project admins) or ``NO_ROLE`` (superusers only). What each role may do is the interface's
rule, written in the admin's package docstring.

The functions query the database each time; a caller that asks many times per request (the
admin asks for every model of its sidebar) keeps one :class:`Access` for the request.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from .models import Membership, Project

Roles = frozenset[str]

ANY_ROLE: Roles = frozenset(Membership.Role.values)
ADMIN_ROLE: Roles = frozenset({Membership.Role.ADMIN})
NO_ROLE: Roles = frozenset()  # superusers only


def is_staff_member(user: Any) -> bool:
    """Whether the user may have access at all: active and staff."""
    return bool(user is not None and user.is_active and user.is_staff)


def is_superuser(user: Any) -> bool:
    """Whether the user sees every project in every role."""
    return is_staff_member(user) and bool(user.is_superuser)


def _memberships(user: Any) -> QuerySet[Membership]:
    """The memberships that grant access: an inactive or non-staff user's grant nothing."""
    if not is_staff_member(user):
        return Membership.objects.none()
    return Membership.objects.filter(user_id=user.pk)


def roles_of(user: Any) -> dict[int, str]:
    """The user's role in each project they are a member of (empty for superusers too)."""
    return dict(_memberships(user).values_list("project_id", "role"))


def visible_projects(user: Any, roles: Roles = ANY_ROLE) -> QuerySet[Project]:
    """The projects where the user holds one of ``roles`` (all of them for superusers)."""
    if is_superuser(user):
        return Project.objects.all()
    held = _memberships(user).filter(role__in=roles).values("project_id")
    return Project.objects.filter(pk__in=held)


def may(user: Any, project_id: int, roles: Roles = ANY_ROLE) -> bool:
    """Whether the user holds one of ``roles`` in the project."""
    if is_superuser(user):
        return True
    return _memberships(user).filter(project_id=project_id, role__in=roles).exists()


def people_of(project_ids: Collection[int] | None) -> QuerySet[Any]:
    """The active staff users who see any of the projects (their members, in any role, and
    the superusers; ``None``: who sees any project at all), by login: whom a response of the
    projects can be assigned to."""
    model = get_user_model()
    users = model._default_manager.filter(is_active=True, is_staff=True)
    if project_ids is not None:
        seeing = Q(is_superuser=True) | Q(satismeter_memberships__project_id__in=project_ids)
        users = users.filter(seeing).distinct()
    return users.order_by(model.USERNAME_FIELD)


@dataclass(frozen=True)
class Access:
    """One user's access, read once: the same rules as the functions above, without queries."""

    superuser: bool = False
    roles: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, user: Any) -> Access:
        if is_superuser(user):
            return cls(superuser=True)
        return cls(roles=roles_of(user))

    def project_ids(self, roles: Roles = ANY_ROLE) -> set[int]:
        """The member projects where the user holds one of ``roles``; a superuser's are none:
        ask :attr:`superuser` first, as a superuser sees every project."""
        return {pk for pk, role in self.roles.items() if role in roles}

    def may(self, project_id: int, roles: Roles = ANY_ROLE) -> bool:
        """Whether the user holds one of ``roles`` in the project."""
        if self.superuser:
            return True
        return self.roles.get(project_id) in roles

    def may_somewhere(self, roles: Roles = ANY_ROLE) -> bool:
        """Whether the user holds one of ``roles`` in at least one project."""
        return self.superuser or bool(self.project_ids(roles))

    def projects(self, roles: Roles = ANY_ROLE) -> QuerySet[Project]:
        """The projects where the user holds one of ``roles`` (all of them for superusers)."""
        if self.superuser:
            return Project.objects.all()
        return Project.objects.filter(pk__in=self.project_ids(roles))
