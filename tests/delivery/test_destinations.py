"""Segment, Slack and webhook destinations: what each sends, through real HTTP servers on
loopback, and how their answers turn into delivered, retried or dead rows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from satismeter_app import outbox
from satismeter_app.destinations import base, locmem
from satismeter_app.destinations.segment import (
    ALL_TRAITS,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    SegmentDestination,
    calls_for,
    client_message,
    encoded,
    message_size,
)
from satismeter_app.destinations.slack import slack_message
from satismeter_app.destinations.webhook import (
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    sign,
    verify_signature,
)
from satismeter_app.exceptions import DeliveryError, MissingExtraError
from satismeter_app.models import Delivery, DeliveryAttempt, Integration, Project, Survey
from satismeter_app.services import responses
from satismeter_app.services.snapshots import project_config
from tests.delivery.harness import ROOT, SegmentSink, Sink

pytestmark = pytest.mark.django_db

WRITE_KEY = "sk_test_write_key_0123456789abcdef"


@pytest.fixture
def segment_sink() -> Iterator[SegmentSink]:
    sink = SegmentSink(WRITE_KEY).start()
    yield sink
    sink.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def respond(
    project: Project, survey: Survey, make_end_user: Callable[..., Any]
) -> Callable[..., Any]:
    """A response made through the service, as the widget makes it (rows and all)."""

    def make(rating: int | None = 9, feedback: str = "", **user: Any) -> Any:
        end_user = make_end_user(project, **user)
        data = responses.ResponseInput(
            rating=rating, feedback=feedback or None, dismissed=rating is None or None
        )
        config = project_config(project.write_key)
        response, token = responses.start_response(
            config, end_user, survey.pk, data, now=timezone.now()
        )
        response.token = token  # for later saves, as the widget keeps it
        return response

    return make


def segment(project: Project, sink: SegmentSink, **settings: Any) -> Integration:
    return Integration.objects.create(
        project=project,
        kind=Integration.Kind.SEGMENT,
        secret=WRITE_KEY,
        settings={"host": sink.url, **settings},
    )


def states() -> list[tuple[str, str]]:
    return list(Delivery.objects.order_by("pk").values_list("event", "state"))


# --- Segment: the mapping ------------------------------------------------------------------------


def completed_payload(**response: Any) -> dict[str, Any]:
    user = {"id": "7", "userId": "cust-42", "anonymousId": None, "name": "Ann"}
    return {
        "event": "completed",
        "timestamp": "2026-05-01T12:00:00.250000Z",
        "response": {
            "id": "11",
            "rating": 3,
            "feedback": "Too slow",
            "category": "detractor",
            "score": -100,
            "method": "In-app",
            "language": "de",
            "user": user,
            **response,
        },
        "traits": {"plan": "pro"},
        "campaign": {"id": "5", "name": "Quarterly NPS"},
    }


def test_completion_identifies_with_nps_traits_then_tracks_completed() -> None:
    identify, track = calls_for("completed", completed_payload(), "m-1")

    assert identify.method == "identify"
    assert identify.kwargs["user_id"] == "cust-42"
    assert identify.kwargs["traits"] == {
        "NPS_rating": 3,
        "NPS_comment": "Too slow",
        "NPS_date": "2026-05-01T12:00:00.250000Z",
    }
    assert track.kwargs["event"] == "Completed NPS Survey"
    assert track.kwargs["message_id"] == "m-1"
    assert identify.kwargs["message_id"] == "m-1-identify"
    assert track.kwargs["properties"] == {
        "campaign_id": "5",
        "campaign_name": "Quarterly NPS",
        "response_id": "11",
        "method": "In-app",
        "language": "de",
        "rating": 3,
        "category": "detractor",
        "score": -100,
        "answers": [],  # this snapshot has none
        "comment": "Too slow",
    }
    assert track.kwargs["timestamp"].isoformat() == "2026-05-01T12:00:00.250000+00:00"
    assert track.kwargs["context"]["integration"]["name"] == "satismeter"


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("viewed", "Viewed NPS Survey"),
        ("closed", "Closed NPS Survey"),
        ("answered", "Answered NPS Survey"),
    ],
)
def test_each_lifecycle_event_has_its_segment_event(event: str, name: str) -> None:
    payload = completed_payload()
    if event == "viewed":
        payload = {**payload, "user": payload.pop("response")["user"]}
    (track,) = calls_for(event, {**payload, "event": event}, "m")

    assert track.kwargs["event"] == name
    assert "comment" not in track.kwargs["properties"]


@pytest.mark.parametrize(
    ("traits", "expected"),
    [(["NPS_rating"], [{"NPS_rating": 3}]), ([], [])],
    ids=["rating only", "no identify"],
)
def test_an_integration_picks_its_traits(traits: list[str], expected: list[dict]) -> None:
    calls = calls_for("completed", completed_payload(), "m", traits)

    assert [c.kwargs["traits"] for c in calls if c.method == "identify"] == expected


def test_anonymous_visitors_go_by_their_anonymous_id() -> None:
    payload = completed_payload(user={"anonymousId": "anon-1", "userId": None})

    identify, _track = calls_for("completed", payload, "m")

    assert identify.kwargs == identify.kwargs | {"anonymous_id": "anon-1"}
    assert "user_id" not in identify.kwargs


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
OFFSETS = st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", ""])


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An event and its snapshot as the outbox stores it (JSON), with anything in its fields."""
    event = draw(st.sampled_from(["viewed", "closed", "answered", "completed", "test"]))
    identity = draw(st.sampled_from(["userId", "anonymousId"]))
    user = {identity: draw(st.text(min_size=1)), "traits": draw(JSON_VALUES)}
    fields = ["id", "rating", "feedback", "category", "score", "method", "language"]
    response = {name: draw(JSON_VALUES) for name in fields} | {"user": user}
    moment = draw(st.datetimes(timezones=st.none())).isoformat() + draw(OFFSETS)
    campaign = {"id": draw(JSON_VALUES), "name": draw(JSON_VALUES)}
    payload = {"event": event, "timestamp": moment, "campaign": campaign}
    payload |= {"user": user} if event == "viewed" else {"response": response}
    return event, json.loads(json.dumps(payload))


