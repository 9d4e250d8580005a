"""The dashboard and the statistics read daily rollups: for random filters, in zones with
half-hour offsets and daylight-saving changes, their numbers equal the raw count of the
responses, done here in Python from each response's local day in the project's zone."""

import random
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from satismeter_app import nps
from satismeter_app.models import Display, Project, Response, Survey
from satismeter_app.services import dashboard, reporting

ZONES = ["Asia/Kolkata", "Europe/Berlin", "America/New_York", "UTC"]
# Days around the 2024 daylight-saving changes in Europe (31 Mar, 27 Oct) and the US (10 Mar,
# 3 Nov), so that many responses fall in the hours where local days and UTC days differ.
CHANGES = [datetime(2024, 3, 10, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC)]
CHANGES += [datetime(2024, 10, 27, tzinfo=UTC), datetime(2024, 11, 3, tzinfo=UTC)]
LANGUAGES = ["en", "de", "hi"]
METHODS = [m.value for m in Response.Method]
# More plans than the breakdown shows (ten), some rare, so that its cut is tested too.
PLANS = ["free", "pro", *(f"team{n:02d}" for n in range(12))]


def random_moment(rng: random.Random) -> datetime:
    return rng.choice(CHANGES) + timedelta(minutes=rng.randint(-3 * 24 * 60, 3 * 24 * 60))


def seed(rng: random.Random, project: Project, surveys: list[Survey], user: Any) -> None:
    rows = []
    for _ in range(400):
        rating = rng.choice([None, None, *range(11)])
        dismissed = rating is None and rng.random() < 0.5
        created = random_moment(rng)
        rows.append(
            Response(
                project=project,
                survey=rng.choice(surveys),
                user=user,
                rating=rating,
                dismissed=dismissed,
                pending=rating is None and not dismissed,
                completed=rating is not None and rng.random() < 0.7,
                completed_at=created,
                feedback=rng.choice(["", "", "slow", "great"]),
                language=rng.choice(LANGUAGES),
                method=rng.choice(METHODS),
                traits={"plan": rng.choice(PLANS[:2] * 6 + PLANS)},
                created=created,
            )
        )
    Response.objects.bulk_create(rows)
    Display.objects.bulk_create(
        Display(project=project, survey=rng.choice(surveys), user=user, created=random_moment(rng))
        for _ in range(300)
    )


# --- the raw count, in Python ---------------------------------------------------------------------


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def picked(response: Response, filters: dashboard.Filters, zone: ZoneInfo) -> bool:
    return (
        filters.start <= local_day(response.created, zone) <= filters.end
        and (filters.survey is None or response.survey_id == filters.survey.pk)
        and (not filters.method or response.method == filters.method)
        and (not filters.language or response.language == filters.language)
        and (not filters.category or nps.category(response.rating) == filters.category)
        and (
            not (filters.trait and filters.trait_value)
            or response.traits.get(filters.trait) == filters.trait_value
        )
        and filters.search.lower() in response.feedback.lower()
    )


def counted(responses: Iterable[Response]) -> nps.Summary:
    rows = list(responses)
    rated = [r.rating for r in rows if r.rating is not None]
    return nps.Summary(
        answered=len(rated),
        promoters=sum(nps.category(r) == nps.PROMOTER for r in rated),
        passives=sum(nps.category(r) == nps.PASSIVE for r in rated),
        detractors=sum(nps.category(r) == nps.DETRACTOR for r in rated),
        dismissed=sum(r.dismissed for r in rows),
        pending=sum(r.pending for r in rows),
        completed=sum(r.completed for r in rows),
        commented=sum(r.feedback != "" for r in rows),
        frequency=[rated.count(n) for n in nps.SCORES],
    )


def period_of(day: date, interval: str) -> date:
    if interval == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def periods(filters: dashboard.Filters) -> list[date]:
    """Every period of the range, the first one starting on the range's first day."""
    days = [filters.start + timedelta(days=n) for n in range(filters.days)]
    return sorted({max(period_of(day, filters.interval), filters.start) for day in days})


def raw_breakdown(rows: list[Response], trait: str) -> list[Any]:
    """Per value of the trait, the answered responses; the ten most answered, ties by value."""
    values: dict[str, list[Response]] = {}
    for r in rows:
        if trait in r.traits and r.rating is not None:
            values.setdefault(str(r.traits[trait]), []).append(r)
    table = []
    for value, answered in values.items():
        s = counted(answered)
        table.append((value, s.answered, s.promoters, s.passives, s.detractors))
    return sorted(table, key=lambda row: (-row[1], row[0]))[:10]


