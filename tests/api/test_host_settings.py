"""The app's API views take nothing from the host's REST_FRAMEWORK setting.

DRF copies its defaults onto ``APIView`` when it is imported, so a test in this process cannot
change them; tests/packaging/test_host_project.py runs the app in a fresh project with a
restrictive REST_FRAMEWORK. These tests keep every view on the explicit footing it needs there.
"""

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.openapi import AutoSchema
from rest_framework.views import APIView

from satismeter_app.api.base import OWN_POLICIES, AppViewMixin
from satismeter_app.api.schema import DocsView, SchemaView

APP = Path(__file__).resolve().parent.parent / "satismeter_app"


def app_api_views() -> list[type[APIView]]:
    found: list[type[APIView]] = []

    def walk(patterns: list, inside_app: bool) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, inside_app or pattern.namespace == "satismeter")
            elif isinstance(pattern, URLPattern) and inside_app:
                view = getattr(pattern.callback, "cls", None)
                if isinstance(view, type) and issubclass(view, APIView):
                    found.append(view)

    walk(get_resolver().url_patterns, False)
    return found


def where_set(view: type, name: str) -> type:
    return next(cls for cls in view.__mro__ if name in vars(cls))


API_VIEWS = [view for view in app_api_views() if view not in (SchemaView, DocsView)]


def test_the_app_has_api_views() -> None:
    assert len(API_VIEWS) > 20


@pytest.mark.parametrize("view", API_VIEWS, ids=lambda view: view.__name__)
def test_each_view_builds_on_the_apps_base(view: type[APIView]) -> None:
    assert issubclass(view, AppViewMixin)
    assert isinstance(view().schema, AutoSchema)


@pytest.mark.parametrize("view", API_VIEWS, ids=lambda view: view.__name__)
@pytest.mark.parametrize("policy", OWN_POLICIES)
def test_each_view_names_its_own_authentication_permissions_and_throttles(
    view: type[APIView], policy: str
) -> None:
    owner = where_set(view, policy)
    assert owner.__module__.startswith("satismeter_app."), f"{policy} comes from {owner}"


@pytest.mark.parametrize("view", [SchemaView, DocsView], ids=lambda view: view.__name__)
def test_schema_and_docs_are_not_throttled_or_versioned_by_the_host(view: type) -> None:
    assert isinstance(view().schema, AutoSchema)  # or a whole-site schema fails on them
    for name in ("throttle_classes", "versioning_class", "content_negotiation_class"):
        assert where_set(view, name) is view, name


def test_schema_annotations_use_the_apps_extend_schema() -> None:
    """drf-spectacular's own ``extend_schema`` builds on the host's DEFAULT_SCHEMA_CLASS."""
    direct = re.compile(
        r"from drf_spectacular\.utils import (\([^)]*|[^\n]*)\bextend_schema\b(?!_)"
    )
    offenders = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if path.name != "base.py" and direct.search(path.read_text())
    ]
    assert offenders == []
