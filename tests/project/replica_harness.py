"""A PostgreSQL primary and its streaming replica (a hot standby), started for a test.

The machine's own server is not set up for replication, so the harness makes a cluster of its
own with ``initdb`` (``wal_level=replica``, a ``replication`` line in pg_hba.conf), copies it
with ``pg_basebackup -R`` and starts the copy as a standby, each on a free loopback port, with
no Unix socket. As root, the servers run as the ``postgres`` user (PostgreSQL refuses root).

Directories are named after the test process; those of a process that died are stopped and
removed by the next run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PREFIX = "satismeter-replica-"
SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
"""


def missing() -> str | None:
    """Why the harness cannot run here, or None."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup", "pg_isready", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} not found (set PG_BIN to PostgreSQL's bin directory)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as postgres"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(*command: str | Path) -> list[str]:
    args = [str(part) for part in command]
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(*command: str | Path, timeout: float = 120) -> str:
    done = subprocess.run(
        _as_owner(*command), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Server:
    data: Path
    port: int

    @property
    def url_base(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.data.parent / f"{self.data.name}.log"
        _run(PG_BIN / "pg_ctl", "-D", self.data, "-l", log, "-w", "-t", "60", "start")
        _run(PG_BIN / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "30")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_owner(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )

    def psql(self, sql: str, database: str = "postgres") -> str:
        return _run(
            PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", database, "-XAtc", sql,
        ).strip()  # fmt: skip


def _configure(data: Path, port: int) -> None:
    with open(data / "postgresql.auto.conf", "a") as conf:
        conf.write(f"{SERVER_SETTINGS}\nport = {port}\n")


def _make_primary(root: Path) -> Server:
    data = root / "primary"
    _run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    server = Server(data, free_port())
    _configure(data, server.port)
    return server


def _make_replica(root: Path, primary: Server) -> Server:
    data = root / "replica"
    _run(
        PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", data, "-R", "-X", "stream", "-c", "fast",
    )  # fmt: skip
    server = Server(data, free_port())
    _configure(data, server.port)  # after the primary's settings that the copy carries
    return server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers() -> None:
    """Stop and remove the clusters of earlier test processes that are gone."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = root.name.removeprefix(PREFIX).split("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        for data in (root / "replica", root / "primary"):
            Server(data, 0).stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def primary_and_replica() -> Iterator[tuple[Server, Server]]:
    """A running primary and its running hot standby; both stopped and removed after."""
    remove_leftovers()
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    servers: list[Server] = []
    try:
        servers.append(_make_primary(root))
        servers[0].start()
        servers.append(_make_replica(root, servers[0]))
        servers[1].start()
        wait_until_replayed(servers[0], servers[1])
        yield servers[0], servers[1]
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_until_replayed(primary: Server, replica: Server, timeout: float = 60) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = primary.psql("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lag = replica.psql(f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn())")
        if float(lag) <= 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"the replica did not replay up to {target} in {timeout}s")
