"""Who a call is about: finding, creating and merging an end user.

One set of rules for every way a user reaches us — the widget, ``POST /api/users`` and
Segment's messages: a userId names the user; an anonymousId names one row, the visitor's or
that of the user who last signed in with it (a database constraint keeps it one), so that an
answer sent with the anonymousId after the visitor signed in lands on the user; a visitor who
signs in keeps their row and history, or, when the userId already has a row, their row is
merged into it; traits merge into the user's (a newer value wins, an older one never does:
:func:`merge_traits`); the well-known traits (``email``, ``name``, ``createdAt``,
``language``) fill the user's columns; a page seen refreshes ``last_seen`` at most every
:data:`LAST_SEEN_RESOLUTION`.

With identity verification on, only the ``userId`` of a widget call is proven (by its
``userHash``), not its ``anonymousId``: a verified user takes over an anonymous row only when
that row names no one (:func:`names_someone`) and never takes another user's anonymousId, so
that nobody takes over another visitor's row and email by sending their anonymousId; and a
call that names only an anonymousId may not describe (:func:`may_describe`) the signed-in
user it reaches (docs/widget.md, "Identity verification").
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from .. import history, timeparse
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..models import Display, EndUser, Reminder, Response, UserEvent
from ..prepared import Prepared

# last_seen is refreshed at most this often, so that page views of a known user write nothing.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)

# The user columns the well-known traits fill, and their trait.
COLUMN_TRAITS = {
    "created_at": "createdAt",
    "email": "email",
    "name": "name",
    "language": "language",
}


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


def _rows(
    wanted: Q, project_id: int, user_ids: set[str], anonymous_ids: set[str], *, lock: bool
) -> Iterable[EndUser]:
    """The project's rows ``wanted`` names, in one query; for one call's ids (at most one of
    each), a query compiled once (:mod:`satismeter_app.prepared`)."""
    if len(user_ids) <= 1 and len(anonymous_ids) <= 1:
        user_id, anonymous_id = next(iter(user_ids), None), next(iter(anonymous_ids), None)
        prepared = _ONE_CALL[(user_id is not None, anonymous_id is not None, lock)]
        return prepared(project_id=project_id, user_id=user_id, anonymous_id=anonymous_id)
    return _users_query(wanted, project_id, lock)


def _users_query(wanted: Q, project_id: int, lock: bool) -> QuerySet[EndUser]:
    users = EndUser.objects.filter(wanted, project_id=project_id)
    return users.select_for_update().order_by("pk") if lock else users.order_by()


def _prepared_lookup(by_user_id: bool, by_anonymous_id: bool, lock: bool) -> Prepared[EndUser]:
    def build(project_id: int, user_id: str, anonymous_id: str) -> QuerySet[EndUser]:
        wanted = Q()
        if by_user_id:
            wanted |= Q(user_id__in=[user_id])
        if by_anonymous_id:
            wanted |= Q(anonymous_id__in=[anonymous_id])
        return _users_query(wanted, project_id, lock)

    stand_ins = {"project_id": -7_000_000_001, "user_id": "\x01u", "anonymous_id": "\x01a"}
    return Prepared(EndUser, build, for_write=lock, **stand_ins)


# One call's lookup, by (names a userId, names an anonymousId, takes row locks).
_ONE_CALL = {
    (by_user_id, by_anonymous_id, lock): _prepared_lookup(by_user_id, by_anonymous_id, lock)
    for by_user_id in (False, True)
    for by_anonymous_id in (False, True)
    for lock in (False, True)
}


class Directory:
    """A project's users as one call or one batch names them, in memory: by userId and by
    anonymousId. It holds the one rule that finds, claims, merges and creates users:

    - a userId names the user;
    - an anonymousId alone names the row that carries it: the anonymous visitor's, or the
      user's who signed in with it — so an answer the widget sends with the anonymousId it
      had when the survey opened lands on the user who signed in meanwhile;
    - a userId sent with an anonymousId joins the two: an anonymous row is claimed by the
      userId (it keeps its history), or, when the userId has a row already, merged into that
      row (:func:`absorb`; its displays, responses and events move along); a row of another
      user gives the anonymousId up (a shared browser: it follows the last sign-in); a user
      who carries no anonymousId yet takes one that no row carries;
    - with ``verified`` (identity verification is on: the anonymousId is not proven), an
      anonymous row that names someone is left as it is, and another user keeps theirs: the
      userId gets a row of its own, without that anonymousId;
    - anyone else is a new user, created on first mention.

    Changes are collected (:meth:`mark`) and written by the caller — :meth:`write_moves`
    first, then one ``save`` for a widget call, one ``bulk_update`` for a batch.
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
        self.released: list[EndUser] = []  # saved rows that gave their anonymousId up
        self.absorbed: list[tuple[EndUser, EndUser]] = []  # (saved anonymous row, its user)
        self._merged_into: dict[int, EndUser] = {}  # id() of a merged row → its user
        for user in existing:
            self._index(user)

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
        if anonymous_ids:  # identified rows too: the unique constraint's index serves both
            wanted |= Q(anonymous_id__in=anonymous_ids)
        if not wanted:
            return cls(project_id, [], now, verified=verified)
        users = _rows(wanted, project_id, user_ids, anonymous_ids, lock=lock)
        return cls(project_id, users, now, verified=verified)

    def resolve(self, identity: Identity) -> EndUser:
        """The user the identity names: found, claimed, merged or created."""
        user = self._find(self.by_user_id, identity.user_id)
        holder = self._find(self.by_anonymous_id, identity.anonymous_id)
        if identity.user_id is None or holder is user:
            return holder or user or self._create(identity)
        if holder is None:
            if user is not None and user.anonymous_id is None and identity.anonymous_id:
                self._carry(user, identity.anonymous_id)
            return user or self._create(identity)
        if not self._may_take(holder):
            return user or self._create(Identity(user_id=identity.user_id))
        if holder.user_id is None:
            return self._join(user, holder, identity.user_id)
        holder.anonymous_id = None  # another user's: the anonymousId follows the sign-in
        self.mark(holder, {"anonymous_id"})
        if holder.pk is not None:
            self.released.append(holder)
        user = user or self._create(Identity(user_id=identity.user_id))
        self._carry(user, identity.anonymous_id or "")
        return user

    def _find(self, index: dict[str, EndUser], key: str | None) -> EndUser | None:
        found = index.get(key) if key is not None else None
        return self.current(found) if found is not None else None

    def _may_take(self, holder: EndUser) -> bool:
        """Whether a userId call may take the anonymousId of the row that carries it."""
        if not self.verified:
            return True
        return holder.user_id is None and not names_someone(holder)

    def _join(self, user: EndUser | None, visitor: EndUser, user_id: str) -> EndUser:
        """An anonymous visitor signs in: their row becomes the user's, or merges into it."""
        if user is None or (user.pk is None and visitor.pk is not None):
            if user is not None:  # first named in this batch: its data joins the saved row
                self.new.remove(user)
                self._merged_into[id(user)] = visitor
                self.mark(visitor, absorb(visitor, user))
            visitor.user_id = user_id
            self.by_user_id[user_id] = visitor
            self.mark(visitor, {"user_id"})
            return visitor
        self.mark(user, absorb(user, visitor))
        self._merged_into[id(visitor)] = user
        if visitor.pk is None:
            self.new.remove(visitor)
        else:
            self.absorbed.append((visitor, user))
        self._carry(user, visitor.anonymous_id or "")
        return user

    def _carry(self, user: EndUser, anonymous_id: str) -> None:
        """``user`` is now the row that ``anonymous_id`` names."""
        if self.by_anonymous_id.get(user.anonymous_id or "") is user:
            del self.by_anonymous_id[user.anonymous_id or ""]
        user.anonymous_id = anonymous_id
        self.by_anonymous_id[anonymous_id] = user
        self.mark(user, {"anonymous_id"})

    def _create(self, identity: Identity) -> EndUser:
        user = EndUser(
            project_id=self.project_id,
            user_id=identity.user_id,
            anonymous_id=identity.anonymous_id,
            first_seen=self.now,
            last_seen=self.now,
        )
        self._index(user)
        self.new.append(user)
        return user

    def _index(self, user: EndUser) -> None:
        if user.user_id is not None:
            self.by_user_id[user.user_id] = user
        if user.anonymous_id is not None:
            self.by_anonymous_id[user.anonymous_id] = user

    def current(self, user: EndUser) -> EndUser:
        """The user a row resolved earlier is now: itself, or the user it was merged into."""
        while id(user) in self._merged_into:
            user = self._merged_into[id(user)]
        return user

    def mark(self, user: EndUser, fields: set[str]) -> None:
        """Remember which fields of an existing user changed (new users are inserted whole)."""
        if user.pk is not None and fields:
            self.changed.setdefault(user.pk, set()).update(fields)

    def changes_of(self, user: EndUser) -> set[str]:
        return self.changed.get(user.pk, set()) if user.pk is not None else set()

    def updated(self) -> tuple[list[EndUser], list[str]]:
        """The existing users that changed, and the union of the fields that did."""
        known = [*self.by_user_id.values(), *self.by_anonymous_id.values(), *self.released]
        users = list({u.pk: u for u in known if u.pk in self.changed}.values())
        fields = sorted(set().union(*(self.changed[u.pk] for u in users))) if users else []
        return users, fields

    def write_moves(self) -> None:
        """Write what resolving changed besides the users' own rows, before they are saved
        (an anonymousId must be free before another row takes it): the rows that gave their
        anonymousId up, and the anonymous rows merged into a user, whose displays,
        responses, events and reminders move to the user before the rows go. The rows must
        have been read with their locks (``load(lock=True)``): everything that adds a
        display, a response or an event to a row locks it first (:func:`lock`), so what it
        adds is either merged and moved here, or follows the row to its user afterwards."""
        if self.released:
            released = [user.pk for user in self.released]
            EndUser.objects.filter(pk__in=released).update(anonymous_id=None)
        if not self.absorbed:
            return
        for visitor, user in self.absorbed:
            _move_activity(visitor.pk, user.pk)
        EndUser.objects.filter(pk__in=[visitor.pk for visitor, _ in self.absorbed]).delete()

    @property
    def moves(self) -> bool:
        return bool(self.released or self.absorbed)


