"""Rate limits an attacker would probe (docs/security.md, "Client addresses and rate limits").

- The client address comes from ``X-Forwarded-For`` only behind ``TRUSTED_PROXIES`` proxies,
  so rotating the header buys no extra allowance.
- Requests refused by the per-client limit do not count toward the project's limit, so one
  client cannot lock a project's widget for everyone.
- Wrong secret keys, management tokens and admin passwords are limited per client address:
  429 with ``Retry-After``; successful requests are not counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.helpers import auth_headers

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
VISITOR = "198.51.100.20"
PROXY = "10.0.0.1"
# Limits here are per hour: a fixed window that ended mid-test would start the count again.


def widget(project: Any, remote: str, **headers: Any) -> int:
    reply = APIClient().post(
        "/api/widget",
        {"writeKey": project.write_key, "userId": "u"},
        format="json",
        REMOTE_ADDR=remote,
        **headers,
    )
    return int(reply.status_code)


# --- client addresses ---------------------------------------------------------------------------


@override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "3/hour"})
def test_rotating_x_forwarded_for_gets_no_extra_allowance(project, survey):
    codes = [widget(project, ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(1, 7)]
    assert codes == [200, 200, 200, 429, 429, 429]


@override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "2/hour", "TRUSTED_PROXIES": 1})
def test_behind_one_proxy_the_address_it_forwards_is_the_client(project, survey):
    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    def via_proxy(sent_by_client: str, seen_by_proxy: str) -> int:
        forwarded = f"{sent_by_client}, {seen_by_proxy}".lstrip(", ")
        return widget(project, PROXY, HTTP_X_FORWARDED_FOR=forwarded)

    attacker = [via_proxy(f"192.0.2.{n}", ATTACKER) for n in range(1, 5)]
    assert attacker == [200, 200, 429, 429]
    assert via_proxy("", VISITOR) == 200


@override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "2/hour"})
def test_addresses_of_one_ipv6_network_share_one_allowance(project, survey):
    # Anyone holding a /64 has 2**64 addresses to rotate through.
    codes = [widget(project, f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    assert codes == [200, 200, 429, 429]
    assert widget(project, "2001:db8:1:3::1") == 200


@override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "3/hour", "WIDGET_RATE_PER_KEY": "5/hour"})
def test_a_flood_from_one_client_leaves_other_visitors_served(project, survey):
    flood = [widget(project, ATTACKER) for _ in range(20)]
    assert flood.count(200) == 3
    assert [widget(project, VISITOR), widget(project, "198.51.100.21")] == [200, 200]


# --- guessing secret keys, tokens and passwords ---------------------------------------------


def get_project(client: APIClient, project: Any, remote: str, **headers: Any) -> Any:
    return client.get(f"/api/v3/projects/{project.pk}", REMOTE_ADDR=remote, **headers)


@override_settings(SATISMETER={"AUTH_FAILURE_RATE": "3/hour"})
def test_wrong_api_keys_are_limited_per_client_in_every_form(api_client, project, key):
    wrong = key[:-4] + "xxxx"
    tries = [
        get_project(api_client, project, ATTACKER, **auth_headers(scheme, wrong))
        for scheme in ("bearer", "basic", "authkey", "bearer")
    ]
    assert [reply.status_code for reply in tries] == [401, 401, 401, 429]
    assert 0 < int(tries[-1]["Retry-After"]) <= 3600
    # The key is not locked: a service sending a revoked key does not lock out its neighbours.
    right = auth_headers("bearer", key)
    assert get_project(api_client, project, ATTACKER, **right).status_code == 200
    assert get_project(api_client, project, VISITOR, **right).status_code == 200


@override_settings(SATISMETER={"AUTH_FAILURE_RATE": "2/hour"})
def test_wrong_keys_sent_to_the_segment_routes_count_too(api_client, project):
    def identify(write_key: str) -> int:
        body = {"writeKey": write_key, "userId": "u", "traits": {}}
        reply = api_client.post("/segment/v1/identify", body, format="json", REMOTE_ADDR=ATTACKER)
        return int(reply.status_code)

    assert [identify(f"sk_guess{n}.{'x' * 40}") for n in range(3)] == [401, 401, 429]


@override_settings(SATISMETER={"AUTH_FAILURE_RATE": "2/hour"})
def test_requests_with_the_right_key_are_not_counted(api_client, project, key):
    codes = {
        get_project(api_client, project, ATTACKER, **auth_headers("bearer", key)).status_code
        for _ in range(10)
    }
    assert codes == {200}


@override_settings(SATISMETER={"AUTH_FAILURE_RATE": "3/hour"})
def test_wrong_management_tokens_are_limited(api_client, make_staff, project):
    def projects(token: str, remote: str = ATTACKER) -> int:
        reply = api_client.get(
            "/api/manage/projects", HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=remote
        )
        return int(reply.status_code)

    assert [projects(f"{n:040x}") for n in range(4)] == [401, 401, 401, 429]
    good = Token.objects.create(user=make_staff(project)).key
    assert projects(good) == 200  # a right token is never refused
    assert projects(f"{5:040x}") == 429


def admin_login(password: str, remote: str, **headers: Any) -> Any:
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": "ops", "password": password},
        REMOTE_ADDR=remote,
        **headers,
    )


@override_settings(AXES_FAILURE_LIMIT=3)
def test_admin_passwords_are_limited_per_client(make_staff):
    make_staff(username="ops", password="the-right-password")
    tries = [
        admin_login(f"guess-{n}", ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(4)
    ]

    assert [reply.status_code for reply in tries] == [200, 200, 429, 429]
    assert int(tries[-1]["Retry-After"]) > 0
    assert admin_login("the-right-password", ATTACKER).status_code == 429
    assert admin_login("the-right-password", VISITOR).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_admin_logins_that_succeed_are_not_held_against_the_client(make_staff):
    make_staff(username="ops", password="the-right-password")
    for _ in range(5):
        assert admin_login("the-right-password", ATTACKER).status_code == 302


# --- configuration ----------------------------------------------------------------------------


def _check_messages(**satismeter: Any) -> list[str]:
    with override_settings(SATISMETER=satismeter):
        return [f"{message.id} {message.msg}" for message in checks.run_checks()]


@pytest.mark.parametrize("value", [-1, "1", True, None, 1.5])
def test_a_proxy_count_that_is_not_one_is_named_by_the_checks(value):
    assert any("TRUSTED_PROXIES" in m for m in _check_messages(TRUSTED_PROXIES=value))
    assert not any("TRUSTED_PROXIES" in m for m in _check_messages(TRUSTED_PROXIES=2))


def test_a_malformed_failure_rate_is_named_by_the_checks():
    messages = _check_messages(AUTH_FAILURE_RATE="lots")
    assert any(m.startswith("satismeter.E005") and "AUTH_FAILURE_RATE" in m for m in messages)
