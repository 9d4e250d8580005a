"""The app mounted under a prefix (``path("nps/", include("satismeter_app.urls"))``): SatisMeter's
snippet on a customer's page of another origin loads /nps/js, and the rating and then the
comment land, every call of the widget staying under the prefix."""

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response

from .conftest import html_page, snippet

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.urls_prefixed")]

COMMENT = "The exports are slow."


def test_rating_then_comment_under_a_prefix(page, live_server, host_site, nps, settled) -> None:
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url))
    options = {"writeKey": nps.project.write_key, "userId": "prefixed"}
    source = snippet(f"{live_server.url}/nps", options)  # script.src = ".../nps/js"
    page.goto(host_site.add("prefixed.html", html_page("<h1>App</h1>" + source)))
    expect(page.get_by_role("dialog")).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        page.get_by_role("radio", name="8 out of 10").click()
    page.get_by_role("textbox").fill(COMMENT)
    with page.expect_response(lambda r: r.request.method == "PUT") as saved:
        page.get_by_role("button", name="Send").click()
    assert saved.value.status == 200, saved.value.url
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (8, COMMENT, True)
    ours = [url for url in calls if url.startswith(live_server.url)]
    assert ours and all(url.startswith(f"{live_server.url}/nps/") for url in ours), ours


def test_the_questions_script_under_a_prefix(page, live_server, host_site, nps, settled) -> None:
    """A survey of several questions loads /nps/js/questions and saves its answers there."""
    nps.questions = [
        {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
        {"id": "mood", "type": "smiley", "texts": {"en": {"label": "Your mood today?"}}},
    ]
    nps.save()
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url))
    options = {"writeKey": nps.project.write_key, "userId": "prefixed-questions"}
    source = snippet(f"{live_server.url}/nps", options)
    page.goto(host_site.add("prefixed-questions.html", html_page("<h1>App</h1>" + source)))
    page.get_by_role("radio", name="8 out of 10").click()
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("group", name="Your mood today?").get_by_role("radio", name="4").click()
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()

    settled()
    response = Response.objects.get()
    assert (response.rating, response.answers[0]["value"], response.completed) == (8, 4, True)
    assert any(url.startswith(f"{live_server.url}/nps/js/questions?v=") for url in calls), calls
    ours = [url for url in calls if url.startswith(live_server.url)]
    assert all(url.startswith(f"{live_server.url}/nps/") for url in ours), ours
