"""Accessibility in real Chromium: axe-core (npm ``axe-core``, pinned in tests/browser/npm)
finds no serious or critical violation on the widget in every skin and step, in a left-to-right
and a right-to-left language, on the NPS dashboard, the survey form, the sample page, the
email landing pages and the reminder email; and the keyboard: focus goes back where it was
when the widget closes, and a survey that opens while the user types is announced and one
keystroke away (docs/widget.md, "Accessibility").

Screenshots of the pages checked, at 1280 and 390 px wide, go to artifacts/screenshots/a11y-*.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from project.demo.management.commands import satismeter_demo
from satismeter_app.models import Survey
from satismeter_app.services import reminders

from .conftest import (
    DESKTOP,
    Pages,
    axe_violations,
    dangling_idrefs,
    html_page,
    log_in,
    snippet,
)

pytestmark = pytest.mark.browser

NARROW = {"width": 390, "height": 844}
WIDTHS = {"1280": DESKTOP, "390": NARROW}
HOST_CONTENT = "<main><h1>Customer app</h1><p>Your projects are up to date.</p></main>"


def assert_clean(page: Any, where: str = "") -> None:
    """No serious or critical axe-core violation, and no ARIA reference to a missing id."""
    found = axe_violations(page) + dangling_idrefs(page)
    assert not found, f"{where}:\n" + "\n".join(found)


def shoot(page: Any, screenshots: Path, name: str, width: str) -> None:
    page.screenshot(path=str(screenshots / f"a11y-{name}-{width}.png"), full_page=True)


# --- The widget ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("skin", ["dialog", "panel", "bar"])
def test_the_widget_in_every_skin_and_step(
    new_page: Pages, live_server, host_site, nps, screenshots, skin, language, width
) -> None:
    nps.design = {**nps.design, "skin": skin}
    nps.save()
    page = new_page(WIDTHS[width])
    name = f"widget-{skin}-{language}"
    options = {"writeKey": nps.project.write_key, "userId": name, "traits": {"language": language}}
    body = HOST_CONTENT + snippet(live_server.url, options)
    page.goto(host_site.add(f"{name}-{width}.html", html_page(body, lang=language)))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()

    assert_clean(page, "rating")
    shoot(page, screenshots, f"{name}-rating", width)
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("radio").nth(8).click()
    page.get_by_role("textbox").fill("Fast.")
    assert_clean(page, "follow-up")
    shoot(page, screenshots, f"{name}-followup", width)
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.locator(".sm-send").click()
    expect(page.locator(".sm-thanks")).to_be_visible()
    assert_clean(page, "thanks")
    shoot(page, screenshots, f"{name}-thanks", width)


# --- The admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard(new_page: Pages, live_server, demo, screenshots, width) -> None:
    page = new_page(WIDTHS[width])
    log_in(page, live_server)
    url = reverse("admin:satismeter_app_project_dashboard", args=[demo.pk])
    page.goto(f"{live_server.url}{url}?trait=plan")
    page.get_by_role("heading", name="NPS trend").wait_for()
    assert_clean(page)
    shoot(page, screenshots, "dashboard", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_survey_form(new_page: Pages, live_server, demo, screenshots, width) -> None:
    survey = Survey.objects.filter(project=demo).first()
    assert survey is not None
    page = new_page(WIDTHS[width])
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('admin:satismeter_app_survey_change', args=[survey.pk])}")
    page.frame_locator("iframe[name=sm-preview-frame]").locator(".sm").first.wait_for()
    assert_clean(page)
    shoot(page, screenshots, "survey-form", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sample_page(new_page: Pages, live_server, settings, screenshots, width) -> None:
    settings.DEBUG = True  # the demo's mode: the sample page is public
    call_command(satismeter_demo.Command(), "--json", stdout=io.StringIO())
    page = new_page(WIDTHS[width])
    page.goto(f"{live_server.url}/sample")
    assert_clean(page)  # the form alone: a plain visit runs nothing
    page.get_by_role("button", name="Show the survey").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_clean(page)
    shoot(page, screenshots, "sample-page", width)


# --- Email -------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_reminder_email(new_page: Pages, reminded, screenshots, language, width) -> None:
    message, _ = reminded(language)
    page = new_page(WIDTHS[width])
    page.set_content(message.alternatives[0][0])
    assert_clean(page)
    shoot(page, screenshots, f"email-reminder-{language}", width)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_email_landing_pages(
    new_page: Pages, reminded, screenshots, settled, language, width
) -> None:
    _, reminder = reminded(language)
    page = new_page(WIDTHS[width])
    page.goto(reminders.link(reminder, "score", 9))
    assert_clean(page, "follow-up")
    shoot(page, screenshots, f"email-followup-{language}", width)
    page.get_by_role("textbox").fill("Great")
    page.locator("button[type=submit]").click()
    page.locator("#message").wait_for()
    assert_clean(page, "thanks")
    page.goto(reminders.link(reminder, "unsubscribe"))
    page.locator("#message").wait_for()
    assert_clean(page, "unsubscribed")
    shoot(page, screenshots, f"email-unsubscribed-{language}", width)
    settled()


# --- Colours -----------------------------------------------------------------------------------


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2's contrast ratio of two ``rgb(r, g, b)`` colours, computed here independently of
    the widget's own code."""

    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in css[css.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    "primary",
    ["#ff4981", "#1565c0", "#ffeb3b", "#777777", "#e53935", "#00a86b", "#6a1b9a", "#888888"],
)
def test_text_on_the_primary_colour_is_the_better_of_white_and_dark(
    page, live_server, host_site, nps, primary
) -> None:
    nps.design = {**nps.design, "colors": {"primary": primary}}
    nps.save()
    options = {"writeKey": nps.project.write_key, "userId": f"colour-{primary[1:]}"}
    page.goto(
        host_site.add(f"colour-{primary[1:]}.html", html_page(snippet(live_server.url, options)))
    )
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("radio", name="8 out of 10").click()
    chosen = page.get_by_role("radio", name="8 out of 10")
    background = chosen.evaluate("el => getComputedStyle(el).backgroundColor")
    text = chosen.evaluate("el => getComputedStyle(el).color")
    send = page.locator(".sm-send").evaluate("el => getComputedStyle(el).color")
    assert send == text
    best = max(contrast_ratio(background, c) for c in ("rgb(255, 255, 255)", "rgb(26, 26, 26)"))
    assert contrast_ratio(background, text) == pytest.approx(best)


