"""Issue #13, item 13 (part): erasing a user leaves nothing of theirs in the outbox.

Outbox rows carry the user's name, email, userId, traits and comment in their payloads, and
their error texts could quote them: until the delivery log stopped recording answers, a
receiver that echoed the request put the whole message into the attempt log. Erasure must
reach all of it: pending, dead and delivered rows, their last error and every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from satismeter_app import outbox
from satismeter_app.models import (
    Delivery,
    DeliveryAttempt,
    EndUser,
    Integration,
    Project,
    Survey,
)
from satismeter_app.services import privacy, responses
from satismeter_app.services.snapshots import project_config

pytestmark = pytest.mark.django_db

IDENTITY = {
    "user_id": "cust-ann-4242",
    "email": "ann.victim@example.com",
    "name": "Ann Victimsdottir",
}
COMMENT = "My manager Bob Grumbleton made me fill this in"
WHAT_IS_THEIRS = [*IDENTITY.values(), COMMENT]


@pytest.fixture
def echoing(httpserver_ipv4: HTTPServer) -> HTTPServer:
    """A receiver that answers every message with the message itself: 500 to /flaky the
    first time (then 200), 400 to /refuses, always."""
    seen: list[str] = []

    def answer(request: Request) -> Response:
        seen.append(request.path)
        if request.path == "/refuses":
            return Response(request.get_data(), status=400)
        if seen.count("/flaky") == 1:
            return Response(request.get_data(), status=500)
        return Response("ok")

    httpserver_ipv4.expect_request("/flaky").respond_with_handler(answer)
    httpserver_ipv4.expect_request("/refuses").respond_with_handler(answer)
    return httpserver_ipv4


def integrations(project: Project, server: HTTPServer) -> dict[str, Integration]:
    """Where the answer goes: delivered after a retry, dead at once, and never sent."""

    def hook(path: str) -> Integration:
        return Integration.objects.create(
            project=project, kind="webhook", secret="s", settings={"url": server.url_for(path)}
        )

    never_sent = Integration.objects.create(
        project=project, kind="slack", secret="https://hooks.slack.com/services/T/B/x"
    )
    return {"delivered": hook("/flaky"), "dead": hook("/refuses"), "pending": never_sent}


def answered_by_ann(project: Project, survey: Survey, make_end_user: Callable[..., Any]) -> EndUser:
    ann = make_end_user(project, traits={"nickname": IDENTITY["name"]}, **IDENTITY)
    data = responses.ResponseInput(rating=2, feedback=COMMENT)
    config = project_config(project.write_key)
    responses.start_response(config, ann, survey.pk, data, now=timezone.now())
    return ann


def send_webhooks(hooks: dict[str, Integration]) -> None:
    """Send the webhooks, the failed one again; leave the Slack row pending."""
    for _round in range(2):
        for name in ("delivered", "dead"):
            outbox.send_due(hooks[name].pk)
        Delivery.objects.filter(state=Delivery.State.PENDING).update(next_attempt_at=timezone.now())


def outbox_text() -> str:
    rows = [*Delivery.objects.values(), *DeliveryAttempt.objects.values()]
    return json.dumps(rows, default=str)


@pytest.fixture
def ann(
    project: Project, survey: Survey, make_end_user: Callable[..., Any], echoing: HTTPServer
) -> EndUser:
    hooks = integrations(project, echoing)
    user = answered_by_ann(project, survey, make_end_user)
    send_webhooks(hooks)
    by_kind = sorted(Delivery.objects.values_list("destination", "state"))
    assert by_kind == [("slack", "pending"), ("webhook", "dead"), ("webhook", "delivered")]
    assert DeliveryAttempt.objects.count() == 3  # 500 then 200, and 400
    return user


def test_the_outbox_holds_the_users_data_before_erasure(ann: EndUser) -> None:
    """The premise: payloads carry everything the checks below look for."""
    text = outbox_text()
    assert all(value in text for value in WHAT_IS_THEIRS)


@pytest.mark.parametrize("mode", privacy.MODES)
def test_erasure_leaves_nothing_of_the_user_in_the_outbox(ann: EndUser, mode: Any) -> None:
    privacy.erase_user(ann, mode)

    text = outbox_text()
    assert [value for value in WHAT_IS_THEIRS if value in text] == []
    # What stays is that a message was delivered, when, and what the receiver answered.
    delivered = Delivery.objects.get()
    assert delivered.state == Delivery.State.DELIVERED and delivered.payload == {"erased": True}
    statuses = sorted(delivered.attempt_log.values_list("status_code", flat=True))
    assert statuses == [200, 500]


def test_errors_logged_before_the_fix_are_scrubbed_too(ann: EndUser) -> None:
    """Rows written when the log still kept the receiver's answer (it echoed the message)."""
    quoted = f"http://127.0.0.1 answered 500: {json.dumps(IDENTITY)} {COMMENT}"
    DeliveryAttempt.objects.update(error=quoted)
    Delivery.objects.update(last_error=quoted)

    privacy.erase_user(ann)

    assert [value for value in WHAT_IS_THEIRS if value in outbox_text()] == []
    assert DeliveryAttempt.objects.exclude(error="").exists()  # the attempts stay, scrubbed
