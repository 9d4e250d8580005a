"""Issue #13, item 4: outgoing requests never reach this server's own network, the delivery log
shows the status and never the answer, and webhooks are signed per Standard Webhooks.

Project admins set every outbound URL (a webhook's URL, a Slack incoming-webhook URL, a Segment
host). With ``ALLOW_PRIVATE_DESTINATIONS`` off (the default; the suite turns it on for its
loopback stand-ins, these tests turn it off again) a private URL is refused when saved, through
the admin and the management API, and again when the connection opens, on the address
actually connected to: through a real loopback server (pytest-httpserver) that must receive
nothing.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import standardwebhooks.webhooks
from django.test import Client
from django.urls import reverse
from pytest_httpserver import HTTPServer
from rest_framework.authtoken.models import Token
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug import Request, Response

from satismeter_app import checks, outbox
from satismeter_app.destinations import network
from satismeter_app.destinations.webhook import (
    SIGNATURE_HEADER,
    receiver_secret,
    verify_signature,
)
from satismeter_app.models import Delivery, DeliveryAttempt, Integration, Membership, Project

pytestmark = pytest.mark.django_db

PRIVATE_URLS = {
    "http://127.0.0.1:8080/hook": "loopback",
    "http://localhost:8080/hook": "loopback",
    "http://10.1.2.3/hook": "private",
    "https://192.168.0.10/hook": "private",
    "http://[::1]/hook": "loopback",
    "http://[::ffff:127.0.0.1]/hook": "loopback",
    "http://[fd12::1]/hook": "private",
    "http://[fe80::1]/hook": "link-local",
    "http://100.64.0.1/hook": "shared",
    "http://224.0.0.1/hook": "multicast",
    "http://0.0.0.0/hook": "unspecified",
    "http://169.254.169.254/latest/meta-data/": "metadata",
    "http://[fd00:ec2::254]/latest/meta-data/": "metadata",
    "http://metadata.google.internal/computeMetadata/v1/": "metadata",
}
REBOUND = "hooks.customer.example"
OLD_SECRET = "an older secret"  # an arbitrary string, as secrets were before whsec_  # a public-looking name that resolves to 127.0.0.1
INTERNAL_ANSWER = "db_password=hunter2 internal admin panel"


@pytest.fixture
def private_off(settings: Any) -> None:
    settings.SATISMETER = {**settings.SATISMETER, "ALLOW_PRIVATE_DESTINATIONS": False}


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS that answers 127.0.0.1 for REBOUND (what a rebinding attacker's name does after
    the URL is saved) and the real answers for everything else."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == REBOUND else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def project_admin(make_staff: Callable[..., Any], project: Project) -> Any:
    user = make_staff()
    Membership.objects.create(user=user, project=project, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def admin_browser(project_admin: Any) -> Client:
    client = Client()
    client.force_login(project_admin)
    return client


@pytest.fixture
def api(project_admin: Any, api_client: Any) -> Any:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=project_admin)}")
    return api_client


def webhook_to(project: Project, url: str, secret: str = OLD_SECRET) -> Integration:
    """A webhook made in code: no form, no validation (what an old row or a rebound name
    looks like to the sender)."""
    return Integration.objects.create(
        project=project, kind="webhook", secret=secret, settings={"url": url}
    )


def send_one(integration: Integration) -> Delivery:
    """The admin's test message, sent now through the outbox."""
    delivery = outbox.send_test_message(integration)
    outbox.send_all_due()
    delivery.refresh_from_db()
    return delivery


def logged_text(delivery: Delivery) -> str:
    errors = DeliveryAttempt.objects.filter(delivery=delivery).values_list("error", flat=True)
    return " ".join([delivery.last_error, *errors])


# --- save time: the admin form and the management API ------------------------------------------


def admin_form(project: Project, kind: str, **fields: str) -> dict[str, Any]:
    data = {"project": project.pk, "kind": kind, "name": "probe", "enabled": "on"}
    return {**data, "segment_region": "us", "slack_filter": "all", **fields}


@pytest.mark.parametrize(("url", "kind"), PRIVATE_URLS.items())
def test_the_admin_refuses_a_webhook_url_into_the_private_network(
    admin_browser: Client, project: Project, private_off: None, url: str, kind: str
) -> None:
    form = admin_form(project, "webhook", webhook_url=url)

    page = admin_browser.post(reverse("admin:satismeter_app_integration_add"), form)

    assert page.status_code == 200  # the form again, with its error
    assert not Integration.objects.exists()
    assert kind in page.content.decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "slack", "secret": "https://127.0.0.1/services/T0/B0/x"},
        {"kind": "segment", "secret": "wk", "segment_host": "http://169.254.169.254"},
    ],
)
def test_the_admin_refuses_slack_and_segment_urls_into_the_private_network(
    admin_browser: Client, project: Project, private_off: None, fields: dict[str, str]
) -> None:
    page = admin_browser.post(
        reverse("admin:satismeter_app_integration_add"), admin_form(project, **fields)
    )

    assert page.status_code == 200 and not Integration.objects.exists()
    assert "address" in page.content.decode()


