"""Tenancy, route by route: no route reads or writes another project's data, whatever the
credential — a secret key (Bearer, Basic, AuthKey), a staff token or session, the public
write key, a webhook signature.

``ROUTES`` maps every route of the app to a probe; ``test_every_route_has_a_probe`` fails when
a route is added without one. Each probe works as project A and aims at project B's ids;
``b_is_untouched`` then checks that B's rows are exactly as they were.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import override_settings
from django.urls.resolvers import URLResolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from satismeter_app import urls as app_urls
from satismeter_app.models import (
    ApiKey,
    Display,
    EndUser,
    Integration,
    Membership,
    Project,
    Reminder,
    Response,
    ResponseNote,
    StaffSubscription,
    Survey,
    Tag,
    Unsubscribe,
    UserEvent,
)
from satismeter_app.services import reminders, staff_email

pytestmark = pytest.mark.django_db

KEY_SCHEMES = ["bearer", "basic", "authkey"]
STAFF_CREDENTIALS = ["token", "session"]


@dataclass
class Tenant:
    project: Project
    key: str
    survey: Survey
    user: EndUser
    response: Response
    integration: Integration
    tag: Tag


def make_tenant(name: str, make_survey, make_end_user, make_response) -> Tenant:
    project = Project.objects.create(name=name, segment_webhook_secret=f"{name}-secret")
    survey = make_survey(project, name=f"{name} NPS", min_tenure_days=0)
    user = make_end_user(
        project, user_id="shared-id", email=f"{name}@example.com", traits={"t": name}
    )
    response = make_response(survey, user=user, rating=9, feedback=f"{name} feedback")
    Display.objects.create(project=project, survey=survey, user=user)
    UserEvent.objects.create(project=project, user=user, name=f"{name} event")
    Unsubscribe.objects.create(project=project, email=f"gone-{name}@example.com", source="link")
    integration = Integration.objects.create(
        project=project, kind="webhook", name=f"{name} hook", secret=f"{name}-hook-secret"
    )
    tag = Tag.objects.create(project=project, name=f"{name}-tag", color="#123456")
    response.tags.add(tag)
    ResponseNote.objects.create(response=response, text=f"{name} note")
    key = ApiKey.issue(project)[1]
    return Tenant(project, key, survey, user, response, integration, tag)


@pytest.fixture
def a(make_survey, make_end_user, make_response) -> Tenant:
    return make_tenant("alpha", make_survey, make_end_user, make_response)


@pytest.fixture
def b(make_survey, make_end_user, make_response) -> Tenant:
    return make_tenant("bravo", make_survey, make_end_user, make_response)


def snapshot(project: Project) -> dict[str, Any]:
    """Everything of project B that a route could change."""
    project.refresh_from_db()
    return {
        "project": (project.name, project.segment_webhook_secret, project.default_language),
        "surveys": list(Survey.objects.filter(project=project).values()),
        "users": list(EndUser.objects.filter(project=project).values()),
        "responses": list(Response.objects.filter(project=project).values()),
        "displays": Display.objects.filter(project=project).count(),
        "events": UserEvent.objects.filter(project=project).count(),
        "unsubscribes": list(Unsubscribe.objects.filter(project=project).values("email")),
        "integrations": list(Integration.objects.filter(project=project).values()),
        "tags": list(Tag.objects.filter(project=project).values()),
        "tagged": list(Response.tags.through.objects.filter(tag__project=project).values()),
        "notes": list(ResponseNote.objects.filter(response__project=project).values()),
    }


# --- credentials -------------------------------------------------------------------------------------


def key_client(key: str, scheme: str) -> APIClient:
    client = APIClient()
    if scheme == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    elif scheme == "basic":
        encoded = base64.b64encode(f"{key}:".encode()).decode()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    else:
        client.credentials(HTTP_AUTHKEY=key)
    return client


def staff_client(user: Any, how: str) -> APIClient:
    client = APIClient()
    if how == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    else:
        client.force_login(user)  # CSRF is not enforced by APIClient: the scope is what's tested
    return client


def text(reply) -> str:
    if getattr(reply, "streaming", False):
        return b"".join(reply.streaming_content).decode()
    return reply.content.decode()


def leaks(reply, b: Tenant) -> list[str]:
    """Marks of B that must never appear in an answer to A."""
    body = text(reply)
    marks = ["bravo@example.com", "bravo feedback", "gone-bravo@", "bravo hook", "bravo NPS"]
    marks += ["bravo-tag", "bravo note"]
    marks += ["bravo-secret", "bravo-hook-secret", b.key, b.project.write_key]
    return [mark for mark in marks if mark in body]


# --- probes: one per route ---------------------------------------------------------------------------


def secret_key_probe(requests: Callable[[Tenant, Tenant], list[tuple[str, str, Any, set[int]]]]):
    """Run ``(method, url, body, allowed statuses)`` with A's key in every scheme."""

    def probe(a: Tenant, b: Tenant, **_: Any) -> None:
        for scheme in KEY_SCHEMES:
            client = key_client(a.key, scheme)
            for method, url, body, allowed in requests(a, b):
                reply = getattr(client, method)(url, body, format="json")
                assert reply.status_code in allowed, (scheme, method, url, reply.status_code)
                assert not leaks(reply, b), (scheme, method, url, leaks(reply, b))
            # B's own key, in the same scheme, is not A's: it sees B and only B.
            assert key_client(b.key, scheme).get("/api/v2/response-statistics").status_code == 200

    return probe


