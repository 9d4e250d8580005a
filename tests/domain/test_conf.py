from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from satismeter_app import checks as app_checks
from satismeter_app.conf import DEFAULTS, app_settings, parse_rate
from satismeter_app.exceptions import SatismeterConfigurationError


def test_defaults_fill_in_names_the_host_leaves_out() -> None:
    with override_settings(SATISMETER={}):
        assert app_settings.MAX_TRAITS_BYTES == DEFAULTS["MAX_TRAITS_BYTES"] == 32 * 1024


def test_host_values_win_and_follow_setting_changes() -> None:
    with override_settings(SATISMETER={"DEFAULT_LANGUAGE": "de"}):
        assert app_settings.DEFAULT_LANGUAGE == "de"
    with override_settings(SATISMETER={"DEFAULT_LANGUAGE": "fr"}):
        assert app_settings.DEFAULT_LANGUAGE == "fr"


def test_unknown_names_raise_and_say_which() -> None:
    with (
        override_settings(SATISMETER={"PUBLIC_BASE_ULR": "https://x"}),
        pytest.raises(SatismeterConfigurationError, match="PUBLIC_BASE_ULR"),
    ):
        _ = app_settings.PUBLIC_BASE_URL


def _ids(**satismeter: object) -> list[str]:
    with override_settings(SATISMETER=satismeter):
        return [m.id for m in checks.run_checks() if m.id and m.id.startswith("satismeter.")]


def test_checks_are_quiet_on_a_sound_configuration() -> None:
    assert _ids(PUBLIC_BASE_URL="https://nps.example.com") == []


@pytest.mark.parametrize(
    ("satismeter", "expected"),
    [
        ({"NOPE": 1}, "satismeter.E001"),
        ({"CONFIG_CACHE_TIMEOUT": -5}, "satismeter.E003"),
        ({"MAX_TRAITS_BYTES": "big"}, "satismeter.E003"),
        ({"PUBLIC_BASE_URL": "nps.example.com"}, "satismeter.E004"),
        ({"REPLICA_READS": ["dashboard", "widget"]}, "satismeter.E006"),
    ],
)
def test_checks_name_each_mistake(satismeter: dict, expected: str) -> None:
    assert expected in _ids(**satismeter)


def test_missing_base_url_warns_only_in_production() -> None:
    with override_settings(DEBUG=False):
        assert "satismeter.W001" in _ids()
    with override_settings(DEBUG=True):
        assert "satismeter.W001" not in _ids()


def test_rest_framework_is_required() -> None:
    from django.conf import settings

    apps_without_drf = [a for a in settings.INSTALLED_APPS if a != "rest_framework"]
    with override_settings(INSTALLED_APPS=apps_without_drf):
        assert "satismeter.E002" in _ids(PUBLIC_BASE_URL="https://nps.example.com")


def test_local_memory_cache_warns_on_deploy() -> None:
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        ids = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "satismeter.W002" in ids


def test_a_replica_without_the_router_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configured but not routed to, a replica would stand idle while reports load the
    primary; with the router (the tests' settings list it) all is well."""
    monkeypatch.setattr("satismeter_app.checks.replica_alias", lambda: "replica")
    assert "satismeter.W014" not in _ids(PUBLIC_BASE_URL="https://nps.example.com")
    with override_settings(DATABASE_ROUTERS=[]):
        assert "satismeter.W014" in _ids(PUBLIC_BASE_URL="https://nps.example.com")


def test_malformed_rates_are_named() -> None:
    assert "satismeter.E005" in _ids(WIDGET_RATE_PER_KEY="lots")
    assert "satismeter.E005" not in _ids(WIDGET_RATE_PER_KEY="6000/min")


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("120/min", (120, 60)), ("5/s", (5, 1)), ("1000/hour", (1000, 3600)), ("7/day", (7, 86400))],
)
def test_a_rate_reads_as_requests_per_period(rate: str, expected: tuple[int, int]) -> None:
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["lots", "120", "120/", "120/week", "-5/min", None])
def test_a_malformed_rate_says_what_a_rate_looks_like(rate: object) -> None:
    with pytest.raises(ValueError, match="120/min"):
        parse_rate(rate)  # type: ignore[arg-type]


def test_the_readme_lists_every_system_check():
    """Each check id is documented where a host looks it up."""
    from pathlib import Path

    from satismeter_app.checks import MESSAGES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [code for code in MESSAGES if f"`satismeter.{code}`" not in readme]
    assert missing == []


PRODUCTION_LIKE = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CELERY_TASK_ALWAYS_EAGER": False,
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}


def _production_ids(**changes: Any) -> list[str]:
    with override_settings(**(PRODUCTION_LIKE | changes)):
        # The test database's engine is the run's (SQLite or PostgreSQL): checked apart.
        return [m.id for m in app_checks.check_production() if m.id != "satismeter.W023"]


def test_a_production_like_configuration_passes_the_checklist() -> None:
    assert _production_ids(SATISMETER={"PUBLIC_BASE_URL": "https://nps.example.com"}) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CELERY_BROKER_URL": "filesystem://"}, "satismeter.W020"),
        ({"CELERY_BROKER_URL": "memory://localhost/"}, "satismeter.W020"),
        ({"CELERY_TASK_ALWAYS_EAGER": True}, "satismeter.W021"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "satismeter.W022"),
        ({"SATISMETER": {"PUBLIC_BASE_URL": "http://nps.example.com"}}, "satismeter.W024"),
    ],
)
def test_the_checklist_names_what_does_not_belong_in_production(
    changes: dict[str, Any], expected: str
) -> None:
    changes.setdefault("SATISMETER", {"PUBLIC_BASE_URL": "https://nps.example.com"})
    assert _production_ids(**changes) == [expected]


def test_the_checklist_names_a_sqlite_database() -> None:
    databases = {
        "default": {"ENGINE": "django.db.backends.postgresql"},
        "replica": {"ENGINE": "django.db.backends.sqlite3"},
    }
    found = app_checks.check_databases(databases)
    assert [(m.id, "'replica'" in m.msg) for m in found] == [("satismeter.W023", True)]
