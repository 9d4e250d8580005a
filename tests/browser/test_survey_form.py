"""The survey form in real Chromium: texts per language, the design, trait conditions and page
rules as rows, device checkboxes, the live preview following unsaved edits, a refused row named
after saving, the audience estimate following the rules, and the layout at 1280 px with the
admin's sidebar open and at 390 px.

Screenshots (artifacts/screenshots/): survey-form-desktop.png, survey-form-narrow.png,
survey-form-row-error-desktop.png, survey-form-estimate-desktop.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import EndUser, Survey

from .conftest import DESKTOP, Pages

NARROW = {"width": 390, "height": 844}


@pytest.fixture
def admin_user(live_server: Any) -> Any:
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "admin")


@pytest.fixture
def survey(nps: Survey, admin_user: Any) -> Survey:
    """The Acme survey, with users to count: three long-time users (one on the pro plan), one
    who signed up 27 days ago and an anonymous visitor."""
    long_ago = timezone.now() - timedelta(days=90)
    for index, plan in enumerate(("pro", "free", "free")):
        EndUser.objects.create(
            project=nps.project, user_id=f"u{index}", first_seen=long_ago, traits={"plan": plan}
        )
    EndUser.objects.create(
        project=nps.project, user_id="newcomer", first_seen=timezone.now() - timedelta(days=27)
    )
    EndUser.objects.create(project=nps.project, anonymous_id="visitor", first_seen=long_ago)
    nps.audience = Survey.Audience.IDENTIFIED
    nps.save()
    return nps


def open_form(pages: Pages, live_server: Any, survey: Survey, viewport: dict = DESKTOP) -> Any:
    page = pages(viewport)
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}{reverse('admin:satismeter_app_survey_change', args=[survey.pk])}")
    return page


def estimate_text(page: Any) -> Any:
    return page.locator(".sm-estimate-text")


def save_and_continue(page: Any) -> None:
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_load_state("load")


def test_editing_texts_design_rows_and_devices(
    new_page: Pages, live_server: Any, survey: Survey, screenshots: Path, settled: Any
) -> None:
    page = open_form(new_page, live_server, survey)
    from playwright.sync_api import expect

    # Texts: German first, then English; the built-in text is the placeholder.
    language = page.get_by_label("Language", exact=True).first
    language.select_option("de")
    followup = page.get_by_label("Follow-up question", exact=True)
    expect(followup).to_have_attribute(
        "placeholder", "Was ist der wichtigste Grund für Ihre Bewertung?"
    )
    followup.fill("Was sollen wir besser machen?")
    language.select_option("en")
    expect(followup).to_have_value("")
    expect(page.locator(".sm-language option[value=de]")).to_contain_text("1 changed")
    page.get_by_label("Send button").fill("Go")

    # Design: selects, a colour, a toggle.
    page.select_option("#id_design-skin", "panel")
    page.select_option("#id_design-position", "tl")
    page.fill("#id_design-primary", "#123456")
    expect(page.locator(".sm-colour-picker").first).to_have_value("#123456")
    page.get_by_label("Show “Powered by”").uncheck()

    # Trait conditions: the trait name from the suggestions, operators by type.
    expect(page.locator("#id_trait_conditions-traits option[value=plan]")).to_have_count(1)
    page.get_by_role("button", name="Add a condition").click()
    page.locator("[name='trait_conditions-0-trait']").fill("plan")
    page.locator("[name='trait_conditions-0-op']").select_option("in")
    page.locator("[name='trait_conditions-0-value']").fill("pro, business")
    page.get_by_role("button", name="Add a condition").click()
    page.locator("[name='trait_conditions-1-trait']").fill("seats")
    page.locator("[name='trait_conditions-1-type']").select_option("number")
    operators = page.locator("[name='trait_conditions-1-op'] option").all_inner_texts()
    assert operators == ["=", "<", ">", "is between", "is set", "is not set"]
    page.locator("[name='trait_conditions-1-op']").select_option("between")
    page.locator("[name='trait_conditions-1-value']").fill("2")
    page.locator("[name='trait_conditions-1-value2']").fill("10")

    # A page rule and two devices.
    page.get_by_role("button", name="Add a page rule").click()
    page.locator("[name='url_rules-0-exclude']").select_option("1")
    page.locator("[name='url_rules-0-value']").fill("/admin")
    page.get_by_label("Desktop").check()
    page.get_by_label("Mobile").check()
    page.screenshot(path=str(screenshots / "survey-form-desktop.png"), full_page=True)

    save_and_continue(page)
    expect(page.locator(".messagelist .success")).to_be_visible()
    settled()
    survey.refresh_from_db()
    assert survey.texts == {
        "en": {"SUBMIT": "Go"},
        "de": {"FOLLOWUP": "Was sollen wir besser machen?"},
    }
    assert survey.design == {
        "serviceName": "Acme Cloud",
        "skin": "panel",
        "position": "tl",
        "colors": {"primary": "#123456"},
        "poweredBy": False,
    }
    assert survey.trait_conditions == [
        {"trait": "plan", "type": "text", "op": "in", "value": ["pro", "business"]},
        {"trait": "seats", "type": "number", "op": "between", "value": [2, 10]},
    ]
    assert survey.url_rules == [{"op": "contains", "value": "/admin", "exclude": True}]
    assert survey.device_types == ["desktop", "mobile"]


def test_the_preview_follows_unsaved_edits(
    new_page: Pages, live_server: Any, survey: Survey, settled: Any
) -> None:
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, survey)
    frame = page.frame_locator("iframe[name=sm-preview-frame]")
    expect(frame.locator(".sm-q")).to_have_text(
        "How likely are you to recommend Acme Cloud to a friend or colleague?"
    )

    question = page.get_by_label("Question", exact=True)
    question.fill("Would you recommend ")
    expect(frame.locator(".sm-q")).to_have_text("Would you recommend")
    # Typing on while the preview reloads: the keyboard stays in the form.
    question.press_sequentially("{{service_name}}?", delay=60)
    expect(frame.locator(".sm-q")).to_have_text("Would you recommend Acme Cloud?")
    assert page.evaluate("document.activeElement.id") == "id_texts-HOW_LIKELY"
    page.fill("#id_design-primary", "#0a7d2c")
    page.select_option("#id_design-skin", "bar")
    expect(frame.locator(".sm.sm-bar")).to_be_visible()
    colour = frame.locator(".sm").evaluate("box => box.style.getPropertyValue('--p')")
    assert colour == "#0a7d2c"

    page.get_by_label("Language", exact=True).first.select_option("fr")
    page.get_by_label("Question", exact=True).fill("Recommanderiez-vous {{service_name}} ?")
    expect(frame.locator(".sm[lang=fr] .sm-q")).to_have_text("Recommanderiez-vous Acme Cloud ?")

    settled()
    survey.refresh_from_db()
    assert survey.texts == {} and survey.design == {"serviceName": "Acme Cloud"}


def test_a_refused_row_is_named_and_marked(
    new_page: Pages, live_server: Any, survey: Survey, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, survey)
    for row, (trait, value) in enumerate((("plan", "pro"), ("seats", "lots"))):
        page.get_by_role("button", name="Add a condition").click()
        page.locator(f"[name='trait_conditions-{row}-trait']").fill(trait)
        if row == 1:
            page.locator("[name='trait_conditions-1-type']").select_option("number")
            page.locator("[name='trait_conditions-1-op']").select_option("gt")
        page.locator(f"[name='trait_conditions-{row}-value']").fill(value)
    # Before saving, the estimate already says which row it cannot count.
    expect(page.locator(".sm-estimate-note")).to_have_text("Condition 2: gt needs a number.")

    save_and_continue(page)

    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-trait_conditions .errorlist")).to_have_text(
        "Condition 2: gt needs a number."
    )
    marked = page.locator(".sm-row-error")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("aria-label", "Condition 2")
    expect(marked.locator("[name$='-value']").first).to_have_value("lots")
    marked.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "survey-form-row-error-desktop.png"))
    survey.refresh_from_db()
    assert survey.trait_conditions == []


def test_the_audience_estimate_follows_the_rules(
    new_page: Pages, live_server: Any, survey: Survey, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = new_page(DESKTOP)
    # The preview's widget call would add the staff member's preview user to the project.
    page.route("**/api/widget", lambda route: route.abort())
    page = open_form(lambda viewport: page, live_server, survey)
    text = estimate_text(page)
    expect(text).to_have_text(
        "Would be shown to 4 of 4 identified users now; 0 more become due in the next 7 days."
    )

    page.fill("#id_min_tenure_days", "30")
    expect(text).to_have_text(
        "Would be shown to 3 of 4 identified users now; 1 more become due in the next 7 days."
    )
    page.get_by_role("button", name="Add a condition").click()
    page.locator("[name='trait_conditions-0-trait']").fill("plan")
    page.locator("[name='trait_conditions-0-value']").fill("pro")
    expect(text).to_have_text(
        "Would be shown to 1 of 4 identified users now; 0 more become due in the next 7 days."
    )
    page.get_by_label("Remove Condition 1").click()
    page.select_option("#id_audience", "everyone")
    expect(text).to_have_text(
        "Would be shown to 4 of 5 users and visitors now; 1 more become due in the next 7 days."
    )
    page.locator(".sm-estimate").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "survey-form-estimate-desktop.png"))


def _box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).first.bounding_box()


def test_the_form_fits_1280_px_with_the_sidebar_open(
    new_page: Pages, live_server: Any, survey: Survey
) -> None:
    survey.name = "How likely are you to recommend us to a friend or colleague?"
    survey.save()
    page = open_form(new_page, live_server, survey)
    assert page.locator("#nav-sidebar").is_visible()

    name = page.locator("#id_name")
    assert name.evaluate("input => input.scrollWidth <= input.clientWidth")
    for selector in ("#id_trigger_event", "#id_reminder_sender_name", "#id_reminder_sender_email"):
        field = _box(page, selector)
        section = page.locator(selector).locator("xpath=ancestor::fieldset[1]").bounding_box()
        assert field["x"] + field["width"] <= section["x"] + section["width"], selector
    title, tools = _box(page, "#content > h2"), _box(page, ".object-tools")
    assert tools["y"] >= title["y"] + title["height"], "the buttons sit on the title"
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]


def test_the_form_on_a_phone(
    new_page: Pages, live_server: Any, survey: Survey, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = open_form(new_page, live_server, survey, NARROW)
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_role("button", name="Add a page rule").click()
    expect(estimate_text(page)).to_contain_text("Would be shown to")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"] + 1
    page.screenshot(path=str(screenshots / "survey-form-narrow.png"), full_page=True)
