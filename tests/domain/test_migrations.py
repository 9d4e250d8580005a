from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}\n(exit {exc.code})")


TRIGGERED_TABLES = ("satismeter_app_response", "satismeter_app_display")


def _triggers() -> set[tuple[str, str]]:
    """(table, trigger) of the database the migrations made."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"
            )
        return {(table, name) for table, name in cursor.fetchall()}


@pytest.mark.django_db
def test_the_daily_rollups_triggers_survive_every_migration() -> None:
    """A migration that copies the response table (SQLite's way of adding a constraint) drops
    its triggers, and the rollups then stop counting: 0011 installs them again."""
    tables = {table for table, name in _triggers() if name.startswith("satismeter_rollup_")}
    assert tables == set(TRIGGERED_TABLES)
