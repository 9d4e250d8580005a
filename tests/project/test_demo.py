"""The example project's ``satismeter_demo`` command: what it seeds, that it is safe to re-run,
what it prints."""

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.db import models
from django.db.models import Max, Q
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from satismeter_app import history, targeting
from satismeter_app.models import (
    ApiKey,
    Display,
    EndUser,
    Membership,
    Project,
    Response,
    Survey,
    UserEvent,
)
from satismeter_app.services import decisions
from satismeter_app.services.snapshots import project_config

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _example_base_url(settings: Any) -> None:
    """The demo prints links on the example project's address."""
    settings.SATISMETER = {"PUBLIC_BASE_URL": "http://127.0.0.1:8000"}


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("satismeter_demo", *args, stdout=out)
    return out.getvalue()


def run_demo_json(*args: str) -> dict[str, Any]:
    return json.loads(run_demo("--json", *args))


def counts() -> dict[str, int]:
    models = (Project, Survey, EndUser, Response, Display, UserEvent, ApiKey, Membership)
    users = {"staff": get_user_model().objects.count()}
    return {model.__name__: model.objects.count() for model in models} | users


def test_seeds_a_project_survey_and_a_year_of_users() -> None:
    run_demo()

    project = Project.objects.get()
    survey = Survey.objects.get()
    assert (project.name, project.default_language) == ("Demo product", "en")
    assert survey.project == project
    assert (survey.type, survey.state, survey.min_tenure_days) == ("nps", "active", 0)
    assert survey.design["colors"]["primary"] == "#ff4981"
    assert EndUser.objects.filter(project=project).count() == 300
    assert Response.objects.filter(project=project).count() > 200
    assert Display.objects.filter(project=project).exists()
    assert UserEvent.objects.filter(project=project).exists()


def test_users_look_like_a_real_product() -> None:
    run_demo()

    users = EndUser.objects.all()
    assert {"en", "de", "fr", "es", "pt-BR", "ar", "ja"} <= set(
        users.values_list("language", flat=True)
    )
    assert not users.filter(name="").exists()
    assert not users.filter(email="").exists()
    assert not users.filter(created_at__isnull=True).exists()
    assert {"free", "pro"} <= {user.traits["plan"] for user in users}
    year_ago = timezone.now() - timedelta(days=366)
    assert not users.filter(first_seen__lt=year_ago).exists()


def test_responses_have_a_plausible_nps_mix() -> None:
    run_demo()

    responses = Response.objects.filter(project=Project.objects.get())
    summary = responses.summary()
    assert summary.answered > 100
    assert summary.nps is not None and -100 < summary.nps < 100
    assert summary.promoters and summary.passives and summary.detractors
    assert summary.dismissed > 0 and summary.commented > 0
    assert {"In-app", "Email"} == set(responses.values_list("method", flat=True))
    commented_languages = set(responses.exclude(feedback="").values_list("language", flat=True))
    assert len(commented_languages) >= 3


def test_running_twice_duplicates_nothing() -> None:
    first = run_demo_json()
    before = counts()

    second = run_demo_json()

    assert counts() == before
    assert before["ApiKey"] == 1
    assert {k: v for k, v in second.items() if k != "api_key"} == {
        k: v for k, v in first.items() if k != "api_key"
    }


def test_a_rerun_keeps_the_printed_api_key_working() -> None:
    """`make demo` printed the key; `satismeter_demo --json` afterwards must not revoke it."""
    first = run_demo_json()

    second = run_demo_json()

    assert second["api_key"] is None  # only its hash is stored: it cannot be printed again
    assert second["api_key_prefix"] == first["api_key_prefix"]
    assert first["api_key"].startswith(first["api_key_prefix"])
    assert ApiKey.authenticate(first["api_key"]) is not None


def test_new_key_replaces_the_api_key_and_prints_it() -> None:
    first = run_demo_json()

    renewed = run_demo_json("--new-key")

    assert renewed["api_key"] not in (None, first["api_key"])
    assert ApiKey.authenticate(first["api_key"]) is None
    api_key = ApiKey.authenticate(renewed["api_key"])
    assert api_key is not None and api_key.project_id == first["project_id"]
    assert ApiKey.objects.count() == 1


def test_a_revoked_demo_key_is_replaced_on_the_next_run() -> None:
    first = run_demo_json()
    ApiKey.objects.update(revoked=timezone.now())

    second = run_demo_json()

    assert second["api_key"] is not None and ApiKey.authenticate(second["api_key"]) is not None
    assert ApiKey.authenticate(first["api_key"]) is None


def test_text_output_of_a_rerun_names_the_kept_key_and_how_to_renew_it() -> None:
    first = run_demo_json()

    out = run_demo()

    assert f"{first['api_key_prefix']}…" in out
    assert first["api_key"] not in out
    assert "--new-key" in out


def test_second_run_says_it_kept_the_data() -> None:
    assert "Seeded" in run_demo()
    assert "Already seeded" in run_demo()


def test_the_data_is_the_same_on_every_fresh_database() -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        fields = ("user__user_id", "user__name", "language", "rating", "dismissed", "feedback")
        return list(Response.objects.order_by("user__user_id", "created").values_list(*fields))

    run_demo()
    first = snapshot()
    Project.objects.all().delete()
    run_demo()

    assert snapshot() == first


