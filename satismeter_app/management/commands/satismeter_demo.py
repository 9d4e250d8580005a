"""Seed a demo: a project, an active NPS survey, a year of users and responses, a staff login.

    python manage.py satismeter_demo [--username admin] [--password admin] [--json]

Safe to run again: the project, survey, staff user and membership are looked up by their
natural keys, and the users, responses, displays and events are seeded only while the demo
project has no users. A re-run resets the survey's state, design and targeting to the demo's
(so the sample page shows it) and sets the staff user's password to the one given. Each run
replaces the demo's secret API key (named ``demo``) and prints the new one, because a key's
clear text exists only when it is created. The random data comes from a fixed seed, so every
fresh database gets the same users and ratings (relative to today).
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from operator import itemgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from satismeter_app import history, nps
from satismeter_app.conf import app_settings
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

SEED = 20240917
USER_COUNT = 300
PROJECT_NAME = "Demo product"
SURVEY_NAME = "How likely are you to recommend us?"
API_KEY_NAME = "demo"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
YEAR = timedelta(days=365)
RESURVEY = timedelta(days=90)

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
}

# Language tag -> (weight, first names, last names).
PEOPLE: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        40,
        ("Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Mia", "Ethan", "Grace", "Henry"),
        ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke", "Walker", "Hughes"),
    ),
    "de": (
        14,
        ("Lena", "Jonas", "Hannah", "Lukas", "Sophie", "Felix", "Marie", "Jürgen"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Schäfer"),
    ),
    "fr": (
        12,
        ("Chloé", "Louis", "Léa", "Hugo", "Camille", "Théo", "Manon", "Élodie"),
        ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Lambert"),
    ),
    "es": (
        12,
        ("Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Pablo", "Carmen", "Andrés"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro"),
    ),
    "pt-BR": (
        9,
        ("Ana", "João", "Beatriz", "Gabriel", "Larissa", "Rafael", "Júlia", "Thiago"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Almeida"),
    ),
    "ar": (
        6,
        ("ليلى", "عمر", "نور", "يوسف", "سارة", "خالد"),
        ("حداد", "منصور", "الخطيب", "عيسى", "نصار"),
    ),
    "ja": (
        7,
        ("花子", "太郎", "さくら", "健太", "美咲", "翔"),
        ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"),
    ),
}
# Names in scripts that have no ASCII decomposition, for their email addresses.
ROMANIZED = {
    "ليلى": "layla", "عمر": "omar", "نور": "nour", "يوسف": "youssef", "سارة": "sara",
    "خالد": "khaled", "حداد": "haddad", "منصور": "mansour", "الخطيب": "alkhatib",
    "عيسى": "issa", "نصار": "nassar", "花子": "hanako", "太郎": "taro", "さくら": "sakura",
    "健太": "kenta", "美咲": "misaki", "翔": "sho", "佐藤": "sato", "鈴木": "suzuki",
    "高橋": "takahashi", "田中": "tanaka", "伊藤": "ito", "渡辺": "watanabe",
}  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
PLANS = {"free": 35, "starter": 30, "pro": 25, "enterprise": 10}
SEATS = {"free": (1, 1), "starter": (1, 5), "pro": (3, 40), "enterprise": (25, 500)}

# Weights of the ratings 0..10: about 50% promoters, 30% passives, 20% detractors (NPS ≈ +30).
RATING_WEIGHTS = (2, 1, 1, 2, 2, 4, 7, 12, 18, 24, 27)
EMAIL_SHARE = 0.15
COMMENT_SHARE = 0.45
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        nps.PROMOTER: (
            "Love how simple it is. The whole team picked it up in a day.",
            "Support answered within minutes, twice. That sold me.",
            "The reports save me an hour every Monday.",
            "Does exactly what we need and never gets in the way.",
            "Best tool we adopted this year.",
        ),
        nps.PASSIVE: (
            "Good overall, but the mobile view needs work.",
            "Solid product. Pricing for larger teams is steep.",
            "Would be a 10 with a proper Salesforce integration.",
            "Works well once set up, the onboarding was confusing.",
        ),
        nps.DETRACTOR: (
            "Too slow when our projects get big.",
            "Exports keep timing out and support has not helped.",
            "Missing basic features like bulk editing.",
            "Billing charged us twice and it took weeks to fix.",
        ),
    },
    "de": {
        nps.PROMOTER: ("Super einfach zu bedienen, das ganze Team ist begeistert.",),
        nps.PASSIVE: ("Gutes Produkt, aber die Übersetzung ist stellenweise holprig.",),
        nps.DETRACTOR: ("Viel zu langsam bei großen Projekten.",),
    },
    "fr": {
        nps.PROMOTER: ("Très intuitif, et le support est réactif.",),
        nps.PASSIVE: ("Bien, mais il manque une application mobile.",),
        nps.DETRACTOR: ("Trop cher pour ce que c'est.",),
    },
    "es": {
        nps.PROMOTER: ("¡Me encanta! Nos ahorra muchísimo tiempo.",),
        nps.PASSIVE: ("Está bien, aunque los informes podrían ser más flexibles.",),
        nps.DETRACTOR: ("La exportación falla a menudo.",),
    },
    "pt-BR": {
        nps.PROMOTER: ("Ferramenta excelente, recomendo para qualquer equipe.",),
        nps.PASSIVE: ("Bom, mas poderia ter mais integrações.",),
        nps.DETRACTOR: ("O suporte demora demais para responder.",),
    },
    "ja": {
        nps.PROMOTER: ("とても使いやすく、チーム全員が気に入っています。",),
        nps.PASSIVE: ("便利ですが、もう少し動作が速いと嬉しいです。",),
        nps.DETRACTOR: ("日本語の翻訳がまだ不自然です。",),
    },
}
PAGES = (
    "https://app.example.com/dashboard",
    "https://app.example.com/projects",
    "https://app.example.com/reports",
    "https://app.example.com/settings/team",
)
DEVICES = (
    ({"os": "Mac OS", "type": "desktop"}, 35),
    ({"os": "Windows", "type": "desktop"}, 40),
    ({"os": "Linux", "type": "desktop"}, 5),
    ({"os": "iOS", "type": "mobile"}, 12),
    ({"os": "Android", "type": "tablet"}, 8),
)
EVENTS = ("Created report", "Invited teammate", "Exported data", "Upgraded plan")


@dataclass(frozen=True)
class DemoLogin:
    """What the command prints: where to go and with which credentials and keys."""

    admin_url: str
    username: str
    password: str
    project_id: int
    survey_id: int
    write_key: str
    api_key: str


def pick(rng: random.Random, weighted: dict[Any, int] | tuple[tuple[Any, int], ...]) -> Any:
    items = list(weighted.items()) if isinstance(weighted, dict) else list(weighted)
    return rng.choices([item for item, _ in items], [weight for _, weight in items])[0]


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def ascii_slug(name: str) -> str:
    if name in ROMANIZED:
        return ROMANIZED[name]
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return decomposed.lower()


# --- The configuration: project, survey, staff login, API key -------------------------------


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


def fresh_api_key(project: Project) -> str:
    """Replace the demo key: its clear text cannot be shown again, so issue a new one."""
    project.api_keys.filter(name=API_KEY_NAME).delete()
    _, key = ApiKey.issue(project, API_KEY_NAME)
    return key


def admin_url() -> str:
    base = (app_settings.PUBLIC_BASE_URL or DEFAULT_BASE_URL).rstrip("/")
    try:
        path = reverse("admin:index")
    except NoReverseMatch:
        path = "/admin/"
    return base + path


# --- The population: users, responses, displays, events -------------------------------------


def build_user(rng: random.Random, project: Project, number: int, now: datetime) -> EndUser:
    language = pick(rng, {tag: weight for tag, (weight, _, _) in PEOPLE.items()})
    _, first_names, last_names = PEOPLE[language]
    first, last = rng.choice(first_names), rng.choice(last_names)
    domain = rng.choice(EMAIL_DOMAINS)
    plan = pick(rng, PLANS)
    first_seen = now - YEAR * rng.random()
    # Most users were active recently: skew last seen towards now.
    last_seen = now - (now - first_seen) * rng.random() ** 3
    return EndUser(
        project=project,
        user_id=f"demo-{number:04d}",
        name=f"{last}{first}" if language == "ja" else f"{first} {last}",
        email=f"{ascii_slug(first)}.{ascii_slug(last)}{number}@{domain}",
        created_at=first_seen - timedelta(days=rng.randint(0, 500), minutes=rng.randint(0, 1440)),
        first_seen=first_seen,
        last_seen=last_seen,
        language=language,
        traits={"plan": plan, "seats": rng.randint(*SEATS[plan])},
    )


def response_times(rng: random.Random, user: EndUser) -> list[datetime]:
    """None for a fifth of the users, two for some long-standing ones, else one."""
    if rng.random() < 0.2:
        return []
    if user.last_seen - user.first_seen > 2 * RESURVEY and rng.random() < 0.5:
        first = between(rng, user.first_seen, user.last_seen - RESURVEY)
        return [first, between(rng, first + RESURVEY, user.last_seen)]
    return [between(rng, user.first_seen, user.last_seen)]


def comment(rng: random.Random, language: str, rating: int) -> str:
    by_category = COMMENTS.get(language, COMMENTS["en"])
    return rng.choice(by_category[nps.category(rating) or nps.DETRACTOR])


def rate(rng: random.Random, response: Response) -> None:
    """An answered response: a rating, often a comment, mostly completed."""
    response.rating = rng.choices(range(11), RATING_WEIGHTS)[0]
    if rng.random() < COMMENT_SHARE:
        response.feedback = comment(rng, response.language, response.rating)
    response.completed = bool(response.feedback) or rng.random() < 0.8
    if response.completed:
        response.completed_at = response.created + timedelta(seconds=rng.randint(3, 240))
    if rng.random() < EMAIL_SHARE:
        response.method = Response.Method.EMAIL
        response.referrer, response.device = "", {}


def build_response(rng: random.Random, survey: Survey, user: EndUser, at: datetime) -> Response:
    response = Response(
        project=survey.project,
        survey=survey,
        user=user,
        created=at,
        method=Response.Method.IN_APP,
        language=user.language,
        referrer=rng.choice(PAGES),
        device=dict(pick(rng, DEVICES)),
        traits=dict(user.traits),
    )
    outcome = rng.random()
    if outcome < 0.03:
        response.pending = True
    elif outcome < 0.18:
        response.dismissed = True
    else:
        rate(rng, response)
    return response


def build_displays(
    rng: random.Random, survey: Survey, user: EndUser, responses: list[Response]
) -> list[Display]:
    """A display before each in-app response; users who never answered saw it a few times."""
    in_app = [r for r in responses if r.method == Response.Method.IN_APP]
    shown = [r.created - timedelta(seconds=rng.randint(5, 120)) for r in in_app]
    if not responses and rng.random() < 0.3:
        shown = [between(rng, user.first_seen, user.last_seen) for _ in range(rng.randint(1, 3))]
    return [
        Display(project=survey.project, survey=survey, user=user, url=rng.choice(PAGES), created=at)
        for at in shown
    ]


def build_events(rng: random.Random, user: EndUser) -> list[UserEvent]:
    if rng.random() >= 0.15:
        return []
    name = rng.choice(EVENTS)
    properties = {"plan": user.traits["plan"]} if name == "Upgraded plan" else {}
    at = between(rng, user.first_seen, user.last_seen)
    return [
        UserEvent(project=user.project, user=user, name=name, properties=properties, timestamp=at)
    ]


def record_history(
    user: EndUser, survey: Survey, responses: list[Response], displays: list[Display]
) -> None:
    """Sum the seeded rows up on ``user.history``, in time order, as the services would have."""
    add_display = partial(
        history.add_display, ignored_wait=timedelta(days=survey.dismiss_wait_days)
    )
    steps: list[tuple[datetime, Callable[..., None]]] = [
        (display.created, add_display) for display in displays
    ]
    for response in responses:
        if response.rating is not None:
            steps.append((response.created, history.add_answer))
        elif response.dismissed:
            steps.append((response.created, history.add_dismissal))
    for when, step in sorted(steps, key=itemgetter(0)):
        step(user.history, survey.pk, when)


def seed_population(project: Project, survey: Survey) -> bool:
    """Bulk-create the users and their history, once; False when the project had users."""
    if project.users.exists():
        return False
    rng, now = random.Random(SEED), timezone.now()  # noqa: S311 (demo data, not secrets)
    users = [build_user(rng, project, n, now) for n in range(1, USER_COUNT + 1)]
    responses: list[Response] = []
    displays: list[Display] = []
    events: list[UserEvent] = []
    for user in users:
        answers = [build_response(rng, survey, user, at) for at in response_times(rng, user)]
        shown = build_displays(rng, survey, user, answers)
        tracked = build_events(rng, user)
        record_history(user, survey, answers, shown)
        for event in tracked:
            history.add_event(user.history, event.name, event.timestamp)
        responses += answers
        displays += shown
        events += tracked
    # The users first: the rows built above take their primary keys when they are saved.
    EndUser.objects.bulk_create(users)
    Response.objects.bulk_create(responses)
    Display.objects.bulk_create(displays)
    UserEvent.objects.bulk_create(events)
    return True


# --- The command ----------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Seed a demo project with an active NPS survey, a year of users and responses and a "
        "staff login, then print the admin URL, the login and the project's keys. "
        "Safe to run again; each run issues a new demo API key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="admin", help="Staff superuser to create or update (admin)."
        )
        parser.add_argument(
            "--password", default="admin", help="Password set on that user on every run (admin)."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object and nothing else."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            login, seeded = self.seed(options["username"], options["password"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(login)))
        else:
            self.print_login(login, seeded)

    def seed(self, username: str, password: str) -> tuple[DemoLogin, bool]:
        project = demo_project()
        survey = demo_survey(project)
        seeded = seed_population(project, survey)
        demo_staff(project, username, password)
        login = DemoLogin(
            admin_url=admin_url(),
            username=username,
            password=password,
            project_id=project.pk,
            survey_id=survey.pk,
            write_key=project.write_key,
            api_key=fresh_api_key(project),
        )
        return login, seeded

    def print_login(self, login: DemoLogin, seeded: bool) -> None:
        project = Project.objects.get(pk=login.project_id)
        counts = f"{project.users.count()} users, {project.responses.count()} responses"
        status = "Seeded" if seeded else "Already seeded, kept"
        self.stdout.write(self.style.SUCCESS(f"{status} “{project}”: {counts}."))
        for label, value in (
            ("Admin", login.admin_url),
            ("Login", f"{login.username} / {login.password}"),
            ("Project id", login.project_id),
            ("Survey id", login.survey_id),
            ("Write key", login.write_key),
            ("API key", f"{login.api_key}  (new; replaces the previous demo key)"),
        ):
            self.stdout.write(f"  {label + ':':<12} {value}")
