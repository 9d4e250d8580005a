"""Who a call is about: finding, creating and merging an end user.

One set of rules for every way a user reaches us — the widget, ``POST /api/users`` and
Segment's messages: a userId names the user; an anonymous visitor who identifies keeps their
row and history; traits merge into the user's (a new value wins); the well-known traits
(``email``, ``name``, ``createdAt``, ``language``) fill the user's columns; a page seen
refreshes ``last_seen`` at most every :data:`LAST_SEEN_RESOLUTION`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from .. import history, targeting
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..models import EndUser, UserEvent

# last_seen is refreshed at most this often, so that page views of a known user write nothing.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class Identity:
    user_id: str | None = None
    anonymous_id: str | None = None


# --- identifying users ------------------------------------------------------------------------


def user_columns(traits: Mapping[str, Any]) -> dict[str, Any]:
    """The EndUser columns that the well-known traits set; raises InvalidInput."""
    columns: dict[str, Any] = {}
    if "createdAt" in traits and traits["createdAt"] not in (None, ""):
        columns["created_at"] = targeting.parse_timestamp(traits["createdAt"])
        if columns["created_at"] is None:
            raise InvalidInput(
                "traits.createdAt",
                "use an ISO-8601 date-time or epoch seconds or milliseconds",
            )
    for trait, column, limit in (("email", "email", 254), ("name", "name", 255)):
        if trait in traits and traits[trait] is not None:
            columns[column] = _short_text(traits[trait], f"traits.{trait}", limit)
    if traits.get("language") is not None:
        columns["language"] = _short_text(traits["language"], "traits.language", 35)
    if "translation" in traits and not isinstance(traits["translation"], dict | type(None)):
        raise InvalidInput("traits.translation", "must be an object of strings")
    return columns


def _short_text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    if len(value) > limit:
        raise InvalidInput(name, f"must be at most {limit} characters")
    return value


def check_traits_size(traits: Mapping[str, Any]) -> None:
    size = len(json.dumps(traits, separators=(",", ":"), default=str).encode())
    if size > app_settings.MAX_TRAITS_BYTES:
        limit = app_settings.MAX_TRAITS_BYTES
        raise InvalidInput("traits", f"is {size} bytes of JSON; the limit is {limit}")


def identify(
    project_id: int,
    identity: Identity,
    traits: Mapping[str, Any] | None = None,
    *,
    url: str = "",
    now: datetime,
    seen: bool = True,
) -> EndUser:
    """Find or create the user and merge what this call says about them. ``seen`` is false
    for calls from the customer's back end: they update the user without making them active."""
    traits = dict(traits or {})
    check_traits_size(traits)
    columns = user_columns(traits)
    user = _find_user(project_id, identity)
    if user is None:
        return _create_user(project_id, identity, traits, columns, url, now)
    _refresh_user(user, identity, traits, columns, url, now, seen=seen)
    return user


def set_survey_date(user: EndUser, when: datetime | None) -> None:
    """Per-user override of when the next survey is due (``surveyDate``)."""
    if user.survey_date != when:
        user.survey_date = when
        user.save(update_fields=["survey_date"])


def _find_user(project_id: int, identity: Identity) -> EndUser | None:
    # Unique lookups: no ORDER BY (Meta.ordering would add one), at most one row.
    users = EndUser.objects.filter(project_id=project_id).order_by()
    if identity.user_id is not None:
        user = next(iter(users.filter(user_id=identity.user_id)[:1]), None)
        if user is not None or identity.anonymous_id is None:
            return user
    # An anonymous visitor who now identifies keeps their history: the row is claimed below.
    anonymous = users.filter(user_id__isnull=True, anonymous_id=identity.anonymous_id)
    return next(iter(anonymous[:1]), None)


def _create_user(
    project_id: int,
    identity: Identity,
    traits: dict[str, Any],
    columns: dict[str, Any],
    url: str,
    now: datetime,
) -> EndUser:
    user = EndUser(
        project_id=project_id,
        user_id=identity.user_id,
        anonymous_id=identity.anonymous_id,
        traits=traits,
        first_seen=now,
        last_seen=now,
        last_url=url,
        **columns,
    )
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        # Another request created the same user a moment ago.
        found = _find_user(project_id, identity)
        if found is None:
            raise
        _refresh_user(found, identity, traits, columns, url, now)
        return found
    return user


def _refresh_user(
    user: EndUser,
    identity: Identity,
    traits: dict[str, Any],
    columns: dict[str, Any],
    url: str,
    now: datetime,
    *,
    seen: bool = True,
) -> None:
    changed: set[str] = set()
    if identity.user_id is not None and user.user_id is None:
        user.user_id = identity.user_id
        changed.add("user_id")
    merged = {**user.traits, **traits}
    if merged != user.traits:
        user.traits = merged
        changed.add("traits")
    for column, value in columns.items():
        if getattr(user, column) != value:
            setattr(user, column, value)
            changed.add(column)
    if url and url != user.last_url:
        user.last_url = url
        changed.add("last_url")
    if seen and (changed or now - user.last_seen >= LAST_SEEN_RESOLUTION):
        user.last_seen = max(now, user.first_seen)
        changed.add("last_seen")
    if changed:
        user.save(update_fields=sorted(changed))


def add_group(user: EndUser, group_id: str, traits: Mapping[str, Any]) -> None:
    check_traits_size(traits)
    merged = {**user.groups.get(group_id, {}), **traits}
    if user.groups.get(group_id) != merged:
        user.groups = {**user.groups, group_id: merged}
        user.save(update_fields=["groups"])


@transaction.atomic
def track(user: EndUser, name: str, properties: Mapping[str, Any], when: datetime) -> UserEvent:
    """Record an event; it may trigger a survey waiting for it."""
    locked = EndUser.objects.select_for_update().get(pk=user.pk)
    event = UserEvent.objects.create(
        project_id=user.project_id,
        user=locked,
        name=name,
        properties=dict(properties),
        timestamp=when,
    )
    history.add_event(locked.history, name, when)
    locked.save(update_fields=["history"])
    user.history = locked.history
    return event
