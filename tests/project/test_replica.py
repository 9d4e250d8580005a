"""Reads off the primary (docs/deployment.md, "A read replica").

The report paths (the dashboard, the exports, the statistics, the v3 reads) read from the
``replica`` alias when one is configured; the widget and every write stay on the primary.
Proved against a real PostgreSQL streaming replica (tests/project/replica_harness.py): with
its replay paused, a response just given is on the primary and missing from every report, and
the widget, which reads what it writes, still works; once the replica catches up, every report
has it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from satismeter_app import routers
from satismeter_app.models import Response

from . import replica_harness

ROOT = Path(__file__).resolve().parents[2]
REPORTS = (
    "export_json",
    "export_csv",
    "statistics",
    "v3_responses",
    "v3_statistics",
    "dashboard_export",
    "list_figure",
)


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[replica_harness.Server, replica_harness.Server]]:
    why = replica_harness.missing()
    if why:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"REQUIRE_POSTGRES is set but {why}")
        pytest.skip(why)
    with replica_harness.primary_and_replica() as servers:
        yield servers


def example_project(primary: Any, replica: Any, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SATISMETER_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"{primary.url_base}/satismeter",
        "REPLICA_DATABASE_URL": f"{replica.url_base}/satismeter",
    }


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_reports_read_the_replica_and_writes_stay_on_the_primary(
    replicated: tuple[Any, Any], tmp_path: Path
) -> None:
    primary, replica = replicated
    primary.psql("CREATE DATABASE satismeter")
    env = example_project(primary, replica, tmp_path)
    # migrate with the replica configured: the router keeps it off the read-only replica.
    run(env, "manage.py", "migrate", "--noinput", "-v0")
    seen = json.loads(run(env, "-m", "tests.project.replica_scenario").splitlines()[-1])
    # While the replica's replay was paused, the widget wrote and read its own writes...
    assert seen["widget_paused"] == {"widget": 200, "display": 201, "response": 201, "comment": 200}
    assert seen["users_api_paused"] in (200, 201)
    assert seen["manage_api_paused"] == 200
    paused = seen["paused"]
    assert paused["on_the_primary"] == 1
    assert paused["dashboard_page"] == 200
    # ...and no report had the response yet: they read the replica.
    assert {name: paused[name] for name in REPORTS} == dict.fromkeys(REPORTS, 0)
    # Caught up, every report has it.
    assert {name: seen["caught_up"][name] for name in REPORTS} == dict.fromkeys(REPORTS, 1)
    assert seen["replica_read_only"] is True


# --- the router, without a replica (the tests' settings have none) --------------------------------


def test_without_a_replica_reports_read_the_default_database() -> None:
    assert "replica" not in connections.settings
    for path in routers.REPORT_PATHS:
        assert routers.reporting_db(path) == DEFAULT_DB_ALIAS
        with routers.reading_reports(path):
            assert routers.ReplicaRouter().db_for_read(Response) == DEFAULT_DB_ALIAS


def test_the_router_writes_only_to_the_primary_and_migrates_no_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = routers.ReplicaRouter()
    monkeypatch.setattr(routers, "replica_alias", lambda: "replica")
    monkeypatch.setattr(routers, "reporting_db", lambda path: "replica")
    with routers.reading_reports("exports"):
        assert router.db_for_read(Response) == "replica"
        assert router.db_for_write(Response) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Response) is None  # outside a report path: the default's
    assert router.allow_migrate("replica", "satismeter_app") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "satismeter_app") is None


def test_a_streamed_export_reads_on_from_its_database_after_the_view_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routers, "reporting_db", lambda path: f"db-of-{path}")
    read_from = []

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            read_from.append(routers.ReplicaRouter().db_for_read(Response))
            yield b"x"

    assert list(routers.read_as_report("exports", chunks())) == [b"x"] * 3
    assert read_from == ["db-of-exports"] * 3
    assert routers.ReplicaRouter().db_for_read(Response) is None
