"""The outbox: rows written with what caused them, enqueued on commit, claimed once, retried
with backoff within a window, swept, and shown in the admin."""

from __future__ import annotations

import importlib.util
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from satismeter_app import checks, outbox, tasks
from satismeter_app.destinations.base import Outcome
from satismeter_app.exceptions import DeliveryError
from satismeter_app.models import Delivery, DeliveryAttempt, Integration, Project, Survey
from satismeter_app.services import responses
from satismeter_app.services.snapshots import project_config
from tests.delivery.harness import SegmentSink, Sink, free_port, use_broker

pytestmark = pytest.mark.django_db

WRITE_KEY = "wk_outbox_tests"
LOCMEM = "satismeter_app.destinations.locmem.LocmemDestination"


@pytest.fixture
def respond(
    project: Project, survey: Survey, make_end_user: Callable[..., Any]
) -> Callable[..., Any]:
    def make(rating: int = 9, feedback: str | None = "ok") -> Any:
        data = responses.ResponseInput(rating=rating, feedback=feedback)
        config = project_config(project.write_key)
        user = make_end_user(project)
        return responses.start_response(config, user, survey.pk, data, now=timezone.now())[0]

    return make


@pytest.fixture
def sink() -> Iterator[SegmentSink]:
    server = SegmentSink(WRITE_KEY).start()
    yield server
    server.stop()


def segment(project: Project, host: str, **fields: Any) -> Integration:
    return Integration.objects.create(
        project=project, kind="segment", secret=WRITE_KEY, settings={"host": host}, **fields
    )


def row(integration: Integration, message_id: str, **fields: Any) -> Delivery:
    payload = outbox.test_payload(integration.project_id, timezone.now())
    fields.setdefault("event", "completed")
    return Delivery.objects.create(
        project_id=integration.project_id,
        integration=integration,
        destination=integration.kind,
        payload={**payload, "event": fields["event"]},
        message_id=message_id,
        **fields,
    )


# --- written with what caused them, enqueued on commit ------------------------------------------


