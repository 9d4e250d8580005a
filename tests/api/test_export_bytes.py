"""Every route that writes response objects answers the same bytes as the checked-in files
under ``golden/``, byte for byte: the streamed JSON and CSV exports (plain, extended, a time
window, numbered pages), one response, the v3 pages, the management API, a user's data export,
the users export and the admin dashboard's CSV.

The data set is fixed (ids included), so that the bytes are too: traits with nested objects,
unicode, emoji and right-to-left text, numbers JSON writes in several ways (small and large
floats, integers past 64 bits), answers, cells a spreadsheet would run as formulas, commas,
quotes and newlines in comments, every nullable field empty, dismissed, pending, completed and
anonymous users, erased users, three surveys of three types and several languages, times with
and without microseconds.

The files were written by the implementation before exports were read as tuples; when a
route's output is meant to change, rewrite them with ``SATISMETER_WRITE_GOLDEN=1`` and read
the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from satismeter_app.models import ApiKey, EndUser, Membership, Project, Response, Survey

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "exports"
WRITE = os.environ.get("SATISMETER_WRITE_GOLDEN") == "1"

PROJECT, OTHER = 910_001, 910_002
SURVEYS = {910_101: "nps", 910_102: "csat", 910_103: "ces"}
BASE = datetime(2024, 3, 1, 8, 30, 0, tzinfo=UTC)

TRICKY_TEXT = [
    "=1+1",
    "+33 6 12 34 56 78",
    "-negative",
    "@mention",
    "\tindented",
    "\rcarriage",
    'Comma, "quotes" and\nnewlines\r\nboth',
    "مرحبا بالعالم، هذا رائع",  # right to left
    "emoji 🎉👍🏽 and 中文 and Ünïcödé",
    "control \x01\x1f and \\ backslash / slash",
    "\u2028line separator\u2029",
    "'already quoted",
    " leading space",
    "",
]
NUMBERS = [0, -1, 2**53 + 1, 2**64, -(2**70), 0.1, 1.5, 1e-05, 0.000123, 1.5e16, 123456.789]


def traits_for(n: int) -> dict[str, Any]:
    if n % 7 == 0:
        return {}
    return {
        "plan": ["free", "pro", "enterprise"][n % 3],
        "note": TRICKY_TEXT[n % len(TRICKY_TEXT)],
        "seats": NUMBERS[n % len(NUMBERS)],
        "nested": {"a": [1, "two", None, True, {"deep": TRICKY_TEXT[(n + 3) % len(TRICKY_TEXT)]}]},
        "flag": n % 2 == 0,
        "nothing": None,
        "empty": [],
    }


def answers_for(n: int) -> list[dict[str, Any]]:
    if n % 3 == 0:
        return []
    answers: list[dict[str, Any]] = [
        {"id": "q2", "label": "Why?", "value": TRICKY_TEXT[n % len(TRICKY_TEXT)], "type": "text"},
    ]
    if n % 3 == 2:
        answers.append(
            {"id": "q3", "label": "Pick", "value": ["a", "b", n], "type": "multiple-choice"}
        )
    if n == 5:  # an answer stored under the rating's id: the CSV leaves it out, JSON keeps it
        answers.append({"id": "SM_rating", "label": "Again", "value": 1, "type": "scale"})
    return answers


def make_users(project: Project) -> list[EndUser]:
    specs: list[dict[str, Any]] = [
        {"user_id": "ann", "name": "Ann", "email": "ann@example.com"},
        {"user_id": "=cmd|' /C calc'!A0", "name": "@SUM(A1)", "email": ""},
        {"user_id": "رامي", "name": "رامي الحسن", "email": "rami@example.com"},
        {"user_id": "emoji-🦄", "name": 'Zoë 🦄, "the" one\nnew line', "email": ""},
        {"user_id": None, "anonymous_id": "anon-0001", "name": "", "email": ""},
        {"user_id": "gone", "anonymous_id": "anon-gone", "erased": BASE},
        {"user_id": "-minus", "name": "+plus", "email": "x@example.com"},
        {"user_id": "with-anon", "anonymous_id": "anon-with", "name": "Both ids"},
    ]
    users = []
    for n, spec in enumerate(specs):
        users.append(
            EndUser.objects.create(
                pk=920_001 + n,
                project=project,
                created_at=None if n % 2 else BASE - timedelta(days=300 + n, microseconds=n * 7),
                first_seen=BASE - timedelta(days=400),
                last_seen=BASE,
                groups={} if n % 3 else {"acme": {"plan": "enterprise", "seats": n}},
                traits={"current": True},
                **spec,
            )
        )
    return users


def response_fields(n: int) -> dict[str, Any]:
    """Response ``n``: a rating, a dismissal or a pending start, with everything it may carry."""
    created = BASE + timedelta(hours=n, microseconds=0 if n % 4 == 0 else 1000 * n + 17)
    kind = n % 6
    fields: dict[str, Any] = {
        "created": created,
        "method": ["In-app", "Mobile", "Email"][n % 3],
        "language": ["", "en", "de", "ar", "pt-BR", "=lang"][n % 6],
        "referrer": ["", "https://app.example.com/a?b=1,2", "@evil", "-"][n % 4],
        "device": [{}, {"os": "macOS", "type": "desktop"}, {"os": "=OS", "type": "mobile"}][n % 3],
        "traits": traits_for(n),
        "answers": answers_for(n),
    }
    if kind == 4:
        return {**fields, "dismissed": True}
    if kind == 5:
        return {**fields, "pending": True}
    rating = (n * 7) % 11
    feedback = TRICKY_TEXT[n % len(TRICKY_TEXT)] if n % 2 else ""
    return {
        **fields,
        "rating": rating,
        "feedback": feedback,
        "completed": n % 5 != 0,
        "completed_at": created if n % 5 != 0 else None,
    }


@pytest.fixture
def dataset() -> dict[str, Any]:
    if connection.vendor != "postgresql":
        pytest.skip("the files hold PostgreSQL's bytes: jsonb orders keys and writes numbers")
    project = Project.objects.create(pk=PROJECT, name="Golden")
    other = Project.objects.create(pk=OTHER, name="Other tenant")
    surveys = [
        Survey.objects.create(pk=pk, project=project, name=f"Survey {pk}", type=kind)
        for pk, kind in SURVEYS.items()
    ]
    users = make_users(project)
    responses = [
        Response.objects.create(
            pk=930_001 + n,
            project=project,
            survey=surveys[n % 3],
            user=users[n % len(users)],
            **response_fields(n),
        )
        for n in range(48)
    ]
    Response.objects.filter(project=project).update(updated=BASE)  # not auto_now's clock
    # Another project's response, at the same times: never in this project's exports.
    other_survey = Survey.objects.create(pk=910_201, project=other, name="Theirs")
    other_user = EndUser.objects.create(pk=920_101, project=other, user_id="ann")
    Response.objects.create(
        pk=939_001, project=other, survey=other_survey, user=other_user, rating=3, created=BASE
    )
    return {"project": project, "surveys": surveys, "users": users, "responses": responses}


def body_of(reply: Any) -> bytes:
    assert reply.status_code == 200, reply
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


def check(name: str, body: bytes) -> None:
    path = GOLDEN / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    expected = path.read_bytes()
    if body != expected:
        at = next((i for i, (a, b) in enumerate(zip(body, expected, strict=False)) if a != b), None)
        at = min(len(body), len(expected)) if at is None else at
        pytest.fail(
            f"{name}: {len(body)} bytes, {len(expected)} expected; first difference at {at}: "
            f"{body[max(0, at - 80) : at + 80]!r} vs {expected[max(0, at - 80) : at + 80]!r}"
        )


WINDOW = {"startDate": "2024-03-01T12:00:00Z", "endDate": "2024-03-02T20:00:00Z"}
SECRET_READS = {
    "responses.json": ("/api/responses", {}),
    "responses-with-project.json": ("/api/responses", {"project": str(PROJECT)}),
    "responses-extended.json": ("/api/responses", {"extended": "1"}),
    "responses-window.json": ("/api/responses", WINDOW),
    "responses.csv": ("/api/responses", {"format": "csv"}),
    "responses-extended.csv": ("/api/responses", {"format": "csv", "extended": "1"}),
    "responses-window.csv": ("/api/responses", {"format": "csv", **WINDOW}),
    "responses-page.json": ("/api/responses", {"page[size]": "7", "page[number]": "3"}),
    "responses-page-extended.json": (
        "/api/responses",
        {"page[size]": "10", "page[number]": "1", "extended": "1"},
    ),
    "responses-page.csv": (
        "/api/responses",
        {"format": "csv", "page[size]": "9", "page[number]": "2"},
    ),
    "responses-last-page.json": ("/api/responses", {"page[size]": "20", "page[number]": "3"}),
    "response-930006.json": ("/api/responses/930006", {}),
    "response-930011-extended.json": ("/api/responses/930011", {"extended": "1"}),
    "v3-responses.json": (
        f"/api/v3/projects/{PROJECT}/responses",
        {"pageSize": "100", "startDate": "2024-01-01"},
    ),
    "v3-responses-page.json": (
        f"/api/v3/projects/{PROJECT}/responses",
        {"pageSize": "5", "startDate": "2024-03-01T10:00:00Z"},
    ),
    "v3-campaign-responses.json": (
        f"/api/v3/projects/{PROJECT}/campaigns/910102/responses",
        {"pageSize": "100", "startDate": "2024-01-01"},
    ),
    "user-920004-export.json": ("/api/users/920004/export", {}),
    "users.json": ("/api/users", {}),
}


@pytest.mark.parametrize("name", list(SECRET_READS))
def test_secret_key_routes_answer_todays_bytes(api_client, dataset, name):
    key = ApiKey.issue(dataset["project"], "golden")[1]
    path, params = SECRET_READS[name]
    check(name, body_of(api_client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {key}")))


def test_v3_next_page_answers_todays_bytes(api_client, dataset):
    key = ApiKey.issue(dataset["project"], "golden")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    path, params = SECRET_READS["v3-responses-page.json"]
    first = api_client.get(path, params, **headers).json()
    cursor = first["page"]["nextPageCursor"]
    reply = api_client.get(path, {"pageSize": "5", "pageCursor": cursor}, **headers)
    check("v3-responses-next-page.json", body_of(reply))


def test_management_api_answers_todays_bytes(api_client, dataset, make_staff):
    staff = make_staff()
    Membership.objects.create(user=staff, project=dataset["project"])
    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=staff).key}"}
    check("manage-responses.json", body_of(api_client.get("/api/manage/responses", **headers)))
    one = api_client.get("/api/manage/responses/930009", **headers)
    check("manage-response-930009.json", body_of(one))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("dashboard.csv", {"start": "2024-02-01", "end": "2024-03-31"}),
        ("dashboard-survey.csv", {"start": "2024-02-01", "end": "2024-03-31", "survey": "910103"}),
    ],
)
def test_dashboard_csv_answers_todays_bytes(client, dataset, make_staff, name, params):
    client.force_login(make_staff(dataset["project"]))
    url = f"/admin/satismeter_app/project/{PROJECT}/dashboard/export.csv"
    check(name, body_of(client.get(url, params)))


@pytest.mark.parametrize("name", ["responses.json", "responses-extended.csv"])
def test_export_from_a_server_side_cursor_answers_the_same_bytes(
    api_client, dataset, monkeypatch, name
):
    """With a libpq older than 17 (no chunked rows), the export reads a server-side cursor."""
    from satismeter_app.services import exporting

    monkeypatch.setattr(exporting.psycopg.pq, "version", lambda: 160000)
    key = ApiKey.issue(dataset["project"], "golden")[1]
    path, params = SECRET_READS[name]
    check(name, body_of(api_client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {key}")))
