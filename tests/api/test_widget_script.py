"""The widget script's route (caching, compression, size budget) and the sample page's policy."""

import gzip
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from satismeter_app.views import SCRIPT, script_url, widget_script

# The widget script is at most 10 KB gzipped: it loads on every page of the host product.
BUDGET = 10 * 1024


def source() -> bytes:
    from importlib.resources import files

    return (files("satismeter_app") / SCRIPT).read_bytes()


@pytest.mark.parametrize("path", ["/js", "/satismeter.js"])
def test_the_script_is_served_at_both_paths_to_any_origin(client: Client, path: str) -> None:
    reply = client.get(path, HTTP_ORIGIN="https://app.example.com")

    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/javascript; charset=utf-8"
    assert reply["Access-Control-Allow-Origin"] == "*"
    assert reply["Cache-Control"] == "public, max-age=300"
    assert reply["ETag"] == f'"{widget_script().version}"'
    assert reply.content == source()


def test_gzipped_for_clients_that_accept_it(client: Client) -> None:
    reply = client.get("/js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert reply["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in reply["Vary"]
    assert reply["ETag"].endswith('-gzip"')
    assert gzip.decompress(reply.content) == source()


def test_the_script_fits_the_size_budget(capsys: Any) -> None:
    size = len(gzip.compress(source(), compresslevel=9))
    with capsys.disabled():
        print(f"\nwidget.js: {len(source())} bytes, {size} bytes gzipped (budget {BUDGET})")
    assert size <= BUDGET
    assert len(widget_script().gzipped) <= BUDGET  # what is served


@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_a_matching_etag_is_not_modified(client: Client, encoding: str) -> None:
    first = client.get("/js", HTTP_ACCEPT_ENCODING=encoding)
    again = client.get("/js", HTTP_ACCEPT_ENCODING=encoding, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("header", ['W/"{version}"', '"x", "{version}"', "*"])
def test_weak_listed_and_wildcard_etags_match(client: Client, header: str) -> None:
    tags = header.format(version=widget_script().version)
    assert client.get("/js", HTTP_IF_NONE_MATCH=tags).status_code == 304


def test_a_stale_etag_gets_the_script(client: Client) -> None:
    reply = client.get("/js", HTTP_IF_NONE_MATCH='"0123456789abcdef"')
    assert reply.status_code == 200 and reply.content == source()


def test_the_versioned_url_is_cached_for_a_year(client: Client) -> None:
    assert script_url() == f"/js?v={widget_script().version}"
    reply = client.get(script_url())
    assert reply["Cache-Control"] == "public, max-age=31536000, immutable"
    # An old version's URL must not pin the new script for a year.
    assert client.get("/js?v=old")["Cache-Control"] == "public, max-age=300"


def test_only_get_and_head(client: Client) -> None:
    assert client.head("/js").status_code == 200
    assert client.post("/js").status_code == 405


def test_the_script_builds_the_page_without_html_strings() -> None:
    """Survey strings and traits are untrusted: the DOM is built with textContent only."""
    text = source().decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text
    assert re.search(r"\.textContent = text", text)


# --- the sample page ----------------------------------------------------------------------------


@pytest.fixture
def demo_project(make_project, make_survey) -> Any:
    make_project(name="Other product")
    project = make_project(name="Demo product")
    make_survey(project, min_tenure_days=0)
    return project


def test_sample_page_is_open_in_debug(client, demo_project, settings) -> None:
    settings.DEBUG = True
    page = client.get(reverse("satismeter:sample"))

    assert page.status_code == 200
    text = page.content.decode()
    assert demo_project.write_key in text
    # A fresh visitor each time, in the snippet shown; the widget runs once it is asked for.
    assert "forceSurvey" in page.context["snippet"]
    assert '"userId": "sample-' in page.context["snippet"]
    assert "satismeter-options" not in text
    assert 'script.src = "http://testserver/js"' in page.context["snippet"]  # as pasted
    assert page.context["script_src"] == f"http://testserver{script_url()}"  # what runs


def test_sample_page_is_not_found_in_production_for_visitors(client, demo_project) -> None:
    assert client.get("/sample").status_code == 404


def test_sample_page_in_production_shows_staff_their_own_projects(
    client, demo_project, make_project, make_staff
) -> None:
    other = make_project(name="Not theirs")
    client.force_login(make_staff(demo_project))

    assert client.get("/sample").status_code == 200
    assert client.get(f"/sample?project={other.pk}").status_code == 404


def test_sample_page_puts_the_form_into_the_options(client, demo_project, settings) -> None:
    settings.DEBUG = True
    query = {
        "userId": "</script><script>alert(1)</script>",
        "name": "Ann",
        "email": "ann@example.com",
        "createdAt": "2024-01-31T09:00",
        "language": "pt-BR",
        "plan": "pro",
        "skin": "bar",
    }
    page = client.get("/sample", query)

    options = page.context["options"]
    assert options["userId"] == query["userId"]
    assert options["traits"] == {
        "name": "Ann",
        "email": "ann@example.com",
        "language": "pt-BR",
        "plan": "pro",
        "createdAt": "2024-01-31T09:00:00+00:00",
    }
    assert options["design"] == {"skin": "bar"}
    assert "forceSurvey" not in options  # the box was unticked
    assert "<script>alert(1)" not in page.content.decode()


def test_sample_page_says_what_is_wrong_with_the_form(client, demo_project, settings) -> None:
    settings.DEBUG = True
    page = client.get("/sample", {"userId": "u", "email": "not an address", "language": "xx"})

    assert page.context["options"] is None
    assert set(page.context["form"].errors) == {"email", "language"}