def raw_trend(rows: list[Response], filters: dashboard.Filters, zone: ZoneInfo) -> list[Any]:
    by_period: dict[date, list[Response]] = {period: [] for period in periods(filters)}
    for r in rows:
        period = max(period_of(local_day(r.created, zone), filters.interval), filters.start)
        by_period[period].append(r)
    trend = []
    for period in sorted(by_period):
        s = counted(by_period[period])
        trend.append((period, s.answered, s.promoters, s.passives, s.detractors))
    return trend


# --- random filters -------------------------------------------------------------------------------


def random_filters(rng: random.Random, surveys: list[Survey]) -> dashboard.Filters:
    start = (rng.choice(CHANGES) + timedelta(days=rng.randint(-4, 2))).date()
    return dashboard.Filters(
        start=start,
        end=start + timedelta(days=rng.randint(0, 6)),
        survey=rng.choice([None, *surveys]),
        method=rng.choice(["", "", *METHODS]),
        language=rng.choice(["", "", *LANGUAGES]),
        category=rng.choice(["", "", *nps.CATEGORIES]),
        trait=rng.choice(["", "", "plan"]),
        trait_value=rng.choice(["", *PLANS[:3]]),
        search=rng.choice(["", "", "", "slow", "GREA"]),
        interval=rng.choice(["day", "week", "month"]),
    )


@pytest.fixture(params=ZONES)
def world(
    request: Any,
    make_project: Callable[..., Project],
    make_survey: Callable[..., Survey],
    make_end_user: Callable[..., Any],
) -> dict[str, Any]:
    rng = random.Random(f"rollups-{request.param}")
    project = make_project(time_zone=request.param)
    surveys = [make_survey(project), make_survey(project)]
    seed(rng, project, surveys, make_end_user(project))
    return {"rng": rng, "project": project, "surveys": surveys, "zone": ZoneInfo(request.param)}


def test_dashboard_numbers_equal_the_raw_count(world: dict[str, Any]) -> None:
    rng, project, surveys, zone = (world[k] for k in ("rng", "project", "surveys", "zone"))
    everything = list(Response.objects.filter(project=project))
    shown = list(Display.objects.filter(project=project))
    for _ in range(30):
        filters = random_filters(rng, surveys)
        overview = dashboard.overview(project, filters)
        rows = [r for r in everything if picked(r, filters, zone)]
        before = [r for r in everything if picked(r, filters.previous(), zone)]
        assert overview.summary == counted(rows), filters
        assert overview.previous == counted(before), filters
        assert overview.displays == sum(
            filters.start <= local_day(d.created, zone) <= filters.end
            and (filters.survey is None or d.survey_id == filters.survey.pk)
            for d in shown
        ), filters
        trend = [
            (t["period"], t["answered"], t["promoters"], t["passives"], t["detractors"])
            for t in dashboard.trend(project, filters)
        ]
        assert trend == raw_trend(rows, filters, zone), filters
        # What the page reads: the same numbers of every category (the category narrows the
        # counts only), and the breakdown: the trait's values (the ten most answered) or, with
        # a trait value, that value next to every other response.
        page = dashboard.numbers(project, filters)
        every = replace(filters, category="")
        assert page.counted == overview, filters
        assert page.overview == dashboard.overview(project, every), filters
        assert page.trend == dashboard.trend(project, every), filters
        breakdown = [
            (b["value"], b["answered"], b["promoters"], b["passives"], b["detractors"])
            for b in page.breakdown
        ]
        values = [r for r in everything if picked(r, replace(every, trait_value=""), zone)]
        chosen = [r for r in everything if picked(r, every, zone)]
        assert breakdown == expected_breakdown(every, values, chosen), filters
        assert page.breakdown == dashboard.breakdown(project, every)


def expected_breakdown(
    filters: dashboard.Filters, values: list[Response], chosen: list[Response]
) -> list[Any]:
    if not filters.trait:
        return []
    if not filters.trait_value:
        return raw_breakdown(values, filters.trait)
    rest = [r for r in values if r not in chosen]
    return [
        (filters.trait_value, *categories(counted(chosen))),
        ("", *categories(counted(rest))),
    ]


def categories(summary: nps.Summary) -> tuple[int, int, int, int]:
    return summary.answered, summary.promoters, summary.passives, summary.detractors