def _move_activity(from_pk: int, to_pk: int) -> None:
    # A reminder for the same survey and period the user already had would break its
    # once-per-period constraint: the user's own stays.
    clash = Reminder.objects.filter(
        user_id=to_pk, survey_id=OuterRef("survey_id"), period=OuterRef("period")
    )
    Reminder.objects.filter(user_id=from_pk).filter(Exists(clash)).delete()
    for model in (Display, Response, UserEvent, Reminder):
        model.objects.filter(user_id=from_pk).update(user_id=to_pk)


def names_someone(user: EndUser) -> bool:
    """Whether a row holds what identifies a person — an email address or a name, as a column
    or a trait — which an unproven anonymousId must not hand to a verified user."""
    traits = user.traits if isinstance(user.traits, dict) else {}
    return bool(user.email or user.name or traits.get("email") or traits.get("name"))


def may_describe(user: EndUser, identity: Identity, *, verified: bool) -> bool:
    """Whether a call may write what describes the user — traits, their columns, groups.
    Not a widget call that names only an anonymousId and reaches a signed-in user while
    identity verification is on: the anonymousId proves nothing, so such a call may show the
    user's survey and record its answer, but not change who the user is."""
    return not (verified and identity.user_id is None and user.user_id is not None)


def lock(user: EndUser) -> EndUser:
    """The user's row, locked for the rest of the transaction. A row merged into a user since
    it was read (the visitor signed in meanwhile) is followed to that user, who now carries
    its anonymousId."""
    rows = EndUser.objects.select_for_update()
    found = rows.filter(pk=user.pk).first()
    if found is None and user.anonymous_id is not None:
        found = rows.filter(project_id=user.project_id, anonymous_id=user.anonymous_id).first()
    if found is None:
        raise InvalidInput("userId", "this user was deleted meanwhile")
    return found