def _responses(a, b):
    return [
        ("get", f"/api/responses?project={b.project.pk}", None, {403}),
        ("get", "/api/responses", None, {200}),
        ("get", "/api/responses?format=csv", None, {200}),
        ("get", "/api/responses?tag=bravo-tag&status=open", None, {200}),
    ]


def _response(a, b):
    return [("get", f"/api/responses/{b.response.pk}", None, {404})]


def _users(a, b):
    return [
        ("get", f"/api/users?project={b.project.pk}", None, {403}),
        ("get", "/api/users?userId=shared-id", None, {200}),
        (
            "post",
            "/api/users",
            {"project": str(b.project.pk), "userId": "shared-id", "traits": {"t": "x"}},
            {403},
        ),
        ("post", "/api/users", {"userId": "shared-id", "traits": {"pwned": True}}, {200}),
    ]


def _user(a, b):
    return [
        ("delete", f"/api/users/{b.user.pk}", None, {404}),
        ("delete", f"/api/users/{b.user.pk}?mode=delete", None, {404}),
    ]


def _user_export(a, b):
    return [("get", f"/api/users/{b.user.pk}/export", None, {404})]


def _statistics(a, b):
    return [
        ("get", f"/api/v2/response-statistics?project={b.project.pk}", None, {403}),
        ("get", "/api/v2/response-statistics", None, {200}),
    ]


def _unsubscribes(a, b):
    url = f"/api/v2/project-unsubscribes/{b.project.pk}"
    return [
        ("get", url, None, {403}),
        ("patch", url, {"data": {"attributes": {"emails": []}}}, {403}),
    ]


def _v3(suffix: str, other_campaign: bool = False):
    def requests(a, b):
        rows = [
            ("get", f"/api/v3/projects/{b.project.pk}{suffix.format(cid=b.survey.pk)}", None, {403})
        ]
        if other_campaign:
            rows.append(
                (
                    "get",
                    f"/api/v3/projects/{a.project.pk}{suffix.format(cid=b.survey.pk)}",
                    None,
                    {404},
                )
            )
        return rows

    return requests


