"""The cached configuration of a project and its live surveys, looked up by write key.

The widget routes read it on every call. Each process holds a copy, checked on every call
against a version number in the cache (Redis in production) that the widget reads in the same
round trip as its rate limits; the cache holds a copy too, for the other processes. Saving or
deleting a project or survey drops the version and the copies, so every process sees the
change on its next call. While the cache cannot be reached the configuration is read from the
database, and a copy that could not be dropped is dropped once the cache answers again
(:mod:`satismeter_app.shared_cache`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .. import questions, shared_cache, targeting
from ..conf import app_settings
from ..models import Project, Survey, Tag


@dataclass(frozen=True)
class SurveyConfig:
    rules: targeting.SurveyRules
    name: str
    type: str
    texts: dict[str, Any]
    design: dict[str, Any]
    questions: tuple[questions.Question, ...] = ()

    @property
    def id(self) -> int:
        return self.rules.id


@dataclass(frozen=True)
class ProjectConfig:
    id: int
    name: str
    write_key: str
    default_language: str
    identity_verification: bool
    verification_secret: str
    survey_gap_days: int
    surveys: tuple[SurveyConfig, ...]  # active surveys, highest priority first
    # (tag id, keywords) of the tags that put themselves on matching comments (tagging.py)
    tag_rules: tuple[tuple[int, str], ...] = ()

    def survey(self, survey_id: Any) -> SurveyConfig | None:
        return next((s for s in self.surveys if str(s.id) == str(survey_id)), None)


def _cache_key(write_key: str) -> str:
    return f"satismeter:project:{write_key}"


def version_key(write_key: str) -> str:
    """The cache key of the configuration's version: a random number, replaced (dropped) on
    every change, that the widget routes read in the round trip of their rate limits."""
    return f"satismeter:project-version:{write_key}"


# project_config's ``version`` when the caller has not read it, and when the cache could not
# be reached to read it.
NOT_READ = object()
UNREACHABLE = object()


def survey_config(survey: Survey) -> SurveyConfig:
    return SurveyConfig(
        rules=targeting.SurveyRules.from_survey(survey),
        name=survey.name,
        type=survey.type,
        texts=survey.texts,
        design=survey.design,
        questions=questions.of_survey(survey.questions, survey.type),
    )


def _build(project: Project) -> ProjectConfig:
    surveys = project.surveys.filter(state=Survey.State.ACTIVE).order_by("-priority", "pk")
    return ProjectConfig(
        id=project.pk,
        name=project.name,
        write_key=project.write_key,
        default_language=project.default_language,
        identity_verification=project.identity_verification,
        verification_secret=project.verification_secret,
        survey_gap_days=project.survey_gap_days,
        surveys=tuple(survey_config(survey) for survey in surveys),
        tag_rules=tuple(project.tags.exclude(keywords="").values_list("pk", "keywords")),
    )


class _Held:
    """The configurations this process holds, by write key, each with the version it was
    built at; at most :data:`HELD_LIMIT` of them (then they are all let go)."""

    def __init__(self) -> None:
        self.copies: dict[str, tuple[int, ProjectConfig | None]] = {}

    def get(self, write_key: str, version: Any) -> tuple[bool, ProjectConfig | None]:
        held = self.copies.get(write_key)
        if held is None or version is None or held[0] != version:
            return False, None
        return True, held[1]

    def hold(self, write_key: str, version: int, config: ProjectConfig | None) -> None:
        if len(self.copies) >= HELD_LIMIT:
            self.copies.clear()
        self.copies[write_key] = (version, config)

    def drop(self, write_key: str) -> None:
        self.copies.pop(write_key, None)


HELD_LIMIT = 1000
_held = _Held()


def project_config(write_key: str, *, version: Any = NOT_READ) -> ProjectConfig | None:
    """The configuration for a write key, or None when no project has it.

    Three levels: the copy this process holds, while its version is the cache's (``version``,
    read by the caller in a round trip it makes anyway, else read here); the copy in the cache,
    when it was built at that version; the database, which then fills both. While the cache
    cannot be reached, the database on every call.
    """
    if not write_key or len(write_key) > 64:
        return None
    if version is NOT_READ:
        found = shared_cache.count_and_read([], [version_key(write_key)])
        version = found.values[0] if found.reached else UNREACHABLE
    if version is UNREACHABLE:
        return _build_for(write_key)
    held, config = _held.get(write_key, version)
    if held:
        return config
    cached: Any = shared_cache.use(
        lambda cache: _from_cache(cache, write_key, version), UNREACHABLE
    )
    return _build_for(write_key) if cached is UNREACHABLE else cached


def _from_cache(cache: Any, write_key: str, version: int | None) -> ProjectConfig | None:
    """The cache's copy at ``version`` (a new version when there is none), or one built
    from the database; held by this process at that version."""
    timeout = app_settings.CONFIG_CACHE_TIMEOUT
    if version is None:  # after a change, or expired: this call starts a version
        version = secrets.randbits(62)
        if not cache.add(version_key(write_key), version, timeout):
            version = cache.get(version_key(write_key))  # another call started one meanwhile
    copy = cache.get(_cache_key(write_key))
    if copy is not None and version is not None and copy[0] == version:
        config = copy[1]
    else:
        config = _build_for(write_key)
        if version is not None:
            cache.set(_cache_key(write_key), (version, config), timeout)
    if version is not None:
        _held.hold(write_key, version, config)
    return config


def _build_for(write_key: str) -> ProjectConfig | None:
    project = Project.objects.filter(write_key=write_key).first()
    return _build(project) if project else None


def forget(write_key: str) -> None:
    """Drop every copy of a write key's configuration: now, and again when the transaction
    that changed it commits (a call between the two may have built one from the rows as they
    were before)."""

    def drop() -> None:
        _held.drop(write_key)
        shared_cache.delete(version_key(write_key))
        shared_cache.delete(_cache_key(write_key))

    drop()
    transaction.on_commit(drop)


@receiver(pre_save, sender=Project)
def _write_key_changing(sender: Any, instance: Project, **kwargs: Any) -> None:
    # A new write key: the old one must stop working now, not when its copies expire.
    if instance.pk is not None:
        old = Project.objects.filter(pk=instance.pk).values_list("write_key", flat=True).first()
        if old and old != instance.write_key:
            forget(old)


@receiver([post_save, post_delete], sender=Project)
def _project_changed(sender: Any, instance: Project, **kwargs: Any) -> None:
    forget(instance.write_key)


@receiver([post_save, post_delete], sender=Survey)
def _survey_changed(sender: Any, instance: Survey, **kwargs: Any) -> None:
    forget(instance.project.write_key)


@receiver([post_save, post_delete], sender=Tag)
def _tag_changed(sender: Any, instance: Tag, **kwargs: Any) -> None:
    # A tag's keywords are part of the configuration: new comments use the new ones at once.
    write_key = Project.objects.filter(pk=instance.project_id).values_list("write_key", flat=True)
    for key in write_key:
        forget(key)
