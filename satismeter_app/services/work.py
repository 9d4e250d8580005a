"""Working a response: its status, its assignee, its tags and staff's notes.

The admin's response page and the management API both write through here, so that they
share the rules:

- a tag is one of the response's project (another project's tag is refused, whatever its id);
- the assignee is a staff user who sees the response's project: one of its members, in any
  role, or a superuser (:func:`permissions.people_of`); nobody is fine too;
- a note has its author and its time, and is kept as written: nobody edits it later.

Working a response changes nothing the respondent sent, nor the response's ``updated`` time
(the exports' "changed since" reads it), nor any statistic.

:func:`timeline` gives the dated entries of a response's page, oldest first; other kinds of
entries add their own to it: staff's replies to the respondent (services/replies.py) are there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from .. import permissions
from ..exceptions import InvalidInput
from ..models import Reply, Response, ResponseNote, Tag
from . import replies

NOTE_MAX_CHARACTERS = 10_000
NOBODY = "nobody"  # the assignee filter's value for responses nobody follows up
UNCHANGED: Any = object()


def person_name(user: Any) -> str:
    """A staff member as pages and the API name them: their full name, else their login."""
    return user.get_full_name() or user.get_username()


# --- writing ----------------------------------------------------------------------------------


def check_tags(response: Response, tags: Iterable[Tag]) -> list[Tag]:
    """The tags, if every one is of the response's project; raises InvalidInput otherwise."""
    tags = list(tags)
    for tag in tags:
        if tag.project_id != response.project_id:
            raise InvalidInput("tags", f"{tag.name!r} is a tag of another project")
    return tags


def check_assignee(response: Response, assignee: Any) -> Any:
    """The assignee, if they see the response's project (None: nobody); raises InvalidInput."""
    if assignee is None:
        return None
    if not permissions.people_of([response.project_id]).filter(pk=assignee.pk).exists():
        raise InvalidInput("assignee", f"{assignee} is not a member of the response's project")
    return assignee


def staff_user(user_id: int | None) -> Any:
    """The staff user of the id (None: nobody); whether they may be the assignee is
    :func:`check_assignee`'s to say."""
    if user_id is None:
        return None
    found = permissions.people_of(None).filter(pk=user_id).first()
    if found is None:
        raise InvalidInput("assignee", f"there is no active staff user {user_id}")
    return found


def check_status(status: str) -> str:
    if status not in Response.Status.values:
        raise InvalidInput("status", f"is one of {', '.join(Response.Status.values)}")
    return status


def update(
    response: Response,
    *,
    status: str = UNCHANGED,
    assignee: Any = UNCHANGED,
    tags: Iterable[Tag] = UNCHANGED,
) -> Response:
    """Change what is given of the status, the assignee (None: nobody) and the tags (the whole
    set), after checking all of them: one refused value changes nothing."""
    fields: dict[str, Any] = {}
    if status is not UNCHANGED:
        fields["status"] = check_status(status)
    if assignee is not UNCHANGED:
        fields["assignee"] = check_assignee(response, assignee)
    chosen = None if tags is UNCHANGED else check_tags(response, tags)
    with transaction.atomic():
        if fields:
            Response.objects.filter(pk=response.pk).update(**fields)
            for name, value in fields.items():
                setattr(response, name, value)
        if chosen is not None:
            response.tags.set(chosen)
    return response


def add_tag(response: Response, tag: Tag) -> None:
    response.tags.add(*check_tags(response, [tag]))


def remove_tag(response: Response, tag: Tag) -> None:
    response.tags.remove(tag)


def add_note(response: Response, author: Any, text: str) -> ResponseNote:
    """A note by ``author`` now; blank or overlong text is refused."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text", "write the note first")
    if len(text) > NOTE_MAX_CHARACTERS:
        raise InvalidInput("text", f"is at most {NOTE_MAX_CHARACTERS} characters")
    return ResponseNote.objects.create(response=response, author=author, text=text)


def tags_named(project_id: int, names: Sequence[str]) -> list[Tag]:
    """The project's tags of these names, in that order; an unknown name is refused."""
    found = {tag.name: tag for tag in Tag.objects.filter(project_id=project_id, name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise InvalidInput("tags", f"the project has no tag named {missing[0]!r}")
    return [found[name] for name in dict.fromkeys(names)]


# --- reading ----------------------------------------------------------------------------------


def tagged(tag: Tag | int | str) -> Exists:
    """Responses that carry the tag (a Tag, its id, or its name within the response's project)."""
    links = Response.tags.through.objects.filter(response_id=OuterRef("pk"))
    if isinstance(tag, str):
        links = links.filter(tag__name=tag, tag__project_id=OuterRef("project_id"))
    else:
        links = links.filter(tag_id=tag if isinstance(tag, int) else tag.pk)
    return Exists(links)


def narrowed(
    responses: QuerySet[Response],
    *,
    status: str = "",
    tags: Iterable[Tag | int | str] = (),
    assignee: Any = None,
) -> QuerySet[Response]:
    """The responses of that status, carrying every one of the tags, assigned to the user
    (or to nobody, with :data:`NOBODY`); an empty argument narrows nothing."""
    if status:
        responses = responses.filter(status=status)
    for tag in tags:
        responses = responses.filter(tagged(tag))
    if assignee == NOBODY:
        responses = responses.filter(assignee__isnull=True)
    elif assignee is not None:
        responses = responses.filter(assignee=assignee)
    return responses


def work_of(response_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``{id: {"status", "tags": [names, by name]}}`` of the responses: one query (a row per
    response and tag; pages hold at most a few hundred responses)."""
    rows = Response.objects.filter(pk__in=list(response_ids))
    work: dict[int, dict[str, Any]] = {}
    for pk, status, name in rows.values_list("pk", "status", "tags__name").order_by("tags__name"):
        entry = work.setdefault(pk, {"status": status, "tags": []})
        if name is not None:
            entry["tags"].append(name)
    return work


@dataclass(frozen=True)
class Entry:
    """A dated line of a response's timeline; ``kind`` names it for the page's styles."""

    when: datetime
    kind: str
    title: str
    author: Any = None
    text: str = ""

    @property
    def author_name(self) -> str:
        return person_name(self.author) if self.author is not None else ""


def timeline(response: Response) -> list[Entry]:
    """What happened to the response, oldest first: given, completed, and staff's notes (one
    query, for the notes and their authors)."""
    entries = [Entry(response.created, "received", str(_("Response received")))]
    if response.completed_at:
        entries.append(Entry(response.completed_at, "completed", str(_("Completed"))))
    notes = response.notes.select_related("author").order_by("created", "pk")
    entries += [Entry(n.created, "note", str(_("Note")), n.author, n.text) for n in notes]
    entries += [reply_entry(entry.reply) for entry in replies.timeline(response)]
    return sorted(entries, key=lambda entry: entry.when)


def reply_entry(reply: Reply) -> Entry:
    """A reply on the timeline: its state and subject; the replies' section has the rest."""
    title = _("Reply to the respondent: %(state)s") % {"state": reply.state_label}
    return Entry(reply.created, "reply", str(title), reply.author, reply.subject)