# --- what a call says about a user: the merge rules ----------------------------------------------
#
# Each trait's value carries the time it was set (``EndUser.trait_times``, epoch milliseconds):
# the widget's and the users API's traits are "now", a Segment message's its ``timestamp``. A
# value replaces the stored one only when it is not older, so a message that arrives late
# never undoes a newer one. A key with no time (stored before times were kept) takes any value.


def _epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _not_older(times: Mapping[str, int], values: Mapping[str, Any], when: datetime) -> dict:
    """The values that were set no earlier than their keys' stored ones."""
    moment = _epoch_ms(when)
    return {key: value for key, value in values.items() if times.get(key, moment) <= moment}


def _trait_times(user: EndUser) -> dict[str, Any]:
    return user.trait_times if isinstance(user.trait_times, dict) else {}


def merge_traits(
    user: EndUser, traits: Mapping[str, Any], columns: Mapping[str, Any], when: datetime
) -> set[str]:
    """Traits set at ``when`` merge into the user's: each value wins over one set at the same
    time or before, never over a newer one; the well-known ones fill the user's columns.
    Returns the fields that changed. A value that is already the user's keeps its time, so
    page views that repeat the same traits write nothing."""
    times = _trait_times(user)
    fresh = _not_older(times.get("traits", {}), traits, when)
    changed: set[str] = set()
    merged = {**user.traits, **fresh}
    if merged != user.traits:
        user.traits = merged
        stamped = {**times.get("traits", {}), **dict.fromkeys(fresh, _epoch_ms(when))}
        user.trait_times = {**times, "traits": stamped}
        changed |= {"traits", "trait_times"}
    for column, value in columns.items():
        if COLUMN_TRAITS[column] in fresh and getattr(user, column) != value:
            setattr(user, column, value)
            changed.add(column)
    return changed