@pytest.mark.parametrize(("url", "kind"), PRIVATE_URLS.items())
def test_the_management_api_refuses_a_webhook_url_into_the_private_network(
    api: Any, project: Project, private_off: None, url: str, kind: str
) -> None:
    body = {"project": project.pk, "kind": "webhook", "settings": {"url": url}}

    reply = api.post("/api/manage/integrations", body, format="json")

    assert reply.status_code == 400, reply.content
    assert kind in " ".join(reply.json()["settings"])
    assert not Integration.objects.exists()


def test_the_management_api_refuses_private_slack_and_segment_urls_and_changes(
    api: Any, project: Project, private_off: None
) -> None:
    slack = {"project": project.pk, "kind": "slack", "secret": "http://10.0.0.7/services/x"}
    segment = {"project": project.pk, "kind": "segment", "settings": {"host": "http://[::1]"}}
    hook = webhook_to(project, "https://hooks.example.com/in")

    replies = [
        api.post("/api/manage/integrations", slack, format="json"),
        api.post("/api/manage/integrations", segment, format="json"),
        api.patch(
            f"/api/manage/integrations/{hook.pk}",
            {"settings": {"url": "http://127.0.0.1:9000/"}},
            format="json",
        ),
    ]

    assert [reply.status_code for reply in replies] == [400, 400, 400]
    assert "private address" in json.dumps(replies[0].json())
    assert "loopback address" in json.dumps(replies[1].json())
    hook.refresh_from_db()
    assert hook.settings == {"url": "https://hooks.example.com/in"}


def test_public_urls_still_save(api: Any, project: Project, private_off: None) -> None:
    body = {"project": project.pk, "kind": "webhook", "settings": {"url": "https://8.8.8.8/h"}}

    assert api.post("/api/manage/integrations", body, format="json").status_code == 201


def test_the_setting_allows_private_hosts_but_never_cloud_metadata(
    api: Any, project: Project, settings: Any
) -> None:
    settings.SATISMETER = {**settings.SATISMETER, "ALLOW_PRIVATE_DESTINATIONS": True}
    body = {"project": project.pk, "kind": "webhook"}

    internal = {**body, "settings": {"url": "http://10.0.0.7/hook"}}
    metadata = {**body, "settings": {"url": "http://169.254.169.254/latest/"}}

    assert api.post("/api/manage/integrations", internal, format="json").status_code == 201
    reply = api.post("/api/manage/integrations", metadata, format="json")
    assert reply.status_code == 400 and "metadata" in json.dumps(reply.json())


# --- connect time: through a real server on loopback, which must get nothing -------------------


def test_a_webhook_to_loopback_saved_before_the_check_is_refused_when_sending(
    project: Project, httpserver_ipv4: HTTPServer, private_off: None
) -> None:
    httpserver_ipv4.expect_request("/hook").respond_with_data(INTERNAL_ANSWER)
    hook = webhook_to(project, f"http://127.0.0.1:{httpserver_ipv4.port}/hook")

    delivery = send_one(hook)

    assert httpserver_ipv4.log == []
    assert delivery.state == Delivery.State.DEAD and delivery.last_status is None
    assert "127.0.0.1 is a loopback address" in delivery.last_error
    assert INTERNAL_ANSWER not in logged_text(delivery)


def test_a_name_that_resolves_to_loopback_is_refused_on_the_address_connected_to(
    api: Any, project: Project, httpserver_ipv4: HTTPServer, private_off: None, rebinding: None
) -> None:
    httpserver_ipv4.expect_request("/hook").respond_with_data(INTERNAL_ANSWER)
    url = f"http://{REBOUND}:{httpserver_ipv4.port}/hook"
    body = {"project": project.pk, "kind": "webhook", "settings": {"url": url}, "secret": "s"}
    assert api.post("/api/manage/integrations", body, format="json").status_code == 201

    delivery = send_one(Integration.objects.get())

    assert httpserver_ipv4.log == []
    assert delivery.state == Delivery.State.DEAD
    assert f"{REBOUND} resolves to 127.0.0.1, a loopback address" in delivery.last_error


def test_the_rebound_name_does_reach_the_server_when_private_hosts_are_allowed(
    project: Project, httpserver_ipv4: HTTPServer, rebinding: None
) -> None:
    """The control of the test above: the refusal is the check, not a failed lookup."""
    httpserver_ipv4.expect_request("/hook").respond_with_data("ok")

    delivery = send_one(webhook_to(project, f"http://{REBOUND}:{httpserver_ipv4.port}/hook"))

    assert delivery.state == Delivery.State.DELIVERED and len(httpserver_ipv4.log) == 1


