"""Automatic tags, applied: a project's keyword tags put themselves on the responses whose
comment (or long-text answer) names one of their keywords (the matching: tagging.py).

- When a comment arrives (services/responses.py, in the transaction that saves it), with the
  project's rules from its cached configuration: no query when the project has no keyword
  tag, one ``INSERT`` when a tag matches.
- On the responses already there, by ``manage.py satismeter_apply_tags`` (:func:`apply_to_old`),
  in batches.

Tags are only ever added: a tag staff put on (or took off) stays as they left it, unless a
later comment of the response names its keywords again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from .. import tagging
from ..exceptions import InvalidInput
from ..models import Response, Tag
from ..questions import LONG_TEXT

BATCH = 1000
Through = Response.tags.through


def texts_of(feedback: str, answers: Iterable[Any]) -> list[str]:
    """What a response says in words: its comment and its long-text answers."""
    texts = [feedback] if feedback else []
    for answer in answers or ():
        if isinstance(answer, dict) and answer.get("type") == LONG_TEXT:
            value = answer.get("value")
            texts.extend([value] if isinstance(value, str) else [])
    return texts


def tag_response(response: Response, rules: tagging.Rules) -> set[int]:
    """Put on ``response`` the tags of ``rules`` its words call for; returns their ids."""
    if not rules:
        return set()
    matched = tagging.matching(rules, texts_of(response.feedback, response.answers))
    if matched:
        rows = [Through(response_id=response.pk, tag_id=tag_id) for tag_id in matched]
        Through.objects.bulk_create(rows, ignore_conflicts=True)
    return matched


@dataclass
class Report:
    """What :func:`apply_to_old` went through and did (or, in a dry run, would do)."""

    seen: int = 0  # responses with words
    tagged: int = 0  # responses that got at least one tag
    added: int = 0  # tags put on

    def __iadd__(self, other: Report) -> Report:
        self.seen, self.tagged = self.seen + other.seen, self.tagged + other.tagged
        self.added += other.added
        return self


def rules_for(project_id: int, tag_name: str | None = None) -> list[tuple[int, str]]:
    """The project's keyword tags (or the one named), refused with a message when none."""
    tags = Tag.objects.filter(project_id=project_id)
    if tag_name:
        tag = tags.filter(name=tag_name).first()
        if tag is None:
            raise InvalidInput("tag", f"the project has no tag named {tag_name!r}")
        if not tagging.terms(tag.keywords):
            raise InvalidInput("tag", f"the tag {tag_name!r} has no keywords")
        return [(tag.pk, tag.keywords)]
    return list(tags.exclude(keywords="").values_list("pk", "keywords"))


def with_words(project_id: int, since: datetime | None = None) -> Any:
    """The project's responses that have a comment or another answer, oldest first."""
    qs = Response.objects.filter(project_id=project_id).filter(~Q(feedback="") | ~Q(answers=[]))
    if since is not None:
        qs = qs.filter(created__gte=since)
    return qs.order_by("pk")


def apply_to_old(
    project_id: int,
    *,
    tag_name: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Apply the project's keyword tags to its responses, ``BATCH`` at a time (one query
    reads a batch's existing tags, one inserts the new ones). Running it again adds
    nothing; ``dry_run`` counts what it would add and writes nothing."""
    rules = rules_for(project_id, tag_name)
    report = Report()
    for batch in _batches(with_words(project_id, since)):
        report += _apply_batch(batch, rules, dry_run)
        if progress is not None:
            progress(len(batch))
    return report


def _batches(qs: Any) -> Iterator[list[tuple[int, str, Any]]]:
    batch: list[tuple[int, str, Any]] = []
    for row in qs.values_list("pk", "feedback", "answers").iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply_batch(batch: list[tuple[int, str, Any]], rules: tagging.Rules, dry_run: bool) -> Report:
    wanted = {
        (pk, tag_id)
        for pk, feedback, answers in batch
        for tag_id in tagging.matching(rules, texts_of(feedback, answers))
    }
    present = _present(wanted) if wanted else set()
    new = wanted - present
    if new and not dry_run:
        rows = [Through(response_id=pk, tag_id=tag_id) for pk, tag_id in sorted(new)]
        Through.objects.bulk_create(rows, ignore_conflicts=True)
    return Report(seen=len(batch), tagged=len({pk for pk, _ in new}), added=len(new))


def _present(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (response, tag) pairs are already there: one query."""
    found = Through.objects.filter(
        response_id__in={pk for pk, _ in pairs}, tag_id__in={tag_id for _, tag_id in pairs}
    ).values_list("response_id", "tag_id")
    return set(found) & pairs
