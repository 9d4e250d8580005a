"""The demo's population: a year of users of a made-up product, their answers, the surveys
they were shown and the events they did — planned from a fixed seed, then played through the
app's services at their past times, as the widget and the APIs would have called them.

Going through ``satismeter_app.services`` (identify, record_display, start_response,
update_response, track) rather than writing rows keeps the demo honest: each user's targeting
history (``EndUser.history``), the response states and the outbox rows are what the real calls
write, and whatever rule those calls enforce holds for the demo data too. The plan respects the
survey's own waits (a second answer comes after ``resurvey_days``), so no call is refused.

One shortcut: an answer by email goes through ``start_response`` with the Email method. The
real path (reminders.py) sends a reminder and records the click on its signed link; the
response and the history it leaves are the same, without an email per answer.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.utils import timezone

from satismeter_app import nps
from satismeter_app.models import EndUser, Project, Response, Survey
from satismeter_app.services import identity, responses
from satismeter_app.services.snapshots import ProjectConfig, project_config

SEED = 20240917
USER_COUNT = 300
YEAR = timedelta(days=365)

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


# --- the plan: what happened to whom, and when (pure, from the seeded random generator) --------


class Step(Protocol):
    at: datetime

    def play(self, config: ProjectConfig, survey_id: int, user: EndUser) -> None: ...


@dataclass(frozen=True)
class Shown:
    """The widget showed the survey."""

    at: datetime
    url: str

    def play(self, config: ProjectConfig, survey_id: int, user: EndUser) -> None:
        responses.record_display(config, user, survey_id, url=self.url, now=self.at)


@dataclass(frozen=True)
class Answered:
    """A response: started (rated, dismissed or left pending), maybe saved again later with a
    comment or as completed, as the widget does."""

    at: datetime
    first: responses.ResponseInput
    later: responses.ResponseInput | None = None
    later_at: datetime | None = None

    def play(self, config: ProjectConfig, survey_id: int, user: EndUser) -> None:
        response, token = responses.start_response(config, user, survey_id, self.first, now=self.at)
        if self.later is not None and self.later_at is not None:
            responses.update_response(response.pk, token, self.later, now=self.later_at)


@dataclass(frozen=True)
class Tracked:
    """An event the product sent for the user."""

    at: datetime
    name: str
    properties: dict[str, Any]

    def play(self, config: ProjectConfig, survey_id: int, user: EndUser) -> None:
        identity.track(user, self.name, self.properties, self.at)


@dataclass
class PlannedUser:
    user_id: str
    traits: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    steps: list[Step] = field(default_factory=list)


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


def plan_user(rng: random.Random, number: int, now: datetime) -> PlannedUser:
    """Who the user is: the traits the product's front end would identify them with."""
    language = pick(rng, {tag: weight for tag, (weight, _, _) in PEOPLE.items()})
    _, first_names, last_names = PEOPLE[language]
    first, last = rng.choice(first_names), rng.choice(last_names)
    domain = rng.choice(EMAIL_DOMAINS)
    plan = pick(rng, PLANS)
    first_seen = now - YEAR * rng.random()
    # Most users were active recently: skew last seen towards now.
    last_seen = now - (now - first_seen) * rng.random() ** 3
    signed_up = first_seen - timedelta(days=rng.randint(0, 500), minutes=rng.randint(0, 1440))
    traits = {
        "name": f"{last}{first}" if language == "ja" else f"{first} {last}",
        "email": f"{ascii_slug(first)}.{ascii_slug(last)}{number}@{domain}",
        "createdAt": signed_up.isoformat(),
        "language": language,
        "plan": plan,
        "seats": rng.randint(*SEATS[plan]),
    }
    return PlannedUser(f"demo-{number:04d}", traits, first_seen, last_seen)


def response_times(rng: random.Random, user: PlannedUser, resurvey: timedelta) -> list[datetime]:
    """None for a fifth of the users, two for some long-standing ones, else one."""
    if rng.random() < 0.2:
        return []
    if user.last_seen - user.first_seen > 2 * resurvey and rng.random() < 0.5:
        first = between(rng, user.first_seen, user.last_seen - resurvey)
        return [first, between(rng, first + resurvey, user.last_seen)]
    return [between(rng, user.first_seen, user.last_seen)]