def test_rows_are_enqueued_once_the_answer_commits(
    project: Project, respond: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    integration = segment(project, "http://127.0.0.1:9")
    with mock.patch.object(tasks.send_deliveries, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            respond()
        assert apply_async.call_count == 0  # nothing leaves before the commit
        for callback in callbacks:
            callback()

    apply_async.assert_called_once_with((integration.pk,), retry=False)
    assert Delivery.objects.count() == 2


def test_the_api_answers_while_the_broker_is_down(
    api_client: Any,
    project: Project,
    survey: Survey,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    segment(project, "http://127.0.0.1:9")
    restore = use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            reply = api_client.post(
                "/api/responses",
                {
                    "writeKey": project.write_key,
                    "campaign": str(survey.pk),
                    "userId": "u",
                    "rating": 9,
                    "feedback": "fine",
                },
                format="json",
            )
        elapsed = time.monotonic() - started
    finally:
        restore()

    assert reply.status_code == 201, reply.content
    assert elapsed < 3
    assert Delivery.objects.filter(state="pending").count() == 2  # the sweep will send them
    assert "the sweep will send them" in caplog.text


def test_a_surveys_own_integration_replaces_the_projects_of_that_kind(
    project: Project, survey: Survey, make_survey: Callable[..., Survey]
) -> None:
    other = make_survey(project)
    project_segment = segment(project, "http://127.0.0.1:9")
    survey_segment = segment(project, "http://127.0.0.1:9", survey=survey)
    project_hook = Integration.objects.create(project=project, kind="webhook", secret="s")
    segment(project, "http://127.0.0.1:9", survey=other, enabled=False)

    for_survey = outbox.integrations_for(project.pk, survey.pk)
    for_other = outbox.integrations_for(project.pk, other.pk)

    assert {i.pk for i in for_survey} == {survey_segment.pk, project_hook.pk}
    assert {i.pk for i in for_other} == {project_segment.pk, project_hook.pk}


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("webhook", {"events": ["viewed"]}, "events"),
        ("slack", {"events": ["closed"]}, "events"),
        ("segment", {"settings": {"regoin": "eu"}}, "settings"),
        ("segment", {"settings": {"region": "mars"}}, "settings"),
        ("segment", {"settings": {"host": "api.segment.io"}}, "settings"),
        ("segment", {"settings": {"traits": ["NPS_mood"]}}, "settings"),
        ("slack", {"settings": {"filter": "promoters"}}, "settings"),
        ("slack", {"secret": "not a url"}, "secret"),
        ("webhook", {"settings": {"url": "ftp://x"}}, "settings"),
    ],
)
def test_integration_settings_are_validated(
    project: Project, kind: str, fields: dict[str, Any], field: str
) -> None:
    integration = Integration(project=project, kind=kind, **fields)

    with pytest.raises(ValidationError) as caught:
        integration.full_clean()

    assert field in caught.value.message_dict


def test_an_incomplete_integration_says_what_it_misses(project: Project) -> None:
    hook = Integration(project=project, kind="webhook")
    slack = Integration(project=project, kind="slack", secret="https://hooks.slack.com/x")

    assert hook.missing() == ["signing secret", "URL"]
    assert slack.missing() == []


# --- claims ---------------------------------------------------------------------------------------


def test_a_claim_takes_due_rows_of_its_integration_only(project: Project) -> None:
    mine = segment(project, "http://127.0.0.1:9")
    other = segment(project, "http://127.0.0.1:9")
    due = [row(mine, f"due-{n}") for n in range(3)]
    row(mine, "later", next_attempt_at=timezone.now() + timedelta(minutes=5))
    row(other, "theirs")

    claimed = outbox.claim(mine.pk, size=10)

    assert [r.message_id for r in claimed] == [r.message_id for r in due]
    assert outbox.claim(mine.pk, size=10) == []  # held until the claim times out
    held = Delivery.objects.get(pk=due[0].pk)
    assert held.state == Delivery.State.SENDING
    assert held.next_attempt_at > timezone.now() + timedelta(seconds=290)


def test_rows_of_a_dead_worker_are_claimed_again_after_the_claim_timeout(
    project: Project,
) -> None:
    integration = segment(project, "http://127.0.0.1:9")
    row(integration, "m")
    outbox.claim(integration.pk, size=10)  # ... and the worker dies

    later = timezone.now() + timedelta(seconds=301)

    assert [r.message_id for r in outbox.claim(integration.pk, 10, now=later)] == ["m"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_skip_each_others_rows(project: Project) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serializes writers instead")
    integration = segment(project, "http://127.0.0.1:9")
    for n in range(10):
        row(integration, f"m{n}")
    locked, release = threading.Event(), threading.Event()
    taken: dict[str, list[str]] = {}

    def hold_four() -> None:
        with transaction.atomic():
            rows = Delivery.objects.select_for_update(skip_locked=True).order_by("pk")[:4]
            taken["first"] = [r.message_id for r in rows]
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_four)
    holder.start()
    locked.wait(10)
    started = time.monotonic()
    taken["second"] = [r.message_id for r in outbox.claim(integration.pk, size=10)]
    waited = time.monotonic() - started
    release.set()
    holder.join()

    assert set(taken["first"]).isdisjoint(taken["second"])
    assert len(taken["second"]) == 6
    assert waited < 1  # skipped, not waited for


# --- outcomes: delivered, retried with backoff, dead ---------------------------------------------


def claimed_row(project: Project, **fields: Any) -> Delivery:
    integration = segment(project, "http://127.0.0.1:9")
    row(integration, "m", **fields)
    (claimed,) = outbox.claim(integration.pk, 10)
    return claimed


def failure(status: int | None, retry_after: float | None = None) -> DeliveryError:
    return DeliveryError("boom", status_code=status, retry_after=retry_after)


def test_a_server_error_is_retried_later_with_backoff(project: Project, settings: Any) -> None:
    settings.SATISMETER = {"DELIVERY_RETRY_BASE_DELAY": 10}
    claimed = claimed_row(project)
    now = timezone.now()

    attempt = outbox.judge(claimed, Outcome.failure(claimed, failure(503)), now)

    assert (claimed.state, claimed.attempts, claimed.last_status) == ("pending", 1, 503)
    assert now + timedelta(seconds=5) <= claimed.next_attempt_at <= now + timedelta(seconds=10)
    assert attempt.outcome == DeliveryAttempt.Outcome.RETRY


def test_retry_after_is_honoured(project: Project) -> None:
    claimed = claimed_row(project)
    now = timezone.now()

    outbox.judge(claimed, Outcome.failure(claimed, failure(429, retry_after=600)), now)

    assert claimed.next_attempt_at >= now + timedelta(seconds=600)


def test_other_client_errors_are_dead_at_once(project: Project) -> None:
    claimed = claimed_row(project)

    attempt = outbox.judge(claimed, Outcome.failure(claimed, failure(400)), timezone.now())

    assert (claimed.state, attempt.outcome) == ("dead", "dead")


def test_failures_past_the_retry_window_are_dead(project: Project) -> None:
    claimed = claimed_row(project, created=timezone.now() - timedelta(hours=5))

    outbox.judge(claimed, Outcome.failure(claimed, failure(500)), timezone.now())

    assert claimed.state == "dead"
    assert "the retry window is over" in claimed.last_error


def test_the_last_retry_comes_at_the_end_of_the_window(project: Project) -> None:
    claimed = claimed_row(
        project, created=timezone.now() - timedelta(hours=4) + timedelta(seconds=30)
    )
    now = timezone.now()

    outbox.judge(claimed, Outcome.failure(claimed, failure(500, retry_after=3600)), now)

    assert claimed.state == "pending"
    assert claimed.next_attempt_at <= claimed.created + timedelta(hours=4)


def test_backoff_doubles_with_jitter_up_to_the_cap(settings: Any) -> None:
    settings.SATISMETER = {"DELIVERY_RETRY_BASE_DELAY": 10, "DELIVERY_RETRY_MAX_DELAY": 300}
    rng = random.Random(7)

    delays = [outbox.retry_delay(n, jitter=rng.random()) for n in range(1, 10)]

    ceilings = [min(300, 10 * 2 ** (n - 1)) for n in range(1, 10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 3) for d in delays[-3:]}) == 3  # jittered, not equal
    assert outbox.retry_delay(1, retry_after=42) == 42
    assert outbox.retry_delay(3, jitter=0) == 20 and outbox.retry_delay(3, jitter=1) == 40


