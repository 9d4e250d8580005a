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
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_httpserver import HTTPServer
from rest_framework.authtoken.models import Token

from satismeter_app import checks, outbox
from satismeter_app.destinations import network
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