def comment(rng: random.Random, language: str, rating: int) -> str:
    by_category = COMMENTS.get(language, COMMENTS["en"])
    return rng.choice(by_category[nps.category(rating) or nps.DETRACTOR])


def plan_answer(rng: random.Random, user: PlannedUser, at: datetime) -> Answered:
    """Pending, dismissed, or rated: often with a comment, mostly completed, some by email."""
    language = user.traits["language"]
    page, device = rng.choice(PAGES), dict(pick(rng, DEVICES))
    outcome = rng.random()
    if outcome < 0.03:
        return Answered(at, responses.ResponseInput(referrer=page, device=device))
    if outcome < 0.18:
        return Answered(at, responses.ResponseInput(dismissed=True, referrer=page, device=device))
    rating = rng.choices(range(11), RATING_WEIGHTS)[0]
    feedback = comment(rng, language, rating) if rng.random() < COMMENT_SHARE else None
    completed = bool(feedback) or rng.random() < 0.8
    later_at = at + timedelta(seconds=rng.randint(3, 240)) if completed else None
    method = Response.Method.IN_APP
    if rng.random() < EMAIL_SHARE:
        method, page, device = Response.Method.EMAIL, "", {}
    first = responses.ResponseInput(
        rating=rating, method=method, language=language, referrer=page, device=device
    )
    later = responses.ResponseInput(feedback=feedback, completed=True) if completed else None
    return Answered(at, first, later, later_at)


def plan_displays(rng: random.Random, user: PlannedUser, answers: list[Answered]) -> list[Shown]:
    """A display before each in-app response; users who never answered saw it a few times."""
    in_app = [a for a in answers if a.first.method != Response.Method.EMAIL]
    shown = [a.at - timedelta(seconds=rng.randint(5, 120)) for a in in_app]
    if not answers and rng.random() < 0.3:
        shown = [between(rng, user.first_seen, user.last_seen) for _ in range(rng.randint(1, 3))]
    return [Shown(at, rng.choice(PAGES)) for at in shown]


def plan_events(rng: random.Random, user: PlannedUser) -> list[Tracked]:
    if rng.random() >= 0.15:
        return []
    name = rng.choice(EVENTS)
    properties = {"plan": user.traits["plan"]} if name == "Upgraded plan" else {}
    return [Tracked(between(rng, user.first_seen, user.last_seen), name, properties)]


def plan_population(survey: Survey, now: datetime) -> list[PlannedUser]:
    rng = random.Random(SEED)  # noqa: S311 (demo data, not secrets)
    resurvey = timedelta(days=survey.resurvey_days)
    users = [plan_user(rng, n, now) for n in range(1, USER_COUNT + 1)]
    for user in users:
        answers = [plan_answer(rng, user, at) for at in response_times(rng, user, resurvey)]
        user.steps = [*answers, *plan_displays(rng, user, answers), *plan_events(rng, user)]
    return users


# --- playing the plan through the app's services ----------------------------------------------


def play(config: ProjectConfig, survey_id: int, planned: PlannedUser) -> None:
    """The user's history in time order, each step after the widget's identify call."""
    who = identity.Identity(user_id=planned.user_id)
    identity.identify(config.id, who, planned.traits, now=planned.first_seen)
    for step in sorted(planned.steps, key=lambda step: step.at):
        url = step.url if isinstance(step, Shown) else ""
        user = identity.identify(config.id, who, url=url, now=step.at)
        step.play(config, survey_id, user)
    identity.identify(config.id, who, now=planned.last_seen)


def seed_population(project: Project, survey: Survey) -> bool:
    """Create the users and their history, once; False when the project had users."""
    if project.users.exists():
        return False
    config = project_config(project.write_key)
    assert config is not None  # the project exists: its write key finds it
    for planned in plan_population(survey, timezone.now()):
        play(config, survey.pk, planned)
    return True
