"""Logs in production: every unexpected error leaves its traceback, and no secret is written.

Issue #13, item 7: with DEBUG off only the widget routes logged their unexpected errors; the
others left a record on ``django.request`` that no handler of the example project printed.
Item 11: gunicorn's default access log writes the user name of HTTP Basic auth, which is the
whole secret API key as Segment's libraries send it.
"""

from __future__ import annotations

import base64
import http.client
import importlib.util
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from satismeter_app.api import base
from satismeter_app.services import dashboard, reminders

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-secret-for-the-logging-tests-" + "Zq8w" * 5,
    "ALLOWED_HOSTS": "127.0.0.1,nps.example.com",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "INFO",
}


class Boom(RuntimeError):
    """The unexpected error, recognisable in a traceback."""


def fail(*args: Any, **kwargs: Any) -> Any:
    raise Boom("unexpected-failure-7f3a")


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def has_traceback(record: logging.LogRecord) -> bool:
    return bool(record.exc_info) and isinstance(record.exc_info[1], Boom)


# --- every API route: one ERROR record with the traceback, and a JSON 500 ----------------------


def api_operations() -> Iterator[tuple[str, str]]:
    """Every operation of the app's OpenAPI schema, with its path ids filled in."""
    document = Client().get("/api/schema/?format=json").json()
    for path, operations in document["paths"].items():
        for method in operations:
            yield method, re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.django_db
def test_an_unexpected_error_on_any_api_route_is_logged_once_with_its_traceback(
    api_client: Any, project: Any, make_staff: Callable[..., Any], monkeypatch: Any, caplog: Any
) -> None:
    token = Token.objects.create(user=make_staff(project)).key
    monkeypatch.setattr(base, "refuse_unstorable_params", fail)  # raises inside every view
    api_client.raise_request_exception = False
    for method, path in api_operations():
        caplog.clear()
        with caplog.at_level(logging.INFO):
            call = getattr(api_client, method)
            reply = call(path, {}, format="json", HTTP_AUTHORIZATION=f"Token {token}")
        assert reply.status_code == 500, (method, path)
        assert reply["Content-Type"] == "application/json", (method, path)
        records = error_records(caplog)
        assert len(records) == 1 and has_traceback(records[0]), (method, path, records)
        assert records[0].name.startswith("satismeter_app"), (method, path)


