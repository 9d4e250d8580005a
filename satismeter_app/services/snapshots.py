"""The cached configuration of a project and its live surveys, looked up by write key.

The widget routes read it on every call, so it lives in the cache (Redis in production) and
is dropped whenever a project or survey is saved or deleted. While the cache cannot be reached
it is read from the database, and a copy that could not be dropped is dropped once the cache
answers again (:mod:`satismeter_app.shared_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .. import shared_cache, targeting
from ..conf import app_settings
from ..models import Project, Survey

_UNKNOWN = "unknown"  # cached marker for a write key that names no project


@dataclass(frozen=True)
class SurveyConfig:
    rules: targeting.SurveyRules
    name: str
    type: str
    texts: dict[str, Any]
    design: dict[str, Any]

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

    def survey(self, survey_id: Any) -> SurveyConfig | None:
        return next((s for s in self.surveys if str(s.id) == str(survey_id)), None)


def _cache_key(write_key: str) -> str:
    return f"satismeter:project:{write_key}"


def survey_config(survey: Survey) -> SurveyConfig:
    return SurveyConfig(
        rules=targeting.SurveyRules.from_survey(survey),
        name=survey.name,
        type=survey.type,
        texts=survey.texts,
        design=survey.design,
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
    )


def project_config(write_key: str) -> ProjectConfig | None:
    """The configuration for a write key, or None when no project has it."""
    if not write_key or len(write_key) > 64:
        return None
    key = _cache_key(write_key)
    cached = shared_cache.use(lambda cache: cache.get(key), None)
    if cached == _UNKNOWN:
        return None
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    project = Project.objects.filter(write_key=write_key).first()
    config = _build(project) if project else None
    timeout = app_settings.CONFIG_CACHE_TIMEOUT
    shared_cache.use(lambda cache: cache.set(key, config or _UNKNOWN, timeout), None)
    return config


def forget(project: Project) -> None:
    shared_cache.delete(_cache_key(project.write_key))


@receiver([post_save, post_delete], sender=Project)
def _project_changed(sender: Any, instance: Project, **kwargs: Any) -> None:
    forget(instance)


@receiver([post_save, post_delete], sender=Survey)
def _survey_changed(sender: Any, instance: Survey, **kwargs: Any) -> None:
    forget(instance.project)