# --- The keyboard ------------------------------------------------------------------------------

BUSY_PAGE = (
    '<main><h1>Customer app</h1><label>Search <input id="search" autofocus></label>'
    '<button id="save">Save</button></main>'
)


def open_while_typing(
    page: Any, live_server: Any, host_site: Any, survey: Survey, name: str, **extra: Any
) -> Any:
    """A user typing in the page's search box when the survey opens."""
    options = {"writeKey": survey.project.write_key, "userId": name, **extra}
    page.goto(
        host_site.add(f"{name}.html", html_page(BUSY_PAGE + snippet(live_server.url, options)))
    )
    page.keyboard.type("quarterly rep")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_a_survey_opening_while_the_user_types_is_announced_and_one_keystroke_away(
    page, live_server, host_site, nps, screenshots
) -> None:
    open_while_typing(page, live_server, host_site, nps, "announced")
    search = page.get_by_label("Search")
    expect(search).to_be_focused()  # never taken from a busy user
    expect(page.get_by_role("status")).to_have_text(
        "How likely are you to recommend Acme Cloud to a friend or colleague?"
        " Press Alt+Shift+R to answer."
    )
    page.keyboard.type("ort")
    expect(search).to_have_value("quarterly report")

    page.keyboard.press("Alt+Shift+R")
    expect(page.get_by_role("radio", name="0 out of 10", exact=True)).to_be_focused()
    expect(page.get_by_role("status")).to_have_text("")  # said once
    page.keyboard.press("Alt+Shift+R")  # and back to the search box, the text untouched
    expect(search).to_be_focused()
    expect(search).to_have_value("quarterly report")
    shoot(page, screenshots, "widget-busy-page", "1280")


def test_the_announcement_is_in_the_users_language(page, live_server, host_site, nps) -> None:
    open_while_typing(page, live_server, host_site, nps, "announced-ar", traits={"language": "ar"})
    expect(page.get_by_role("status")).to_contain_text("اضغط Alt+Shift+R للإجابة.")
    expect(page.get_by_role("status")).to_contain_text("ما مدى احتمالية")


def test_focus_goes_back_where_it_was_when_the_survey_closes(
    page, live_server, host_site, nps, settled
) -> None:
    open_while_typing(page, live_server, host_site, nps, "back-by-keyboard")
    search = page.get_by_label("Search")
    page.keyboard.press("Alt+Shift+R")
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.keyboard.press("End")
        page.keyboard.press("Space")
    page.keyboard.type("Fast.")
    page.keyboard.press("Tab")
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.keyboard.press("Enter")
    expect(page.locator(".sm-thanks")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("satismeter-widget")).to_have_count(0)
    expect(search).to_be_focused()  # not <body>
    page.keyboard.type("!")
    expect(search).to_have_value("quarterly rep!")
    settled()


def test_focus_goes_back_after_a_click_into_the_survey(page, live_server, host_site, nps) -> None:
    open_while_typing(page, live_server, host_site, nps, "back-by-mouse")
    page.get_by_role("button", name="Save").focus()
    page.get_by_role("button", name="Close").click()  # the mouse: focus moves to the button
    expect(page.locator("satismeter-widget")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_be_focused()


def test_a_survey_in_a_frame_leaves_the_focus_in_the_page(
    page, live_server, host_site, nps
) -> None:
    """The survey form's live preview reloads its frame as staff type: the survey in it must
    not take the focus from the field they type in (Chrome lets a frame's focus() do so)."""
    options = {"writeKey": nps.project.write_key, "userId": "framed"}
    inner = host_site.add("framed.html", html_page(snippet(live_server.url, options)))
    outer = BUSY_PAGE.replace("</main>", f'<iframe title="Preview" src="{inner}"></iframe></main>')
    page.goto(host_site.add("framing.html", html_page(outer)))
    page.keyboard.type("quarterly")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("dialog")).to_be_visible()
    page.wait_for_timeout(700)  # past the moment a busy user's announcement is made
    page.keyboard.type(" report")
    expect(page.get_by_label("Search")).to_have_value("quarterly report")
    expect(page.get_by_label("Search")).to_be_focused()
    expect(frame.get_by_role("status")).to_have_text("")  # its keys would not reach the frame


def test_the_shortcut_does_nothing_without_a_survey(page, live_server, host_site) -> None:
    page.goto(host_site.add("no-survey.html", html_page(BUSY_PAGE)))
    search = page.get_by_label("Search")
    page.keyboard.press("Alt+Shift+R")
    expect(search).to_be_focused()


# --- Wording -----------------------------------------------------------------------------------


def test_the_unsubscribe_page_says_what_happened(page, reminded, settled) -> None:
    _, reminder = reminded("ru")
    page.goto(reminders.link(reminder, "unsubscribe"))
    expect(page.get_by_role("heading")).to_have_text("Вы больше не будете получать эти письма.")
    expect(page.locator("#detail")).to_have_text("ru@example.com")
    expect(page.locator("body")).not_to_contain_text("Отписаться")  # not the button's text
    settled()
