"""What people see: skins on desktop and phone, isolation from the host page's CSS, keyboard
use, right-to-left languages and the design options. Screenshots go to artifacts/screenshots/."""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response, Survey

from .conftest import DESKTOP, PHONE, html_page, snippet

pytestmark = pytest.mark.browser

HOST_CONTENT = """
<header><h1>Customer app</h1><nav><a href="#">Dashboard</a> · <a href="#">Reports</a></nav></header>
<p id="host-text">Your projects are up to date. <button id="host-button">Refresh</button></p>
"""
# Everything a careless (or hostile) host stylesheet can throw at a widget.
HOSTILE_CSS = """<style>
* { all: unset; }
html, body { font-size: 72px !important; line-height: 3 !important; }
button, [role=radio], textarea { display: none !important; }
div, p, span { color: #0f0 !important; letter-spacing: 12px !important; text-transform: uppercase; }
satismeter-widget { display: none; }
</style>"""


def show(
    page: Any, live_server: Any, host_site: Any, survey: Survey, name: str, **extra: Any
) -> Any:
    options = {"writeKey": survey.project.write_key, "userId": name, **extra}
    url = host_site.add(f"{name}.html", html_page(HOST_CONTENT + snippet(live_server.url, options)))
    page.goto(url)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def host_styles(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const pick = (el) => { const s = getComputedStyle(el);
            return [s.display, s.fontSize, s.color, s.fontFamily, s.margin, s.letterSpacing]; };
          return {body: pick(document.body), h1: pick(document.querySelector("h1")),
                  text: pick(document.getElementById("host-text")),
                  button: pick(document.getElementById("host-button")),
                  sheets: document.styleSheets.length,
                  rect: document.getElementById("host-button").getBoundingClientRect().toJSON()};
        }"""
    )


@pytest.mark.parametrize("skin", ["dialog", "panel", "bar"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_each_skin_fits_desktop_and_phone(
    new_page, live_server, host_site, nps, screenshots, skin, width
) -> None:
    nps.design = {**nps.design, "skin": skin}
    nps.save()
    viewport = DESKTOP if width == "desktop" else PHONE
    page = new_page(viewport)
    dialog = show(page, live_server, host_site, nps, f"{skin}-{width}")

    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5
    buttons = page.get_by_role("radio")
    expect(buttons).to_have_count(11)
    for index in (0, 10):
        button = buttons.nth(index).bounding_box()
        assert button["width"] >= 24 and button["height"] >= 36  # a finger's target
    page.screenshot(path=screenshots / f"{skin}-{width}-rating.png")

    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("radio", name="8 out of 10").click()
    page.get_by_role("textbox").fill("Would be a 10 with a proper Salesforce integration.")
    page.get_by_role("button", name="Send").blur()
    page.screenshot(path=screenshots / f"{skin}-{width}-followup.png")
    box = dialog.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    page.screenshot(path=screenshots / f"{skin}-{width}-thanks.png")


@pytest.mark.parametrize("css", ["hostile", "plain"])
def test_host_css_and_the_widget_leave_each_other_alone(
    page, live_server, host_site, nps, screenshots, css
) -> None:
    head = HOSTILE_CSS if css == "hostile" else ""
    options = {"writeKey": nps.project.write_key, "userId": f"css-{css}"}
    page.goto(host_site.add(f"control-{css}.html", html_page(HOST_CONTENT, head)))
    without_widget = host_styles(page)
    body = HOST_CONTENT + snippet(live_server.url, options)
    page.goto(host_site.add(f"styled-{css}.html", html_page(body, head)))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()

    # The widget is whole: every rating button, its own font size, no inherited colour.
    expect(page.get_by_role("radio")).to_have_count(11)
    for radio in page.get_by_role("radio").all():
        expect(radio).to_be_visible()
    expect(page.get_by_role("button", name="Close")).to_be_visible()
    question = page.locator(".sm-q")
    expect(question).to_have_css("font-size", "16px")
    expect(question).to_have_css("letter-spacing", "normal")
    expect(question).to_have_css("text-transform", "none")
    expect(question).to_have_css("color", "rgb(51, 51, 51)")
    box = dialog.bounding_box()
    assert 380 <= box["width"] <= 460 and box["height"] < 400
    if css == "hostile":
        page.screenshot(path=screenshots / "hostile-css-desktop.png")
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("radio", name="6 out of 10").click()
    expect(page.get_by_role("textbox")).to_be_visible()

    # The host page: not a style changed, no stylesheet added to the document.
    assert host_styles(page) == without_widget


def test_completion_with_the_keyboard_alone(page, live_server, host_site, nps, settled) -> None:
    show(page, live_server, host_site, nps, "keyboard")
    # The page had no focus of its own: the survey takes it, on the first rating.
    expect(page.get_by_role("radio", name="0 out of 10", exact=True)).to_be_focused()
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="9 out of 10")).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("radio", name="9 out of 10")).to_be_focused()
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="9 out of 10")).to_be_checked()
    comment = page.get_by_role("textbox", name="What do you like most about us?")
    expect(comment).to_be_focused()
    page.keyboard.type("Fast and friendly.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    page.keyboard.press("Escape")
    expect(page.locator("satismeter-widget")).to_have_count(0)

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (
        9,
        "Fast and friendly.",
        True,
    )


def test_the_widget_does_not_steal_focus_from_a_busy_user(page, live_server, host_site, nps):
    options = {"writeKey": nps.project.write_key, "userId": "typing"}
    body = '<input id="search" autofocus aria-label="Search">' + snippet(live_server.url, options)
    page.goto(host_site.add("busy.html", html_page(body)))
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_label("Search")).to_be_focused()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_right_to_left_language(new_page, live_server, host_site, nps, screenshots, width):
    page = new_page(DESKTOP if width == "desktop" else PHONE)
    dialog = show(page, live_server, host_site, nps, f"rtl-{width}", traits={"language": "ar"})

    expect(dialog).to_have_attribute("dir", "rtl")
    expect(dialog).to_have_attribute("lang", "ar")
    expect(dialog).to_have_css("direction", "rtl")
    expect(dialog).to_contain_text("ما مدى احتمالية")
    zero = page.get_by_role("radio", name="0 من 10", exact=True).bounding_box()
    ten = page.get_by_role("radio", name="10 من 10").bounding_box()
    assert zero["x"] > ten["x"]  # the scale runs from the right
    close = page.get_by_role("button", name="إغلاق").bounding_box()
    assert close["x"] < dialog.bounding_box()["x"] + 60  # the close button is on the left
    page.get_by_role("radio", name="0 من 10", exact=True).focus()
    page.keyboard.press("ArrowLeft")  # towards higher scores, in this direction
    expect(page.get_by_role("radio", name="1 من 10")).to_be_focused()
    page.screenshot(path=screenshots / f"rtl-{width}-rating.png")


def test_design_options(page, live_server, host_site, nps, screenshots) -> None:
    nps.design = {
        "skin": "panel",
        "position": "bl",
        "colors": {"primary": "#1565c0", "foreground": "#102030", "background": "#fffbe6"},
        "showNumbers": False,
        "requireFeedback": True,
        "poweredBy": False,
        "serviceName": "Orbit",
        "ctaText": "Rate us on G2",
        "ctaUrl": "https://www.g2.com/products/orbit/reviews",
    }
    nps.save()
    dialog = show(page, live_server, host_site, nps, "design")

    expect(dialog).to_contain_text("How likely are you to recommend Orbit to a friend")
    expect(dialog).not_to_contain_text("Powered by")
    expect(dialog).to_have_css("background-color", "rgb(255, 251, 230)")
    expect(dialog).to_have_css("color", "rgb(16, 32, 48)")
    assert dialog.bounding_box()["x"] < 100  # bottom left
    seven = page.get_by_role("radio", name="7 out of 10")
    expect(seven).to_have_text("")  # numbers off, names kept for screen readers
    with page.expect_response(lambda r: "/api/responses" in r.url):
        seven.click()
    expect(seven).to_have_css("background-color", "rgb(21, 101, 192)")
    send = page.get_by_role("button", name="Send")
    expect(send).to_have_attribute("aria-disabled", "true")
    send.focus()
    page.keyboard.press("Enter")  # a comment is required: the focus goes to it instead
    expect(page.get_by_role("textbox")).to_be_focused()
    page.get_by_role("textbox").fill("Clean UI.")
    expect(send).to_have_attribute("aria-disabled", "false")
    page.screenshot(path=screenshots / "design-options-desktop.png")
    with page.expect_response(lambda r: r.request.method == "PUT"):
        send.click()
    link = page.get_by_role("link", name="Rate us on G2")
    expect(link).to_have_attribute("href", "https://www.g2.com/products/orbit/reviews")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_untrusted_strings_and_design_values_stay_inert(page, live_server, host_site, nps) -> None:
    attack = '<img src=x onerror="window.pwned=1">'
    nps.texts = {"en": {"THANKS": attack}}
    nps.design = {
        "colors": {"primary": "red;} * {display:none", "background": "url(javascript:alert(1))"},
        "ctaText": "Click",
        "ctaUrl": "javascript:window.pwned=2",
        "skin": "<b>",
        "position": "zz",
    }
    nps.save()
    dialog = show(
        page,
        live_server,
        host_site,
        nps,
        "xss",
        traits={"name": attack, "translation": {"HOW_LIKELY": attack}},
    )

    expect(page.locator(".sm-q")).to_have_text(attack)  # shown as text
    expect(dialog).to_have_css("background-color", "rgb(253, 253, 253)")  # default kept
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("radio", name="5 out of 10").click()
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text(attack)
    expect(dialog.get_by_role("link")).to_have_count(0)  # no javascript: link
    assert page.evaluate("window.pwned") is None
    assert page.locator("satismeter-widget img").count() == 0
