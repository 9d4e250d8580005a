"""Command style (Segment's analytics.js integration), single-page apps, callbacks, preview."""

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Display, EndUser, Response, Survey, UserEvent

from .conftest import html_page, wait_until

pytestmark = pytest.mark.browser

# What Segment's analytics.js SatisMeter integration (2.0.2) does: a stub, `load`, the script
# at its older path, then identify, page and track as the app calls analytics.*.
SEGMENT_PAGE = """
<h1>Reports</h1>
<script>
window.satismeter = window.satismeter || function() {
  (window.satismeter.q = window.satismeter.q || []).push(arguments);
};
window.satismeter.l = 1 * new Date();
window.satismeter("load", {writeKey: __WRITE_KEY__, source: "analytics.js"});
var script = document.createElement("script");
script.async = true;
script.src = __SERVER__ + "/satismeter.js";
document.head.appendChild(script);
var ids = {userId: "seg-42", anonymousId: "0b7f6c1e-anon"};
window.satismeter("identify", Object.assign({traits: {name: "Ann", email: "ann@example.com", plan: "pro"}}, ids));
window.satismeter("page", Object.assign({name: "Reports", category: "App",
  properties: {path: location.pathname, url: location.href, title: document.title}}, ids));
window.exportData = function () {
  window.satismeter("track", Object.assign({event: "Exported data", properties: {rows: 120}}, ids));
};
</script>
<button type="button" onclick="exportData()">Export</button>
"""

# A single-page app: the script loads once; routes call identify/page again.
SPA_PAGE = """
<h1>SPA</h1>
<script>
(function() { window.satismeter = window.satismeter || function() {(window.satismeter.q = window.satismeter.q || []).push(arguments);};
 window.satismeter.l = 1 * new Date(); var script = document.createElement("script");
 var parent = document.getElementsByTagName("script")[0].parentNode; script.async = 1;
 script.src = __SERVER__ + "/js"; parent.appendChild(script);})();
window.events = [];
function record(name) { return function (payload) { window.events.push([name, payload]); }; }
window.login = function (userId, traits) {
  satismeter({writeKey: __WRITE_KEY__, userId: userId, traits: traits || {},
    events: {display: record("display"), progress: record("progress"),
             complete: record("complete"), dismiss: record("dismiss")}});
};
window.route = function (path) {
  history.pushState({}, "", path);
  satismeter("page", {name: path});
};
login("alice", {plan: "pro"});
</script>
"""


def fill(template: str, live_server: Any, survey: Survey) -> str:
    return template.replace("__SERVER__", json.dumps(live_server.url)).replace(
        "__WRITE_KEY__", json.dumps(survey.project.write_key)
    )


def test_segment_command_sequence_ends_in_a_survey(
    page, live_server, host_site, nps, settled
) -> None:
    nps.trigger_event = "Exported data"
    nps.save()
    url = host_site.add("segment.html", html_page(fill(SEGMENT_PAGE, live_server, nps)))

    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if "/api/widget" in r.url else None)
    page.goto(url)
    wait_until(page, lambda: len(answers) == 2)  # identify, then page
    for answer in answers:
        assert answer.json() == {"widget": {"visible": False}}  # the survey waits for the event
    expect(page.locator("satismeter-widget")).to_have_count(0)

    page.get_by_role("button", name="Export").click()

    expect(page.get_by_role("dialog")).to_be_visible()
    settled()
    user = EndUser.objects.get(user_id="seg-42")
    assert (user.anonymous_id, user.name, user.traits["plan"]) == ("0b7f6c1e-anon", "Ann", "pro")
    assert UserEvent.objects.get(user=user).name == "Exported data"
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.get_by_role("radio", name="8 out of 10").click()
    settled()
    assert Response.objects.get(user=user).rating == 8


def test_spa_route_change_rechecks_and_shows_one_survey(
    page, live_server, host_site, nps, settled
) -> None:
    nps.url_rules = [{"op": "starts_with", "value": "/settings"}]
    nps.save()
    url = host_site.add("spa.html", html_page(fill(SPA_PAGE, live_server, nps)))
    with page.expect_response(lambda r: "/api/widget" in r.url):
        page.goto(url)
    expect(page.locator("satismeter-widget")).to_have_count(0)  # not on this page

    with page.expect_response(lambda r: "/api/displays" in r.url):
        page.evaluate("route('/settings/team')")
    expect(page.get_by_role("dialog")).to_be_visible()

    # Another route that qualifies: still the one survey on screen.
    with page.expect_response(lambda r: "/api/widget" in r.url) as again:
        page.evaluate("route('/settings/billing')")
    assert again.value.json()["widget"]["visible"] is True
    expect(page.locator("satismeter-widget")).to_have_count(1)
    settled()
    assert Display.objects.count() == 1


def test_a_new_user_never_sees_the_previous_users_survey(
    page, live_server, host_site, nps, settled
) -> None:
    nps.trait_conditions = [{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}]
    nps.save()
    url = host_site.add("switch.html", html_page(fill(SPA_PAGE, live_server, nps)))
    with page.expect_response(lambda r: "/api/displays" in r.url):
        page.goto(url)
    expect(page.get_by_role("dialog")).to_be_visible()

    # Bob signs in on a free plan: Alice's survey goes, and nothing replaces it.
    with page.expect_response(lambda r: "/api/widget" in r.url) as bob:
        page.evaluate("login('bob', {plan: 'free'})")

    assert bob.value.json()["widget"] == {"visible": False}
    expect(page.locator("satismeter-widget")).to_have_count(0)
    settled()
    assert Response.objects.count() == 0  # switching users is not a dismissal


