"""Tasks that only the test suite's worker processes load (``celery worker -I``)."""

import sys
from pathlib import Path

from celery import shared_task


@shared_task
def write_file(path: str, text: str) -> None:
    Path(path).write_text(text)


@shared_task
def write_imported(path: str, modules: list[str]) -> None:
    """Which of ``modules`` the worker had imported when the task came."""
    Path(path).write_text(",".join(name for name in modules if name in sys.modules))