def segment_probe(route: str):
    messages = {
        "identify": {"userId": "shared-id", "traits": {"t": "pwned"}},
        "track": {"userId": "shared-id", "event": "pwned"},
        "page": {"userId": "shared-id", "properties": {"url": "https://pwned"}},
        "screen": {"userId": "shared-id", "name": "pwned"},
        "group": {"userId": "shared-id", "groupId": "g", "traits": {"t": "pwned"}},
    }

    def probe(a: Tenant, b: Tenant, **_: Any) -> None:
        if route in ("batch", "import"):
            body = {"batch": [{"type": t, **m} for t, m in messages.items()]}
        else:
            body = messages[route]
        for scheme in [*KEY_SCHEMES, "writeKey"]:
            if scheme == "writeKey":
                client, sent = APIClient(), {**body, "writeKey": a.key}
            else:
                client, sent = key_client(a.key, scheme), body
            reply = client.post(f"/segment/v1/{route}", sent, format="json")
            assert reply.status_code == 200, (scheme, reply.content)
            assert not leaks(reply, b)
        # B's public write key is no secret key: refused, nothing written.
        reply = APIClient().post(
            f"/segment/v1/{route}", {**body, "writeKey": b.project.write_key}, format="json"
        )
        assert reply.status_code == 401

    return probe


def webhook_probe(a: Tenant, b: Tenant, **_: Any) -> None:
    raw = json.dumps({"type": "identify", "userId": "shared-id", "traits": {"t": "pwned"}}).encode()
    for secret in ("alpha-secret", "", "bravo-secret-guess"):
        signature = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
        reply = APIClient().post(
            f"/segment/webhook/{b.project.pk}", raw, content_type="application/json",
            HTTP_X_SIGNATURE=signature,
        )  # fmt: skip
        assert reply.status_code == 401
    # A's own secret writes A's user, never B's.
    signature = hmac.new(b"alpha-secret", raw, hashlib.sha1).hexdigest()
    reply = APIClient().post(
        f"/segment/webhook/{a.project.pk}", raw, content_type="application/json",
        HTTP_X_SIGNATURE=signature,
    )  # fmt: skip
    assert reply.status_code == 200


def manage_probe(resource: str, detail: str = ""):
    """Staff of A (member and project admin), by token and by session, aim at B's objects."""

    def b_object(b: Tenant) -> int:
        return {
            "projects": b.project.pk,
            "surveys": b.survey.pk,
            "integrations": b.integration.pk,
            "users": b.user.pk,
            "responses": b.response.pk,
            "tags": b.tag.pk,
        }[resource]

    def probe(a: Tenant, b: Tenant, members: list[Any], **_: Any) -> None:
        for user in members:
            for how in STAFF_CREDENTIALS:
                client = staff_client(user, how)
                base = f"/api/manage/{resource}"
                if not detail:
                    reply = client.get(base)
                    assert reply.status_code == 200 and not leaks(reply, b)
                    if resource != "projects":
                        reply = client.get(base, {"project": b.project.pk})
                        assert reply.status_code == 200 and reply.json()["results"] == []
                    if resource in ("surveys", "integrations", "tags"):
                        body = {"project": b.project.pk, "name": "pwned", "kind": "webhook"}
                        reply = client.post(base, body, format="json")
                        assert reply.status_code == 400, reply.content
                    continue
                suffix = "" if detail == "detail" else detail
                url = f"{base}/{b_object(b)}{suffix}"
                if detail == "detail":  # the same route finds A's own object: it resolves
                    own = client.get(f"{base}/{b_object(a)}")
                    assert own.status_code == 200, (base, own.status_code)
                if detail == "/erase":
                    assert client.post(url, {"mode": "delete"}, format="json").status_code == 404
                    continue
                if detail == "/notes":
                    assert client.post(url, {"text": "pwned"}, format="json").status_code == 404
                if detail == "/work":  # A's response, B's tag: refused
                    body = {"tags": [b.tag.name]}
                    own = client.patch(f"{base}/{a.response.pk}/work", body, format="json")
                    assert own.status_code == 400, own.content
                reply = client.get(url)
                assert reply.status_code == 404 and not leaks(reply, b)
                for method in ("patch", "put", "delete"):
                    reply = getattr(client, method)(url, {"name": "pwned"}, format="json")
                    assert reply.status_code in (404, 405), (method, url, reply.status_code)
            # A's secret key is not a staff credential.
            assert key_client(a.key, "bearer").get(f"/api/manage/{resource}").status_code in (
                401,
                403,
            )

    return probe


