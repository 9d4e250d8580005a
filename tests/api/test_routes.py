"""SatisMeter's routes answer the same with and without a trailing slash, never by a redirect
(clients do not follow one for a POST or PUT), in the tests' host project and in the example
project, whose CommonMiddleware (APPEND_SLASH) stands in front of them; and the URLs the app
hands out keep the prefix the app is mounted under, with the scheme the client used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import resolve, reverse, set_script_prefix

from project import settings as example
from satismeter_app.destinations import slack
from satismeter_app.models import Reminder, Response
from satismeter_app.services import reminders
from satismeter_app.urls import COMPATIBLE

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "shared-secret-from-segment"
SEGMENT_BODIES: dict[str, dict[str, Any]] = {
    "identify": {"traits": {"plan": "pro"}},
    "track": {"event": "Signed Up"},
    "page": {"name": "Home"},
    "screen": {"name": "Home"},
    "group": {"groupId": "g1", "traits": {"name": "Acme"}},
}


@dataclass
class World:
    """What the calls name: a project with a survey, a user, a response and its token."""

    project: Any
    survey: Any
    user: Any
    response_id: int
    token: str
    key: str

    def kwargs(self, route: str) -> dict[str, Any]:
        """The values of the route's path parameters."""
        pk = self.user.pk if route.startswith("api/users/") else self.response_id
        found = {"pk": pk, "project": str(self.project.pk), "cid": str(self.survey.pk)}
        return {name: value for name, value in found.items() if f":{name}>" in route}


@dataclass
class Call:
    """One request: its JSON body (or raw bytes), query string and headers."""

    body: Any = None
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(api_client, project, survey, key, make_end_user) -> World:
    user = make_end_user(project, user_id="u1", email="ann@example.com")
    project.segment_webhook_secret = WEBHOOK_SECRET
    project.save()
    body = {"writeKey": project.write_key, "campaign": str(survey.pk), "userId": "u0", "rating": 9}
    started = api_client.post("/api/responses", body, format="json")
    assert started.status_code == 201, started.content
    response_id = int(started.json()["id"])
    return World(project, survey, user, response_id, started["auth-token"], key)


def _secret(world: World) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.key}"}


def _widget(world: World, **body: Any) -> Call:
    return Call({"writeKey": world.project.write_key, "userId": "u1", **body})


def _segment(world: World, kind: str) -> Call:
    basic = base64.b64encode(f"{world.key}:".encode()).decode()
    message = {"userId": "u1", "messageId": f"m-{kind}", **SEGMENT_BODIES.get(kind, {})}
    if kind in ("batch", "import"):
        message = {"batch": [{"type": "track", **message, **SEGMENT_BODIES["track"]}]}
    return Call(message, headers={"HTTP_AUTHORIZATION": f"Basic {basic}"})


