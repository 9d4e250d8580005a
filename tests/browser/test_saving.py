"""Saving survives network blips: failed saves are retried, and finished on the next page.

Playwright's clock drives the widget's backoff timers, so no test waits for them for real.
"""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response

from .conftest import html_page, snippet

pytestmark = pytest.mark.browser

COMMENT = "Exports keep timing out."


def open_survey(page: Any, live_server: Any, host_site: Any, survey: Any, name: str) -> None:
    options = {"writeKey": survey.project.write_key, "userId": "blip"}
    page.goto(host_site.add(name, html_page("<h1>App</h1>" + snippet(live_server.url, options))))
    expect(page.get_by_role("dialog")).to_be_visible()


def failing_first(status: int | None) -> Any:
    """A route handler that fails the first request (network error or ``status``)."""
    calls: list[int] = []

    def handle(route: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            route.continue_()
        elif status is None:
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=status, body='{"error": "Try later."}')

    return handle


def test_failed_saves_are_retried_and_nothing_typed_is_lost(
    page, live_server, host_site, nps, settled
) -> None:
    page.clock.install()
    page.route("**/api/responses", failing_first(None))
    open_survey(page, live_server, host_site, nps, "blip.html")

    with page.expect_event("requestfailed"):
        page.get_by_role("radio", name="3 out of 10").click()
    expect(page.get_by_role("radio", name="3 out of 10")).to_be_checked()
    settled()
    assert not Response.objects.exists()
    with page.expect_response(lambda r: r.url.endswith("/api/responses") and r.status == 201):
        page.clock.run_for(2_000)  # the first retry comes after 1 to 1.5 s
    settled()
    assert Response.objects.get().rating == 3

    page.route("**/api/responses/*", failing_first(503))
    page.get_by_role("textbox").fill(COMMENT)
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 503):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.clock.run_for(2_000)

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (3, COMMENT, True)


def test_a_save_cut_off_by_navigation_is_finished_on_the_next_page(
    page, live_server, host_site, nps, settled
) -> None:
    page.clock.install()  # this page's own retry never fires: the next page must do it
    open_survey(page, live_server, host_site, nps, "first.html")
    with page.expect_response(lambda r: r.url.endswith("/api/responses") and r.status == 201):
        page.get_by_role("radio", name="6 out of 10").click()
    page.route("**/api/responses/*", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("textbox").fill(COMMENT)
    with page.expect_event("requestfailed"):
        page.get_by_role("button", name="Send").click()
    page.unroute("**/api/responses/*")

    # The next page of the product, in the same tab: the survey is not due any more.
    options = {"writeKey": nps.project.write_key, "userId": "blip"}
    second = host_site.add(
        "second.html", html_page("<h1>Next</h1>" + snippet(live_server.url, options))
    )
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.goto(second)

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (6, COMMENT, True)
    expect(page.locator("satismeter-widget")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('satismeter:outbox')") is None


def test_a_refused_answer_shows_already_answered(
    page, live_server, host_site, nps, settled
) -> None:
    """Two tabs show the survey; once one is answered, the server refuses the other's answer
    as a duplicate and the widget says the survey was already answered."""
    options = {"writeKey": nps.project.write_key, "userId": "two-tabs"}
    url = host_site.add("again.html", html_page(snippet(live_server.url, options)))
    other = page.context.new_page()
    for tab in (page, other):
        tab.goto(url)
        expect(tab.get_by_role("radio", name="10 out of 10")).to_be_visible()
    for tab, status in ((page, 201), (other, 400)):
        with tab.expect_response(lambda r, s=status: "/api/responses" in r.url and r.status == s):
            tab.get_by_role("radio", name="10 out of 10").click()
    expect(other.get_by_role("status")).to_contain_text("You have already answered this survey")
    settled()
    assert Response.objects.count() == 1
