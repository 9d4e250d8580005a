"""The example project's production settings refuse a SECRET_KEY Django calls weak.

Issue #13, item 12: they accepted 32 to 49 characters, which ``check --deploy`` then reports as
security.W009 (fewer than 50 characters or 5 distinct ones, or Django's insecure prefix) —
a warning a deployment may never read. Production now fails at start with a message saying
what to set; the demo (DEBUG on) keeps its own key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "nps.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/satismeter",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SATISMETER_PUBLIC_BASE_URL": "https://nps.example.com",
}


def check(secret_key: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=ROOT,
        env={
            **os.environ,
            **PRODUCTION,
            "SECRET_KEY": secret_key,
            "DJANGO_SETTINGS_MODULE": "project.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "secret_key",
    [
        "a-32-character-key-was-enough-xy",  # 32
        "forty-nine-characters-long-and-random-enough-xyz",  # 49
        "abcd" * 20,  # long, 4 distinct characters
        "django-insecure-" + "k3y-from-startproject-for-development-only",
    ],
)
def test_production_refuses_a_weak_secret_key_at_start(secret_key: str) -> None:
    result = check(secret_key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr and "50" in result.stderr


def test_a_50_character_key_passes_the_deployment_checks() -> None:
    key = "Tm9uZS1vZi10aGVzZS1jaGFyYWN0ZXJzLWlzLXJlcGVhdGVk-x"
    assert len(key) == 50
    result = check(key, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "W009" not in result.stdout + result.stderr
