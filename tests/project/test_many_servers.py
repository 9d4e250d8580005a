"""Many web processes (docs/deployment.md, "Many web processes").

Two gunicorn servers of the example project on one database and one Redis, as behind a load
balancer: a survey changed through one is served changed by the other on its next call, and
the widget's rate limit counts the calls of both.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token

from satismeter_app.models import Membership, Project, Survey

from ..security.test_logging import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 6  # WIDGET_RATE_PER_CLIENT in tests/project/many_servers_settings.py, per hour

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres")
    or not os.environ.get("REDIS_URL"),
    reason="two servers share PostgreSQL and Redis (DATABASE_URL, REDIS_URL)",
)


def start(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--config", "project/gunicorn.conf.py"),
            *(f"--bind=127.0.0.1:{port}", "--workers=1", f"--access-logfile={log}"),
        ],
        cwd=ROOT,
        env=env,
        stderr=log.open("a"),
    )


@pytest.fixture(scope="module")
def servers(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """The ports of two servers on the tests' database and Redis."""
    with django_db_blocker.unblock():
        database = connections["default"].settings_dict
    tmp = tmp_path_factory.mktemp("servers")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.project.many_servers_settings",
        "SATISMETER_VAR_DIR": str(tmp),
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
    }
    started = {free_port(): None, free_port(): None}
    processes = [start(port, env, tmp / f"{port}.log") for port in started]
    try:
        for port, process in zip(started, processes, strict=True):
            wait_for(port, process)
        yield tuple(started)  # type: ignore[misc]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def call(port: int, method: str, path: str, data: Any, **headers: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": "nps.example.com", "Content-Type": "application/json", **headers}
        connection.request(method, path, body=json.dumps(data), headers=headers)
        reply = connection.getresponse()
        body = reply.read()
        return reply.status, json.loads(body) if body.startswith(b"{") else body
    finally:
        connection.close()


def widget(port: int, project: Project, user_id: str) -> tuple[int, Any]:
    return call(port, "POST", "/api/widget", {"writeKey": project.write_key, "userId": user_id})


def shown(port: int, project: Project, user_id: str) -> bool:
    status, body = widget(port, project, user_id)
    assert status == 200, body
    return bool(body["widget"]["visible"])


@pytest.fixture
def surveyed(transactional_db: Any, make_staff: Any) -> tuple[Project, Survey, str]:
    project = Project.objects.create(name="Shared")
    survey = Survey.objects.create(project=project, name="NPS", state="active", min_tenure_days=0)
    staff = make_staff()
    Membership.objects.create(user=staff, project=project, role="admin")
    return project, survey, Token.objects.create(user=staff).key


def test_a_survey_changed_through_one_server_is_served_changed_by_the_other(
    servers: tuple[int, int], surveyed: tuple[Project, Survey, str]
) -> None:
    a, b = servers
    project, survey, token = surveyed
    assert shown(b, project, "ann")  # b now holds the configuration in its process
    staff = {"Authorization": f"Token {token}"}
    path = f"/api/manage/surveys/{survey.pk}"
    assert call(a, "PATCH", path, {"state": "paused"}, **staff)[0] == 200
    assert not shown(b, project, "bob")  # its very next call, no wait
    assert call(b, "PATCH", path, {"state": "active"}, **staff)[0] == 200
    assert shown(a, project, "cid")


def test_the_widgets_rate_limit_counts_the_calls_of_both_servers(
    servers: tuple[int, int], surveyed: tuple[Project, Survey, str]
) -> None:
    a, b = servers
    project = surveyed[0]
    left_in_window = 3600 - time.time() % 3600
    if left_in_window < 30:  # the counters' window is the clock's hour
        time.sleep(left_in_window + 1)
    for n in range(LIMIT):
        status, body = widget(a if n % 2 else b, project, f"user-{n}")
        assert status == 200, (n, body)
    assert widget(a, project, "one-more")[0] == 429
    assert widget(b, project, "one-more")[0] == 429
