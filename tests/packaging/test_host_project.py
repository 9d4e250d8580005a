"""The package as a host project gets it: the wheel, installed in a fresh virtualenv, added to
a fresh ``django-admin startproject`` exactly as the README's "Adding the app to your Django
project" says (its code blocks are applied as they stand), under a host REST_FRAMEWORK that
locks its own API down. A real server then answers real HTTP calls on a loopback port.

Slow (about a minute: the dependencies come from PyPI or pip's cache); CI runs it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "satismeter_app"
SECTION = "## Adding the app to your Django project"
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "var", "artifacts", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)
# A host whose own API is locked down, paginated, throttled and versioned, that keeps DRF's
# default schema inspector and disables OPTIONS: none of it may reach the app's routes.
RESTRICTIVE_REST_FRAMEWORK = """
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 1,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": "1/day"},
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_METADATA_CLASS": None,
    "UNAUTHENTICATED_USER": None,
}
"""
# The host's first project, made through the app's models as the admin would make it.
CREATE_PROJECT = """
import json
from satismeter_app.models import ApiKey, Project, Survey
project = Project.objects.create(name="Host product")
survey = Survey.objects.create(
    project=project, name="NPS", state=Survey.State.ACTIVE,
    audience=Survey.Audience.EVERYONE, min_tenure_days=0,
)
_, key = ApiKey.issue(project, "host")
print(json.dumps({"project": project.pk, "survey": survey.pk,
                  "write_key": project.write_key, "api_key": key}))
