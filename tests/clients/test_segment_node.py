"""Segment's Node library, ``@segment/analytics-node`` (the version package-lock.json pins),
sends to the Segment inbound routes of a live server, as a customer's back end would.

The library builds its URL as ``new URL(path, host)`` with ``path`` ``/v1/batch`` by default,
so a ``host`` of ``https://<server>/segment`` posts to ``/v1/batch`` at the root: it takes
``host`` plus ``path: "/segment/v1/batch"`` (docs/rest-api.md, "Segment's libraries"). It
authenticates with HTTP Basic (the key as user name) and the key in the body, and retries 5xx
answers with the same messageIds, which the routes apply once.

node and npm come from the machine (Debian's packages); the library from npm, installed here
with ``npm ci`` when it is missing. Without node or npm the tests skip, unless REQUIRE_NODE is
set (CI), where they fail.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from satismeter_app.models import ApiKey, EndUser, Project, UserEvent

NODE_DIR = Path(__file__).parent / "node"
LIBRARY = NODE_DIR / "node_modules" / "@segment" / "analytics-node"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "rest-api.md"
CREATED = datetime(2015, 6, 16, 9, 19, 47, tzinfo=UTC)
# A back end's day: who the user is, their company, what they did, where they were.
CALLS = [
    [
        "identify",
        {
            "userId": "u-7",
            "traits": {"email": "ann@example.com", "plan": "pro", "createdAt": CREATED.isoformat()},
        },
    ],
    ["group", {"userId": "u-7", "groupId": "acme", "traits": {"name": "Acme Inc"}}],
    ["track", {"userId": "u-7", "event": "Upgraded", "properties": {"to": "pro"}}],
    ["page", {"userId": "u-7", "name": "Pricing", "properties": {"url": "https://app.example/p"}}],
    ["screen", {"userId": "u-7", "name": "Home"}],
]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the library installed beside this file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        reason = "node and npm are not installed (apt-get install nodejs npm)"
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail(reason)  # CI: the real client must run
        pytest.skip(reason)
    if not LIBRARY.exists():
        command = [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"]
        subprocess.run(command, check=True, timeout=300)
    return node


def documented_path() -> str:
    """The ``path`` docs/rest-api.md tells a Node user to set: what a customer copies."""
    found = re.search(r'new Analytics\(\{[^}]*?path: "([^"]+)"', DOCS.read_text())
    assert found, "docs/rest-api.md shows no path for @segment/analytics-node"
    return found.group(1)


PATH = "/segment/v1/batch"


def send(node: str, settings: dict[str, Any], calls: list[Any] = CALLS) -> dict[str, Any]:
    """Run the library over ``calls``; what it saw: answers and delivery failures."""
    argument = json.dumps({"settings": settings, "calls": calls})
    done = subprocess.run(
        [node, "send.js", argument], cwd=NODE_DIR, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def key(project: Project) -> str:
    return ApiKey.issue(project, "segment-node")[1]


def statuses(seen: dict[str, Any]) -> list[int]:
    return [answer["status"] for answer in seen["answers"]]


def test_the_installed_library_is_the_pinned_one(node: str) -> None:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@segment/analytics-node"]["version"]
    installed = json.loads((LIBRARY / "package.json").read_text())["version"]
    assert installed == pinned == "3.1.0"


def test_the_documented_host_and_path_deliver_every_call_in_one_batch(
    node: str, live_server: Any, project: Project, key: str
) -> None:
    assert documented_path() == PATH
    seen = send(node, {"writeKey": key, "host": live_server.url, "path": PATH, "flushAt": 20})

    assert seen["failures"] == []
    (answer,) = seen["answers"]  # the five calls in one batch
    assert (answer["status"], answer["url"]) == (200, f"{live_server.url}{PATH}")
    assert answer["authorization"] == basic(key)  # Basic with the secret key, as Segment's
    user = EndUser.objects.get(project=project, user_id="u-7")
    assert (user.email, user.traits["plan"], user.created_at) == ("ann@example.com", "pro", CREATED)
    assert user.groups == {"acme": {"name": "Acme Inc"}}
    assert user.last_url == "https://app.example/p"
    event = UserEvent.objects.get(user=user)
    assert (event.name, event.properties, bool(event.message_id)) == (
        "Upgraded",
        {"to": "pro"},
        True,
    )


def test_the_host_alone_posts_to_the_root_and_fails(
    node: str, live_server: Any, project: Project, key: str
) -> None:
    """Why the path is needed: the library resolves /v1/batch against the host's root."""
    seen = send(node, {"writeKey": key, "host": f"{live_server.url}/segment", "maxRetries": 0})

    assert [(a["status"], a["url"]) for a in seen["answers"]] == [
        (404, f"{live_server.url}/v1/batch")
    ]
    assert seen["failures"] and not EndUser.objects.filter(project=project).exists()


def test_a_public_write_key_is_refused_once_not_retried(
    node: str, live_server: Any, project: Project
) -> None:
    settings = {"writeKey": project.write_key, "host": live_server.url, "path": PATH}

    seen = send(node, settings)

    assert statuses(seen) == [401]  # final: the library does not retry a 401
    assert seen["failures"] and not EndUser.objects.filter(project=project).exists()


# --- a lost answer, and the library's retry ----------------------------------------------------------


class LosesFirstAnswer(BaseHTTPRequestHandler):
    """Forwards each request to the live server; the first answer is lost on the way back
    (a 503 instead), as when a proxy times out after the server stored the batch."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status, answer = self.server.forward(self.path, body, self.headers)  # type: ignore[attr-defined]
        if self.server.lose():  # type: ignore[attr-defined]
            status, answer = 503, b'{"code":"unavailable"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


class Forwarder(ThreadingHTTPServer):
    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), LosesFirstAnswer)
        self.target, self.lost = target, 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def lose(self) -> bool:
        self.lost += 1
        return self.lost == 1

    def forward(self, path: str, body: bytes, headers: Any) -> tuple[int, bytes]:
        wanted = {name: headers[name] for name in ("Content-Type", "Authorization")}
        connection = http.client.HTTPConnection(urlsplit(self.target).netloc, timeout=30)
        try:
            connection.request("POST", path, body, wanted)
            reply = connection.getresponse()
            return reply.status, reply.read()
        finally:
            connection.close()


@pytest.fixture
def forwarder(live_server: Any) -> Iterator[Forwarder]:
    server = Forwarder(live_server.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_batch_sent_again_after_a_lost_answer_is_applied_once(
    node: str, forwarder: Forwarder, project: Project, key: str
) -> None:
    seen = send(node, {"writeKey": key, "host": forwarder.url, "path": PATH, "flushAt": 20})

    assert statuses(seen) == [503, 200] and seen["failures"] == []
    assert seen["answers"][1]["retry"] == "1"  # the same batch, sent again
    user = EndUser.objects.get(project=project, user_id="u-7")
    assert UserEvent.objects.filter(user=user).count() == 1
    assert user.groups == {"acme": {"name": "Acme Inc"}}