def test_localhost_is_refused_at_connect_time(
    project: Project, httpserver_ipv4: HTTPServer, private_off: None
) -> None:
    delivery = send_one(webhook_to(project, f"http://localhost:{httpserver_ipv4.port}/h"))

    assert httpserver_ipv4.log == [] and delivery.state == Delivery.State.DEAD
    assert "localhost resolves to" in delivery.last_error


def test_slack_and_segment_are_refused_at_connect_time(
    project: Project, httpserver_ipv4: HTTPServer, private_off: None
) -> None:
    base = f"http://127.0.0.1:{httpserver_ipv4.port}"
    slack = Integration.objects.create(project=project, kind="slack", secret=f"{base}/services/x")
    segment = Integration.objects.create(
        project=project, kind="segment", secret="wk", settings={"host": base}
    )

    deliveries = [send_one(slack), send_one(segment)]

    assert httpserver_ipv4.log == []
    assert [d.state for d in deliveries] == [Delivery.State.DEAD] * 2
    assert all("a loopback address" in d.last_error for d in deliveries)


def test_a_redirect_is_not_followed(
    project: Project, httpserver_ipv4: HTTPServer, httpserver: HTTPServer
) -> None:
    inside = httpserver.url_for("/admin")
    httpserver_ipv4.expect_request("/hook").respond_with_data(
        "", status=307, headers={"Location": inside}
    )

    delivery = send_one(webhook_to(project, httpserver_ipv4.url_for("/hook")))

    assert httpserver.log == []
    assert delivery.state == Delivery.State.DEAD and delivery.last_status == 307


@pytest.mark.parametrize("status", [400, 500])
def test_the_delivery_log_shows_the_status_never_the_answer(
    project: Project, httpserver_ipv4: HTTPServer, status: int, admin_client: Client
) -> None:
    httpserver_ipv4.expect_request("/hook").respond_with_data(INTERNAL_ANSWER, status=status)

    delivery = send_one(webhook_to(project, httpserver_ipv4.url_for("/hook")))
    page = admin_client.get(reverse("admin:satismeter_app_delivery_change", args=[delivery.pk]))

    assert delivery.last_status == status and f"answered {status}" in delivery.last_error
    assert INTERNAL_ANSWER not in logged_text(delivery)
    assert page.status_code == 200 and "hunter2" not in page.content.decode()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.1.1", True),
        ("100.64.0.1", True),
        ("224.0.0.251", True),
        ("0.0.0.0", True),  # noqa: S104 - an address to judge, not to bind
        ("240.0.0.1", True),
        ("::", True),
        ("::1", True),
        ("fc00::1", True),
        ("fe80::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", True),  # NAT64 around 10.0.0.1
        ("64:ff9b::808:808", False),  # NAT64 around 8.8.8.8
    ],
)
def test_the_address_rule(address: str, refused: bool, private_off: None) -> None:
    assert bool(network.why_refused(ipaddress.ip_address(address))) is refused


# --- the setting's check ------------------------------------------------------------------------


def test_a_deploy_check_warns_when_private_hosts_are_allowed_in_production(settings: Any) -> None:
    settings.DEBUG = False
    assert [m.id for m in checks.check_private_destinations()] == ["satismeter.W013"]
    settings.SATISMETER = {**settings.SATISMETER, "ALLOW_PRIVATE_DESTINATIONS": False}
    assert checks.check_private_destinations() == []


def test_private_hosts_are_refused_by_default(settings: Any) -> None:
    settings.SATISMETER = {}
    assert network.host_refusal("127.0.0.1")


# --- Standard Webhooks signatures -----------------------------------------------------------------


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Iterator[list[Request]]:
    """A receiver that answers 500 once, then 200, and keeps what it got."""
    got: list[Request] = []

    def handler(request: Request) -> Response:
        got.append(request)
        return Response("", status=500 if len(got) == 1 else 200)

    httpserver_ipv4.expect_request("/hook").respond_with_handler(handler)
    yield got


def sent(hook: Integration, got: list[Request], settings: Any) -> Delivery:
    settings.SATISMETER = {**settings.SATISMETER, "DELIVERY_RETRY_BASE_DELAY": 0.001}
    delivery = send_one(hook)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created)
    outbox.send_all_due()
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DELIVERED and len(got) == 2
    return delivery


def test_a_new_webhook_is_signed_per_standard_webhooks(
    project: Project, httpserver_ipv4: HTTPServer, receiver: list[Request], settings: Any
) -> None:
    hook = webhook_to(project, httpserver_ipv4.url_for("/hook"), secret="")  # one is made
    secret = hook.secret

    delivery = sent(hook, receiver, settings)

    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
    for request in receiver:
        payload = Webhook(secret).verify(request.get_data(), dict(request.headers))
        assert payload["event"] == "test"
        assert request.headers["webhook-id"] == delivery.message_id  # the same on the retry
    first, again = (int(r.headers["webhook-timestamp"]) for r in receiver)
    assert abs(first - datetime.now(UTC).timestamp()) < 60 and again >= first


