"""The sample page of the demo: pick a user, traits and language, see the survey for real."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from project.demo.management.commands import satismeter_demo
from satismeter_app.models import Display, EndUser, Membership, Response

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server, settings):
    settings.DEBUG = True  # the demo's mode: the sample page is public, forceSurvey honoured
    call_command(satismeter_demo.Command(), "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_a_visit_records_nothing_until_the_survey_is_asked_for(
    page, live_server, demo, screenshots, settled
):
    page.goto(f"{live_server.url}/sample")
    expect(page.locator("#sample-note")).to_contain_text("Nothing is recorded")
    page.wait_for_timeout(300)  # a widget that would run has had time to ask
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert not EndUser.objects.filter(user_id__startswith="sample-").exists()

    page.get_by_role("button", name="Show the survey").click()
    expect(page.get_by_role("dialog")).to_contain_text(
        "How likely are you to recommend Demo product to a friend or colleague?"
    )
    expect(page.locator("#events")).to_contain_text("display")
    expect(page.locator("#sample-note")).to_contain_text("test user")
    page.screenshot(path=screenshots / "sample-page-desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshots / "sample-page-narrow.png", full_page=True)
    settled()
    tester = EndUser.objects.get(user_id__startswith="sample-")
    assert tester.is_test and Display.objects.get(user=tester).is_test


def test_pick_a_user_traits_and_language(page, live_server, demo, settled):
    page.goto(f"{live_server.url}/sample")
    page.get_by_label("User id").fill("sample-anna")
    page.get_by_label("Name").fill("Anna Schmidt")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Language").select_option("de")
    page.get_by_label("Plan (a custom trait)").select_option("pro")
    page.get_by_label("Skin").select_option("bar")
    page.get_by_role("button", name="Show the survey").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Demo product")
    expect(dialog).to_have_attribute("lang", "de")
    expect(dialog).to_have_class("sm sm-bar sm-vb")
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.get_by_role("radio", name="10 von 10").click()
    dialog.get_by_role("textbox").fill("Sehr gut")
    with page.expect_response(lambda r: r.request.method == "PUT"):
        dialog.get_by_role("button", name="Senden").click()
    expect(page.locator("#events")).to_contain_text("complete")

    settled()
    user = EndUser.objects.get(user_id="sample-anna")
    assert (user.name, user.email, user.language, user.traits["plan"], user.is_test) == (
        "Anna Schmidt",
        "anna@example.com",
        "de",
        "pro",
        True,
    )
    response = Response.objects.get(user=user)
    assert (response.rating, response.feedback, response.language) == (10, "Sehr gut", "de")
    assert response.is_test  # kept, and counted in no statistic or export
    assert "/sample?" in response.referrer


def test_in_production_staff_see_it_and_force_the_survey(page, live_server, nps, settled):
    """DEBUG off: the page is for staff, whose session (same origin) makes forceSurvey count."""
    # Targeting alone would show nothing: the survey waits for an event nobody sends. (A gate
    # that also refuses answers, like tenure, would make the forced survey unanswerable: the
    # server does not know at POST /api/responses that the survey was forced.)
    nps.trigger_event = "Upgraded plan"
    nps.save()
    assert page.goto(f"{live_server.url}/sample").status == 404

    staff = get_user_model().objects.create_user("pm", is_staff=True)
    Membership.objects.create(user=staff, project=nps.project)
    browser_login = Client()
    browser_login.force_login(staff)
    session = browser_login.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page.goto(f"{live_server.url}/sample")
    page.get_by_role("button", name="Show the survey").click()

    expect(page.get_by_role("dialog")).to_contain_text("Acme Cloud")
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.get_by_role("radio", name="9 out of 10").click()
    settled()
    assert Response.objects.get().user.user_id.startswith("sample-")
