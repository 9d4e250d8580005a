"""The widget's calls skip the host's middleware they do not need (satismeter_app/middleware.py).

Each middleware leaves a mark on the response it passes: the locale middleware a
``Content-Language`` header, the clickjacking one ``X-Frame-Options``, the security one
``X-Content-Type-Options``. The widget's calls carry only the last; every other route all three.
Staff previews, which need the session and the login, are tested in test_widget.py.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

SKIPPED = ("Content-Language", "X-Frame-Options")


def widget_calls(project, survey, prefix: str = "/"):
    body = {"writeKey": project.write_key, "userId": "u"}
    yield "POST", f"{prefix}api/widget", body
    yield "POST", f"{prefix}api/displays", {**body, "campaign": str(survey.pk)}
    yield "POST", f"{prefix}api/responses", {**body, "campaign": str(survey.pk), "rating": 9}
    yield "OPTIONS", f"{prefix}api/widget", None
    yield "OPTIONS", f"{prefix}api/responses/1", None


def send(client: Client, method: str, path: str, body):
    if method == "OPTIONS":
        return client.options(path, headers={"Origin": "https://app.example.com"})
    return client.post(path, body, content_type="application/json")


def test_the_widgets_calls_pass_the_security_middleware_only(project, survey):
    client = Client()
    for method, path, body in widget_calls(project, survey):
        reply = send(client, method, path, body)
        assert reply.status_code in (200, 201), (path, reply.content)
        assert reply["Access-Control-Allow-Origin"] == "*"
        assert reply["X-Content-Type-Options"] == "nosniff", path
        assert not [h for h in SKIPPED if h in reply.headers], (method, path)


def test_every_other_route_passes_the_whole_stack(project, key, survey):
    client = Client()
    answers = [
        client.get("/api/responses", headers={"AuthKey": key}),  # the export: a GET
        client.post("/api/users", {"userId": "u"}, content_type="application/json"),
        client.get("/sample"),
        client.get("/admin/login/"),
    ]
    for reply in answers:
        assert all(h in reply.headers for h in SKIPPED), reply.headers
        assert reply["X-Content-Type-Options"] == "nosniff"


@pytest.mark.urls("tests.urls_prefixed")
def test_the_app_under_a_prefix_takes_the_fast_lane_too(project, survey):
    client = Client()
    for method, path, body in widget_calls(project, survey, prefix="/nps/"):
        reply = send(client, method, path, body)
        assert reply.status_code in (200, 201), (path, reply.content)
        assert not [h for h in SKIPPED if h in reply.headers], (method, path)


def test_a_host_with_atomic_requests_keeps_its_transactions(project, survey, monkeypatch):
    monkeypatch.setitem(connections["default"].settings_dict, "ATOMIC_REQUESTS", True)
    client = Client()  # a new handler: the middleware reads the setting when it is made
    for method, path, body in widget_calls(project, survey):
        reply = send(client, method, path, body)
        assert reply.status_code in (200, 201), (path, reply.content)
        assert all(h in reply.headers for h in SKIPPED), (method, path)


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_https_redirect_still_applies(project, survey):
    reply = Client().post("/api/widget", {}, content_type="application/json")
    assert reply.status_code == 301 and reply["Location"].startswith("https://")
