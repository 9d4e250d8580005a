"""A project's install page: the snippet with its write key, the userHash code in four
languages (the Python and Node ones run here and must give the hash the server accepts), the
Segment settings, and the live check of the last widget call and Segment message."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from satismeter_app import keys
from satismeter_app.admin.install import SECRET_VARIABLE, USER_HASH_CODE
from satismeter_app.models import ApiKey, Project, Survey
from satismeter_app.services import installation

pytestmark = pytest.mark.django_db

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def install_url(project: Project) -> str:
    return reverse("admin:satismeter_app_project_install", args=[project.pk])


def status_url(project: Project) -> str:
    return reverse("admin:satismeter_app_project_install_status", args=[project.pk])


@pytest.fixture
def superuser_client(client: Any, make_staff: Any) -> Any:
    client.force_login(make_staff(superuser=True))
    return client


def widget_call(project: Project, **headers: str) -> Any:
    return APIClient().post(
        "/api/widget",
        {"writeKey": project.write_key, "userId": "u1"},
        format="json",
        headers=headers,
    )


def page_text(reply: Any) -> str:
    return html.unescape(reply.content.decode())


def test_the_page_shows_the_snippet_with_the_write_key_and_this_servers_script(
    superuser_client: Any, project: Project, settings: Any
) -> None:
    settings.SATISMETER = {**settings.SATISMETER, "PUBLIC_BASE_URL": "https://nps.example.com"}
    reply = superuser_client.get(install_url(project))
    assert reply.status_code == 200
    text = page_text(reply)
    assert f'"writeKey": "{project.write_key}"' in text
    assert 'script.src = "https://nps.example.com/js"' in text
    assert "userHash" not in text.split("</script>")[0].split("satismeter({")[-1]
    assert 'host="https://nps.example.com/segment"' in text
    assert 'host: "https://nps.example.com", path: "/segment/v1/batch"' in text
    assert f"https://nps.example.com/segment/webhook/{project.pk}" in text


def test_with_identity_verification_the_snippet_sends_user_hash_and_no_secret_is_shown(
    superuser_client: Any, project: Project
) -> None:
    project.identity_verification = True
    project.save()
    api_key, whole_key = ApiKey.issue(project, "segment")
    text = page_text(superuser_client.get(install_url(project)))
    assert '"userHash": "USER_HASH"' in text
    assert project.verification_secret not in text
    assert project.verification_secret[:4] + "…" in text
    assert api_key.prefix in text and whole_key not in text
    for language in USER_HASH_CODE:
        assert f'data-testid="user-hash-{language.lower()}"' in text


def test_the_links_from_the_project_and_the_dashboard(
    superuser_client: Any, project: Project
) -> None:
    change = superuser_client.get(reverse("admin:satismeter_app_project_change", args=[project.pk]))
    assert install_url(project) in change.content.decode()
    dashboard = superuser_client.get(
        reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    )
    assert install_url(project) in dashboard.content.decode()


def test_only_members_of_the_project_open_its_install_page(
    client: Any, make_staff: Any, make_project: Any, project: Project
) -> None:
    other = make_project(name="Other")
    client.force_login(make_staff(other))
    assert client.get(install_url(project)).status_code == 404
    assert client.get(status_url(project)).status_code == 404
    assert client.get(install_url(other)).status_code == 200
    client.logout()
    assert client.get(status_url(project)).status_code == 302  # to the login


def test_the_live_check_shows_the_last_widget_call(
    superuser_client: Any, project: Project, survey: Survey
) -> None:
    assert superuser_client.get(status_url(project)).json() == {"widget": None, "inbound": None}
    widget_call(project, Origin="https://app.example.com", User_Agent=CHROME_UA)
    status = superuser_client.get(status_url(project)).json()
    widget = status["widget"]
    assert widget["origin"] == "https://app.example.com"
    assert widget["browser"] == "Chrome 120" and widget["os"] == "Linux"
    assert widget["ago"] < 5
    assert re.fullmatch(
        r"Received \d s ago from https://app\.example\.com, Chrome 120, Linux", widget["text"]
    )
    assert "Chrome 120" in page_text(superuser_client.get(install_url(project)))


def test_calls_before_the_page_was_opened_are_not_seen(project: Project, survey: Survey) -> None:
    widget_call(project, Origin="https://app.example.com")
    assert installation.last_widget_call(project.write_key) is None
    installation.watch(project.write_key)
    widget_call(project, Origin="https://app.example.com")
    assert installation.last_widget_call(project.write_key) is not None


def test_a_staff_preview_is_not_taken_for_the_installation(
    superuser_client: Any, project: Project, survey: Survey
) -> None:
    installation.watch(project.write_key)
    superuser_client.post(
        "/api/widget",
        {"writeKey": project.write_key, "userId": "u1", "previewCampaign": str(survey.pk)},
        content_type="application/json",
        headers={"Origin": "https://nps.example.com"},
    )
    assert installation.last_widget_call(project.write_key) is None


def test_a_made_up_write_key_leaves_nothing_in_the_cache(project: Project) -> None:
    assert widget_call(Project(write_key="wkMadeUp123")).status_code == 401
    installation.watch(project.write_key)
    assert installation.last_widget_call("wkMadeUp123") is None
    from django.core.cache import cache

    assert cache.get(installation.widget_call_key("wkMadeUp123")) is None


@pytest.mark.parametrize(
    ("origin", "shown"),
    [
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", ""),
        ("javascript:alert(1)", ""),
        ("https://evil.example/login?please", ""),
        ("https://user:pw@app.example.com", ""),
        ("https://<b>hi</b>", ""),
    ],
)
def test_only_a_real_origin_is_shown(origin: str, shown: str) -> None:
    assert installation.origin_of(origin) == shown


def test_a_forged_user_agent_is_never_shown_as_sent(
    superuser_client: Any, project: Project, survey: Survey
) -> None:
    installation.watch(project.write_key)
    widget_call(project, User_Agent="Sign in again at evil.example <script>x</script>")
    widget = superuser_client.get(status_url(project)).json()["widget"]
    assert "evil.example" not in json.dumps(widget) and "script" not in json.dumps(widget)
    assert "sent no Origin" in widget["text"]


def test_the_live_check_shows_the_last_segment_message(
    superuser_client: Any, project: Project, key: str
) -> None:
    batch = {
        "batch": [
            {"type": "identify", "userId": "42", "traits": {"plan": "pro"}},
            {"type": "track", "userId": "42", "event": "Upgraded"},
        ]
    }
    reply = APIClient().post(
        "/segment/v1/batch", batch, format="json", headers={"Authorization": f"Bearer {key}"}
    )
    assert reply.status_code == 200
    inbound = superuser_client.get(status_url(project)).json()["inbound"]
    assert inbound["type"] == "track" and inbound["messages"] == 2
    assert inbound["text"].startswith("Received") and "track" in inbound["text"]


# --- the userHash code, run ---------------------------------------------------------------------

USER_ID = "user-42 é"
SECRET = "s3cr3t-verification-secret"
RUNNERS = {
    "Python": ([sys.executable, "-c"], 'print(satismeter_user_hash("{user_id}"))'),
    "Node": (["node", "-e"], 'console.log(satismeterUserHash("{user_id}"));'),
    "Ruby": (["ruby", "-e"], 'puts satismeter_user_hash("{user_id}")'),
    "PHP": (["php", "-r"], 'echo satismeter_user_hash("{user_id}"), "\\n";'),
}


@pytest.mark.parametrize("language", list(USER_HASH_CODE))
def test_the_user_hash_code_gives_the_hash_the_server_accepts(language: str) -> None:
    command, call = RUNNERS[language]
    if shutil.which(command[0]) is None:
        # CI installs ruby and php-cli from Debian (.ci/run) and must run all four.
        if os.environ.get("REQUIRE_INTERPRETERS"):
            pytest.fail(f"{command[0]} is not installed, and REQUIRE_INTERPRETERS is set")
        pytest.skip(f"{command[0]} is not installed here")
    # php -r takes the code without its <?php line, as the page shows it.
    source = USER_HASH_CODE[language] + "\n" + call.format(user_id=USER_ID)
    env = {**os.environ, SECRET_VARIABLE: SECRET}
    out = subprocess.run([*command, source], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == keys.user_hash(USER_ID, SECRET)
