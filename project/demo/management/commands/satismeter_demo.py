"""Seed the example project's demo: a project, an active NPS survey, a year of users and
responses (project/demo/population.py), a staff login and a secret API key.

    python manage.py satismeter_demo [--username admin] [--password admin] [--new-key] [--json]

Safe to run again: the project, survey, staff user and membership are looked up by their
natural keys, and the users are seeded only while the demo project has none. A re-run resets
the survey's state, design and targeting to the demo's (so the sample page shows it) and sets
the staff user's password to the one given.

The secret API key (named ``demo``) is issued on the first run, which prints it. Only its hash
is stored, so later runs cannot print it again: they print its prefix and leave it working.
``--new-key`` deletes it and issues a new one, which is printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from project.demo.population import seed_population
from satismeter_app.conf import app_settings
from satismeter_app.models import ApiKey, Membership, Project, Survey

PROJECT_NAME = "Demo product"
SURVEY_NAME = "How likely are you to recommend us?"
API_KEY_NAME = "demo"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

SURVEY_SETTINGS: dict[str, Any] = {
    "type": Survey.Type.NPS,
    "state": Survey.State.ACTIVE,
    "design": {
        "skin": "dialog",
        "position": "cr",
        "colors": {"primary": "#ff4981", "foreground": "#333333", "background": "#fdfdfd"},
        "showNumbers": True,
        "poweredBy": True,
        "serviceName": PROJECT_NAME,
    },
    # Open enough for the sample page's visitor, who was first seen a moment ago.
    "audience": Survey.Audience.EVERYONE,
    "min_tenure_days": 0,
    "sample_percent": 100,
    "starts_at": None,
    "ends_at": None,
    # The seeded users who answered twice did so at least this far apart.
    "resurvey_days": 90,
}


@dataclass(frozen=True)
class DemoLogin:
    """What the command prints: where to go and with which credentials and keys."""

    admin_url: str
    username: str
    password: str
    project_id: int
    survey_id: int
    write_key: str
    api_key_prefix: str
    # The clear key when this run issued it, else None (it was printed when it was issued).
    api_key: str | None


def demo_project() -> Project:
    project = Project.objects.filter(name=PROJECT_NAME).order_by("pk").first()
    return project or Project.objects.create(name=PROJECT_NAME, default_language="en")


def demo_survey(project: Project) -> Survey:
    """The survey, (re)set to what the demo needs so that the sample page shows it."""
    survey, _ = Survey.objects.update_or_create(
        project=project, name=SURVEY_NAME, defaults=SURVEY_SETTINGS
    )
    return survey


def demo_staff(project: Project, username: str, password: str) -> Any:
    """A superuser with the given password, and an admin of the demo project."""
    user_model = get_user_model()
    natural_key: dict[str, Any] = {user_model.USERNAME_FIELD: username}
    user, _ = user_model.objects.get_or_create(**natural_key)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    Membership.objects.get_or_create(
        user=user, project=project, defaults={"role": Membership.Role.ADMIN}
    )
    return user


def demo_api_key(project: Project, *, renew: bool) -> tuple[ApiKey, str | None]:
    """The demo key, and its clear text when it is issued now: when there is none that
    works, or when asked to renew it (the old one stops working)."""
    keys = project.api_keys.filter(name=API_KEY_NAME)
    current = keys.filter(revoked__isnull=True).first()
    if current is not None and not renew:
        return current, None
    keys.delete()
    return ApiKey.issue(project, API_KEY_NAME)


def admin_url() -> str:
    base = (app_settings.PUBLIC_BASE_URL or DEFAULT_BASE_URL).rstrip("/")
    try:
        path = reverse("admin:index")
    except NoReverseMatch:
        path = "/admin/"
    return base + path


class Command(BaseCommand):
    help = (
        "Seed a demo project with an active NPS survey, a year of users and responses and a "
        "staff login, then print the admin URL, the login and the project's keys. "
        "Safe to run again; the secret API key is printed when it is issued (first run, "
        "or --new-key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="admin", help="Staff superuser to create or update (admin)."
        )
        parser.add_argument(
            "--password", default="admin", help="Password set on that user on every run (admin)."
        )
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="Replace the demo's secret API key with a new one and print it.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object and nothing else."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            login, seeded = self.seed(options["username"], options["password"], options["new_key"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(login)))
        else:
            self.print_login(login, seeded)

    def seed(self, username: str, password: str, new_key: bool) -> tuple[DemoLogin, bool]:
        project = demo_project()
        survey = demo_survey(project)
        seeded = seed_population(project, survey)
        demo_staff(project, username, password)
        api_key, clear_key = demo_api_key(project, renew=new_key)
        login = DemoLogin(
            admin_url=admin_url(),
            username=username,
            password=password,
            project_id=project.pk,
            survey_id=survey.pk,
            write_key=project.write_key,
            api_key_prefix=api_key.prefix,
            api_key=clear_key,
        )
        return login, seeded

    def print_login(self, login: DemoLogin, seeded: bool) -> None:
        project = Project.objects.get(pk=login.project_id)
        counts = f"{project.users.count()} users, {project.responses.count()} responses"
        status = "Seeded" if seeded else "Already seeded, kept"
        self.stdout.write(self.style.SUCCESS(f"{status} “{project}”: {counts}."))
        if login.api_key is not None:
            api_key = f"{login.api_key}  (new: shown this once, only its hash is kept)"
        else:
            api_key = (
                f"{login.api_key_prefix}…  (issued earlier and still valid; its full text was "
                "printed then. --new-key replaces it)"
            )
        for label, value in (
            ("Admin", login.admin_url),
            ("Login", f"{login.username} / {login.password}"),
            ("Project id", login.project_id),
            ("Survey id", login.survey_id),
            ("Write key", login.write_key),
            ("API key", api_key),
        ):
            self.stdout.write(f"  {label + ':':<12} {value}")
