"""What one widget call costs: SQL statements and round trips to Redis (issue #15's budget).

The budget: a known user's page view costs 1 SQL query and 1 round trip to Redis (both rate
limits and the configuration's version in one Lua script); a call that must write costs at
most 2 SQL statements. Each process holds the configuration while the version in Redis is the
one it was built at, so a change made by any process is served by every other on its next call.
"""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.connection import Connection
from rest_framework.test import APIClient

from satismeter_app.models import EndUser, Project, Survey
from satismeter_app.services import installation, snapshots
from tests.delivery.harness import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(tmp_path) -> Iterator[None]:
    """Django's RedisCache on a redis-server of the test's own."""
    server = RedisServer(tmp_path / "redis").start()
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
        }
    }
    try:
        with override_settings(CACHES=caches):
            yield
    finally:
        server.stop()


@pytest.fixture
def round_trips(monkeypatch) -> list[bytes]:
    """The commands this process sends to Redis, one entry per round trip."""
    sent: list[bytes] = []
    send = Connection.send_packed_command

    def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        packed = command if isinstance(command, bytes | str) else b"".join(command)
        sent.append(packed if isinstance(packed, bytes) else packed.encode())
        send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


def call(write_key: str, **body: Any) -> Any:
    return APIClient().post("/api/widget", {"writeKey": write_key, **body}, format="json")


def steady(project: Project, **body: Any) -> Any:
    return call(project.write_key, **{"userId": "u1", "url": "https://app.example.com/a", **body})


def statements(reply_of: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        reply = reply_of()
    return reply, [query["sql"] for query in captured]


def test_a_known_users_page_view_is_one_query_and_one_round_trip(
    redis_cache, round_trips, project, survey
):
    steady(project)  # creates the user, holds the configuration
    round_trips.clear()
    reply, sql = statements(lambda: steady(project))
    assert reply.status_code == 200
    assert len(sql) == 1 and sql[0].startswith("SELECT")
    assert len(round_trips) == 1
    assert b"EVALSHA" in round_trips[0].upper()


# In autocommit, as a request runs: not inside the test's transaction.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "case",
    ["new page", "last_seen older than 5 minutes", "new user", "new traits"],
)
def test_a_call_that_writes_is_at_most_two_statements(redis_cache, project, survey, case):
    steady(project)
    body: dict[str, Any] = {}
    if case == "new page":
        body = {"url": "https://app.example.com/b"}
    elif case == "last_seen older than 5 minutes":
        earlier = timezone.now() - timedelta(minutes=6)
        EndUser.objects.update(first_seen=earlier, last_seen=earlier)
    elif case == "new user":
        EndUser.objects.all().delete()
    else:
        body = {"traits": {"plan": "pro"}}
    reply, sql = statements(lambda: steady(project, **body))
    assert reply.status_code == 200
    assert len(sql) <= 2, sql
    assert not any(s.startswith(("BEGIN", "COMMIT", "SAVEPOINT")) for s in sql), sql


def test_a_change_by_another_process_is_served_on_the_next_call(redis_cache, project, survey):
    assert steady(project).json()["widget"]["visible"] is True
    # Another process pauses the survey: its rows change, and its save drops the version in
    # Redis; this process still holds its copy, built at the old version.
    Survey.objects.filter(pk=survey.pk).update(state=Survey.State.PAUSED)
    assert steady(project).json()["widget"]["visible"] is True  # the held copy, still current
    cache.delete(snapshots.version_key(project.write_key))
    assert steady(project).json()["widget"]["visible"] is False


def test_a_held_copy_is_used_while_its_version_stands(redis_cache, project, survey):
    steady(project)
    _reply, sql = statements(lambda: steady(project))
    assert not any("satismeter_app_survey" in s or "satismeter_app_project" in s for s in sql)


def test_a_replaced_write_key_stops_working_at_once(redis_cache, project, survey):
    old_key = project.write_key
    assert call(old_key, userId="u1").status_code == 200
    project.write_key = "wk_replacement_" + "0" * 20
    project.save()
    assert call(old_key, userId="u1").status_code == 401
    assert call(project.write_key, userId="u1").status_code == 200


def test_a_wrong_write_key_is_remembered_without_a_query(redis_cache, project):
    assert call("wk_nobody", userId="u1").status_code == 401
    reply, sql = statements(lambda: call("wk_nobody", userId="u1"))
    assert reply.status_code == 401
    assert sql == []


def test_a_project_created_with_a_remembered_key_is_found(redis_cache, make_project):
    assert call("wk_soon", userId="u1").status_code == 401
    project = make_project(write_key="wk_soon")
    assert call(project.write_key, userId="u1").status_code == 200


def test_a_redis_that_forgot_the_script_is_sent_it_again(redis_cache, project, survey):
    steady(project)
    cache._cache.get_client(write=True).script_flush()  # as after a restart of Redis
    with override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "2/min"}):
        assert steady(project).status_code == 200
        assert steady(project).status_code == 429  # the script ran: the limit counts


def test_the_install_pages_live_check_costs_no_query_and_no_round_trip(
    redis_cache, round_trips, project, survey
):
    installation.watch(project.write_key)  # the install page was opened
    steady(project)
    round_trips.clear()
    reply, sql = statements(
        lambda: APIClient().post(
            "/api/widget",
            {"writeKey": project.write_key, "userId": "u1", "url": "https://app.example.com/a"},
            format="json",
            headers={
                "Origin": "https://app.example.com",
                "User-Agent": "Mozilla/5.0 Firefox/128.0",
            },
        )
    )
    assert reply.status_code == 200
    assert len(sql) == 1 and len(round_trips) == 1
    call = installation.last_widget_call(project.write_key)
    assert call is not None and call.origin == "https://app.example.com"
    assert call.browser == "Firefox 128"


def test_the_live_check_works_without_redis(project, survey):
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=locmem):
        steady(project)
        assert installation.last_widget_call(project.write_key) is None  # not watched yet
        installation.watch(project.write_key)
        steady(project, url="https://app.example.com/b")
        assert installation.last_widget_call(project.write_key) is not None
