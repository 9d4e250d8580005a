"""Staff email in Chromium: a member subscribes in the admin, the alert and the digest as a mail
client shows them at desktop and phone widths, and the opt-out page (screenshots in
artifacts/screenshots/staff-*.png)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from satismeter_app.models import EndUser, Membership, Project, Response, StaffSubscription, Survey
from satismeter_app.services import staff_email
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser


@pytest.fixture
def member(acme: Project) -> Any:
    user = get_user_model().objects.create_user(
        "marie", "marie@acme.test", "correct horse", is_staff=True, first_name="Marie"
    )
    Membership.objects.create(user=user, project=acme)
    return user


def _log_in(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "marie")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def _answer(survey: Survey, rating: int, when: datetime, feedback: str = "") -> Response:
    user = EndUser.objects.create(
        project=survey.project, user_id=f"u{rating}-{when:%d%H%M%S%f}", name="Léa Martin"
    )
    return Response.objects.create(
        project=survey.project,
        survey=survey,
        user=user,
        rating=rating,
        feedback=feedback,
        created=when,
        completed=True,
        completed_at=when,
    )


def test_a_member_turns_detractor_alerts_on_in_the_admin(
    page, live_server, member, nps, screenshots, settled
) -> None:
    _log_in(page, live_server)
    dashboard = reverse("admin:satismeter_app_project_dashboard", args=[nps.project.pk])
    page.goto(f"{live_server.url}{dashboard}")
    page.locator("a.sm-notifications").click()
    expect(page).to_have_url(re.compile(r"/staffsubscription/\?project__id__exact=\d+$"))
    page.get_by_role("link", name="Add email notification").click()
    expect(page.locator("#id_user")).to_have_count(0)  # a member's are their own
    page.select_option("#id_project", label="Acme")
    page.check("#id_detractor_alerts")
    page.fill("#id_alert_interval", "15")
    page.select_option("#id_digest", "daily")
    page.select_option("#id_language", "fr")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(screenshots / "staff-subscription-admin.png"), full_page=True)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    page.screenshot(path=str(screenshots / "staff-subscription-list.png"), full_page=True)
    settled()
    sub = StaffSubscription.objects.get()
    assert (sub.user, sub.project, sub.survey) == (member, nps.project, None)
    assert (sub.detractor_alerts, sub.alert_interval, sub.digest) == (True, 15, "daily")


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _render(new_page: Any, html: str, name: str, screenshots: Any) -> Any:
    """The email's HTML at desktop and phone widths, as a mail client without scripts shows
    it; each fits its width."""
    for width, viewport in (("desktop", DESKTOP), ("narrow", PHONE)):
        page = new_page(viewport, java_script_enabled=False)
        page.set_content(html)
        assert _fits(page), f"{name} overflows at {width} width"
        page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    return page


def test_the_alert_email_renders_in_chromium(
    new_page, live_server, member, nps, mailoutbox, screenshots
) -> None:
    StaffSubscription.objects.create(user=member, project=nps.project, alert_interval=30)
    now = timezone.now()
    _answer(nps, 2, now, "Checkout <b>failed</b> twice, support never answered.")
    _answer(nps, 6, now, "")
    assert staff_email.send_alerts(now + timedelta(seconds=1)).sent == 1
    html = mailoutbox[0].alternatives[0][0]
    page = _render(new_page, html, "staff-alert", screenshots)
    expect(page.get_by_text("Checkout <b>failed</b> twice")).to_be_visible()
    expect(page.get_by_role("link", name="Open the response")).to_have_count(2)
    expect(page.get_by_role("link", name="Turn off these alerts")).to_be_visible()


def test_the_digest_email_renders_in_chromium(
    new_page, live_server, member, nps, mailoutbox, screenshots
) -> None:
    StaffSubscription.objects.create(user=member, project=nps.project, digest="weekly")
    sunday = date(2026, 11, 29)
    for days_before, ratings in enumerate([[9, 10, 6], [], [10, 8], [3, 9], [9, 9, 7], [2], [10]]):
        day = sunday - timedelta(days=days_before)
        for hour, rating in enumerate(ratings):
            when = datetime.combine(day, time(9 + hour), tzinfo=nps.project.zone)
            text = "Love the new reports!" if rating == 10 and hour == 0 else ""
            _answer(nps, rating, when, text or ("Too slow lately" if rating < 7 else ""))
    for rating in (10, 6, 5, 8):
        _answer(
            nps,
            rating,
            datetime.combine(sunday - timedelta(days=9), time(12), tzinfo=nps.project.zone),
        )
    assert staff_email.send_digests(day=sunday).sent == 1
    html = mailoutbox[0].alternatives[0][0]
    page = _render(new_page, html, "staff-digest", screenshots)
    expect(page.get_by_text("Latest comments")).to_be_visible()
    expect(page.get_by_text("Too slow lately").first).to_be_visible()
    bars = page.locator("table[width$='%'] td[height='14']")
    assert bars.count() == 6  # one per day with answers (Saturday had none)


def test_the_opt_out_page_asks_then_turns_the_digest_off(
    page, live_server, member, nps, screenshots, settled
) -> None:
    sub = StaffSubscription.objects.create(user=member, project=nps.project, language="de")
    page.goto(staff_email.off_link(sub, staff_email.DIGEST))
    expect(page.get_by_role("heading")).to_have_text("Zusammenfassung abschalten?")
    page.screenshot(path=str(screenshots / "staff-email-off.png"), full_page=True)
    page.get_by_role("button", name="Abschalten").click()
    expect(page.get_by_role("heading")).to_have_text("Die Zusammenfassung ist abgeschaltet")
    settled()
    sub.refresh_from_db()
    assert sub.digest == StaffSubscription.Digest.NONE and sub.detractor_alerts