def widget_probe(route: str):
    """The public write key of A, naming B's campaign and response."""

    def probe(a: Tenant, b: Tenant, **_: Any) -> None:
        client = APIClient()
        common = {"writeKey": a.project.write_key, "userId": "shared-id", "traits": {"t": "pwned"}}
        if route == "widget":
            reply = client.post(
                "/api/widget", {**common, "previewCampaign": str(b.survey.pk)}, format="json"
            )
            assert not leaks(reply, b)
        elif route == "displays":
            reply = client.post(
                "/api/displays", {**common, "campaign": str(b.survey.pk)}, format="json"
            )
            assert reply.status_code == 400
        elif route == "responses":
            body = {**common, "campaign": str(b.survey.pk), "rating": 0}
            assert client.post("/api/responses", body, format="json").status_code == 400
            # The write key is no secret key: no export.
            reply = client.get("/api/responses", HTTP_AUTHORIZATION=f"Bearer {a.project.write_key}")
            assert reply.status_code == 401
        elif route == "response":
            reply = client.put(
                f"/api/responses/{b.response.pk}", {"feedback": "pwned"}, format="json",
                HTTP_AUTH_TOKEN="guess",
            )  # fmt: skip
            assert reply.status_code == 403
            # A's secret key cannot read B's response either (secret_key_probe covers schemes).
            assert (
                key_client(a.key, "bearer").get(f"/api/responses/{b.response.pk}").status_code
                == 404
            )

    return probe


def public_probe(url: str):
    def probe(a: Tenant, b: Tenant, members: list[Any], **_: Any) -> None:
        for client in (APIClient(), staff_client(members[0], "session")):
            reply = client.get(url)
            assert reply.status_code in (200, 304)
            assert not leaks(reply, b)

    return probe


def sample_probe(a: Tenant, b: Tenant, members: list[Any], **_: Any) -> None:
    with override_settings(DEBUG=False):
        assert APIClient().get("/sample").status_code == 404
        reply = staff_client(members[0], "session").get("/sample")
        assert reply.status_code == 200 and not leaks(reply, b)


def email_probe(kind: str):
    """Reminder links carry their own signed token: A's link acts on A's reminder only, and a
    token signed by anyone else (here: another salt) is refused."""

    def probe(a: Tenant, b: Tenant, members: list[Any], **_: Any) -> None:
        mine = Reminder.objects.create(
            project=a.project, survey=a.survey, user=a.user, period=0, email=a.user.email, nonce="n"
        )
        forged = signing.dumps({"r": mine.pk, "k": kind, "s": 9, "n": "n"}, salt="other")
        prefix = {"score": "r", "unsubscribe": "u", "honeypot": "h"}[kind]
        for client in (APIClient(), staff_client(members[0], "session")):
            assert client.get(f"/email/{prefix}/{forged}").status_code == 404
        score = 9 if kind == "score" else None
        reply = APIClient().get(urlsplit(reminders.link(mine, kind, score)).path)
        assert reply.status_code in (200, 204) and not leaks(reply, b)

    return probe


def staff_email_probe(a: Tenant, b: Tenant, members: list[Any], **_: Any) -> None:
    """A staff opt-out link carries its signed token: it turns off its own subscription's
    alerts, and a token signed by anyone else is refused."""
    mine = StaffSubscription.objects.create(user=members[0], project=a.project)
    forged = signing.dumps({"s": mine.pk, "k": "alert"}, salt="other")
    for client in (APIClient(), staff_client(members[0], "session")):
        assert client.post(f"/email/staff-off/{forged}").status_code == 404
    mine.refresh_from_db()
    assert mine.detractor_alerts
    reply = APIClient().post(urlsplit(staff_email.off_link(mine, "alert")).path)
    assert reply.status_code == 200 and not leaks(reply, b)
    mine.refresh_from_db()
    assert not mine.detractor_alerts


