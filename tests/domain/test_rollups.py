"""Daily rollups: whatever writes responses and displays, the stored counts equal a recount
from the rows, in the project's time zone."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from satismeter_app.models import DailyRollup, Display, EndUser, Project, Response, Survey
from satismeter_app.services import identity, privacy

COUNTS = ("responses", "dismissed", "pending", "completed", "commented", "displays")
KEY = ("survey_id", "day", "language", "method", "rating")


def as_table(rows: list[DailyRollup]) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """Rows by key, the ones that count nothing left out (a delete leaves zeros behind)."""
    table: dict[tuple[Any, ...], tuple[int, ...]] = {}
    for row in rows:
        counts = tuple(getattr(row, name) for name in COUNTS)
        if any(counts):
            table[tuple(getattr(row, name) for name in KEY)] = counts
    return table


def stored(project: Project) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return as_table(list(DailyRollup.objects.filter(project=project)))


def recounted(project: Project) -> dict[tuple[Any, ...], tuple[int, ...]]:
    project.refresh_from_db()
    rows = [*DailyRollup._counted_responses(project), *DailyRollup._counted_displays(project)]
    return as_table(rows)


def assert_current(*projects: Project) -> None:
    for project in projects:
        assert stored(project) == recounted(project)


@pytest.fixture
def kolkata(make_project: Callable[..., Project]) -> Project:
    return make_project(time_zone="Asia/Kolkata")


@pytest.fixture
def scene(
    kolkata: Project,
    make_survey: Callable[..., Survey],
    make_response: Callable[..., Response],
    make_end_user: Callable[..., EndUser],
) -> dict[str, Any]:
    """Responses and displays either side of a Kolkata midnight (18:30 UTC)."""
    survey = make_survey(kolkata)
    user = make_end_user(kolkata)
    evening = datetime(2024, 3, 9, 18, 29, tzinfo=UTC)  # 23:59 in Kolkata
    night = evening + timedelta(minutes=1)  # 00:00 the next day there
    made = [
        make_response(survey, user=user, rating=9, created=evening, feedback="great"),
        make_response(survey, user=user, rating=3, created=night, language="de"),
        make_response(survey, user=user, dismissed=True, created=night, method="Email"),
        make_response(survey, user=user, pending=True, created=night),
    ]
    for when in (evening, night, night):
        Display.objects.create(project=kolkata, survey=survey, user=user, created=when)
    return {"project": kolkata, "survey": survey, "user": user, "responses": made}


def test_new_rows_are_counted_on_the_projects_day(scene: dict[str, Any]) -> None:
    project = scene["project"]
    by_day = {(key[1].isoformat(), key[4]): counts for key, counts in stored(project).items()}
    assert by_day[("2024-03-09", 9)][:5] == (1, 0, 0, 1, 1)
    assert by_day[("2024-03-10", 3)][0] == 1
    assert sum(counts[5] for counts in stored(project).values()) == 3
    assert_current(project)


def test_saves_updates_and_bulk_updates_keep_them_current(scene: dict[str, Any]) -> None:
    project, answered = scene["project"], scene["responses"][0]
    answered.rating, answered.feedback = 4, ""
    answered.save()
    assert_current(project)
    Response.objects.filter(project=project).update(created=datetime(2024, 6, 1, tzinfo=UTC))
    assert_current(project)
    pending = scene["responses"][3]
    pending.pending, pending.rating, pending.completed = False, 10, True
    pending.completed_at = pending.created
    pending.language = "fr"
    Response.objects.bulk_update([pending], ["pending", "rating", "completed", "completed_at"])
    Response.objects.filter(pk=pending.pk).update(language="fr", method="Mobile")
    Display.objects.filter(project=project).update(created=datetime(2024, 1, 1, tzinfo=UTC))
    assert_current(project)


def test_bulk_creates_and_deletes_keep_them_current(scene: dict[str, Any]) -> None:
    project, survey, user = scene["project"], scene["survey"], scene["user"]
    Response.objects.bulk_create(
        Response(project=project, survey=survey, user=user, rating=n % 11, created=_at(n))
        for n in range(50)
    )
    Display.objects.bulk_create(
        Display(project=project, survey=survey, user=user, created=_at(n)) for n in range(20)
    )
    assert_current(project)
    Response.objects.filter(project=project, rating__lt=5).delete()
    Display.objects.filter(project=project, created__gte=_at(10)).delete()
    assert_current(project)


def _at(n: int) -> datetime:
    return datetime(2024, 10, 26, tzinfo=UTC) + timedelta(hours=7 * n)


def test_a_merge_and_an_erasure_keep_them_current(
    scene: dict[str, Any], make_end_user: Callable[..., EndUser], make_response: Callable[..., Any]
) -> None:
    project, survey, user = scene["project"], scene["survey"], scene["user"]
    visitor = make_end_user(project, anonymous_id="visitor")
    make_response(survey, user=visitor, rating=6, feedback="meh")
    identity._move_activity(visitor.pk, user.pk)
    assert_current(project)
    privacy.erase_user(user, privacy.ANONYMISE)  # the comments go: "commented" drops
    assert_current(project)
    assert sum(counts[4] for counts in stored(project).values()) == 0
    privacy.erase_user(user, privacy.DELETE)  # the responses go with the user
    assert stored(project) == {}


def test_test_rows_are_never_counted(
    scene: dict[str, Any], make_end_user: Callable[..., EndUser], make_response: Callable[..., Any]
) -> None:
    """A test user's (the sample page's) displays and responses: not in the rollups, whether
    written as such, marked later (as migration 0008 marks earlier ones) or deleted."""
    project, survey = scene["project"], scene["survey"]
    before = stored(project)
    tester = make_end_user(project, user_id="sample-0a1b2c", is_test=True)
    answer = make_response(survey, user=tester, rating=0, feedback="trying", is_test=True)
    Display.objects.create(project=project, survey=survey, user=tester, is_test=True)
    assert stored(project) == before
    assert_current(project)

    real = make_response(survey, rating=2, feedback="real", created=answer.created)
    assert stored(project) != before
    Response.objects.filter(pk=real.pk).update(is_test=True)
    assert stored(project) == before
    Response.objects.filter(user=tester).delete()
    assert stored(project) == before
    assert_current(project)


def test_deleting_a_survey_or_project_takes_its_rollups(scene: dict[str, Any]) -> None:
    project, survey = scene["project"], scene["survey"]
    survey.delete()
    assert not DailyRollup.objects.filter(survey_id=survey.pk).exists()
    assert_current(project)
    project.delete()
    assert not DailyRollup.objects.filter(project_id=project.pk).exists()


def test_a_new_time_zone_moves_the_days(scene: dict[str, Any]) -> None:
    project = scene["project"]
    days_before = {key[1] for key in stored(project)}
    project.time_zone = "America/New_York"
    project.full_clean()
    project.save()
    assert_current(project)
    days_after = {key[1] for key in stored(project)}
    assert days_before != days_after
    assert {d.isoformat() for d in days_after} == {"2024-03-09"}


def test_a_time_zone_must_be_an_iana_name(kolkata: Project) -> None:
    kolkata.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError) as raised:
        kolkata.full_clean()
    assert "time_zone" in raised.value.message_dict


def test_a_new_project_takes_the_sites_time_zone(settings: Any, db: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    assert Project.objects.create(name="Berlin").time_zone == "Europe/Berlin"


def test_the_rebuild_command_repairs_lost_counts(scene: dict[str, Any]) -> None:
    project = scene["project"]
    expected = stored(project)
    DailyRollup.objects.filter(project=project).update(responses=0, displays=99)
    out = StringIO()
    call_command("satismeter_rebuild_rollups", stdout=out, stderr=StringIO())
    assert stored(project) == expected
    assert "1 project" in out.getvalue()


def test_the_rebuild_command_takes_project_ids(
    scene: dict[str, Any], make_project: Callable[..., Project]
) -> None:
    other = make_project()
    DailyRollup.objects.all().delete()
    call_command(
        "satismeter_rebuild_rollups",
        "--project",
        str(other.pk),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert stored(scene["project"]) == {}
    call_command(
        "satismeter_rebuild_rollups",
        "--project",
        str(scene["project"].pk),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert_current(scene["project"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement, many rows")
def test_one_insert_select_of_many_rows_is_counted(scene: dict[str, Any]) -> None:
    project, survey, user = scene["project"], scene["survey"], scene["user"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO satismeter_app_response
                (project_id, survey_id, user_id, rating, feedback, answers, method, language,
                 referrer, device, traits, dismissed, pending, completed, edit_token_hash,
                 created, updated)
            SELECT %s, %s, %s, i %% 11, '', '[]', 'In-app', 'en', '', '{}', '{}', false,
                   false, false, '', now() - i * interval '37 minutes', now()
            FROM generate_series(1, 2000) AS i
            """,
            [project.pk, survey.pk, user.pk],
        )
    assert_current(project)
