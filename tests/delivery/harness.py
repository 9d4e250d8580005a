"""Real parts for delivery tests and the bench: HTTP sinks on loopback (one that checks
Segment's batch format), a redis-server of our own on a spare port, and Celery worker and
beat processes pointed at the test database.

Nothing here talks to anything but 127.0.0.1, and every process started is stopped by its
owner (the fixtures in the test modules, the bench's ``finally``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Segment's limits, as its Tracking API documents them.
SEGMENT_MESSAGE_LIMIT = 32 * 1024
SEGMENT_BATCH_LIMIT = 500 * 1024
SEGMENT_BATCH_MESSAGES = 2500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- HTTP sinks --------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Sink:
    """A threaded HTTP server on loopback that records what it accepts.

    ``answer`` picks the status of each request (200 by default); ``delay`` holds each answer
    back, so that a test can kill a sender mid-request. ``stop()`` closes the listening socket
    *and* the open keep-alive connections: the sink is really down until ``start()``, which
    comes back on the same port.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.answered: Counter[int] = Counter()
        self.answer: Callable[[Received], tuple[int, dict[str, str], bytes]] = self.accept
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accept(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"ok"

    def record(self, request: Received) -> None:
        with self.lock:
            self.received.append(request)

    def handle(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = self.answer(request)
        if 200 <= status < 300:
            self.record(request)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.answered[status] += 1
        return status, headers, body

    def start(self) -> Sink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
            # One write per answer and no Nagle: else each answer waits for a delayed ACK.
            wbufsize = -1
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                sink._connections.add(self.connection)

            def finish(self) -> None:
                sink._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                status, headers, body = sink.handle(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        serve = partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass
        self._server = None


class SegmentSink(Sink):
    """A stand-in for Segment's ``/v1/batch`` that checks what Segment checks and records
    every message id it accepts (duplicates included)."""

    def __init__(self, write_key: str, port: int | None = None) -> None:
        super().__init__(port)
        self.write_key = write_key
        self.message_ids: Counter[str] = Counter()
        self.messages: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def accept(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        problem = self.problem(request)
        if problem:
            with self.lock:
                self.problems.append(problem)
            return 400, {"Content-Type": "application/json"}, _error_body(problem)
        return 200, {"Content-Type": "application/json"}, b'{"success":true}'

    def record(self, request: Received) -> None:
        batch = request.json()["batch"]
        with self.lock:
            self.received.append(request)
            self.messages.extend(batch)
            self.message_ids.update(message["messageId"] for message in batch)

    def problem(self, request: Received) -> str:
        """What Segment would refuse in this request, or ""."""
        if request.path != "/v1/batch":
            return f"unknown path {request.path}"
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return "Content-Type must be application/json"
        if len(request.body) > SEGMENT_BATCH_LIMIT:
            return f"batch of {len(request.body)} bytes is over 500 KB"
        try:
            body = request.json()
        except ValueError:
            return "invalid JSON"
        if self.write_key not in (body.get("writeKey"), _basic_user(request.headers)):
            return "no valid write key (body writeKey or Basic auth)"
        batch = body.get("batch")
        if not isinstance(batch, list) or not 0 < len(batch) <= SEGMENT_BATCH_MESSAGES:
            return "batch must be a list of 1 to 2,500 messages"
        for message in batch:
            problem = message_problem(message)
            if problem:
                return problem
        return ""

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.message_ids.values())


def message_problem(message: dict[str, Any]) -> str:
    """Segment's rules for one message of a batch."""
    size = len(json.dumps(message).encode())
    if size > SEGMENT_MESSAGE_LIMIT:
        return f"message of {size} bytes is over 32 KB"
    if message.get("type") not in {"identify", "track", "page", "screen", "group", "alias"}:
        return f"message without a valid type: {message.get('type')!r}"
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 100:
        return "messageId must be a string of 1 to 100 characters"
    if not (message.get("userId") or message.get("anonymousId")):
        return "no userId or anonymousId"
    if message["type"] == "track" and not isinstance(message.get("event"), str):
        return "track without an event"
    try:
        datetime.fromisoformat(message["timestamp"])
    except (KeyError, TypeError, ValueError):
        return "timestamp must be ISO-8601"
    integration = (message.get("context") or {}).get("integration") or {}
    if not (integration.get("name") and integration.get("version")):
        return "context.integration must name the sender and its version"
    return ""


def _basic_user(headers: dict[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, _password = base64.b64decode(value[6:]).decode().partition(":")
    return user


def _error_body(message: str) -> bytes:
    return json.dumps({"code": "invalid_request", "message": message}).encode()


# --- a redis-server of our own -------------------------------------------------------------------


class RedisServer:
    """``redis-server`` on a spare loopback port, without persistence: a restart loses every
    queued task, which is the point of the broker fault test."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory)]
        log = (self.directory / "redis.log").open("a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.ping, 10, f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


# --- RabbitMQ: a vhost of the shared server, or a node of our own ------------------------------

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
# The scripts that run a node as the calling user (Debian's /usr/sbin wrappers switch to the
# rabbitmq user and its /var/lib/rabbitmq, which a node of our own must not touch).
RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


def rabbitmq_reachable(url: str = RABBITMQ_URL) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def rabbitmqctl(*args: str, node: str | None = None, env: dict[str, str] | None = None) -> str:
    """The machine's ``rabbitmqctl``, or the one of ``node`` (a node of our own)."""
    command = [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node] if node else ["rabbitmqctl"]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, env=env, check=True
    )
    return result.stdout


class RabbitMQVhost:
    """A vhost of its own on the machine's RabbitMQ (``TEST_RABBITMQ_URL``), deleted with its
    queues when the test ends: tests share the server, never a queue."""

    def __init__(self, name: str, base_url: str = RABBITMQ_URL) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.name}"

    def start(self) -> RabbitMQVhost:
        user = self.base_url.split("://", 1)[1].split(":", 1)[0] or "guest"
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        return self

    def stop(self) -> None:
        rabbitmqctl("delete_vhost", self.name)


class RabbitMQServer:
    """A ``rabbitmq-server`` node of our own on spare loopback ports, its data in
    ``directory``: the restart test stops it, never the machine's shared one. It keeps its
    data across a restart, as a real one does (Celery's queues are durable, its messages
    persistent)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.node = f"satismeter-test-{self.port}@localhost"
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def environment(self) -> dict[str, str]:
        conf = self.directory / "rabbitmq.conf"
        conf.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.directory / "rabbitmq-env.conf").touch()
        return {
            **os.environ,
            "HOME": str(self.directory),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(conf),
            "RABBITMQ_CONF_ENV_FILE": str(self.directory / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.directory / "log"),
            "RABBITMQ_PID_FILE": str(self.directory / "rabbitmq.pid"),
        }

    def start(self) -> RabbitMQServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._env = self.environment()
        log = (self.directory / "rabbitmq.log").open("a")
        self.process = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: rabbitmq_reachable(self.url), 60, f"rabbitmq node {self.node}", 0.3)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            rabbitmqctl("shutdown", node=self.node, env=self._env)
            self.process.wait(timeout=30)
        except (subprocess.SubprocessError, OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


# --- Celery worker and beat processes ----------------------------------------------------------


@dataclass
class CeleryHarness:
    """Starts ``celery worker`` and ``celery beat`` processes of the example project with a
    settings module of its own (written to ``directory``): the given database and broker, and
    ``overrides`` applied on top of tests.settings."""

    directory: Path
    database_url: str
    broker_url: str
    overrides: dict[str, Any] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def settings_module(self) -> str:
        lines = ["from tests.settings import *  # noqa: F403"]
        lines += [f"{name} = {value!r}" for name, value in self.overrides.items()]
        (self.directory / "delivery_test_settings.py").write_text("\n".join(lines) + "\n")
        return "delivery_test_settings"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module(),
            PYTHONPATH=os.pathsep.join([str(self.directory), str(ROOT)]),
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.broker_url,
            SATISMETER_VAR_DIR=str(self.directory / "var"),
            CONN_MAX_AGE="0",
        )
        return env

    def start(self, role: str, name: str, *extra: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "project", role, *extra]
        log = (self.directory / f"{name}.log").open("a")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes its children too
        )
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker", queues: str = "") -> subprocess.Popen:
        """A worker of its own process; on every queue, or on ``queues`` (``-Q``) only."""
        options = ["--pool", "solo", "--without-gossip", "--without-mingle"]
        options += ["--without-heartbeat", "-n", f"{name}@%h", "-l", "info"]
        options += ["-Q", queues] if queues else []
        return self.start("worker", name, *options)

    def beat(self, name: str = "beat") -> subprocess.Popen:
        schedule = str(self.directory / f"{name}-schedule")
        return self.start("beat", name, "-s", schedule, "--max-interval", "1", "-l", "info")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no cleanup runs."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}"
            for path in sorted(self.directory.glob("*.log"))
        )


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for django-environ naming the database Django is connected to."""
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def use_broker(url: str) -> Callable[[], None]:
    """Point the example project's Celery app (which this process publishes with) at ``url``;
    returns the function that puts the old broker back."""
    from project.celery import app

    old = app.conf.broker_url

    def reset_pools() -> None:
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = url
    reset_pools()

    def restore() -> None:
        app.conf.broker_url = old
        reset_pools()

    return restore
