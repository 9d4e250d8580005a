"""The install snippet exactly as a customer pastes it, on a page of another origin."""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Display, Response, Survey

from .conftest import html_page, snippet

pytestmark = pytest.mark.browser

COMMENT = "The reports save me an hour every Monday."


def customer_page(
    host_site: Any, live_server: Any, survey: Survey, name: str, **options: Any
) -> str:
    options = {"writeKey": survey.project.write_key, **options}
    body = "<h1>Customer app</h1><p>Welcome back.</p>" + snippet(live_server.url, options)
    return host_site.add(name, html_page(body))


def saved(page: Any, method: str, path: str = "/api/responses") -> Any:
    """Waits for the widget's save to be answered (a successful one)."""
    return page.expect_response(
        lambda r: r.request.method == method and path in r.url and r.status in (200, 201)
    )


def test_snippet_survey_rating_comment_submit(page, live_server, host_site, nps, settled) -> None:
    url = customer_page(
        host_site,
        live_server,
        nps,
        "app.html",
        userId="1234",
        traits={
            "name": "John Doe",
            "email": "john@doe.com",
            "createdAt": "2021-07-26T10:32:26.041Z",
        },
    )
    with saved(page, "POST", "/api/displays"):
        page.goto(url)

    dialog = page.get_by_role("dialog", name="How likely are you to recommend Acme Cloud")
    expect(dialog).to_be_visible()
    with saved(page, "POST"):
        page.get_by_role("radio", name="9 out of 10").click()
    settled()
    assert Response.objects.get().rating == 9  # saved the moment it was chosen
    comment = page.get_by_role("textbox", name="What do you like most about us?")
    comment.fill(COMMENT)
    with saved(page, "PUT"):
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for your feedback!")

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.language) == (9, COMMENT, "en")
    assert response.referrer == url
    assert response.completed and response.method == "In-app"
    assert (response.user.user_id, response.user.name) == ("1234", "John Doe")
    assert Display.objects.filter(survey=nps, user__user_id="1234").count() == 1


def test_the_follow_up_question_follows_the_category(
    page, live_server, host_site, nps, settled
) -> None:
    page.goto(customer_page(host_site, live_server, nps, "followup.html", userId="u-1"))
    questions = {
        "3": "What disappointed you, and how can we improve?",
        "7": "What could we do to make it better?",
        "10": "What do you like most about us?",
    }
    for score, question in questions.items():
        with saved(page, "PUT" if score != "3" else "POST"):
            page.get_by_role("radio", name=f"{score} out of 10").click()
        expect(page.get_by_role("radio", name=f"{score} out of 10")).to_be_checked()
        expect(page.get_by_role("textbox", name=question)).to_be_visible()
    settled()
    assert Response.objects.get().rating == 10  # a changed rating replaces the first


@pytest.mark.parametrize("how", ["close button", "Escape"])
def test_dismissal_is_recorded(page, live_server, host_site, nps, how, settled) -> None:
    page.goto(customer_page(host_site, live_server, nps, "dismiss.html", userId="u-2"))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()

    with saved(page, "POST"):
        if how == "Escape":
            page.get_by_role("radio", name="0 out of 10", exact=True).press("Escape")
        else:
            page.get_by_role("button", name="Close").click()

    expect(page.locator("satismeter-widget")).to_have_count(0)
    settled()
    response = Response.objects.get()
    assert (response.dismissed, response.rating, response.completed) == (True, None, False)


def test_closing_after_rating_completes_the_response(
    page, live_server, host_site, nps, settled
) -> None:
    page.goto(customer_page(host_site, live_server, nps, "rate-close.html", userId="u-3"))
    with saved(page, "POST"):
        page.get_by_role("radio", name="7 out of 10").click()
    with saved(page, "PUT"):
        page.get_by_role("button", name="Close").click()

    settled()
    response = Response.objects.get()
    assert (response.rating, response.completed, response.dismissed) == (7, True, False)


def test_nothing_is_shown_when_no_survey_is_due(page, live_server, host_site, nps, settled) -> None:
    nps.min_tenure_days = 30
    nps.save()
    url = customer_page(
        host_site,
        live_server,
        nps,
        "not-due.html",
        userId="new",
        traits={"createdAt": "2999-01-01"},
    )
    with page.expect_response(lambda r: "/api/widget" in r.url) as answer:
        page.goto(url)

    assert answer.value.json() == {"widget": {"visible": False}}
    expect(page.locator("satismeter-widget")).to_have_count(0)
    settled()
    assert not Display.objects.exists()
