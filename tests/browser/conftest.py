"""Real Chromium (Debian's ``chromium``, headless) driven by Playwright, against a live server.

The widget is served by pytest-django's ``live_server`` (http://localhost:<port>); the
customer's page is a static file served by a second loopback server on another origin
(http://127.0.0.1:<port>), as in real life, so that every widget call is a CORS request.
Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from project.demo.management.commands import satismeter_demo
from satismeter_app.models import Display, EndUser, Project, Reminder, Survey
from satismeter_app.services import reminders

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# npm packages the tests run unchanged (satismeter-loader, axe-core), pinned by package-lock.json.
NPM_DIR = Path(__file__).parent / "npm"

# SatisMeter's snippet exactly as a customer pastes it (support.satismeter.com), with only the
# host of the script changed. __HOST__ and __OPTIONS__ are filled in by `snippet()`.
SATISMETER_SNIPPET = """<script>
(function() { window.satismeter = window.satismeter || function() {(window.satismeter.q = window.satismeter.q || []).push(arguments);};
 window.satismeter.l = 1 * new Date(); var script = document.createElement("script");
 var parent = document.getElementsByTagName("script")[0].parentNode; script.async = 1;
 script.src = "https://app.satismeter.com/js"; parent.appendChild(script);})();
satismeter(__OPTIONS__);
</script>"""


def snippet(server_url: str, options: dict[str, Any] | str) -> str:
    """The customer's snippet; ``options`` is a dict (dumped as JSON) or JavaScript source."""
    source = options if isinstance(options, str) else json.dumps(options, indent=2)
    return SATISMETER_SNIPPET.replace("https://app.satismeter.com", server_url).replace(
        "__OPTIONS__", source
    )


def html_page(body: str, head: str = "", lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Customer app</title>{head}</head><body>{body}</body></html>"
    )


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(reason)  # CI: the browser tests must run
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread; Django would take
    # the test's ORM calls for calls from async code without this.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=10_000)  # as for actions: a loaded 2-core machine is slow
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _npm_unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_CHROMIUM"):
        pytest.fail(f"{reason} (CI runs `npm ci` in {NPM_DIR})")
    pytest.skip(reason)


