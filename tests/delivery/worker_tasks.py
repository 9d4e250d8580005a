"""Tasks that only the test suite's worker processes load (``celery worker -I``)."""

from pathlib import Path

from celery import shared_task


@shared_task
def write_file(path: str, text: str) -> None:
    Path(path).write_text(text)