"""
STAFF = ("staff", "a-long-staff-password-9")


# --- the README's instructions ------------------------------------------------------------------


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n### ", start)]


def readme_python_block(first_line: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", readme_section(), re.S)
    return next(block for block in blocks if block.startswith(first_line))


def readme_extras() -> str:
    found = re.search(r'pip install "django-satismeter(\[[\w,]+\])"', readme_section())
    assert found, "the README's install line"
    return found.group(1)


# --- building and installing --------------------------------------------------------------------


def host_environment(venv: Path) -> dict[str, str]:
    """What a shell in the host project has: none of this suite's Django or database settings."""
    passed = ("HOME", "LANG", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {name: value for name, value in os.environ.items() if name in passed}
    env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_") or "PROXY" in k.upper()}
    return env | {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}


def run(args: list[Any], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the sources, so that the work tree gets no build/ or egg-info."""
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, work / "src", ignore=NOT_SOURCES)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", work / "src"]
    )
    (built,) = (work / "dist").glob("django_satismeter-*.whl")
    return built


@dataclass
class Host:
    url: str
    site: Path
    env: dict[str, str]
    project: int  # the ids and keys of the project that CREATE_PROJECT made
    survey: int
    write_key: str
    api_key: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def set_up_site(venv: Path, site: Path, env: dict[str, str]) -> None:
    site.mkdir()
    run([venv / "bin" / "django-admin", "startproject", "host", site], env=env)
    settings = site / "host" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n"
        + readme_python_block("# settings.py")
        + RESTRICTIVE_REST_FRAMEWORK
    )
    (site / "host" / "urls.py").write_text(readme_python_block("# urls.py"))
    python = venv / "bin" / "python"
    run([python, "manage.py", "migrate", "--noinput"], env=env, cwd=site)
    run([python, "manage.py", "check", "--fail-level", "WARNING"], env=env, cwd=site)
    username, password = STAFF
    staff_env = env | {"DJANGO_SUPERUSER_PASSWORD": password}
    create = [python, "manage.py", "createsuperuser", "--noinput", "--username", username]
    run([*create, "--email", "staff@example.com"], env=staff_env, cwd=site)


def wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (a loopback URL)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise AssertionError(f"the host's server did not answer:\n{log.read_text()}")


@pytest.fixture(scope="module")
def host(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    work = tmp_path_factory.mktemp("host")
    venv, site = work / "venv", work / "site"
    run([sys.executable, "-m", "venv", venv])
    env = host_environment(venv)
    python = venv / "bin" / "python"
    # The wheel with the README's extras, at the versions pinned for the example project.
    requirement = f"{wheel}{readme_extras()}"
    pins = ROOT / "requirements" / "base.txt"
    run([python, "-m", "pip", "install", "-q", requirement, "-r", pins], env=env)
    set_up_site(venv, site, env)
    printed = run([python, "manage.py", "shell", "-c", CREATE_PROJECT], env=env, cwd=site)
    created = json.loads(printed.splitlines()[-1])
    port = free_port()
    log = work / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=site,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/admin/login/", server, log)
        yield Host(url, site, env, **created)
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- talking to it ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    host: Host,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})} if data else headers or {}
    url = path if path.startswith("http") else host.url + path
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=30) as reply:
            return Reply(reply.status, reply.headers, reply.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def bearer(host: Host) -> dict[str, str]:
    return {"Authorization": f"Bearer {host.api_key}"}


def answer(host: Host, user_id: str, rating: int, comment: str) -> Reply:
    """What the widget does for one user: ask, show, rate, comment."""
    identity = {"writeKey": host.write_key, "userId": user_id}
    widget = call(host, "POST", "/api/widget", {**identity, "traits": {"plan": "pro"}})
    assert widget.status == 200, widget.body
    assert widget.json()["widget"]["visible"] is True
    campaign = widget.json()["widget"]["campaign"]
    shown = call(host, "POST", "/api/displays", {**identity, "campaign": campaign})
    assert shown.status == 201, shown.body
    started = call(
        host, "POST", "/api/responses", {**identity, "campaign": campaign, "rating": rating}
    )
    assert started.status == 201, started.body
    token = started.headers["auth-token"]
    # The host names its public address in PUBLIC_BASE_URL, as the README says: the Location
    # is there, and a proxy there forwards to this server.
    location = urllib.parse.urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" in readme_python_block("# settings.py")
    saved = call(host, "PUT", location.path, {"feedback": comment}, {"auth-token": token})
    assert saved.status == 200, saved.body
    assert saved.json()["completed"] is True
    return saved


# --- the tests ----------------------------------------------------------------------------------


def test_wheel_carries_what_a_host_needs_and_nothing_of_the_example_project(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    def shipped(pattern: str) -> set[str]:
        return {str(path.relative_to(ROOT)) for path in APP.glob(pattern)}

    patterns = ("templates/**/*.*", "static/**/*.*", "catalog/**/*.json", "migrations/0*.py")
    for pattern in patterns:
        assert shipped(pattern) and shipped(pattern) <= names, pattern
    for suffix in ("po", "mo"):
        assert len(shipped(f"locale/*/LC_MESSAGES/django.{suffix}")) >= 12
        assert shipped(f"locale/*/LC_MESSAGES/django.{suffix}") <= names
    assert "satismeter_app/management/commands/satismeter_send_reminders.py" in names
    assert not {name for name in names if name.startswith(("project/", "tests/", "bench/"))}
    assert not {name for name in names if "satismeter_demo" in name}


def test_widget_routes_answer_under_a_restrictive_host_api(host: Host) -> None:
    preflight = call(host, "OPTIONS", "/api/widget", headers={"Origin": "https://app.example"})
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"

    answer(host, "widget-user", 9, "Great")


def test_export_and_statistics_with_the_secret_key(host: Host) -> None:
    for number, rating in enumerate((10, 3)):
        answer(host, f"export-user-{number}", rating, "Thanks")

    export = call(host, "GET", f"/api/responses?project={host.project}", headers=bearer(host))
    assert export.status == 200, export.body
    users = {response["user"]["userId"] for response in export.json()["responses"]}
    assert {"export-user-0", "export-user-1"} <= users  # all of them: the host pages nothing

    csv = call(host, "GET", "/api/responses?format=csv", headers=bearer(host))
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")

    stats = call(host, "GET", "/api/v2/response-statistics", headers=bearer(host))
    assert stats.status == 200, stats.body
    attributes = stats.json()["data"][0]["attributes"]
    assert attributes["responses"] >= 2 and attributes["promoters"] >= 1
    assert attributes["detractors"] >= 1 and len(attributes["frequency"]) == 11

    anonymous = call(host, "GET", "/api/responses")
    assert anonymous.status in (401, 403)


def test_segment_identify_lands_on_the_user(host: Host) -> None:
    basic = base64.b64encode(f"{host.api_key}:".encode()).decode()
    message = {"userId": "segment-user", "traits": {"email": "seg@example.com", "plan": "team"}}

    sent = call(host, "POST", "/segment/v1/identify", message, {"Authorization": f"Basic {basic}"})

    assert sent.status == 200, sent.body
    assert sent.json()["success"] is True
    users = call(host, "GET", "/api/users?userId=segment-user", headers=bearer(host))
    assert users.status == 200, users.body
    (user,) = users.json()["users"]
    assert (user["email"], user["traits"]["plan"]) == ("seg@example.com", "team")


def test_openapi_schema_and_docs(host: Host) -> None:
    schema = call(host, "GET", "/api/schema/?format=json")
    assert schema.status == 200, schema.body[:2000]
    document = schema.json()
    validate_schema(document)
    assert document["info"]["title"] == "django-satismeter API"
    for path in (
        "/api/widget",
        "/api/responses",
        "/api/v2/response-statistics",
        "/segment/v1/identify",
    ):
        assert path in document["paths"], path

    docs = call(host, "GET", "/api/docs/")
    assert docs.status == 200
    html = docs.body.decode()
    (bundle,) = re.findall(r'src="([^"]*swagger-ui-bundle\.js)"', html)
    assert not bundle.startswith(("http:", "https:", "//"))  # the sidecar, not a CDN
    assert call(host, "GET", bundle).status == 200


def test_widget_script_is_served(host: Host) -> None:
    script = call(host, "GET", "/js")
    assert script.status == 200
    assert "javascript" in script.headers["Content-Type"]
    assert b"satismeter" in script.body


def staff_session(host: Host) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = call(host, "GET", "/admin/login/", opener=opener)
    assert page.status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token is not None
    username, password = STAFF
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1).decode(), "username": username, "password": password}
    ).encode()
    login = urllib.request.Request(  # noqa: S310 (a loopback URL)
        f"{host.url}/admin/login/?next=/admin/",
        data=form,
        headers={"Referer": f"{host.url}/admin/login/"},
    )
    with opener.open(login, timeout=30) as reply:
        assert reply.url.endswith("/admin/"), reply.url  # logged in: sent on to the index
    return opener


def test_admin_login_and_the_apps_admin_pages(host: Host) -> None:
    opener = staff_session(host)

    projects = call(host, "GET", "/admin/satismeter_app/project/", opener=opener)
    assert projects.status == 200
    assert b"Host product" in projects.body
    dashboard = f"/admin/satismeter_app/project/{host.project}/dashboard/"
    assert call(host, "GET", dashboard, opener=opener).status == 200

    managed = call(host, "GET", "/api/manage/projects", opener=opener)
    assert managed.status == 200, managed.body
    assert [project["name"] for project in managed.json()["results"]] == ["Host product"]