def test_json_output_gives_working_keys() -> None:
    data = run_demo_json()

    project = Project.objects.get(pk=data["project_id"])
    assert data["write_key"] == project.write_key
    assert data["survey_id"] == Survey.objects.get(project=project).pk
    api_key = ApiKey.authenticate(data["api_key"])
    assert api_key is not None and api_key.project == project
    assert (data["username"], data["password"]) == ("admin", "admin")
    assert data["admin_url"] == "http://127.0.0.1:8000/admin/"


def test_text_output_names_the_login_and_keys() -> None:
    out = run_demo()

    project = Project.objects.get()
    assert "http://127.0.0.1:8000/admin/" in out
    assert "admin / admin" in out
    assert project.write_key in out
    assert f"Project id:  {project.pk}" in out
    api_key = out.split("API key:")[1].split()[0]
    authenticated = ApiKey.authenticate(api_key)
    assert authenticated is not None and authenticated.project == project
    assert "new: shown this once" in out


@pytest.mark.parametrize(
    ("base_url", "admin_url"),
    [
        ("https://nps.example.com/", "https://nps.example.com/admin/"),
        ("", "http://127.0.0.1:8000/admin/"),
    ],
)
def test_admin_url_follows_the_public_base_url(
    settings: Any, base_url: str, admin_url: str
) -> None:
    settings.SATISMETER = {"PUBLIC_BASE_URL": base_url}

    assert run_demo_json()["admin_url"] == admin_url


def test_staff_user_is_a_superuser_and_project_admin() -> None:
    run_demo_json("--username", "ops", "--password", "s3cret-demo")

    user = get_user_model().objects.get(username="ops")
    assert user.is_staff and user.is_superuser
    assert user.check_password("s3cret-demo")
    membership = Membership.objects.get(user=user)
    assert (membership.project.name, membership.role) == ("Demo product", "admin")


def test_printed_credentials_log_in_to_the_admin(client: Client) -> None:
    data = run_demo_json()

    # django-axes checks every login attempt against its client, so it needs a request.
    assert client.login(request=HttpRequest(), username=data["username"], password=data["password"])
    assert client.get("/admin/").status_code == 200


def test_demo_project_shows_in_the_admin(client: Client) -> None:
    data = run_demo_json()
    client.login(request=HttpRequest(), username=data["username"], password=data["password"])

    page = client.get(reverse("admin:satismeter_app_project_changelist"))

    assert page.status_code == 200
    assert "Demo product" in page.content.decode()


@pytest.mark.parametrize("identified", [True, False])
def test_the_survey_is_shown_to_a_brand_new_sample_page_visitor(identified: bool) -> None:
    run_demo()
    survey = Survey.objects.get()
    now = timezone.now()
    visitor = targeting.UserState(key="sample-page-visitor", identified=identified, first_seen=now)

    decision = targeting.decide(
        targeting.SurveyRules.from_survey(survey),
        visitor,
        targeting.History(),
        targeting.Context(url="http://127.0.0.1:8000/", device_type="desktop"),
        now,
        survey_gap_days=survey.project.survey_gap_days,
    )

    assert decision.show, decision.detail


def test_each_users_targeting_history_matches_the_seeded_rows() -> None:
    run_demo()
    survey = Survey.objects.get()

    users = EndUser.objects.annotate(
        answered=Max("responses__created", filter=Q(responses__rating__isnull=False)),
        dismissed=Max("responses__created", filter=Q(responses__dismissed=True)),
        shown=Max("displays__created"),
    )

    for user in users:
        seen = history.as_targeting(user.history).of(survey.pk)
        assert (seen.last_answered, seen.last_dismissed) == (user.answered, user.dismissed)
        assert seen.last_display == user.shown


def test_a_user_who_just_answered_is_not_asked_again() -> None:
    """The seeded history is the services' own: the widget's decision honours it."""
    run_demo()
    survey = Survey.objects.get()
    answered = (
        Response.objects.filter(rating__isnull=False).order_by("-created").select_related("user")
    )[0]
    config = project_config(survey.project.write_key)
    assert config is not None

    verdict = decisions.decide(config, answered.user, targeting.Context(), timezone.now())

    assert verdict.survey is None
    _, decision = verdict.decisions[0]
    assert decision.reason == targeting.Reason.ANSWERED_RECENTLY


def test_answers_were_saved_the_way_the_widget_saves_them() -> None:
    run_demo()

    responses = Response.objects.all()
    completed = responses.filter(completed=True)
    assert completed.exists()
    assert not completed.filter(completed_at__lt=models.F("created")).exists()
    assert not responses.filter(pending=True, rating__isnull=False).exists()
    assert not responses.filter(dismissed=True, rating__isnull=False).exists()
    # Commented answers are always completed: the comment is the widget's last step.
    assert not responses.exclude(feedback="").filter(completed=False).exists()


def test_the_seeder_belongs_to_the_example_project_not_the_app() -> None:
    assert get_commands()["satismeter_demo"] == "project.demo"