def test_a_late_answer_for_the_previous_user_is_ignored(
    page, live_server, host_site, nps, settled
) -> None:
    """Alice's /api/widget answer arrives after Bob signed in: it shows nothing."""
    nps.trait_conditions = [{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}]
    nps.save()
    url = host_site.add("race.html", html_page(fill(SPA_PAGE, live_server, nps)))
    held: list[Any] = []

    def hold_alice(route: Any) -> None:
        if json.loads(route.request.post_data)["userId"] == "alice":
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/widget", hold_alice)
    page.goto(url)
    wait_until(page, lambda: bool(held))
    page.evaluate("login('bob', {plan: 'free'})")  # sent once Alice's call is answered

    def answer_for(user: str) -> Any:
        return page.expect_response(lambda r: f'"{user}"' in (r.request.post_data or ""))

    with answer_for("alice") as alice, answer_for("bob") as bob:
        held[0].continue_()
    assert alice.value.json()["widget"]["visible"] is True  # due for Alice...
    assert bob.value.json()["widget"] == {"visible": False}

    expect(page.locator("satismeter-widget")).to_have_count(0)  # ...but she has left
    settled()
    assert not Display.objects.exists()


def test_events_callbacks(page, live_server, host_site, nps) -> None:
    url = host_site.add("events.html", html_page(fill(SPA_PAGE, live_server, nps)))
    page.goto(url)
    expect(page.get_by_role("dialog")).to_be_visible()
    with page.expect_response(lambda r: "/api/responses" in r.url and r.status == 201):
        page.get_by_role("radio", name="4 out of 10").click()
    page.get_by_role("textbox").fill("Too slow")
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.get_by_role("button", name="Send").click()

    events = page.evaluate("window.events")
    campaign = str(nps.pk)
    question = "How likely are you to recommend Acme Cloud to a friend or colleague?"
    rating = {"id": "SM_rating", "label": question, "value": 4}
    comment = {
        "id": "SM_comment",
        "label": "What disappointed you, and how can we improve?",
        "value": "Too slow",
    }
    assert events == [
        ["display", {"campaign": campaign}],
        ["progress", {"campaign": campaign, "answers": [rating]}],
        ["progress", {"campaign": campaign, "answers": [rating, comment]}],
        ["complete", {"campaign": campaign, "answers": [rating, comment]}],
    ]


def test_dismiss_callback(page, live_server, host_site, nps) -> None:
    url = host_site.add("dismiss-events.html", html_page(fill(SPA_PAGE, live_server, nps)))
    page.goto(url)
    with page.expect_response(lambda r: "/api/responses" in r.url):
        page.get_by_role("button", name="Close").click()
    assert page.evaluate("window.events") == [
        ["display", {"campaign": str(nps.pk)}],
        ["dismiss", {"campaign": str(nps.pk)}],
    ]


def test_staff_preview_of_a_draft_saves_nothing(
    page, live_server, host_site, acme, settings, settled
) -> None:
    settings.DEBUG = True  # previews need a staff session or DEBUG (the demo)
    draft = Survey.objects.create(project=acme, name="Draft", state=Survey.State.DRAFT)
    options = {"writeKey": acme.write_key, "userId": "staff-1", "previewCampaign": str(draft.pk)}
    body = SPA_PAGE.replace('login("alice", {plan: "pro"});', f"satismeter({json.dumps(options)});")
    url = host_site.add("preview.html", html_page(fill(body, live_server, draft)))
    page.goto(url)

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Preview: answers are not saved")
    page.get_by_role("radio", name="10 out of 10").click()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    settled()
    assert not Display.objects.exists() and not Response.objects.exists()


def test_the_users_translation_holds_on_every_call_of_the_page(
    page, live_server, host_site, nps, settled
) -> None:
    """The server applies `translation` only to the call that carries it, so the script sends
    the user's own overrides, from their login, with the page call that shows the survey."""
    nps.url_rules = [{"op": "starts_with", "value": "/settings"}]
    nps.save()
    url = host_site.add("translated.html", html_page(fill(SPA_PAGE, live_server, nps)))
    with page.expect_response(lambda r: "/api/widget" in r.url):
        page.goto(url)
    with page.expect_response(lambda r: "/api/widget" in r.url):
        page.evaluate(
            "login('carol', {translation: {HOW_LIKELY: 'Carol, tell a friend?', HOW_LIKELY_US: 'Carol, tell a friend?'}})"
        )

    with page.expect_response(lambda r: "/api/displays" in r.url):
        page.evaluate("route('/settings/team')")
    expect(page.get_by_role("dialog")).to_contain_text("Carol, tell a friend?")

    # Another user signs in: Carol's overrides are not theirs.
    with page.expect_response(lambda r: "/api/widget" in r.url):
        page.evaluate("login('dave', {plan: 'pro'})")
    with page.expect_response(lambda r: "/api/widget" in r.url) as dave:
        page.evaluate("route('/settings/billing')")
    assert "traits" not in json.loads(dave.value.request.post_data)
    settled()
