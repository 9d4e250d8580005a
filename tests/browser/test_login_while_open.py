"""Logging in while the survey is on screen (issue #14, item 2), with SatisMeter's snippet on a
page of another origin.

The survey opens for an anonymous visitor; the app signs them in (``identify``) while it is
open; they rate and comment. The widget sends the answer with the anonymousId it had when the
survey opened, and the server puts it on the signed-in user: one user, the response has the
userId, and the next page shows no survey.
"""

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import EndUser, Response, Survey

from .conftest import html_page, snippet

pytestmark = pytest.mark.browser

COMMENT = "Half the clicks it took last year."

# How the app starts the widget for an anonymous visitor and signs them in later: the
# arguments of the snippet's own satismeter(…) call, and the sign-in as the app calls it.
LOGIN = {"userId": "ann", "traits": {"name": "Ann", "plan": "pro"}}
STYLES = {
    "object": ("{writeKey: KEY}", "satismeter({writeKey: KEY, ...LOGIN})"),
    "command": (
        "'load', {writeKey: KEY}); satismeter('page', {}",
        "satismeter('identify', LOGIN)",
    ),
}


def filled(source: str, survey: Survey) -> str:
    return source.replace("KEY", json.dumps(survey.project.write_key)).replace(
        "LOGIN", json.dumps(LOGIN)
    )


def app_page(host_site: Any, live_server: Any, survey: Survey, name: str, call: str) -> str:
    body = "<h1>Customer app</h1>" + snippet(live_server.url, filled(call, survey))
    return host_site.add(name, html_page(body))


def answered(page: Any, method: str) -> Any:
    return page.expect_response(
        lambda r: r.request.method == method and "/api/responses" in r.url and r.status < 300
    )


@pytest.mark.parametrize("style", list(STYLES))
def test_a_visitor_who_logs_in_while_the_survey_is_open_answers_as_the_user(
    page, live_server, host_site, nps, settled, style
) -> None:
    start, login = STYLES[style]
    page.goto(app_page(host_site, live_server, nps, f"login-{style}.html", start))
    dialog = page.get_by_role("dialog", name="How likely are you to recommend Acme Cloud")
    expect(dialog).to_be_visible()

    with page.expect_response(lambda r: r.url.endswith("/api/widget") and r.status == 200):
        page.evaluate(filled(login, nps))
    expect(dialog).to_be_visible()  # signing in does not take the survey away
    with answered(page, "POST"):
        page.get_by_role("radio", name="9 out of 10").click()
    page.get_by_role("textbox", name="What do you like most about us?").fill(COMMENT)
    with answered(page, "PUT"):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    settled()
    user = EndUser.objects.get()
    assert (user.user_id, user.name, user.traits["plan"]) == ("ann", "Ann", "pro")
    response = Response.objects.get()
    assert (response.user, response.rating, response.feedback) == (user, 9, COMMENT)

    # The next page of the signed-in app: no survey, and no second user.
    signed_in = filled("{writeKey: KEY, ...LOGIN}", nps)
    next_page = host_site.add(f"next-{style}.html", html_page(snippet(live_server.url, signed_in)))
    with page.expect_response(lambda r: r.url.endswith("/api/widget")) as reply:
        page.goto(next_page)
    assert reply.value.json() == {"widget": {"visible": False}}
    expect(page.get_by_role("dialog")).to_have_count(0)
    settled()
    assert EndUser.objects.count() == 1
