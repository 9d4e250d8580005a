"""One beat: every ``celery beat`` process takes a PostgreSQL advisory lock before it sends
anything, so that two beats (a second host, a deploy overlapping the old one) never send the
schedule twice. The first holds the lock; the others log that they are on standby and try
again every ``BEAT_STANDBY_POLL`` seconds. The lock belongs to a database session of its own:
PostgreSQL releases it when the holder's process dies, however it dies, and a standby takes
over at its next try (docs/deployment.md, "One beat").

A beat that loses its lock's connection (a database restart) stops, so that its supervisor
starts it again to wait for the lock like any other: it never sends without the lock. On
another database than PostgreSQL there is no lock, and the beat says so: run exactly one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from celery.signals import beat_init
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .conf import app_settings

logger = logging.getLogger(__name__)

# pg_try_advisory_lock(bigint): the key of this lock among the database's advisory locks.
LOCK_KEY = 0x5A715_B3A7


def try_lock(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def wait_for_lock(connection: BaseDatabaseWrapper) -> None:
    """Return once this process holds the lock on ``connection``; log while another does."""
    standby = False
    while True:
        try:
            if try_lock(connection):
                break
        except DatabaseError as exc:
            logger.warning("Beat lock: database unavailable (%s); trying again.", exc)
            connection.close()
        if not standby:
            logger.warning(
                "Another celery beat holds the satismeter beat lock: this one is on standby "
                "and takes over when that one stops (checking every %ss).",
                app_settings.BEAT_STANDBY_POLL,
            )
            standby = True
        time.sleep(app_settings.BEAT_STANDBY_POLL)
    logger.info("This celery beat holds the satismeter beat lock and sends the schedule.")


def watch_lock(connection: BaseDatabaseWrapper) -> None:
    """Stop the beat (SIGTERM, which celery beat handles) when the lock's session is gone."""
    while True:
        time.sleep(app_settings.BEAT_STANDBY_POLL)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as exc:
            logger.error("Beat lock lost with its database connection (%s); stopping.", exc)
            os.kill(os.getpid(), signal.SIGTERM)
            return


@beat_init.connect
def hold_beat_lock(sender: Any = None, **kwargs: Any) -> None:
    """Before the beat's first tick: wait for the lock, then keep its session alive."""
    if not app_settings.BEAT_LOCK:
        return
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    if connection.vendor != "postgresql":
        logger.info("No beat lock on %s: run a single celery beat.", connection.vendor)
        return
    wait_for_lock(connection)
    connection.inc_thread_sharing()  # the watcher's thread uses it from now on
    watcher = threading.Thread(target=watch_lock, args=(connection,), daemon=True)
    watcher.start()