def test_a_trait_value_is_counted_from_its_own_responses(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    """Summary, previous period and trend from one grouped query over the chosen value's
    responses; the displays and the rest of the period from one over the rollups."""
    project, surveys = world["project"], world["surveys"]
    filters = dashboard.Filters(
        start=date(2024, 3, 1), end=date(2024, 11, 30), trait="plan", trait_value="team03"
    )
    with django_assert_num_queries(2):
        page = dashboard.numbers(project, filters)
    chosen, rest = page.breakdown
    assert chosen["value"] == "team03" and not chosen["rest"] and rest["rest"]
    assert chosen["answered"] == page.overview.summary.answered > 0 and page.trend
    assert rest["answered"] > chosen["answered"]
    for _ in range(10):
        filters = random_filters(world["rng"], surveys)
        value = filters.trait_value or "pro"
        filters = replace(filters, trait="plan", trait_value=value, category="", search="")
        with django_assert_num_queries(2):
            dashboard.numbers(project, filters)


def test_the_fallback_to_responses_gives_the_same_numbers(world: dict[str, Any]) -> None:
    """A trait value is read from the responses; without it, from the rollups: a trait value
    that every response has gives the same numbers both ways, and leaves no other response."""
    project = world["project"]
    Response.objects.filter(project=project).update(traits={"plan": "any"})
    for _ in range(20):
        filters = random_filters(world["rng"], world["surveys"])
        filters = replace(filters, trait="", trait_value="", search="")
        via_traits = replace(filters, trait="plan", trait_value="any")
        assert dashboard.from_rollups(filters) and not dashboard.from_rollups(via_traits)
        assert dashboard.overview(project, filters) == dashboard.overview(project, via_traits)
        assert dashboard.trend(project, filters) == dashboard.trend(project, via_traits)
        by_plan = dashboard.breakdown(project, replace(filters, trait="plan"))
        chosen, rest = dashboard.breakdown(project, via_traits)
        assert by_plan == ([chosen] if chosen["answered"] else [])
        assert (rest["answered"], rest["nps"]) == (0, None)


def random_window(rng: random.Random, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    def moment() -> datetime:
        if rng.random() < 0.5:  # a local midnight: only whole days
            day = (rng.choice(CHANGES) + timedelta(days=rng.randint(-4, 4))).date()
            return datetime.combine(day, time.min, tzinfo=zone)
        return random_moment(rng)

    start, end = rng.choice([None, moment()]), rng.choice([None, moment()])
    if start is not None and end is not None and end <= start:
        start, end = end, start + timedelta(minutes=1)
    return start, end


def test_statistics_equal_the_raw_count(world: dict[str, Any]) -> None:
    rng, project, surveys, zone = (world[k] for k in ("rng", "project", "surveys", "zone"))
    everything = list(Response.objects.filter(project=project))
    shown = list(Display.objects.filter(project=project))
    for _ in range(30):
        start, end = random_window(rng, zone)
        survey = rng.choice([None, *surveys])

        def inside(row: Any, start: Any = start, end: Any = end, survey: Any = survey) -> bool:
            return (
                (start is None or row.created >= start)
                and (end is None or row.created < end)
                and (survey is None or row.survey_id == survey.pk)
            )

        stats = reporting.statistics(
            project.pk, survey_id=survey and survey.pk, start=start, end=end
        )
        expected = counted(r for r in everything if inside(r))
        assert stats["frequency"] == expected.frequency, (start, end)
        assert stats["responses"] == expected.answered
        assert (stats["dismissed"], stats["pending"], stats["commented"]) == (
            expected.dismissed,
            expected.pending,
            expected.commented,
        )
        assert stats["displays"] == sum(inside(d) for d in shown), (start, end)


def test_the_dashboards_days_are_the_projects_days(
    make_project: Callable[..., Project], make_survey: Callable[..., Survey], make_response: Any
) -> None:
    """Kolkata is 5:30 ahead of UTC: 19:00 UTC on 1 March is 00:30 on 2 March there."""
    project = make_project(time_zone="Asia/Kolkata")
    survey = make_survey(project)
    make_response(survey, rating=10, created=datetime(2024, 3, 1, 19, 0, tzinfo=UTC))
    first = dashboard.Filters(start=date(2024, 3, 1), end=date(2024, 3, 1))
    second = replace(first, start=date(2024, 3, 2), end=date(2024, 3, 2))
    assert dashboard.overview(project, first).summary.answered == 0
    assert dashboard.overview(project, second).summary.answered == 1
    project.time_zone = "UTC"
    project.save()
    assert dashboard.overview(project, first).summary.answered == 1
