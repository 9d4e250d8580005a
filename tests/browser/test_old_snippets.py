"""SatisMeter's 2015 call shape, still in customers' pages, in Chromium from another origin:
the 2015 snippet (`token`, `user`, the script at /satismeter.js), the call Segment's
analytics.js integration 1.0.x makes (the user's other traits at the top level), and the
`trackAnonymous` and `preview` options."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import EndUser, Response, Survey

from .conftest import displayed, html_page

pytestmark = pytest.mark.browser

# The snippet as SatisMeter's 2015 install page gave it, the host of the script changed.
SNIPPET_2015 = """<script>
(function() { window.satismeter = window.satismeter || function() {(window.satismeter.q = window.satismeter.q || []).push(arguments);};
 window.satismeter.l = 1 * new Date(); var script = document.createElement("script");
 var parent = document.getElementsByTagName("script")[0].parentNode; script.async = 1;
 script.src = "__SERVER__/satismeter.js"; parent.appendChild(script);})();
satismeter(__OPTIONS__);
</script>"""


def page_2015(host_site: Any, live_server: Any, name: str, options: dict[str, Any]) -> str:
    script = SNIPPET_2015.replace("__SERVER__", live_server.url)
    script = script.replace("__OPTIONS__", json.dumps(options, indent=2))
    return host_site.add(name, html_page("<h1>Customer app</h1>" + script))


def widget_calls(page: Any) -> list[Any]:
    calls: list[Any] = []
    page.on("request", lambda r: "/api/widget" in r.url and calls.append(r.post_data_json))
    return calls


def test_the_2015_snippet_shows_and_saves(page, live_server, host_site, nps, settled) -> None:
    options = {
        "token": nps.project.write_key,
        "user": {
            "id": "007",
            "name": "James Bond",
            "email": "james@bond.com",
            "signUpDate": "2014-11-05T10:00:00.000Z",
            "licence": "to kill",
        },
    }
    with displayed(page):
        page.goto(page_2015(host_site, live_server, "app-2015.html", options))
    expect(page.get_by_role("dialog", name="How likely are you to recommend")).to_be_visible()
    page.get_by_role("radio", name="10 out of 10").click()
    page.get_by_role("textbox").fill("Licensed to recommend.")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 200):
        page.get_by_role("button", name="Send").click()

    settled()
    response = Response.objects.get()
    assert (response.rating, response.feedback) == (10, "Licensed to recommend.")
    user = response.user
    assert (user.user_id, user.name, user.email) == ("007", "James Bond", "james@bond.com")
    assert user.created_at == datetime(2014, 11, 5, 10, tzinfo=UTC)
    assert user.traits["licence"] == "to kill"


def test_segment_1_0_identify_with_top_level_traits(
    page, live_server, host_site, nps, settled
) -> None:
    # analytics.identify("id-7", {email, name, created, plan, language, translation}) through
    # Segment's integration 1.0.x: the traits it does not move into `user` stay at the top.
    options = {
        "plan": "Gold",
        "language": "en",
        "translation": {"FOLLOWUP": "What can we improve"},
        "token": nps.project.write_key,
        "user": {"id": "id-7", "email": "ann@example.com", "name": "Ann"},
    }
    calls = widget_calls(page)
    with displayed(page):
        page.goto(page_2015(host_site, live_server, "segment-1-0.html", options))
    expect(page.get_by_role("dialog")).to_be_visible()
    page.get_by_role("radio", name="9 out of 10").click()
    expect(page.get_by_role("textbox", name="What can we improve")).to_be_visible()

    settled()
    assert set(calls[0]) >= {"writeKey", "userId", "traits"}
    assert not set(calls[0]) & {"token", "user", "plan", "trackAnonymous", "preview"}
    user = EndUser.objects.get()
    assert (user.user_id, user.email, user.traits["plan"]) == ("id-7", "ann@example.com", "Gold")


def test_without_a_user_nothing_is_sent_unless_track_anonymous(
    new_page, live_server, host_site, nps, settled
) -> None:
    nps.audience = Survey.Audience.EVERYONE
    nps.save()
    quiet = new_page()
    calls = widget_calls(quiet)
    warnings: list[str] = []
    quiet.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    quiet.goto(page_2015(host_site, live_server, "no-user.html", {"token": nps.project.write_key}))
    quiet.wait_for_function("window.satismeter && window.satismeter.loaded")
    assert calls == [] and any("trackAnonymous" in w for w in warnings)

    # Eager's SatisMeter app for anonymous visitors: {token, trackAnonymous: true, preview}.
    visitor = new_page()
    options = {"token": nps.project.write_key, "trackAnonymous": True, "preview": False}
    visitor.goto(page_2015(host_site, live_server, "anonymous.html", options))
    expect(visitor.get_by_role("dialog")).to_be_visible()
    settled()
    assert EndUser.objects.get().anonymous_id  # the script's own visitor id


def test_preview_shows_what_targeting_would_not(
    page, live_server, host_site, nps, settings, settled
) -> None:
    settings.DEBUG = True  # the demo: previews for everyone (else a staff session)
    nps.min_tenure_days = 365
    nps.save()
    options = {"token": nps.project.write_key, "user": {"id": "new-user"}, "preview": False}
    with page.expect_response(lambda r: "/api/widget" in r.url) as answer:
        page.goto(page_2015(host_site, live_server, "no-preview.html", options))
    assert answer.value.json()["widget"] == {"visible": False}  # a new user: not due for a year

    options["preview"] = True
    page.goto(page_2015(host_site, live_server, "preview.html", options))
    expect(page.get_by_role("dialog")).to_be_visible()
    settled()
