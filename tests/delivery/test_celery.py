"""The example project's Celery app runs real worker processes on either broker:
the file-system transport of the demo (no server) and Redis (production, CI)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery

from satismeter_app import queues

ROOT = Path(__file__).resolve().parents[2]


def _start_worker(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        env_overrides,
        DJANGO_SETTINGS_MODULE="project.settings",  # the example project's, not the tests'
        SATISMETER_VAR_DIR=str(tmp_path / "var"),
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "project",
        "worker",
        "-I",
        "tests.delivery.worker_tasks",
    ]
    command += ["--pool", "solo", "--without-gossip", "--without-mingle", "-l", "warning"]
    log = (tmp_path / "worker.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"the worker did not run the task within {timeout}s")


def _send_and_wait(
    client: Celery,
    tmp_path: Path,
    worker: subprocess.Popen,
    task: str = "write_file",
    *args: object,
) -> str:
    target = tmp_path / "done.txt"
    args = args or ("ran in worker",)
    try:
        client.send_task(f"tests.delivery.worker_tasks.{task}", args=[str(target), *args])
        return _wait_for(target)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        print((tmp_path / "worker.log").read_text())


def _demo_client(tmp_path: Path) -> Celery:
    """A client of the demo's file-system broker, whose folders the worker uses too."""
    queue = tmp_path / "var" / "celery" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    return Celery(
        broker="filesystem://",
        broker_transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(tmp_path / "var" / "celery" / "control"),
        },
    )


@pytest.mark.celery_worker
def test_demo_worker_runs_tasks_without_a_broker_server(tmp_path: Path) -> None:
    worker = _start_worker({}, tmp_path)
    assert _send_and_wait(_demo_client(tmp_path), tmp_path, worker) == "ran in worker"


@pytest.mark.celery_worker
def test_a_worker_imports_the_destination_packages_as_it_starts(tmp_path: Path) -> None:
    """Segment's client takes about 0.1 s to import: the first delivery does not wait for it."""
    modules = ["segment.analytics", "segment.analytics.request", "slack_sdk.models.blocks"]
    worker = _start_worker({}, tmp_path)
    imported = _send_and_wait(_demo_client(tmp_path), tmp_path, worker, "write_imported", modules)
    assert imported.split(",") == modules


@pytest.mark.celery_worker
def test_worker_runs_tasks_through_redis(tmp_path: Path) -> None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {url}; CI runs this test against its own Redis")
    worker = _start_worker({"REDIS_URL": url}, tmp_path)
    assert _send_and_wait(Celery(broker=url), tmp_path, worker) == "ran in worker"


@pytest.mark.celery_worker
def test_the_demo_worker_consumes_every_queue_of_the_app(tmp_path: Path) -> None:
    """``make demo``'s one worker (no -Q) runs deliveries, email and housekeeping alike."""
    worker = _start_worker({}, tmp_path)
    client = _demo_client(tmp_path)
    try:
        for queue in queues.QUEUES:
            target = tmp_path / f"{queue}.txt"
            task = "tests.delivery.worker_tasks.write_file"
            client.send_task(task, args=[str(target), queue], queue=queue)
            assert _wait_for(target) == queue
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        print((tmp_path / "worker.log").read_text())