@settings(max_examples=300, deadline=None)
@given(
    snapshot=snapshots(),
    message_id=st.text(min_size=1, max_size=100),
    traits=st.lists(st.sampled_from(ALL_TRAITS), unique=True),
)
def test_messages_are_made_as_the_official_client_makes_them(
    snapshot: tuple[str, dict[str, Any]], message_id: str, traits: list[str]
) -> None:
    from segment.analytics import VERSION, Client

    client = Client("wk", sync_mode=True, send=False)
    library = {"name": "analytics-python", "version": VERSION}
    event, payload = snapshot
    for call in calls_for(event, payload, message_id, traits):
        kwargs = call.kwargs | {"context": dict(call.kwargs["context"])}
        try:
            _sent, expected = getattr(client, call.method)(**kwargs)
        except RuntimeError:  # over 32 KB: the destination has the client make those
            continue
        made = client_message(call, library)
        # Equal, keys in the same order; the client's JSON at most three times orjson's.
        assert json.dumps(made) == json.dumps(expected)
        assert message_size(expected) <= 3 * len(encoded(made))


# --- Segment: through a sink that checks the format ---------------------------------------------


def test_responses_reach_segment_in_one_checked_batch(
    project: Project, segment_sink: SegmentSink, respond: Callable[..., Any]
) -> None:
    segment(project, segment_sink)
    for n in range(5):
        respond(rating=n + 5, feedback=f"comment {n}", user_id=f"cust-{n}")

    report = outbox.send_all_due()

    assert report.delivered == 10  # answered + completed per response
    assert segment_sink.problems == []
    assert len(segment_sink.received) == 1  # one batch
    request = segment_sink.received[0]
    assert request.headers["User-Agent"].startswith("django-satismeter/")
    assert request.json()["writeKey"] == WRITE_KEY
    assert request.headers["Authorization"].startswith("Basic ")
    events = Counter(m.get("event", m["type"]) for m in segment_sink.messages)
    assert events == {"Answered NPS Survey": 5, "identify": 5, "Completed NPS Survey": 5}
    assert {m["userId"] for m in segment_sink.messages} == {f"cust-{n}" for n in range(5)}
    assert segment_sink.duplicates == 0


def test_the_region_picks_the_host(
    project: Project, segment_sink: SegmentSink, respond: Callable[..., Any], settings: Any
) -> None:
    settings.SATISMETER = {
        **settings.SATISMETER,
        "SEGMENT_HOSTS": {"us": "https://api.segment.io", "eu": segment_sink.url},
    }
    Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"region": "eu"}
    )
    respond(rating=10, feedback="Great")

    outbox.send_all_due()

    assert len(segment_sink.messages) == 3