def test_every_attempt_is_logged_with_time_status_and_error(
    project: Project, sink: SegmentSink, settings: Any
) -> None:
    settings.SATISMETER = {
        **settings.SATISMETER,
        "DELIVERY_RETRY_BASE_DELAY": 0.01,
        "DELIVERY_RETRY_MAX_DELAY": 0.01,
    }
    integration = segment(project, sink.url)
    row(integration, "m")
    sink.answer = lambda request: (502, {}, b"bad gateway")
    outbox.send_due(integration.pk)
    time.sleep(0.05)
    sink.answer = sink.accept

    outbox.send_due(integration.pk)

    delivery = Delivery.objects.get()
    log = list(delivery.attempt_log.order_by("started").values_list("status_code", "outcome"))
    assert log == [(502, "retry"), (200, "delivered")]
    first = delivery.attempt_log.order_by("started").first()
    assert first is not None and "answered 502" in first.error and first.duration_ms >= 0
    assert "bad gateway" not in first.error  # the status, never the answer
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 2, "")


def test_a_row_taken_over_by_another_worker_is_left_to_it(project: Project) -> None:
    claimed = claimed_row(project)
    # The claim ran out and another worker claimed the row meanwhile.
    takeover = timezone.now() + timedelta(minutes=10)
    Delivery.objects.filter(pk=claimed.pk).update(next_attempt_at=takeover)

    outbox.record([claimed], {claimed.pk: Outcome.failure(claimed, failure(500))})

    fresh = Delivery.objects.get(pk=claimed.pk)
    assert (fresh.state, fresh.attempts, fresh.next_attempt_at) == ("sending", 0, takeover)
    assert "another worker has the row" in DeliveryAttempt.objects.get().error