def npm_file(relative: str) -> Path:
    """A file of an npm package of tests/browser/npm, installed from package-lock.json when
    missing; the test skips only when that cannot be done outside CI."""
    path = NPM_DIR / "node_modules" / relative
    if not path.exists():
        npm = shutil.which("npm")
        if npm is None:
            _npm_unavailable(f"{relative} is not installed and there is no npm to install it")
        command = [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"]
        done = subprocess.run(command, cwd=NPM_DIR, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            _npm_unavailable(f"`npm ci` in {NPM_DIR} failed (offline?): {done.stderr[-500:]}")
    return path


# axe-core's rules, run as its own docs show; a violation counts when it is serious or critical.
AXE_RUN = """async (context) => {
  const results = await axe.run(context || document, {resultTypes: ["violations"]});
  return results.violations.filter((v) => ["serious", "critical"].includes(v.impact))
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${JSON.stringify(n.target)}: `
      + (n.any.concat(n.all, n.none).map((c) => c.message).join("; "))));
}"""


def axe_violations(page: Any, context: str | None = None) -> list[str]:
    """The serious and critical violations axe-core (npm ``axe-core``) finds on the page, its
    frames and open shadow roots included, one line each, or within the ``context`` selector."""
    from playwright.sync_api import Error

    for attempt in range(3):
        _load_axe(page)
        try:
            return page.evaluate(AXE_RUN, context)
        except Error as error:
            # A frame that navigated meanwhile (a preview reloading its iframe) has lost the
            # axe loaded in it and never answers: load it again and run again.
            if "Axe in frame timed out" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _load_axe(page: Any) -> None:
    script = npm_file("axe-core/axe.min.js")
    for frame in page.frames:
        frame.wait_for_load_state()
        if not frame.evaluate("typeof window.axe !== 'undefined'"):
            frame.add_script_tag(path=str(script))


# aria-describedby and aria-labelledby ids that name no element of the same document or shadow
# root (axe-core leaves these "to review" rather than failing them).
DANGLING_IDREFS = """() => {
  const found = [];
  const visit = (root) => root.querySelectorAll("*").forEach((el) => {
    for (const name of ["aria-describedby", "aria-labelledby"]) {
      for (const id of (el.getAttribute(name) || "").split(/\\s+/).filter(Boolean)) {
        if (!el.getRootNode().getElementById(id)) found.push(`${name}=${id} on <${el.localName}>`);
      }
    }
    if (el.shadowRoot) visit(el.shadowRoot);
  });
  visit(document);
  return found;
}"""


def dangling_idrefs(page: Any) -> list[str]:
    """ARIA references to ids that do not exist, on the page and in its frames."""
    return [ref for frame in page.frames for ref in frame.evaluate(DANGLING_IDREFS)]


def wait_until(page: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition on what Playwright reports to Python (route handlers, events):
    each short wait lets Playwright deliver what is pending, then the condition is checked."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        page.wait_for_timeout(20)


def displayed(page: Any) -> Any:
    """``with displayed(page):`` waits for the widget to record its display. With SQLite, an
    answer saved while that write runs would find the database locked."""
    return page.expect_response(lambda r: "/api/displays" in r.url)


class InFlight:
    """The requests a page has sent and not yet seen answered."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: set[Any] = set()
        page.on("request", self.sent)
        page.on("requestfinished", self.answered)
        page.on("requestfailed", self.answered)

    def sent(self, request: Any) -> None:
        self.requests.add(request)

    def answered(self, request: Any) -> None:
        self.requests.discard(request)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every request has its answer, so that the live server is idle when the
        test's database is flushed (SQLite refuses a flush while a request writes)."""
        wait_until(self.page, lambda: not self.requests, timeout)


class Pages:
    """Opens pages in fresh contexts (own storage) and knows what they have in flight."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.opened: list[tuple[Any, InFlight]] = []
        self.errors: list[str] = []

    def __call__(self, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        context = self.browser.new_context(viewport=viewport, **options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.opened.append((context, InFlight(page)))
        return page

    def settle(self) -> None:
        for _, in_flight in self.opened:
            in_flight.drain()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Pages]:
    """``new_page(viewport)`` opens a page; the test fails on any JavaScript error."""
    pages = Pages(browser)
    yield pages
    pages.settle()
    for context, _ in pages.opened:
        context.close()
    assert not pages.errors, f"JavaScript errors: {pages.errors}"


@pytest.fixture
def page(new_page: Pages) -> Any:
    return new_page()


@pytest.fixture
def settled(new_page: Pages) -> Callable[[], None]:
    """Call before reading the database: waits until no request of the test's pages is in
    flight (with SQLite, a read while the live server writes fails at once)."""
    return new_page.settle


class HostSite:
    """A customer's site: static files on a loopback origin other than the live server's,
    each with the response headers it was added with (a Content-Security-Policy, say)."""

    def __init__(self, root: Path, url: str, headers: dict[str, dict[str, str]]) -> None:
        self.root = root
        self.url = url
        self.headers = headers

    def add(self, name: str, html: str, headers: dict[str, str] | None = None) -> str:
        (self.root / name).write_text(html, encoding="utf-8")
        self.headers[name] = dict(headers or {})
        return f"{self.url}/{name}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, headers: dict[str, dict[str, str]], **kwargs: Any) -> None:
        self.page_headers = headers  # before super(), which handles the request
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        name = urlsplit(self.path).path.lstrip("/")
        for header, value in self.page_headers.get(name, {}).items():
            self.send_header(header, value)
        super().end_headers()


@pytest.fixture(scope="package")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("host-site")
    headers: dict[str, dict[str, str]] = {}
    handler = partial(_QuietHandler, directory=str(root), headers=headers)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostSite(root, f"http://127.0.0.1:{server.server_address[1]}", headers)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _public_base_url(request: pytest.FixtureRequest) -> None:
    """The URLs the app hands out (Location, email links) name the live server, as a real
    server's SATISMETER["PUBLIC_BASE_URL"] names it, not the test client's http://testserver."""
    if "live_server" in request.fixturenames:
        url = request.getfixturevalue("live_server").url
        settings = request.getfixturevalue("settings")
        settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": url}


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def acme(live_server: Any) -> Project:
    """A project whose active survey asks everyone at once (live_server: transactional DB)."""
    return Project.objects.create(name="Acme")


@pytest.fixture
def nps(acme: Project) -> Survey:
    return Survey.objects.create(
        project=acme,
        name="Quarterly NPS",
        state=Survey.State.ACTIVE,
        audience=Survey.Audience.EVERYONE,
        min_tenure_days=0,
        design={"serviceName": "Acme Cloud"},
    )


# --- the admin and the reminder email ------------------------------------------------------------


@pytest.fixture
def demo(live_server: Any) -> Project:
    """The example project's demo data (staff login admin / admin)."""
    call_command(satismeter_demo.Command(), "--json", stdout=io.StringIO())
    return Project.objects.get(name="Demo product")


def log_in(page: Any, live_server: Any) -> None:
    """The demo's staff member, logged in to the admin in ``page``."""
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.fixture
def reminded(nps: Survey, live_server: Any, settings: Any, mailoutbox: list[Any]) -> Any:
    """Sends a reminder to a user of ``language``; returns its message and row. Its links
    lead to the live server."""
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": live_server.url}
    Survey.objects.filter(pk=nps.pk).update(
        reminders_enabled=True,
        reminder_sender_name="Acme Team",
        reminder_sender_email="team@acme.test",
    )

    def send(language: str) -> tuple[Any, Reminder]:
        user = EndUser.objects.create(
            project=nps.project,
            user_id=f"mail-{language}",
            email=f"{language}@example.com",
            language=language,
            first_seen=timezone.now() - timedelta(days=60),
        )
        when = timezone.now() - timedelta(days=10)
        Display.objects.create(project=nps.project, survey=nps, user=user, created=when)
        reminders.send_all()
        return mailoutbox[-1], Reminder.objects.get(user=user)

    return send