def test_batches_hold_at_most_100_messages_and_475000_bytes(
    project: Project, segment_sink: SegmentSink
) -> None:
    integration = segment(project, segment_sink)
    small = [make_delivery(integration, f"s{n}") for n in range(130)]
    big = [make_delivery(integration, f"b{n}", feedback="x" * 14_000) for n in range(40)]
    destination = SegmentDestination(integration)

    requests = destination.build(small + big).requests

    sizes = [(len(r.json()["batch"]), len(r.body)) for r in requests]
    assert sizes[:2] == [(MAX_BATCH_MESSAGES, sizes[0][1]), (MAX_BATCH_MESSAGES, sizes[1][1])]
    assert all(count <= MAX_BATCH_MESSAGES and size < 500 * 1024 for count, size in sizes)
    cut_by_size = [count for count, size in sizes[:-1] if count < MAX_BATCH_MESSAGES]
    assert cut_by_size and all(size > 440_000 for count, size in sizes[2:-1])
    assert sum(len(r.deliveries) for r in requests) == 170
    for request in requests:  # a row's identify and track travel together
        ids = {m["messageId"].removesuffix("-identify") for m in request.json()["batch"]}
        assert ids == {d.message_id for d in request.deliveries}


def make_delivery(integration: Integration, message_id: str, **response: Any) -> Delivery:
    return Delivery.objects.create(
        project=integration.project,
        integration=integration,
        destination=integration.kind,
        event="completed",
        payload=completed_payload(**response),
        message_id=message_id,
    )


def test_an_oversized_comment_is_trimmed_to_fit(
    project: Project, segment_sink: SegmentSink
) -> None:
    integration = segment(project, segment_sink)
    make_delivery(integration, "big", feedback="ü" * 40_000)

    outbox.send_all_due()

    assert states() == [("completed", "delivered")]
    assert segment_sink.problems == []
    comments = [m.get("properties", m.get("traits", {})) for m in segment_sink.messages]
    track_comment = comments[1]["comment"]
    assert track_comment.endswith("…") and 1000 < len(track_comment) < 40_000
    assert all(message_size(m) <= MAX_MESSAGE_BYTES for m in segment_sink.messages)


def test_a_message_that_cannot_fit_is_dead_with_a_reason_and_blocks_nothing(
    project: Project, segment_sink: SegmentSink
) -> None:
    integration = segment(project, segment_sink)
    make_delivery(integration, "ok-1")
    hopeless = make_delivery(integration, "hopeless")
    hopeless.payload["campaign"]["name"] = "n" * 40_000
    hopeless.save()
    make_delivery(integration, "ok-2")

    outbox.send_all_due()

    assert dict(Delivery.objects.values_list("message_id", "state")) == {
        "ok-1": "delivered",
        "hopeless": "dead",
        "ok-2": "delivered",
    }
    error = Delivery.objects.get(message_id="hopeless").last_error
    assert "over Segment's limit of 32768 bytes even without its comment" in error


def test_a_missing_segment_package_names_the_extra(
    project: Project, segment_sink: SegmentSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "segment.analytics", None)
    destination = SegmentDestination(segment(project, segment_sink))

    with pytest.raises(MissingExtraError, match=r"pip install 'django-satismeter\[segment\]'"):
        destination.client  # noqa: B018


def test_a_missing_package_keeps_rows_retrying_with_the_reason(
    project: Project, segment_sink: SegmentSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_delivery(segment(project, segment_sink), "m")
    monkeypatch.setitem(sys.modules, "segment.analytics", None)

    outbox.send_all_due()

    row = Delivery.objects.get()
    assert row.state == Delivery.State.PENDING
    assert "django-satismeter[segment]" in row.last_error


# --- answers become outcomes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_429_and_5xx_are_retried_other_4xx_are_final(status: int, retryable: bool) -> None:
    request = base.Request("https://example.test/x?token=secret", b"{}", {}, [])

    with pytest.raises(DeliveryError) as caught:
        base.raise_for_status(request, status, {})

    assert caught.value.retryable is retryable
    assert str(caught.value) == f"https://example.test answered {status} (HTTP {status})"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = timezone.now()
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert base.parse_retry_after("120") == 120
    assert 88 <= (base.parse_retry_after(later, now=now) or 0) <= 90
    assert base.parse_retry_after("soon") is None


def test_no_answer_at_all_is_retried(project: Project, respond: Callable[..., Any]) -> None:
    closed = Sink()  # never started: connection refused
    Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"host": closed.url}
    )
    respond(rating=8, feedback="ok")

    outbox.send_all_due()

    row = Delivery.objects.filter(event="completed").get()
    assert (row.state, row.last_status, row.attempts) == ("pending", None, 1)
    assert "No answer from http://127.0.0.1" in row.last_error
    attempt = DeliveryAttempt.objects.filter(delivery=row).get()
    assert (attempt.outcome, attempt.status_code) == ("retry", None)