@pytest.mark.django_db
def test_segment_routes_answer_a_server_error_in_segments_words(
    api_client: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(base, "refuse_unstorable_params", fail)
    api_client.raise_request_exception = False
    reply = api_client.post("/segment/v1/identify", {}, format="json")
    assert reply.status_code == 500
    assert reply.json() == {
        "success": False,
        "code": "server_error",
        "message": "Internal server error.",
    }


@pytest.mark.django_db
def test_the_error_record_holds_no_key_and_no_query(
    api_client: Any, key: str, monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setattr(base, "refuse_unstorable_params", fail)
    api_client.raise_request_exception = False
    basic = base64.b64encode(f"{key}:".encode()).decode()
    with caplog.at_level(logging.INFO):
        api_client.get(
            "/api/users?userId=someone%40example.com", HTTP_AUTHORIZATION=f"Basic {basic}"
        )
    written = caplog.text
    assert "Internal Server Error: /api/users" in written and "Traceback" in written
    assert key not in written and basic not in written and "someone" not in written


# --- the other routes: Django's "django.request" record, with the traceback --------------------


@pytest.fixture
def broken_pages(monkeypatch: Any) -> None:
    monkeypatch.setattr(reminders, "open_link", fail)
    monkeypatch.setattr(dashboard, "overview", fail)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/email/r/token", "/admin/satismeter_app/project/{}/dashboard/"])
def test_an_unexpected_error_on_a_page_is_logged_once_with_its_traceback(
    client: Client,
    project: Any,
    make_staff: Callable[..., Any],
    broken_pages: None,
    caplog: Any,
    page: str,
) -> None:
    client.force_login(make_staff(project))
    client.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        reply = client.get(page.format(project.pk))
    assert reply.status_code == 500
    records = error_records(caplog)
    assert len(records) == 1 and has_traceback(records[0]), records


# --- the example project's production settings print them --------------------------------------

TRIGGER = """
from unittest import mock
import django
django.setup()
from django.test import Client
from satismeter_app.services import reminders
from satismeter_app.api import base

def fail(*args, **kwargs):
    raise RuntimeError(f"unexpected-failure-on-{kind}")

client = Client(raise_request_exception=False)
for kind, target, path in [
    ("api", base, "/api/users"),
    ("page", reminders, "/email/r/token"),
]:
    name = "refuse_unstorable_params" if kind == "api" else "open_link"
    with mock.patch.object(target, name, fail):
        print(path, client.get(path, HTTP_HOST="nps.example.com").status_code)
"""


def test_the_example_projects_production_logging_prints_every_traceback(tmp_path: Path) -> None:
    """Run in a process of its own: the example project's settings, with DEBUG off, configure
    logging as a production server runs it."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(TRIGGER)],
        cwd=ROOT,
        env={
            **os.environ,
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "SATISMETER_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/api/users", "500", "/email/r/token", "500"]
    for kind in ("api", "page"):
        assert re.search(
            rf"Traceback \(most recent call last\):.*RuntimeError: unexpected-failure-on-{kind}",
            result.stderr,
            re.S,
        ), result.stderr
    assert result.stderr.count("Traceback") == 2  # once each, not once per logger


# --- gunicorn's access log ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


ISSUE_KEY = (
    "from satismeter_app.models import ApiKey, Project;"
    "print(ApiKey.issue(Project.objects.create(name='Logs'))[1])"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """gunicorn with the example project's configuration (project/gunicorn.conf.py) on a free
    loopback port, its access log in a file; yields the port, a secret key and the log."""
    env = {
        **os.environ,
        **PRODUCTION,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SATISMETER_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)  # a SQLite file of its own, which the server can read
    manage(env, "migrate", "--noinput", "-v0")
    key = manage(env, "shell", "-v0", "-c", ISSUE_KEY).splitlines()[-1]
    port, log = free_port(), tmp_path / "access.log"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--config", "project/gunicorn.conf.py"),
            *(f"--bind=127.0.0.1:{port}", "--workers=1", f"--access-logfile={log}"),
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, server)
        yield port, key, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def wait_for(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def get(port: int, path: str, **headers: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "nps.example.com", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_access_log_never_writes_a_secret_key_or_a_query(
    served: tuple[int, str, Path],
) -> None:
    port, key, log = served
    basic = base64.b64encode(f"{key}:".encode()).decode()
    assert get(port, "/api/users", Authorization=f"Basic {basic}") == 200  # Segment's way
    assert get(port, "/api/users", Authorization=f"Bearer {key}") == 200
    assert get(port, "/api/users?userId=someone%40example.com", AuthKey=key) == 200
    assert get(port, "/email/r/signed-token-from-an-email", Referer="http://x/?t=secret") == 404
    time.sleep(0.5)  # the access log is written after the answer
    written = log.read_text()
    assert written.count("/api/users") == 3, written  # the lines are there…
    assert key not in written and key[:20] not in written  # …without the key
    assert basic not in written
    assert "someone" not in written and "userId" not in written  # no query string
    assert "signed-token-from-an-email" not in written and "secret" not in written


def test_an_operators_own_access_log_format_cannot_bring_a_secret_back(tmp_path: Path) -> None:
    """gunicorn's default format, and one naming the headers, the query and the referrer."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", ROOT / "project/gunicorn.conf.py"
    )
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    log = tmp_path / "access.log"
    config = Config()
    config.set("accesslog", str(log))
    config.set("access_log_format", HOSTILE_FORMAT)
    basic = "Basic " + base64.b64encode(b"sk_secret.key:").decode()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/email/r/tok.en?userId=a%40b.c",
        "PATH_INFO": "/email/r/tok.en",
        "QUERY_STRING": "userId=a%40b.c",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": basic,
        "HTTP_REFERER": "https://nps.example.com/email/r/tok.en?x=a%40b.c",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", basic), ("AUTHKEY", "sk_secret.key")])
    response = SimpleNamespace(status="200 OK", sent=2, headers=[("Set-Cookie", "sessionid=s")])
    conf.RedactingLogger(config).access(response, request, environ, timedelta(seconds=1))
    written = log.read_text()
    assert "GET /email/r/[redacted] HTTP/1.1" in written, written
    for secret in ("sk_secret", basic, "a%40b.c", "tok.en", "sessionid"):
        assert secret not in written, written


HOSTILE_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(q)s %(U)s '
    "%({authorization}i)s %({authkey}i)s %({http_authorization}e)s %({raw_uri}e)s "
    "%({query_string}e)s %({set-cookie}o)s"
)
