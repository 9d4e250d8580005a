"""The example project: its production mode passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp" * 10,
    "ALLOWED_HOSTS": "nps.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/satismeter",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SATISMETER_PUBLIC_BASE_URL": "https://nps.example.com",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_mode() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", **env, SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_demo_mode_warns_on_deploy_checks() -> None:
    """With nothing set the project is the demo, and the deploy checks say it is not production."""
    result = _manage("check", "--deploy", DEBUG="true")
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on


def test_favicon_is_served_so_pages_log_no_404(client) -> None:
    """Every page a browser opens (the admin's included) asks for /favicon.ico."""
    from django.contrib.staticfiles import finders

    reply = client.get("/favicon.ico")

    assert reply.status_code == 302
    assert reply["Location"].endswith("/favicon.svg")
    found = finders.find("favicon.svg")
    assert found is not None and "<svg" in Path(found).read_text()
