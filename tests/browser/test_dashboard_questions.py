"""The dashboard's questions in real Chromium (issue #18): with a survey of several questions
chosen, a section per question (its chart, average, CSAT, a scale's average per week, the
counts of its choices, the latest long-text answers); a choice's count leads to the page filtered by it, which says so.

Screenshots (artifacts/screenshots/): dashboard-questions-desktop.png,
dashboard-questions-narrow.png, dashboard-questions-choice-desktop.png.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import EndUser, Project, Response, Survey

from .conftest import DESKTOP, Pages, axe_violations, dangling_idrefs, log_in

NARROW = {"width": 390, "height": 844}
CHOICES = [
    {"id": "price", "texts": {"en": "Price"}},
    {"id": "speed", "texts": {"en": "Speed"}},
    {"id": "docs", "texts": {"en": "Documentation"}},
]
QUESTIONS = [
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {"id": "SM_comment", "type": "long-text"},
    {"id": "sat", "type": "scale", "metric": "csat", "texts": {"en": {"label": "How satisfied?"}}},
    {"id": "mood", "type": "smiley", "texts": {"en": {"label": "Your mood today"}}},
    {
        "id": "improve",
        "type": "multiple-choice",
        "choices": CHOICES,
        "texts": {"en": {"label": "What should we improve?"}},
    },
    {"id": "why", "type": "long-text", "texts": {"en": {"label": "Anything else?"}}},
]
WHY = ["Faster exports please", "", "The docs are thin", "Love the new charts", ""]


@pytest.fixture
def several(demo: Project) -> Survey:
    """A survey of several questions in the demo project, with 40 random responses."""
    survey = Survey.objects.create(project=demo, name="Several questions", questions=QUESTIONS)
    rng = random.Random(18)
    user = EndUser.objects.create(project=demo, user_id="multi-1", name="Ada")
    now = timezone.now()
    for n in range(40):
        chosen = [c["id"] for c in CHOICES if rng.random() < 0.5]
        answers = [
            {"id": "sat", "label": "sat", "value": rng.randint(1, 5), "type": "scale"},
            {"id": "mood", "label": "mood", "value": rng.randint(1, 5), "type": "smiley"},
            {"id": "improve", "label": "improve", "value": chosen, "type": "multiple-choice"},
            {"id": "why", "label": "why", "value": WHY[n % len(WHY)], "type": "long-text"},
        ]
        Response.objects.create(
            project=demo,
            survey=survey,
            user=user,
            rating=rng.randint(0, 10),
            completed=True,
            completed_at=now - timedelta(hours=n),
            created=now - timedelta(hours=n),
            answers=answers,
        )
    return survey


def open_survey(page: Any, live_server: Any, project: Project, survey: Survey) -> None:
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    page.goto(f"{live_server.url}{url}?survey={survey.pk}")
    page.get_by_test_id("questions").wait_for()


def expected_csat(survey: Survey) -> int:
    values = [a["value"] for r in survey.responses.all() for a in r.answers if a["id"] == "sat"]
    return round(sum(v >= 4 for v in values) * 100 / len(values))


def test_a_section_per_question_and_a_filter_by_choice(
    new_page: Pages, live_server: Any, demo: Project, several: Survey, screenshots: Path
) -> None:
    page = new_page(DESKTOP)
    log_in(page, live_server)
    open_survey(page, live_server, demo, several)
    section = page.get_by_test_id("questions")
    assert section.get_by_role("heading", level=3).all_inner_texts() == [
        "How satisfied?",
        "Your mood today",
        "What should we improve?",
        "Anything else?",
    ]
    sat = page.get_by_test_id("question-sat")
    assert sat.get_by_test_id("csat").inner_text() == f"{expected_csat(several)}%"
    # the distribution, then the average per week (the NPS trend's interval)
    assert sat.locator("svg[role=img]").count() == 2
    assert sat.get_by_test_id("question-trend").inner_text() == "Average by week"
    trend = sat.get_by_role("img", name="Average of “How satisfied?”")
    assert "by week, on its scale of 1 to 5" in (trend.locator("desc").text_content() or "")
    table = sat.locator("figure").nth(1).locator("tbody tr")
    answered = [int(row.locator("td").nth(1).text_content() or "") for row in table.all()]
    assert len(answered) in (13, 14) and sum(answered) == 40  # 90 days by week
    assert page.get_by_test_id("question-improve").locator("svg[role=img]").count() == 1
    assert page.get_by_test_id("question-why").locator("q").all_inner_texts()[:2] == [
        "Faster exports please",
        "The docs are thin",
    ]
    assert axe_violations(page, "[data-testid=questions]") == []
    assert dangling_idrefs(page) == []
    page.screenshot(path=str(screenshots / "dashboard-questions-desktop.png"), full_page=True)

    chose_docs = several.responses.filter(answers__icontains='"docs"').count()
    page.get_by_test_id("question-improve").get_by_role("link", name="Documentation").click()
    page.wait_for_url("**answer=improve%3Adocs**")
    assert page.get_by_test_id("answered").inner_text() == str(chose_docs)
    assert "whose answer includes What should we improve?: Documentation" in (
        page.get_by_test_id("scope").inner_text()
    )
    assert page.locator("#id_answer").input_value() == "improve:docs"
    improve = page.get_by_test_id("question-improve").inner_text()
    assert f"Documentation: {chose_docs}" in improve
    page.screenshot(
        path=str(screenshots / "dashboard-questions-choice-desktop.png"), full_page=True
    )


def test_the_questions_fit_a_narrow_window(
    new_page: Pages, live_server: Any, demo: Project, several: Survey, screenshots: Path
) -> None:
    page = new_page(NARROW)
    log_in(page, live_server)
    open_survey(page, live_server, demo, several)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, "the page scrolls sideways"
    page.get_by_test_id("question-improve").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "dashboard-questions-narrow.png"), full_page=True)
