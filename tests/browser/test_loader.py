"""SatisMeter's npm loader, `satismeter-loader` 1.1.0 from the npm registry, in Chromium on a
page of another origin, without a bundler: its file served unchanged as an ES module (module
scope, as a bundler gives it: as a plain script its top-level `function satismeter` would be
`window.satismeter`, and call itself), with the `module` object of a CommonJS file.

The loader creates a queue stub (`placeholder.q`) and injects
`https://app.satismeter.com/satismeter.js` unless `window.satismeter` exists; it passes one
argument on, so only the object style goes through it. Two ways to point it at this server:
define the snippet's stub with this server's script first (the loader then only queues), or
replace the host in the loader's file at build time, as the snippet tests replace it in the
snippet.

The package is installed by `npm ci` in tests/browser/npm/ (.ci/run does it); the tests run it
there when it is missing, and skip only when that cannot be done outside CI.
"""

from typing import Any

import pytest
from playwright.sync_api import expect

from satismeter_app.models import Response

from .conftest import SATISMETER_SNIPPET, displayed, html_page, npm_file

pytestmark = pytest.mark.browser

SATISMETER = "https://app.satismeter.com"
# The CommonJS `module` a bundler would give the file, and the file as a module script.
COMMONJS = (
    '<script>var module = {{exports: {{}}}};</script><script type="module" src="{src}"></script>'
)

# The snippet's stub and script tag without its call: the page's own code calls later.
STUB = SATISMETER_SNIPPET.replace("satismeter(__OPTIONS__);\n", "")


@pytest.fixture(scope="module")
def loader_source() -> str:
    """index.js of satismeter-loader, installed from package-lock.json when missing."""
    return npm_file("satismeter-loader/index.js").read_text(encoding="utf-8")


def customer_code(project: Any, user_id: str) -> str:
    options = f'{{writeKey: "{project.write_key}", userId: "{user_id}", traits: {{name: "Ann"}}}}'
    # A module too (run after the loader's, in order); `require('satismeter-loader')`.
    return (
        '<script type="module">const satismeter = module.exports;\n'
        f"satismeter({options});\n"
        # An SPA's next route, after the widget has loaded: the loader now calls it directly.
        "window.nextRoute = function () { satismeter({type: 'page', userId: "
        f'"{user_id}"}}); }};</script>'
    )


def outside_requests(page: Any, live_server: Any, host_site: Any) -> list[str]:
    """Requests to any host but the survey server and the customer's site."""
    seen: list[str] = []
    ours = (live_server.url, host_site.url)
    page.on("request", lambda r: r.url.startswith(ours) or seen.append(r.url))
    return seen


def answer_through_the_loader(page: Any, settled: Any) -> Response:
    expect(page.get_by_role("dialog", name="How likely are you to recommend")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST" and "/api/responses" in r.url):
        page.get_by_role("radio", name="6 out of 10").click()
    with page.expect_response(lambda r: "/api/widget" in r.url):
        page.evaluate("window.nextRoute()")
    settled()
    return Response.objects.get()


def test_loader_unchanged_after_the_servers_stub(
    page, live_server, host_site, nps, loader_source, settled
) -> None:
    host_site.add("satismeter-loader.js", loader_source)  # byte for byte from node_modules
    stub = STUB.replace(SATISMETER, live_server.url)
    body = stub + COMMONJS.format(src="satismeter-loader.js")
    url = host_site.add("loader-stub.html", html_page(body + customer_code(nps.project, "L-1")))
    outside = outside_requests(page, live_server, host_site)
    with displayed(page):
        page.goto(url)
    response = answer_through_the_loader(page, settled)
    assert (response.rating, response.user.user_id, response.user.name) == (6, "L-1", "Ann")
    assert outside == []  # app.satismeter.com never asked


def test_loader_with_its_host_replaced(
    page, live_server, host_site, nps, loader_source, settled
) -> None:
    assert loader_source.count(f"{SATISMETER}/satismeter.js") == 1  # what is replaced
    host_site.add("loader-built.js", loader_source.replace(SATISMETER, live_server.url))
    body = COMMONJS.format(src="loader-built.js")
    url = host_site.add("loader-built.html", html_page(body + customer_code(nps.project, "L-2")))
    outside = outside_requests(page, live_server, host_site)
    with page.expect_request(f"{live_server.url}/satismeter.js"), displayed(page):
        page.goto(url)  # the loader's own script tag, on this server
    response = answer_through_the_loader(page, settled)
    assert (response.rating, response.user.user_id) == (6, "L-2")
    assert outside == []
