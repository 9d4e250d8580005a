"""The example project's tests run with its additions to a host's settings: the demo app,
its URLs (the favicon) and its static files."""

from typing import Any

import pytest

from project import settings as example


@pytest.fixture(autouse=True)
def _example_project(settings: Any) -> None:
    settings.INSTALLED_APPS = example.INSTALLED_APPS
    settings.ROOT_URLCONF = example.ROOT_URLCONF
    settings.STATICFILES_DIRS = getattr(example, "STATICFILES_DIRS", [])