def merge_group(
    user: EndUser, group_id: str, traits: Mapping[str, Any], when: datetime
) -> set[str]:
    """A group's traits set at ``when`` merge into what the user's group ``group_id`` had,
    by the same rule as :func:`merge_traits`."""
    times = _trait_times(user)
    group_times = times.get("groups", {}).get(group_id, {})
    fresh = _not_older(group_times, traits, when)
    merged = {**user.groups.get(group_id, {}), **fresh}
    if user.groups.get(group_id) == merged:
        return set()
    user.groups = {**user.groups, group_id: merged}
    stamped = {**group_times, **dict.fromkeys(fresh, _epoch_ms(when))}
    user.trait_times = {**times, "groups": {**times.get("groups", {}), group_id: stamped}}
    return {"groups", "trait_times"}


# --- two rows of one person: an anonymous visitor who signed in -----------------------------------

ABSORBED = {"traits", "trait_times", "groups", "history", "first_seen", "last_seen", "last_url"}


def absorb(user: EndUser, visitor: EndUser) -> set[str]:
    """What the visitor's row knew joins the user's row, in memory: per trait (and group
    trait) the newer value, the user's on a tie; columns the merged traits name, blanks
    filled; one history; first seen the earlier, last seen the later. Returns the fields
    of the user that may have changed."""
    taken = _absorb_traits(user, visitor)
    changed = set(ABSORBED)
    for column, trait in COLUMN_TRAITS.items():
        theirs = getattr(visitor, column)
        if theirs and (trait in taken or not getattr(user, column)):
            setattr(user, column, theirs)
            changed.add(column)
    user.history = history.merge(user.history, visitor.history)
    if visitor.last_seen > user.last_seen:
        user.last_seen, user.last_url = visitor.last_seen, visitor.last_url or user.last_url
    user.first_seen = min(user.first_seen, visitor.first_seen)
    if visitor.unsubscribed and not user.unsubscribed:
        user.unsubscribed = True  # an unsubscribe holds for the person
        changed.add("unsubscribed")
    return changed


def _absorb_traits(user: EndUser, visitor: EndUser) -> set[str]:
    """Joins the traits and group traits; returns the trait keys the visitor's value won."""
    mine, theirs = _trait_times(user), _trait_times(visitor)
    traits, times, taken = _newer_of(
        (user.traits, mine.get("traits", {})), (visitor.traits, theirs.get("traits", {}))
    )
    groups, group_times = dict(user.groups), dict(mine.get("groups", {}))
    for group_id, values in visitor.groups.items():
        groups[group_id], group_times[group_id], _ = _newer_of(
            (user.groups.get(group_id, {}), group_times.get(group_id, {})),
            (values, theirs.get("groups", {}).get(group_id, {})),
        )
    user.traits, user.groups = traits, groups
    user.trait_times = {**mine, "traits": times, "groups": group_times}
    return taken


def _newer_of(
    mine: tuple[Mapping[str, Any], Mapping[str, int]],
    theirs: tuple[Mapping[str, Any], Mapping[str, int]],
) -> tuple[dict[str, Any], dict[str, int], set[str]]:
    """Two sets of timed values as one: per key the newer, the first's on a tie (or when
    neither has a time); also the keys the second's won."""
    values, times = dict(mine[0]), dict(mine[1])
    taken = set()
    for key, value in theirs[0].items():
        if key not in values or theirs[1].get(key, -1) > times.get(key, -1):
            values[key] = value
            if key in theirs[1]:
                times[key] = theirs[1][key]
            taken.add(key)
    return values, times, taken


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