ROUTES: dict[str, Callable[..., None]] = {
    "widget": widget_probe("widget"),
    "displays": widget_probe("displays"),
    "responses": secret_key_probe(_responses),
    "response": secret_key_probe(_response),
    "users": secret_key_probe(_users),
    "user": secret_key_probe(_user),
    "user-export": secret_key_probe(_user_export),
    "v2-statistics": secret_key_probe(_statistics),
    "v2-unsubscribes": secret_key_probe(_unsubscribes),
    "v3-project": secret_key_probe(_v3("")),
    "v3-campaigns": secret_key_probe(_v3("/campaigns")),
    "v3-campaign": secret_key_probe(_v3("/campaigns/{cid}", other_campaign=True)),
    "v3-responses": secret_key_probe(_v3("/responses")),
    "v3-campaign-responses": secret_key_probe(_v3("/campaigns/{cid}/responses", True)),
    "v3-campaign-statistics": secret_key_probe(_v3("/campaigns/{cid}/statistics", True)),
    **{f"segment-{t}": segment_probe(t) for t in app_urls.SEGMENT_TYPES},
    "segment-batch": segment_probe("batch"),
    "segment-import": segment_probe("import"),
    "segment-webhook": webhook_probe,
    **{
        f"manage-{name}-list": manage_probe(f"{name}s")
        for name in ("project", "survey", "integration", "user", "response", "tag")
    },
    **{
        f"manage-{name}-detail": manage_probe(f"{name}s", "detail")
        for name in ("project", "survey", "integration", "user", "response", "tag")
    },
    "manage-response-work": manage_probe("responses", "/work"),
    "manage-response-notes": manage_probe("responses", "/notes"),
    "manage-user-erase": manage_probe("users", "/erase"),
    "manage-user-export": manage_probe("users", "/export"),
    "schema": public_probe("/api/schema/"),
    "docs": public_probe("/api/docs/"),
    "script": public_probe("/js"),
    "script-legacy": public_probe("/satismeter.js"),
    "script-questions": public_probe("/js/questions"),
    "sample": sample_probe,
    "email-score": email_probe("score"),
    "email-unsubscribe": email_probe("unsubscribe"),
    "email-honeypot": email_probe("honeypot"),
    "staff-email-off": staff_email_probe,
}


def route_names(patterns: list[Any]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= route_names(pattern.url_patterns)
        elif pattern.name:
            names.add(pattern.name)
    return names


def test_every_route_has_a_probe():
    assert route_names(app_urls.urlpatterns) == set(ROUTES)


@pytest.fixture
def members(a, django_user_model) -> list[Any]:
    """A member and a project admin of A (no passwords: hashing them is slow, and unused)."""
    users = []
    for role in Membership.Role.MEMBER, Membership.Role.ADMIN:
        user = django_user_model.objects.create(username=f"a-{role}", is_staff=True)
        Membership.objects.create(user=user, project=a.project, role=role)
        users.append(user)
    return users


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_no_route_reads_or_writes_another_projects_data(route, a, b, members):
    before = snapshot(b.project)
    ROUTES[route](a, b, members=members)
    assert snapshot(b.project) == before


@pytest.mark.parametrize("how", STAFF_CREDENTIALS)
def test_a_superuser_without_staff_status_reaches_no_staff_page(how, a, django_user_model):
    """Staff status comes first on every staff surface: the admin, the management API, the
    sample page (when DEBUG is off) and the widget's previews all follow permissions.py."""
    user = django_user_model.objects.create(username="former", is_superuser=True)
    client = staff_client(user, how)
    assert client.get("/api/manage/projects").status_code in (401, 403)
    if how == "session":
        with override_settings(DEBUG=False):
            assert client.get("/sample").status_code == 404
        assert client.get("/admin/satismeter_app/project/").status_code == 302  # to the login