def test_a_replay_fails_on_its_timestamp(
    project: Project,
    httpserver_ipv4: HTTPServer,
    receiver: list[Request],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = webhook_to(project, httpserver_ipv4.url_for("/hook"), secret="")
    sent(hook, receiver, settings)
    captured = receiver[-1]
    body, headers = captured.get_data(), dict(captured.headers)

    class TenMinutesLater(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(minutes=10)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", TenMinutesLater)

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(hook.secret).verify(body, headers)
    headers["webhook-timestamp"] = str(int(TenMinutesLater.now(UTC).timestamp()))
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(hook.secret).verify(body, headers)


def test_an_old_secret_keeps_both_signatures_and_the_admin_shows_its_whsec_form(
    project: Project,
    httpserver_ipv4: HTTPServer,
    receiver: list[Request],
    settings: Any,
    admin_browser: Client,
) -> None:
    hook = webhook_to(project, httpserver_ipv4.url_for("/hook"), secret="our old shared secret")
    sent(hook, receiver, settings)
    request = receiver[-1]
    shown = receiver_secret("our old shared secret")

    page = admin_browser.get(reverse("admin:satismeter_app_integration_change", args=[hook.pk]))

    assert shown in page.content.decode()
    Webhook(shown).verify(request.get_data(), dict(request.headers))
    legacy = request.headers[SIGNATURE_HEADER]
    assert verify_signature(request.get_data(), legacy, "our old shared secret")


def test_members_who_only_view_integrations_see_no_secret(
    project: Project, make_staff: Callable[..., Any]
) -> None:
    """A project member (not an admin) may read the integrations page, not the secrets that
    send as the project: the signing secret, the Slack URL, the Segment write key."""
    integrations = [
        webhook_to(project, "https://hooks.example.com/in"),
        Integration.objects.create(
            project=project, kind="slack", secret="https://hooks.slack.com/services/T/B/tok3n"
        ),
        Integration.objects.create(project=project, kind="segment", secret="wk_live_s3cret"),
    ]
    viewer = Client()
    viewer.force_login(make_staff(project))

    for integration in integrations:
        url = reverse("admin:satismeter_app_integration_change", args=[integration.pk])
        page = viewer.get(url)
        assert page.status_code == 200
        assert integration.secret not in page.content.decode()
        assert receiver_secret(integration.secret) not in page.content.decode()


def test_webhooks_made_in_the_admin_and_the_api_get_a_standard_secret(
    admin_browser: Client, api: Any, project: Project
) -> None:
    admin_browser.post(
        reverse("admin:satismeter_app_integration_add"),
        admin_form(project, "webhook", webhook_url="https://a.example.com/h"),
    )
    body = {"project": project.pk, "kind": "webhook", "settings": {"url": "https://b.example/h"}}
    reply = api.post("/api/manage/integrations", body, format="json")

    assert reply.status_code == 201 and reply.json()["has_secret"] is True
    secrets = [hook.secret for hook in Integration.objects.order_by("pk")]
    assert len(secrets) == 2 and all(len(Webhook(s)._whsecret) == 32 for s in secrets)
    assert secrets[0].startswith("whsec_") and secrets[1].startswith("whsec_")


def test_a_typed_whsec_secret_must_be_a_standard_one(api: Any, project: Project) -> None:
    body = {"project": project.pk, "kind": "webhook", "settings": {"url": "https://a.example/h"}}
    chosen = receiver_secret("x" * 32)  # whsec_ and 32 bytes in base64

    truncated = api.post("/api/manage/integrations", {**body, "secret": chosen[:20]}, format="json")
    whole = api.post("/api/manage/integrations", {**body, "secret": chosen}, format="json")

    assert truncated.status_code == 400 and "24 to 64" in json.dumps(truncated.json())
    assert whole.status_code == 201 and Integration.objects.get().secret == chosen


def test_a_failed_connection_logs_neither_the_urls_path_nor_its_credentials() -> None:
    """requests quotes the URL's path in its errors, and a Slack URL's path is its secret."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = Project.objects.create(name="Closed port")
    hook = webhook_to(project, f"http://ops:pa55word@127.0.0.1:{port}/services/T0/B0/S3CRETPATH")

    delivery = send_one(hook)

    assert delivery.state == Delivery.State.PENDING  # no answer: retried later
    assert f"No answer from http://127.0.0.1:{port}: could not connect" in delivery.last_error
    text = logged_text(delivery)
    assert "S3CRETPATH" not in text and "pa55word" not in text and "ops:" not in text
