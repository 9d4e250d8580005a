"""Who a call is about: finding, creating and merging an end user.

One set of rules for every way a user reaches us — the widget, ``POST /api/users`` and
Segment's messages: a userId names the user; an anonymous visitor who identifies keeps their
row and history; traits merge into the user's (a new value wins); the well-known traits
(``email``, ``name``, ``createdAt``, ``language``) fill the user's columns; a page seen
refreshes ``last_seen`` at most every :data:`LAST_SEEN_RESOLUTION`.

With identity verification on, only the ``userId`` of a widget call is proven (by its
``userHash``), not its ``anonymousId``: a verified user claims an anonymous row only when
that row names no one (:func:`names_someone`), so that nobody takes over another visitor's
row and email by sending their anonymousId (docs/widget.md, "Identity verification").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from .. import history, timeparse
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
        columns["created_at"] = timeparse.parse_timestamp(traits["createdAt"])
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


class Directory:
    """A project's users as one call or one batch names them, in memory: by userId, and the
    anonymous ones by anonymousId. It holds the one rule that finds, claims and creates users:

    - a userId names the user;
    - a visitor known only by an anonymousId who now identifies keeps their row (and so their
      history): the row is claimed by the userId — unless ``verified`` (identity verification
      is on: the anonymousId is not proven) and the row names someone: then the userId gets
      a row of its own, without that anonymousId, and the anonymous row is left as it was;
    - anyone else is a new user, created on first mention.

    Changes are collected (:meth:`mark`) and written by the caller: one ``save`` for a widget
    call, one ``bulk_update`` for a batch.
    """

    def __init__(
        self,
        project_id: int,
        existing: Iterable[EndUser],
        now: datetime,
        *,
        verified: bool = False,
    ) -> None:
        self.project_id = project_id
        self.now = now
        self.verified = verified
        self.by_user_id: dict[str, EndUser] = {}
        self.by_anonymous_id: dict[str, EndUser] = {}
        self.new: list[EndUser] = []
        self.changed: dict[int, set[str]] = {}
        for user in existing:
            if user.user_id is not None:
                self.by_user_id[user.user_id] = user
            elif user.anonymous_id is not None:
                self.by_anonymous_id[user.anonymous_id] = user

    @classmethod
    def load(
        cls,
        project_id: int,
        identities: Iterable[Identity],
        now: datetime,
        *,
        lock: bool = False,
        verified: bool = False,
    ) -> Directory:
        """The users the identities may name, in one query; ``lock`` takes their row locks,
        always in the same order, so that two batches cannot deadlock on them. ``verified``:
        see the class."""
        identities = list(identities)
        user_ids = {i.user_id for i in identities if i.user_id is not None}
        anonymous_ids = {i.anonymous_id for i in identities if i.anonymous_id is not None}
        wanted = Q()  # only the conditions needed: a widget call names a userId, most often
        if user_ids:
            wanted |= Q(user_id__in=user_ids)
        if anonymous_ids:
            wanted |= Q(user_id__isnull=True, anonymous_id__in=anonymous_ids)
        if not wanted:
            return cls(project_id, [], now, verified=verified)
        users = EndUser.objects.filter(wanted, project_id=project_id)
        users = users.select_for_update().order_by("pk") if lock else users.order_by()
        return cls(project_id, users, now, verified=verified)

    def resolve(self, identity: Identity) -> EndUser:
        """The user the identity names: found, claimed or created."""
        if identity.user_id is None:
            user = self.by_anonymous_id.get(identity.anonymous_id or "")
        else:
            user = self.by_user_id.get(identity.user_id)
            if user is None and identity.anonymous_id is not None:
                user, identity = self._claim(identity)
        return user or self._create(identity)

    def _claim(self, identity: Identity) -> tuple[EndUser | None, Identity]:
        """The anonymous row of the identity's anonymousId, now the userId's; when it may not
        be claimed (see the class), None and the identity without that anonymousId."""
        user = self.by_anonymous_id.get(identity.anonymous_id or "")
        if user is None:
            return None, identity
        if self.verified and names_someone(user):
            return None, Identity(user_id=identity.user_id)
        del self.by_anonymous_id[identity.anonymous_id or ""]
        user.user_id = identity.user_id
        self.by_user_id[user.user_id or ""] = user
        self.mark(user, {"user_id"})
        return user, identity

    def _create(self, identity: Identity) -> EndUser:
        user = EndUser(
            project_id=self.project_id,
            user_id=identity.user_id,
            anonymous_id=identity.anonymous_id,
            first_seen=self.now,
            last_seen=self.now,
        )
        if identity.user_id is not None:
            self.by_user_id[identity.user_id] = user
        else:
            self.by_anonymous_id[identity.anonymous_id or ""] = user
        self.new.append(user)
        return user

    def mark(self, user: EndUser, fields: set[str]) -> None:
        """Remember which fields of an existing user changed (new users are inserted whole)."""
        if user.pk is not None and fields:
            self.changed.setdefault(user.pk, set()).update(fields)

    def changes_of(self, user: EndUser) -> set[str]:
        return self.changed.get(user.pk, set()) if user.pk is not None else set()

    def updated(self) -> tuple[list[EndUser], list[str]]:
        """The existing users that changed, and the union of the fields that did."""
        known = [*self.by_user_id.values(), *self.by_anonymous_id.values()]
        users = list({u.pk: u for u in known if u.pk in self.changed}.values())
        fields = sorted(set().union(*self.changed.values())) if self.changed else []
        return users, fields


def names_someone(user: EndUser) -> bool:
    """Whether a row holds what identifies a person — an email address or a name, as a column
    or a trait — which an unproven anonymousId must not hand to a verified user."""
    traits = user.traits if isinstance(user.traits, dict) else {}
    return bool(user.email or user.name or traits.get("email") or traits.get("name"))


# --- what a call says about a user: the merge rules ----------------------------------------------


def merge_traits(user: EndUser, traits: Mapping[str, Any], columns: Mapping[str, Any]) -> set[str]:
    """Traits merge into the user's (a new value wins); the well-known ones fill the user's
    columns. Returns the fields that changed."""
    changed: set[str] = set()
    merged = {**user.traits, **traits}
    if merged != user.traits:
        user.traits = merged
        changed.add("traits")
    for column, value in columns.items():
        if getattr(user, column) != value:
            setattr(user, column, value)
            changed.add(column)
    return changed


def merge_group(user: EndUser, group_id: str, traits: Mapping[str, Any]) -> set[str]:
    """A group's traits merge into what the user's group ``group_id`` had."""
    merged = {**user.groups.get(group_id, {}), **traits}
    if user.groups.get(group_id) == merged:
        return set()
    user.groups = {**user.groups, group_id: merged}
    return {"groups"}


def record_visit(user: EndUser, url: str, when: datetime, *, changed: bool = False) -> set[str]:
    """The user saw a page at ``when``: it becomes their last page, and ``last_seen`` moves
    forward — at most every :data:`LAST_SEEN_RESOLUTION` unless something else about the user
    ``changed`` (then the row is written anyway), so that page views of a known user write
    nothing."""
    fields: set[str] = set()
    if url and url != user.last_url:
        user.last_url = url
        fields.add("last_url")
    moved = when - user.last_seen
    if moved > timedelta(0) and (changed or fields or moved >= LAST_SEEN_RESOLUTION):
        user.last_seen = when
        fields.add("last_seen")
    return fields


# --- one call: the widget and the users API -------------------------------------------------------


def identify(
    project_id: int,
    identity: Identity,
    traits: Mapping[str, Any] | None = None,
    *,
    url: str = "",
    now: datetime,
    seen: bool = True,
    verified: bool = False,
) -> EndUser:
    """Find or create the user and merge what this call says about them. ``seen`` is false
    for calls from the customer's back end: they update the user without making them active.
    ``verified``: identity verification is on (see :class:`Directory`)."""
    traits = dict(traits or {})
    check_traits_size(traits)
    call = _Call(project_id, identity, traits, user_columns(traits), url, now, seen, verified)
    return _identify(call, retry=True)


@dataclass(frozen=True)
class _Call:
    """What one identify call says, kept whole for a second try."""

    project_id: int
    identity: Identity
    traits: dict[str, Any]
    columns: dict[str, Any]
    url: str
    now: datetime
    seen: bool
    verified: bool


def _identify(call: _Call, *, retry: bool) -> EndUser:
    users = Directory.load(call.project_id, [call.identity], call.now, verified=call.verified)
    user = users.resolve(call.identity)
    changed = users.changes_of(user) | merge_traits(user, call.traits, call.columns)
    if call.seen:
        changed |= record_visit(user, call.url, call.now, changed=bool(changed))
    if user.pk is not None:
        if changed:
            user.save(update_fields=sorted(changed))
        return user
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        if not retry:
            raise
        # Another request created the same user a moment ago: it is found this time.
        return _identify(call, retry=False)
    return user


def set_survey_date(user: EndUser, when: datetime | None) -> None:
    """Per-user override of when the next survey is due (``surveyDate``)."""
    if user.survey_date != when:
        user.survey_date = when
        user.save(update_fields=["survey_date"])


def add_group(user: EndUser, group_id: str, traits: Mapping[str, Any]) -> None:
    check_traits_size(traits)
    if merge_group(user, group_id, traits):
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