def stand_in(
    project_id: int, identity: Identity, traits: Mapping[str, Any] | None, *, now: datetime
) -> EndUser:
    """The user a staff preview of one survey shows it to: what the call says, never saved
    (a preview records nothing, so a visit to the admin's survey form makes no user)."""
    traits = dict(traits or {})
    check_traits_size(traits)
    user = EndUser(
        project_id=project_id,
        user_id=identity.user_id,
        anonymous_id=identity.anonymous_id,
        first_seen=now,
        last_seen=now,
        is_test=True,
    )
    merge_traits(user, traits, user_columns(traits), now)
    return user


def sample_user(project_id: int, user_id: str, *, now: datetime) -> EndUser:
    """The user the sample page is about to identify (views.sample): made here, marked as a
    test user, when the project has no such user yet; an existing user is left as it is."""
    user = EndUser.objects.filter(project_id=project_id, user_id=user_id).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return EndUser.objects.create(
                project_id=project_id, user_id=user_id, first_seen=now, last_seen=now, is_test=True
            )
    except IntegrityError:  # made by another request meanwhile: that one is the user
        return EndUser.objects.get(project_id=project_id, user_id=user_id)


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
    if users.moves:
        # A sign-in that merges rows or moves an anonymousId: done again under the rows'
        # locks, so that what a call adds to them meanwhile is merged, not overwritten.
        return _retrying(call, retry, _identify_locked)
    changed = _describe(users, user, call)
    if user.pk is not None and not changed:
        return user  # a known user's page view writes nothing
    return _retrying(call, retry, lambda _: _save(user, changed), one_statement=True)


def _identify_locked(call: _Call) -> EndUser:
    users = Directory.load(
        call.project_id, [call.identity], call.now, lock=True, verified=call.verified
    )
    user = users.resolve(call.identity)
    changed = _describe(users, user, call)
    users.write_moves()
    return _save(user, changed)


def _describe(users: Directory, user: EndUser, call: _Call) -> set[str]:
    """What the call changes about its user, in memory; returns the fields that changed."""
    changed = users.changes_of(user)
    if may_describe(user, call.identity, verified=call.verified):
        changed |= merge_traits(user, call.traits, call.columns, call.now)
    if call.seen:
        changed |= record_visit(user, call.url, call.now, changed=bool(changed))
    return changed


def _save(user: EndUser, changed: set[str]) -> EndUser:
    if user.pk is None:
        user.save(force_insert=True)
    elif changed:
        user.save(update_fields=sorted(changed))
    return user


def _retrying(
    call: _Call, retry: bool, write: Callable[[_Call], EndUser], *, one_statement: bool = False
) -> EndUser:
    """``write(call)`` in a transaction (a savepoint inside the caller's), once more from the
    start if the rows changed meanwhile. A write of ``one_statement`` is atomic by itself: in
    autocommit it runs without the BEGIN and COMMIT round trips (a widget call's write)."""
    atomic = not one_statement or transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if atomic else contextlib.nullcontext():
            return write(call)
    except DatabaseError:
        if not retry:
            raise
        # Another request created, claimed or merged one of these rows since we looked (an
        # IntegrityError, or an update whose row is gone): they are found as they are now.
        return _identify(call, retry=False)


def set_survey_date(user: EndUser, when: datetime | None) -> None:
    """Per-user override of when the next survey is due (``surveyDate``)."""
    if user.survey_date != when:
        user.survey_date = when
        user.save(update_fields=["survey_date"])


def add_group(user: EndUser, group_id: str, traits: Mapping[str, Any], when: datetime) -> None:
    check_traits_size(traits)
    if changed := merge_group(user, group_id, traits, when):
        user.save(update_fields=sorted(changed))


@transaction.atomic
def track(user: EndUser, name: str, properties: Mapping[str, Any], when: datetime) -> UserEvent:
    """Record an event; it may trigger a survey waiting for it."""
    row = lock(user)
    event = UserEvent.objects.create(
        project_id=row.project_id,
        user=row,
        name=name,
        properties=dict(properties),
        timestamp=when,
    )
    history.add_event(row.history, name, when)
    row.save(update_fields=["history"])
    user.history = row.history
    return event
