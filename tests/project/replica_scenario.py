"""What tests/project/test_replica.py runs in the example project against a primary and its
replica (DATABASE_URL, REPLICA_DATABASE_URL): ``python -m tests.project.replica_scenario``.

It prints, as one JSON object, what each path answered while the replica's replay was paused
after a response was given, and again once the replica caught up.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from satismeter_app.models import ApiKey, Project, Response, Survey  # noqa: E402


def replica_sql(sql: str) -> Any:
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wait_until_replayed(timeout: float = 60) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while replica_sql(f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn())") > 0:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def pause_replay(timeout: float = 30) -> None:
    """Until the replica replays nothing more (a pause takes effect between two records)."""
    replica_sql("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + timeout
    while replica_sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the replica did not pause"
        time.sleep(0.05)


def call(client: Client, method: str, path: str, data: Any = None, **headers: str) -> Any:
    body = json.dumps(data) if data is not None else None
    kwargs = {"data": body, "content_type": "application/json"} if body else {}
    return getattr(client, method.lower())(path, headers=headers, **kwargs)


def give_a_response(client: Client, write_key: str, user_id: str) -> dict[str, int]:
    """The widget's calls, each a write that reads what it wrote: their statuses."""
    identity = {"writeKey": write_key, "userId": user_id}
    widget = call(client, "POST", "/api/widget", {**identity, "traits": {"plan": "pro"}})
    campaign = widget.json()["widget"]["campaign"]
    shown = call(client, "POST", "/api/displays", {**identity, "campaign": campaign})
    started = call(
        client, "POST", "/api/responses", {**identity, "campaign": campaign, "rating": 9}
    )
    path = started.headers["Location"].split("://", 1)[-1].partition("/")[2]
    token = started.headers["auth-token"]
    saved = call(client, "PUT", f"/{path}", {"feedback": "Fast"}, **{"auth-token": token})
    return {
        "widget": widget.status_code,
        "display": shown.status_code,
        "response": started.status_code,
        "comment": saved.status_code,
    }


def body(streamed: Any) -> bytes:
    assert streamed.status_code == 200, streamed.status_code
    return b"".join(streamed.streaming_content)


def reports(client: Client, staff: Client, project: Project, survey: Survey, key: str) -> dict:
    """How many responses each report path serves."""
    auth = {"Authorization": f"Bearer {key}"}
    exported = json.loads(body(call(client, "GET", "/api/responses", **auth)))["responses"]
    csv = body(call(client, "GET", "/api/responses?format=csv", **auth))
    statistics = call(client, "GET", "/api/v2/response-statistics", **auth).json()
    v3 = call(client, "GET", f"/api/v3/projects/{project.pk}/responses", **auth).json()
    v3_stats = call(
        client, "GET", f"/api/v3/projects/{project.pk}/campaigns/{survey.pk}/statistics", **auth
    ).json()
    page = staff.get(f"/admin/satismeter_app/project/{project.pk}/dashboard/")
    board = staff.get(f"/admin/satismeter_app/project/{project.pk}/dashboard/export.csv")
    listed = staff.get("/admin/satismeter_app/survey/").content.decode()
    figure = re.search(r'<td class="field-recent_responses">(\d+)</td>', listed)
    return {
        "export_json": len(exported),
        "export_csv": len(csv.splitlines()) - 1,
        "statistics": statistics["data"][0]["attributes"]["responses"],
        "v3_responses": len(v3["data"]),
        "v3_statistics": v3_stats["data"]["attributes"]["responses"],
        "dashboard_page": page.status_code,
        "dashboard_export": len(body(board).splitlines()) - 1,
        "list_figure": int(figure.group(1)) if figure else None,
        "on_the_primary": Response.objects.filter(project=project).count(),
    }


def main() -> None:
    project = Project.objects.create(name="Replicated")
    survey = Survey.objects.create(project=project, name="NPS", state="active", min_tenure_days=0)
    key = ApiKey.issue(project, "replica")[1]
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    staff = Client()
    staff.force_login(boss)
    client = Client()
    wait_until_replayed()
    pause_replay()
    seen: dict[str, Any] = {"widget_paused": give_a_response(client, project.write_key, "u1")}
    users = call(
        client, "POST", "/api/users", {"userId": "u2", "traits": {"plan": "free"}},
        Authorization=f"Bearer {key}",
    )  # fmt: skip
    seen["users_api_paused"] = users.status_code
    renamed = call(
        client, "PATCH", f"/api/manage/surveys/{survey.pk}", {"name": "NPS, renamed"},
        Authorization=f"Token {Token.objects.create(user=boss).key}",
    )  # fmt: skip
    seen["manage_api_paused"] = renamed.status_code
    seen["paused"] = reports(client, staff, project, survey, key)
    replica_sql("SELECT pg_wal_replay_resume()")
    wait_until_replayed()
    seen["caught_up"] = reports(client, staff, project, survey, key)
    seen["replica_read_only"] = replica_sql("SELECT pg_is_in_recovery()")
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