# --- Slack ---------------------------------------------------------------------------------------


def slack(project: Project, sink: Sink, **settings: Any) -> Integration:
    return Integration.objects.create(
        project=project, kind="slack", secret=f"{sink.url}/services/T0/B0/tok", settings=settings
    )


def test_slack_gets_a_block_kit_message_with_a_link_to_the_admin(
    project: Project, sink: Sink, respond: Callable[..., Any], settings: Any
) -> None:
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": "https://nps.example.com"}
    slack(project, sink)
    response = respond(rating=2, feedback="Crashes <daily> & loses data", name="Ann")

    outbox.send_all_due()

    (request,) = sink.received
    assert request.path == "/services/T0/B0/tok"
    body = request.json()
    text = json.dumps(body["blocks"])
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "New NPS response: 2"},
    }
    assert "detractor" in text and "Quarterly NPS" in text and "Ann" in text
    assert "Crashes &lt;daily&gt; &amp; loses data" in text
    link = f"https://nps.example.com/admin/satismeter_app/response/{response.pk}/change/"
    assert link in text
    assert "2" in body["text"]
    assert states() == [("completed", "delivered")]  # Slack: completed only by default


@pytest.mark.parametrize(
    ("filter_name", "posted"),
    [("all", [9, 3, 10]), ("detractors", [3]), ("commented", [9, 3])],
)
def test_slack_filters_choose_the_responses(
    project: Project, sink: Sink, respond: Callable[..., Any], filter_name: str, posted: list
) -> None:
    slack(project, sink, filter=filter_name)
    respond(rating=9, feedback="Nice")
    respond(rating=3, feedback="Bad")
    rated = respond(rating=10)
    responses.update_response(  # closed after the score: completed without a comment
        rated.pk, rated.token, responses.ResponseInput(dismissed=True), now=timezone.now()
    )

    outbox.send_all_due()

    ratings = [json.loads(r.body)["text"].split(": ")[1].split(" ")[0] for r in sink.received]
    assert sorted(int(r) for r in ratings) == sorted(posted)


def test_slack_rate_limit_waits_for_retry_after(
    project: Project, sink: Sink, respond: Callable[..., Any]
) -> None:
    sink.answer = lambda request: (429, {"Retry-After": "120"}, b"rate_limited")
    slack(project, sink)
    respond(rating=9, feedback="ok")
    before = timezone.now()

    outbox.send_all_due()

    row = Delivery.objects.get()
    assert (row.state, row.last_status) == ("pending", 429)
    assert row.next_attempt_at >= before + timedelta(seconds=120)


def test_an_archived_slack_channel_is_final(
    project: Project, sink: Sink, respond: Callable[..., Any]
) -> None:
    sink.answer = lambda request: (410, {}, b"channel_is_archived")
    slack(project, sink)
    respond(rating=9, feedback="ok")

    outbox.send_all_due()

    row = Delivery.objects.get()
    assert (row.state, row.attempts, row.last_status) == ("dead", 1, 410)
    assert "answered 410" in row.last_error
    assert "channel_is_archived" not in row.last_error  # the status, never the answer
    assert "tok" not in row.last_error  # the webhook URL is the secret


def test_slack_message_of_a_test_has_no_admin_link() -> None:
    payload = outbox.test_payload(1, timezone.now())

    message = slack_message("test", payload)

    assert message["blocks"][0]["text"]["text"] == "Test message from django-satismeter"
    assert "/admin/" not in json.dumps(message)


# --- webhooks --------------------------------------------------------------------------------------


def webhook(project: Project, sink: Sink) -> Integration:
    return Integration.objects.create(
        project=project, kind="webhook", secret="whsec_abc", settings={"url": f"{sink.url}/hook"}
    )


