"""The dashboard's questions (issue #18): a section per question of the chosen survey, and a
filter by a choice that narrows every number, the list and the export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from satismeter_app.models import Project, Response, Survey

pytestmark = pytest.mark.django_db

CHOICES = [
    {"id": "price", "texts": {"en": "Price"}},
    {"id": "speed", "texts": {"en": "Speed"}},
    {"id": "docs", "texts": {"en": "Docs"}},
]
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {"id": "SM_comment", "type": "long-text"},
    {"id": "sat", "type": "scale", "metric": "csat", "texts": {"en": {"label": "How satisfied?"}}},
    {
        "id": "improve",
        "type": "multiple-choice",
        "choices": CHOICES,
        "texts": {"en": {"label": "What should we improve?"}},
    },
    {"id": "why", "type": "long-text", "texts": {"en": {"label": "Anything else?"}}},
]


def answer(question: str, value: Any, kind: str) -> dict[str, Any]:
    return {"id": question, "label": question, "value": value, "type": kind}


@pytest.fixture
def several(project: Project, make_survey: Callable[..., Survey], make_response) -> Survey:
    survey = make_survey(project, name="Several questions", questions=QUESTIONS)
    now = timezone.now()
    rows = [
        (10, 5, ["speed"], "Love it"),
        (9, 4, ["speed", "docs"], ""),
        (3, 1, ["price"], "Too expensive"),
        (6, 2, ["price", "speed"], "Slow and pricey"),
    ]
    for n, (rating, sat, improve, why) in enumerate(rows):
        answers = [
            answer("sat", sat, "scale"),
            answer("improve", improve, "multiple-choice"),
            answer("why", why, "long-text"),
        ]
        make_response(survey, rating=rating, answers=answers, created=now - timedelta(hours=n))
    return survey


@pytest.fixture
def staff_client(client: Any, make_staff: Callable[..., Any], project: Project) -> Any:
    client.force_login(make_staff(project))
    return client


def page(client: Any, project: Project, **params: Any) -> Any:
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    reply = client.get(url, params)
    assert reply.status_code == 200
    return reply


def test_a_survey_has_a_section_per_question(staff_client, project, several):
    reply = page(staff_client, project, survey=several.pk)
    sections = {item["numbers"].question.id: item for item in reply.context["questions"]}
    assert list(sections) == ["sat", "improve", "why"]
    assert sections["sat"]["numbers"].csat == 50.0
    assert sections["improve"]["choices"] == [("price", "Price", 2), ("speed", "Speed", 3),
                                              ("docs", "Docs", 1)]  # fmt: skip
    texts = [text for _, text in sections["why"]["texts"]]
    assert texts == ["Love it", "Too expensive", "Slow and pricey"]  # newest first
    html = reply.content.decode()
    assert "What should we improve?" in html and "CSAT" in html
    assert "answer=improve%3Aprice" in html  # a choice links to the page filtered by it


def test_without_a_survey_there_is_no_question_section(staff_client, project, several):
    reply = page(staff_client, project)
    assert reply.context["questions"] == []
    assert 'data-testid="questions"' not in reply.content.decode()


def test_a_choice_filter_narrows_the_numbers_the_sections_and_the_export(
    staff_client, project, several
):
    reply = page(staff_client, project, survey=several.pk, answer="improve:price")
    assert reply.context["counted"].summary.answered == 2
    assert reply.context["overview"].summary.nps == -100.0  # ratings 3 and 6
    improve = next(i for i in reply.context["questions"] if i["numbers"].question.id == "improve")
    assert improve["choices"][0] == ("price", "Price", 2)
    assert any("What should we improve?: Price" in note for note in reply.context["scope"])
    export = reverse("admin:satismeter_app_project_dashboard_export", args=[project.pk])
    body = b"".join(
        staff_client.get(
            export, {"survey": several.pk, "answer": "improve:price"}
        ).streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [row["What should we improve?"] for row in rows] == ["price;speed", "price"]
    assert [row["How satisfied?"] for row in rows] == ["2", "1"]


def test_a_choice_filter_needs_a_survey_and_one_of_its_choices(staff_client, project, several):
    for params in ({"answer": "improve:price"}, {"survey": several.pk, "answer": "improve:nope"}):
        reply = page(staff_client, project, **params)
        assert reply.context["form"].errors["answer"]
        assert reply.context["counted"].summary.answered == 4  # left out, and said so
        assert Response.objects.count() == 4


def test_a_scale_has_its_average_per_period_of_the_trend(
    staff_client, project, several, make_response
):
    """The periods of the NPS trend (by day here), a gap for a day without answers; no
    trend for a choice or a long text."""
    day = timezone.localdate(timezone=project.zone) - timedelta(days=3)
    noon = timezone.make_aware(datetime.combine(day, time(12)), project.zone)
    for value in (1, 2):
        make_response(several, rating=9, answers=[answer("sat", value, "scale")], created=noon)
    params = {"survey": several.pk, "interval": "day", "start": day.isoformat()}
    reply = page(staff_client, project, **params)
    sections = {item["numbers"].question.id: item for item in reply.context["questions"]}
    assert not sections["improve"]["trend_chart"] and not sections["why"]["trend_chart"]
    chart = sections["sat"]["trend_chart"]
    assert "Average of “How satisfied?”" in chart
    assert "by day, on its scale of 1 to 5" in chart
    rows = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td><td>(\d+)</td>', chart)
    days = [date_format(day + timedelta(days=n), "MONTH_DAY_FORMAT") for n in range(4)]
    assert [label for label, _, _ in rows] == days
    assert rows[0] == (days[0], "1.50", "2")
    assert rows[1] == (days[1], "—", "0")
    assert sum(int(n) for _, _, n in rows) == 6  # the fixture's four, of the last hours
    assert "Average by day" in reply.content.decode()


def test_the_question_sections_follow_the_staff_language(staff_client, project, several):
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    german = staff_client.get(url, {"survey": several.pk}, HTTP_ACCEPT_LANGUAGE="de")
    body = german.content.decode()
    assert "Fragen von Several questions" in body and "4 Antworten" in body
    assert "Antwort enthält" in body and "Durchschnitt pro Woche" in body
    assert "Die durchschnittliche Antwort auf „How satisfied?“ pro Woche" in body