def _webhook(world: World) -> Call:
    raw = json.dumps({"type": "track", "userId": "u1", "event": "Signed Up"}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    return Call(raw, headers={"HTTP_X_SIGNATURE": signature})


def _unsubscribes(world: World) -> Call:
    attributes = {"emails": ["ann@example.com"]}
    body = {"data": {"type": "project-unsubscribes", "attributes": attributes}}
    return Call(body, headers=_secret(world))


# The request each route and method gets; a (name, method) not here is a secret-key call with
# no body. A route added to urls.COMPATIBLE is tested with every method its view has.
CALLS: dict[tuple[str, str], Callable[[World], Call]] = {
    ("widget", "post"): lambda w: _widget(w),
    ("displays", "post"): lambda w: _widget(w, campaign=str(w.survey.pk)),
    ("responses", "post"): lambda w: _widget(w, userId="u2", campaign=str(w.survey.pk), rating=7),
    ("responses", "get"): lambda w: Call(query=f"project={w.project.pk}", headers=_secret(w)),
    ("response", "put"): lambda w: Call({"feedback": "Great"}, headers={"HTTP_AUTH_TOKEN": w.token}),
    ("users", "post"): lambda w: Call({"project": str(w.project.pk), "userId": "u3"}, headers=_secret(w)),
    ("users", "get"): lambda w: Call(query=f"project={w.project.pk}", headers=_secret(w)),
    ("v2-statistics", "get"): lambda w: Call(query=f"project={w.project.pk}", headers=_secret(w)),
    ("v2-unsubscribes", "patch"): _unsubscribes,
    ("segment-webhook", "post"): _webhook,
    **{(f"segment-{kind}", "post"): (lambda w, k=kind: _segment(w, k)) for kind in (*SEGMENT_BODIES, "batch", "import")},
    # A CORS preflight, as a browser sends it before the widget's POST and PUT. (The other
    # routes send no CORS headers: their keys belong on servers. Their OPTIONS, without a body
    # or a key, are refused alike with and without the slash.)
    **{(name, "options"): lambda w: Call(headers={
        "HTTP_ORIGIN": "https://app.example.com",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type,auth-token",
    }) for name in ("widget", "displays", "responses", "response")},
}  # fmt: skip
REFUSED = {(name, "options") for _, _, name in COMPATIBLE} - set(CALLS)

# What two calls a moment apart may differ in: the clock, and the ids of the rows they create
# (PostgreSQL's sequences do not roll back).
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
NEW_ID = re.compile(rb'"id":"\d+"')

METHODS = ("get", "post", "put", "patch", "delete", "options")
ROUTES = [
    pytest.param(route, name, method, id=f"{method.upper()} {route}")
    for route, view, name in COMPATIBLE
    for method in METHODS
    if hasattr(view, method)
]


@pytest.fixture(params=["host", "example"])
def site(request: pytest.FixtureRequest, settings: Any) -> str:
    """The tests' host project, or the example project's URLs and middleware."""
    if request.param == "example":
        settings.ROOT_URLCONF = example.ROOT_URLCONF
        settings.MIDDLEWARE = example.MIDDLEWARE
    settings.APPEND_SLASH = True  # Django's default: the redirect that must not happen
    return str(request.param)


def _answer(client: Any, method: str, url: str, call: Call) -> tuple[int, bytes, str]:
    """The status, body and Location of one call, rolled back so that the next one meets the
    same database (and the same empty rate-limit counters)."""
    cache.clear()
    raw = call.body is None or isinstance(call.body, bytes)
    data = call.body if raw else json.dumps(call.body)
    with transaction.atomic():
        reply = client.generic(
            method.upper(), url, data or b"", content_type="application/json", **call.headers
        )
        body = b"".join(reply.streaming_content) if reply.streaming else reply.content
        transaction.set_rollback(True)
    body = NEW_ID.sub(b'"id":"<id>"', TIMESTAMP.sub(b"<time>", body))
    return reply.status_code, body, re.sub(r"/\d+$", "/<id>", reply.get("Location", ""))


@pytest.mark.parametrize(("route", "name", "method"), ROUTES)
def test_a_trailing_slash_gets_the_same_answer_and_no_redirect(
    api_client, world, site, route, name, method
):
    call = CALLS.get((name, method), lambda w: Call(headers=_secret(w)))(world)
    path = reverse(f"satismeter:{name}", kwargs=world.kwargs(route))
    assert not path.endswith("/")  # reverse() gives SatisMeter's form
    query = f"?{call.query}" if call.query else ""
    plain = _answer(api_client, method, path + query, call)
    slashed = _answer(api_client, method, f"{path}/{query}", call)
    assert not 300 <= plain[0] < 400 and not 300 <= slashed[0] < 400, (plain, slashed)
    assert plain[0] not in (404, 405), plain
    if (name, method) not in REFUSED:  # a real call, answered: not a refusal both forms share
        assert plain[0] < 300, plain
    assert slashed[:2] == plain[:2]
    assert slashed[2] == plain[2]  # a new response's Location is the slash-less URL


def test_the_schema_lists_each_route_once(api_client):
    paths = api_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "/api/responses/{id}" in paths or "/api/responses/{pk}" in paths
    assert not [path for path in paths if path.endswith("/") and path[:-1] in paths]


# --- the URLs the app hands out ------------------------------------------------------------------

PREFIXED = pytest.mark.urls("tests.urls_prefixed")


@pytest.fixture
def no_public_base_url(settings: Any) -> None:
    """Without SATISMETER["PUBLIC_BASE_URL"]: the request says where the server is."""
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": ""}


def _start(client: Any, survey: Any, prefix: str = "/nps", **extra: Any) -> Any:
    body = {"writeKey": survey.project.write_key, "campaign": str(survey.pk), "userId": "u1"}
    reply = client.post(f"{prefix}/api/responses", {**body, "rating": 9}, format="json", **extra)
    assert reply.status_code == 201, reply.content
    return reply


@PREFIXED
@pytest.mark.usefixtures("no_public_base_url")
def test_location_keeps_the_prefix_and_the_comment_lands_there(api_client, survey):
    started = _start(api_client, survey)
    pk = started.json()["id"]
    assert started["Location"] == f"http://testserver/nps/api/responses/{pk}"

    headers = {"HTTP_AUTH_TOKEN": started["auth-token"], "HTTP_ORIGIN": "https://app.example.com"}
    preflight = api_client.options(started["Location"], HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT")
    assert preflight.status_code == 200 and preflight["Access-Control-Allow-Origin"] == "*"
    saved = api_client.put(started["Location"], {"feedback": "Fast"}, format="json", **headers)
    assert saved.status_code == 200, saved.content
    assert Response.objects.get(pk=pk).feedback == "Fast"


@PREFIXED
@pytest.mark.usefixtures("no_public_base_url")
def test_location_is_https_behind_a_proxy_that_says_so(api_client, survey, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = {"HTTP_HOST": "nps.example.com", "HTTP_X_FORWARDED_PROTO": "https"}
    started = _start(api_client, survey, **proxied)
    pk = started.json()["id"]
    assert started["Location"] == f"https://nps.example.com/nps/api/responses/{pk}"


@PREFIXED
@pytest.mark.parametrize(
    ("base", "script_name", "expected"),
    [
        ("https://nps.example.com", "", "https://nps.example.com/nps/api/responses/"),
        # A proxy serves the whole site under /site: SCRIPT_NAME, and the same path in the
        # setting; the request's /site is not added a second time.
        ("https://example.com/site/", "/site", "https://example.com/site/nps/api/responses/"),
        ("", "/site", "http://testserver/site/nps/api/responses/"),
    ],
)
def test_location_uses_public_base_url_when_set(
    api_client, survey, settings, base, script_name, expected
):
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": base}
    set_script_prefix(script_name or "/")  # as Django's WSGIHandler does with SCRIPT_NAME
    try:
        started = _start(api_client, survey, SCRIPT_NAME=script_name)
    finally:
        set_script_prefix("/")
    assert started["Location"] == f"{expected}{started.json()['id']}"


@PREFIXED
@pytest.mark.parametrize("base", ["https://example.com", "https://example.com/site"])
def test_links_without_a_request_keep_the_prefix(settings, survey, make_end_user, base):
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": base}
    reminder = Reminder(pk=7, survey=survey, user=make_end_user(survey.project), nonce="n")
    for kind, view in [("score", "email-score"), ("unsubscribe", "email-unsubscribe")]:
        url = reminders.link(reminder, kind, 9)
        assert url.startswith(f"{base}/nps/email/"), url
        path = url.removeprefix(base)
        assert resolve(path).url_name == view
    assert slack.admin_link(5) == f"{base}/admin/satismeter_app/response/5/change/"


@PREFIXED
def test_sample_page_snippet_names_the_script_under_the_prefix(client, survey, settings):
    settings.DEBUG = True
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": "https://nps.example.com"}
    page = client.get("/nps/sample")
    assert page.status_code == 200
    assert 'script.src = "https://nps.example.com/nps/js"' in page.context["snippet"]
    assert page.context["script_src"].startswith("http://testserver/nps/js?v=")
