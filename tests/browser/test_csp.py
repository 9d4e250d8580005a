"""A customer's page with a strict Content-Security-Policy: no `'unsafe-inline'` for styles,
scripts only by nonce or from the survey server. The widget must show, save and close there
without a single violation: each one is a console error, and a report to the customer's
`report-uri` on every page view."""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response

from .conftest import displayed, html_page, snippet

pytestmark = pytest.mark.browser

NONCE = "c3RyaWN0LXBhZ2U"
# What customers send (issue #14), and the same with everything else shut: the widget needs
# script-src and connect-src for its server, and nothing more (docs/widget.md).
POLICIES = {
    "customer": "script-src 'nonce-{nonce}' {server}; connect-src {server}; style-src 'self'",
    "nothing-else": "default-src 'none'; script-src 'nonce-{nonce}' {server}; connect-src {server}",
}
# Before any script of the page: every violation, whatever its target (the page, an element
# not yet in it, a shadow root), reaches the document as a `securitypolicyviolation` event.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push([event.violatedDirective, event.blockedURI, event.sample].join(" "));
}, true);
"""


def strict_page(host_site: Any, live_server: Any, name: str, options: dict, policy: str) -> str:
    script = snippet(live_server.url, options).replace("<script>", f'<script nonce="{NONCE}">', 1)
    body = "<h1>Customer app</h1><p>Reports are up to date.</p>" + script
    csp = POLICIES[policy].format(nonce=NONCE, server=live_server.url)
    return host_site.add(name, html_page(body), headers={"Content-Security-Policy": csp})


def complaints(page: Any) -> list[str]:
    """What the page reported: console errors and warnings, security policy violations."""
    found: list[str] = []

    def record(message: Any) -> None:
        # The browser asks the customer's site (a static directory here) for a favicon.
        if message.type in ("error", "warning") and "favicon" not in message.location["url"]:
            found.append(f"{message.text} ({message.location['url']})")

    page.on("console", record)
    page.add_init_script(RECORD_VIOLATIONS)
    return found


@pytest.mark.parametrize("policy", list(POLICIES))
def test_no_violation_from_display_to_close(
    page, live_server, host_site, nps, screenshots, settled, policy
) -> None:
    console = complaints(page)
    options = {"writeKey": nps.project.write_key, "userId": f"csp-{policy}"}
    with displayed(page):
        page.goto(strict_page(host_site, live_server, f"csp-{policy}.html", options, policy))
    dialog = page.get_by_role("dialog", name="How likely are you to recommend Acme Cloud")
    expect(dialog).to_be_visible()
    looks_right(page)
    page.screenshot(path=str(screenshots / f"csp-{policy}-desktop.png"))

    page.get_by_role("radio", name="8 out of 10").click()
    page.get_by_role("textbox").fill("Works under our CSP.")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    page.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (
        8,
        "Works under our CSP.",
        True,
    )
    assert page.evaluate("window.__violations") == []
    assert console == []


def test_a_dismissal_under_the_policy(page, live_server, host_site, nps, settled) -> None:
    console = complaints(page)
    options = {"writeKey": nps.project.write_key, "userId": "csp-dismiss"}
    with displayed(page):
        page.goto(strict_page(host_site, live_server, "csp-dismiss.html", options, "customer"))
    expect(page.get_by_role("dialog")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST" and "/api/responses" in r.url):
        page.get_by_role("button", name="Close").click()
    settled()
    assert Response.objects.get().dismissed
    assert page.evaluate("window.__violations") == []
    assert console == []


def looks_right(page: Any) -> None:
    """The host element's protective styles and the stylesheet inside apply."""
    looks = page.evaluate(
        """() => {
          const host = document.querySelector("satismeter-widget");
          const box = host.shadowRoot.querySelector(".sm");
          const h = getComputedStyle(host), b = getComputedStyle(box);
          return {host: [h.position, h.zIndex, h.display, h.visibility],
                  box: [b.position, b.width, b.borderRadius, b.backgroundColor]};
        }"""
    )
    assert looks["host"] == ["fixed", "2147483647", "block", "visible"]
    assert looks["box"] == ["fixed", "440px", "12px", "rgb(253, 253, 253)"]