def test_one_recording_saves_held_rows_logs_taken_ones_and_skips_deleted_ones(
    project: Project,
) -> None:
    integration = segment(project, "http://127.0.0.1:9")
    for name in ("held", "taken", "deleted"):
        row(integration, name)
    held, taken, deleted = outbox.claim(integration.pk, 10)
    takeover = timezone.now() + timedelta(minutes=10)
    Delivery.objects.filter(pk=taken.pk).update(next_attempt_at=takeover)
    Delivery.objects.filter(pk=deleted.pk).delete()
    outcomes = {r.pk: Outcome.success(r, 200) for r in (held, taken, deleted)}

    saved = outbox.record([held, taken, deleted], outcomes)

    assert [r.message_id for r in saved] == ["held"]
    states = dict(Delivery.objects.values_list("message_id", "state"))
    assert states == {"held": "delivered", "taken": "sending"}
    log = dict(DeliveryAttempt.objects.values_list("delivery__message_id", "outcome"))
    assert log == {"held": "delivered", "taken": "delivered"}
    assert "another worker has the row" in DeliveryAttempt.objects.get(delivery=taken).error
    assert Delivery.objects.get(pk=taken.pk).attempts == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_recording_waits_for_a_claim_in_progress_and_leaves_it_the_row(
    project: Project,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes writers instead")
    integration = segment(project, "http://127.0.0.1:9")
    row(integration, "m")
    (claimed,) = outbox.claim(integration.pk, 10)
    locked, release = threading.Event(), threading.Event()
    takeover = timezone.now() + timedelta(minutes=10)

    def claim_it_again() -> None:  # another worker, once this one's claim ran out
        with transaction.atomic():
            Delivery.objects.select_for_update().get(pk=claimed.pk)
            locked.set()
            release.wait(10)
            Delivery.objects.filter(pk=claimed.pk).update(next_attempt_at=takeover)
        connection.close()

    other = threading.Thread(target=claim_it_again)
    other.start()
    locked.wait(10)
    threading.Timer(0.3, release.set).start()
    saved = outbox.record([claimed], {claimed.pk: Outcome.success(claimed, 200)})
    other.join()

    assert saved == []
    fresh = Delivery.objects.get(pk=claimed.pk)
    assert (fresh.state, fresh.attempts, fresh.next_attempt_at) == ("sending", 0, takeover)
    assert DeliveryAttempt.objects.get().outcome == "delivered"


def test_a_row_that_breaks_the_builder_dies_alone(project: Project, sink: SegmentSink) -> None:
    integration = segment(project, sink.url)
    row(integration, "fine-1")
    broken = row(integration, "broken")
    broken.payload = {"event": "completed"}  # no timestamp, no user: the builder raises
    broken.save()
    row(integration, "fine-2")

    outbox.send_due(integration.pk)

    assert dict(Delivery.objects.values_list("message_id", "state")) == {
        "fine-1": "delivered",
        "broken": "dead",
        "fine-2": "delivered",
    }


# --- the sweep --------------------------------------------------------------------------------------


def test_the_sweep_enqueues_integrations_with_rows_due(project: Project) -> None:
    due = segment(project, "http://127.0.0.1:9")
    waiting = segment(project, "http://127.0.0.1:9")
    disabled = segment(project, "http://127.0.0.1:9", enabled=False)
    row(due, "a")
    row(due, "b", state="sending", next_attempt_at=timezone.now() - timedelta(seconds=1))
    row(waiting, "c", next_attempt_at=timezone.now() + timedelta(minutes=1))
    row(disabled, "d")
    orphan = row(segment(project, "http://127.0.0.1:9"), "e")
    orphan.integration.delete()

    with mock.patch.object(tasks.send_deliveries, "apply_async") as apply_async:
        swept = outbox.sweep()

    assert swept == [due.pk]
    apply_async.assert_called_once_with((due.pk,), retry=False)
    dead = Delivery.objects.get(message_id="e")
    assert (dead.state, dead.last_error) == ("dead", "The integration was deleted.")


def test_the_example_project_schedules_the_sweep() -> None:
    from project import settings as example

    schedule = example.CELERY_BEAT_SCHEDULE["satismeter-sweep-deliveries"]

    assert (
        schedule["task"] == tasks.sweep_deliveries.name == "satismeter_app.tasks.sweep_deliveries"
    )


# --- the admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(make_staff: Callable[..., Any], project: Project) -> Client:
    client = Client()
    client.force_login(make_staff(superuser=True))
    return client


def test_retry_now_makes_rows_due_with_a_fresh_window_and_enqueues_them(
    admin_client: Client, project: Project, django_capture_on_commit_callbacks: Any
) -> None:
    integration = segment(project, "http://127.0.0.1:9")
    dead = row(integration, "m", state="dead", created=timezone.now() - timedelta(hours=6))
    url = reverse("admin:satismeter_app_delivery_changelist")

    with (
        mock.patch.object(tasks.send_deliveries, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(url, {"action": "retry", "_selected_action": [dead.pk]})

    dead.refresh_from_db()
    assert dead.state == "pending" and dead.next_attempt_at <= timezone.now()
    assert dead.retry_until is not None and dead.retry_until > timezone.now() + timedelta(hours=3)
    apply_async.assert_called_once_with((integration.pk,), retry=False)


def test_send_test_message_goes_through_the_outbox(
    admin_client: Client, project: Project, settings: Any
) -> None:
    from satismeter_app.destinations import locmem

    settings.SATISMETER = {"DESTINATIONS": {"webhook": LOCMEM}}
    locmem.outbox.clear()
    hook = Integration.objects.create(
        project=project, kind="webhook", secret="s", settings={"url": "https://example.test/h"}
    )
    url = reverse("admin:satismeter_app_integration_changelist")

    page = admin_client.post(
        url, {"action": "send_test_message", "_selected_action": [hook.pk]}, follow=True
    )
    outbox.send_all_due()

    assert "1 test message is on its way" in page.content.decode()
    (sent,) = locmem.outbox
    assert sent.body["event"] == "test" and sent.body["response"]["rating"] == 10
    assert Delivery.objects.get().state == "delivered"
    locmem.outbox.clear()


def test_the_delivery_log_filters_and_shows_attempts(
    admin_client: Client, project: Project
) -> None:
    integration = segment(project, "http://127.0.0.1:9")
    failed = row(integration, "failed", state="dead", last_error="HTTP 400: bad")
    row(integration, "fine", state="delivered", delivered_at=timezone.now())
    DeliveryAttempt.objects.create(
        delivery=failed,
        started=timezone.now(),
        duration_ms=12,
        status_code=400,
        outcome="dead",
        error="bad write key",
    )
    url = reverse("admin:satismeter_app_delivery_changelist")

    by_state = admin_client.get(url, {"state": "dead", "destination": "segment"})
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    by_date = admin_client.get(  # the date filter's "Today"
        url, {"created__gte": str(midnight), "created__lt": str(midnight + timedelta(days=1))}
    )
    detail = admin_client.get(reverse("admin:satismeter_app_delivery_change", args=[failed.pk]))

    assert [d.message_id for d in by_state.context["cl"].result_list] == ["failed"]
    assert len(by_date.context["cl"].result_list) == 2
    assert "bad write key" in detail.content.decode()


def test_the_integration_form_writes_settings_per_kind_and_hides_secrets(
    admin_client: Client, project: Project
) -> None:
    url = reverse("admin:satismeter_app_integration_add")
    secret_url = "https://hooks.slack.com/services/T0/B0/very-secret-token"

    admin_client.post(
        url,
        {
            "project": project.pk,
            "kind": "slack",
            "name": "team",
            "enabled": "on",
            "events": ["completed"],
            "secret": secret_url,
            "slack_filter": "detractors",
            "segment_region": "us",
            "segment_traits": ["NPS_rating"],
        },
    )
    slack = Integration.objects.get(name="team")
    page = admin_client.get(reverse("admin:satismeter_app_integration_change", args=[slack.pk]))

    assert slack.settings == {"filter": "detractors"}
    assert slack.secret == secret_url
    assert "very-secret-token" not in page.content.decode()
    assert "https://hooks.slack.com/…" in page.content.decode()


def test_saving_an_incomplete_integration_warns(admin_client: Client, project: Project) -> None:
    page = admin_client.post(
        reverse("admin:satismeter_app_integration_add"),
        {
            "project": project.pk,
            "kind": "webhook",
            "name": "hook",
            "enabled": "on",
            "segment_region": "us",
            "slack_filter": "all",
        },
        follow=True,
    )

    # The signing secret is made with the integration (a Standard Webhooks secret).
    assert "sends nothing until it has its URL." in page.content.decode()
    assert Integration.objects.get().secret.startswith("whsec_")


# --- system checks --------------------------------------------------------------------------------------


def test_checks_report_incomplete_integrations_and_missing_packages(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    Integration.objects.create(project=project, kind="webhook", name="hook")
    Integration.objects.create(project=project, kind="slack", secret="https://hooks.slack.com/x")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: None if name == "slack_sdk" else real_find_spec(name),
    )

    found = checks.check_integrations(databases=["default"])

    assert [m.id for m in found] == ["satismeter.W011", "satismeter.W012"]
    assert "has no URL" in found[0].msg  # the signing secret is made with the integration
    assert "django-satismeter[slack]" in found[1].msg
    assert checks.check_integrations(databases=None) == []


def test_checks_report_bad_delivery_settings(settings: Any) -> None:
    settings.SATISMETER = {
        "DESTINATIONS": {"slack": "nowhere.Destination"},
        "SEGMENT_HOSTS": {"us": "https://api.segment.io/v1"},
        "DELIVERY_CLAIM_TIMEOUT": 30,
        "REQUESTS_TIMEOUT": 10,
    }

    ids = [message.id for message in checks.check_settings()]

    assert {"satismeter.E010", "satismeter.E011", "satismeter.W010"} <= set(ids)


@pytest.mark.parametrize(("claim", "warned"), [(150, True), (200, False)])
def test_the_claim_timeout_covers_the_requests_of_two_claims(
    settings: Any, claim: int, warned: bool
) -> None:
    """A worker holds the claim it sends and the next one, whose requests wait for it."""
    settings.SATISMETER = {"DELIVERY_CLAIM_TIMEOUT": claim, "REQUESTS_TIMEOUT": 10}

    ids = [message.id for message in checks.check_settings()]

    assert ("satismeter.W010" in ids) is warned


def test_a_slack_sink_that_is_down_is_retried(
    project: Project, respond: Callable[..., Any]
) -> None:
    down = Sink()
    Integration.objects.create(project=project, kind="slack", secret=f"{down.url}/hook")
    respond()

    outbox.send_all_due()

    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.last_status is None