def test_webhooks_post_signed_completed_and_dismissed(
    project: Project, sink: Sink, respond: Callable[..., Any]
) -> None:
    webhook(project, sink)
    respond(rating=9, feedback="Good", user_id="cust-1", traits={"plan": "pro"})
    respond(rating=None, user_id="cust-2")  # dismissed

    outbox.send_all_due()

    bodies = [request.json() for request in sink.received]
    assert [b["event"] for b in bodies] == ["completed", "dismissed"]
    assert set(bodies[0]) == {"event", "response", "traits", "campaign"}
    assert bodies[0]["response"]["feedback"] == "Good"
    assert bodies[0]["campaign"]["name"] == "Quarterly NPS"
    for request in sink.received:
        assert verify_signature(request.body, request.headers[SIGNATURE_HEADER], "whsec_abc")
        assert not verify_signature(request.body, request.headers[SIGNATURE_HEADER], "other")
    message_ids = {r.headers[MESSAGE_ID_HEADER] for r in sink.received}
    assert message_ids == set(Delivery.objects.values_list("message_id", flat=True))


def test_a_signature_fails_on_a_changed_body_or_when_stale() -> None:
    body = b'{"event":"completed"}'
    header = sign(body, "s3cret", timestamp=1_700_000_000)

    assert verify_signature(body, header, "s3cret", now=1_700_000_100)
    assert not verify_signature(body + b" ", header, "s3cret", now=1_700_000_100)
    assert not verify_signature(body, header, "s3cret", now=1_700_001_000)
    assert verify_signature(body, header, "s3cret", tolerance=0, now=1_800_000_000)
    assert not verify_signature(body, "garbage", "s3cret")
    assert not verify_signature(body, None, "s3cret")


def test_the_documented_recipe_verifies_our_signatures() -> None:
    """The stdlib-only recipe in docs/integrations.md, run as written."""
    docs = (ROOT / "docs" / "integrations.md").read_text()
    recipe = re.search(r"```python\n(# verify-webhook.*?)```", docs, re.S)
    assert recipe, "docs/integrations.md lost its verification recipe"
    namespace: dict[str, Any] = {}
    exec(recipe.group(1), namespace)  # noqa: S102 - our own documentation
    body = b'{"event":"dismissed"}'
    header = sign(body, "whsec_abc", int(time.time()))

    assert namespace["is_valid"](body, header, "whsec_abc")
    assert not namespace["is_valid"](body, header, "whsec_other")


def test_the_verification_helper_imports_without_django_settings(tmp_path: Path) -> None:
    code = (
        "from satismeter_app.destinations.webhook import sign, verify_signature\n"
        "h = sign(b'x', 's', 1)\n"
        "assert verify_signature(b'x', h, 's', tolerance=0)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr


def test_a_webhook_without_url_waits_with_the_reason(
    project: Project, respond: Callable[..., Any]
) -> None:
    Integration.objects.create(project=project, kind="webhook", secret="s")
    respond(rating=9, feedback="ok")

    outbox.send_all_due()

    row = Delivery.objects.get()
    assert row.state == "pending" and "has no URL" in row.last_error


# --- the test destination for users' own tests ------------------------------------------------


def test_locmem_keeps_what_would_be_sent(
    project: Project, respond: Callable[..., Any], settings: Any
) -> None:
    path = "satismeter_app.destinations.locmem.LocmemDestination"
    settings.SATISMETER = {"DESTINATIONS": {"segment": path, "webhook": path}}
    locmem.outbox.clear()
    Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"host": "http://192.0.2.1"}
    )
    Integration.objects.create(
        project=project, kind="webhook", secret="s", settings={"url": "http://192.0.2.1/h"}
    )
    respond(rating=10, feedback="Love it", user_id="cust-9")

    outbox.send_all_due()

    kinds = sorted(message.kind for message in locmem.outbox)
    assert kinds == ["segment", "webhook"]
    sent = next(m for m in locmem.outbox if m.kind == "segment")
    assert [m.get("event") for m in sent.body["batch"]] == [
        "Answered NPS Survey",
        None,
        "Completed NPS Survey",
    ]
    hook = next(m for m in locmem.outbox if m.kind == "webhook")
    assert hook.body["event"] == "completed" and SIGNATURE_HEADER in hook.headers
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    locmem.outbox.clear()
