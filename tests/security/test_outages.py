"""Redis or the database going away (docs/security.md, "When Redis or the database is down").

With the shared cache unreachable the widget and the emailed score links keep serving: the
rate limits let requests through and the configuration is read from the database; one
warning says so, not one per request. A database connection that died between two requests
costs neither of them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from satismeter_app import shared_cache
from satismeter_app.models import Display, Reminder, Response, Survey
from satismeter_app.services import reminders
from tests.delivery.harness import RedisServer

pytestmark = pytest.mark.django_db

# A port nothing listens on: every connection is refused at once.
UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def widget(project: Any, user_id: str = "u", remote: str = "198.51.100.20") -> Any:
    return APIClient().post(
        "/api/widget",
        {"writeKey": project.write_key, "userId": user_id},
        format="json",
        REMOTE_ADDR=remote,
    )


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "cache" in r.getMessage()]


# --- Redis down ---------------------------------------------------------------------------------


@override_settings(CACHES=UNREACHABLE)
def test_the_widget_keeps_serving_with_redis_unreachable(project, survey):
    reply = widget(project)

    assert reply.status_code == 200
    assert reply.json()["widget"]["campaign"] == str(survey.pk)


@override_settings(CACHES=UNREACHABLE, SATISMETER={"WIDGET_RATE_PER_CLIENT": "2/hour"})
def test_a_flood_during_the_outage_logs_one_warning(project, survey, caplog):
    caplog.set_level(logging.WARNING)

    codes = {widget(project, f"user-{n}").status_code for n in range(10)}

    assert codes == {200}
    assert len(cache_warnings(caplog)) == 1


@pytest.fixture
def reminder(project, make_survey, make_end_user, mailoutbox) -> Reminder:
    survey = make_survey(project, reminders_enabled=True, reminder_delay_days=7, min_tenure_days=0)
    user = make_end_user(project, email="click@example.com")
    shown = timezone.now() - timedelta(days=10)
    Display.objects.create(project=project, survey=survey, user=user, created=shown)
    reminders.send_all()
    return Reminder.objects.get()


def test_an_emailed_score_link_records_the_score_with_redis_unreachable(client, reminder):
    path = re.sub(r"^https?://[^/]+", "", reminders.link(reminder, "score", 9))

    with override_settings(CACHES=UNREACHABLE):
        page = client.get(path)

    assert page.status_code == 200
    assert Response.objects.get().rating == 9


def test_a_survey_paused_during_the_outage_stays_paused_once_redis_is_back(project, survey):
    assert widget(project).json()["widget"]["visible"] is True  # its configuration is cached

    with override_settings(CACHES=UNREACHABLE):
        survey.state = Survey.State.PAUSED
        survey.save()  # the cached copy cannot be dropped now: it is dropped once Redis answers

    assert widget(project, "someone-else").json()["widget"] == {"visible": False}


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


def test_rate_limits_resume_when_redis_comes_back(project, survey, redis_server, monkeypatch):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    # Retry the cache at once after a failure: this test does not wait out the pause.
    monkeypatch.setattr(shared_cache, "RETRY_AFTER_FAILURE", 0.0)
    with override_settings(CACHES=caches, SATISMETER={"WIDGET_RATE_PER_CLIENT": "2/hour"}):
        before = [widget(project).status_code for _ in range(3)]
        redis_server.stop()
        during = [widget(project).status_code for _ in range(3)]
        redis_server.start()  # empty: the counters start again
        after = [widget(project).status_code for _ in range(3)]

    assert (before, during, after) == ([200, 200, 429], [200, 200, 200], [200, 200, 429])


# --- the database connection dropped ---------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _serve(server: WSGIServer) -> None:
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        connections.close_all()  # this thread's connection, so the test database can be dropped


@pytest.fixture
def wsgi_server(monkeypatch) -> Iterator[str]:
    """The app behind a real WSGI server in one thread, with persistent database connections
    as in production (CONN_MAX_AGE > 0): each request is handled by the same connection."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
    thread = threading.Thread(target=_serve, args=(server,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def _terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_costs_no_request(project, survey, wsgi_server):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the server's connection is ended from another one")

    def call(user_id: str) -> int:
        body = {"writeKey": project.write_key, "userId": user_id}
        return requests.post(f"{wsgi_server}/api/widget", json=body, timeout=10).status_code

    assert call("before") == 200
    assert _terminate_other_connections() >= 1  # the server's, as a restart or failover would
    assert call("after") == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_known_users_call_survives_a_dropped_connection_without_a_separate_check(
    project, survey, wsgi_server, monkeypatch
):
    """The widget's one query is the health check (satismeter_app/prepared.py): no
    ``SELECT 1`` before it, and a connection that died since the last request is replaced
    within the call."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the server's connection is ended from another one")
    checks = []
    wrapper = type(connections["default"])
    is_usable = wrapper.is_usable

    def counted(self: Any) -> bool:
        checks.append(threading.get_ident())
        return is_usable(self)

    monkeypatch.setattr(wrapper, "is_usable", counted)
    body = {"writeKey": project.write_key, "userId": "steady"}
    post = lambda: requests.post(f"{wsgi_server}/api/widget", json=body, timeout=10)  # noqa: E731
    assert post().status_code == 200  # the user's row is created
    assert post().status_code == 200
    assert post().status_code == 200  # a reused connection, a known user
    assert checks == []
    assert _terminate_other_connections() >= 1
    answer = post()
    assert answer.status_code == 200
    assert "widget" in answer.json()
    assert len(checks) == 1  # asked only once the query had failed
