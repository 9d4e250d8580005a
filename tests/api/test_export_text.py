"""On PostgreSQL the exports are written by the database (services/exporting.py): for any rows,
the bytes are those of the response objects written by ``json.dumps`` and ``csv.writer``, as
every export was written before and as a page and SQLite's export still are.

Random rows: texts with quotes, commas, newlines, control characters, formula starts, unicode
and emoji; JSON columns with nested values, integers past 64 bits, floats large and small;
answers under the rating's and the comment's ids; every nullable field empty or not; times with
and without microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satismeter_app.models import EndUser, Project, Response, Survey
from satismeter_app.services import exporting

pytestmark = pytest.mark.django_db

TRICKY = [
    *("=1+1", "+33 6", "-x", "@a", "\tx", "\rx", "'q", " s", ", ", ": ", '"', '""', "\\"),
    *("\n", "\r\n", "a,b", 'Comma, "quotes"', "🎉👍🏽", "مرحبا", "\u2028", "\x01\x1f\x7f"),
    *("null", "true", "[]", "{}", "0", "1e-05", "SM_rating", '"SM_rating"', ".0000", "+"),
]
# PostgreSQL stores no NUL in text nor in jsonb strings.
texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=30),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-05, 0.000123, 1.5e16, 1e300, 5e-324, 123456.789, 0.1]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
json_objects = st.dictionaries(texts, json_values, max_size=5)
answers = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.sampled_from(["q1", "SM_rating", "SM_comment"]), texts)},
        optional={"label": texts, "value": json_values, "type": texts},
    ),
    max_size=3,
)
devices = st.one_of(
    st.just({}),
    st.fixed_dictionaries({}, optional={"os": json_values, "type": json_values, "x": texts}),
)
times = st.builds(
    lambda days, micro: datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=days, microseconds=micro),
    st.integers(min_value=-9000, max_value=9000),
    st.one_of(st.just(0), st.integers(min_value=0, max_value=10**6 - 1)),
)
users = st.fixed_dictionaries(
    {
        "user_id": st.one_of(st.none(), texts),
        "anonymous_id": st.one_of(st.none(), texts),
        "name": texts,
        "email": texts,
        "created_at": st.one_of(st.none(), times),
        "erased": st.one_of(st.none(), times),
        "groups": json_objects,
    }
)
responses = st.fixed_dictionaries(
    {
        "rating": st.one_of(st.none(), st.integers(min_value=0, max_value=10)),
        "feedback": texts,
        "answers": answers,
        "state": st.sampled_from(["answered", "completed", "pending", "dismissed"]),
        "method": st.sampled_from(Response.Method.values),
        "language": st.text(max_size=35).filter(lambda text: "\x00" not in text),
        "referrer": texts,
        "device": devices,
        "traits": json_objects,
        "created": times,
    }
)


def make_rows(users_: list[dict[str, Any]], responses_: list[dict[str, Any]]) -> Project:
    project = Project.objects.create(name="Random rows")
    surveys = [
        Survey.objects.create(project=project, name=kind, type=kind) for kind in Survey.Type.values
    ]
    end_users = [
        EndUser.objects.create(project=project, **{**fields, **identity(fields, n)})
        for n, fields in enumerate(users_)
    ]
    for n, fields in enumerate(responses_):
        Response.objects.create(
            project=project,
            survey=surveys[n % 3],
            user=end_users[n % len(end_users)],
            **in_state(**fields),
        )
    return project


def in_state(state: str, **fields: Any) -> dict[str, Any]:
    """A response as the table's constraints allow: a pending or dismissed one is unrated."""
    if state in ("pending", "dismissed"):
        return {**fields, state: True, "rating": None}
    if state == "completed":
        return {**fields, "completed": True, "completed_at": fields["created"]}
    return fields


def identity(fields: dict[str, Any], n: int) -> dict[str, Any]:
    """Ids unique in the project, and at least one of them (the table's constraints)."""
    user_id, anonymous_id = fields["user_id"], fields["anonymous_id"]
    if user_id is None and anonymous_id is None:
        anonymous_id = ""
    return {
        "user_id": None if user_id is None else f"{user_id}{n}",
        "anonymous_id": None if anonymous_id is None else f"{anonymous_id}{n}",
    }


# Question columns (survey questions' answers, docs/rest-api.md) over the random answers,
# whose ids are often q1; headers that need quoting and the formula guard.
QUESTION_COLUMNS = (
    exporting.QuestionColumn("q1", 'Why, "really"?'),
    exporting.QuestionColumn("SM_rating", "'=odd"),
)


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the database writes the exports on PostgreSQL only")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    users_=st.lists(users, min_size=1, max_size=3),
    responses_=st.lists(responses, min_size=1, max_size=6),
    extended=st.booleans(),
    questions=st.sampled_from([(), QUESTION_COLUMNS]),
)
def test_the_database_writes_the_bytes_python_writes(users_, responses_, extended, questions):
    with transaction.atomic():  # each example's rows are gone after it
        rows = Response.objects.filter(project=make_rows(users_, responses_))
        expected = b"".join(exporting.python_json_export(rows, extended=extended))
        assert b"".join(exporting.json_export(rows, extended=extended)) == expected
        options = {"extended": extended, "questions": questions}
        expected = b"".join(exporting.python_csv_export(rows, **options))
        assert b"".join(exporting.csv_export(rows, **options)) == expected
        transaction.set_rollback(True)


def test_the_texts_that_come_again_are_written_once_and_memory_stays_bounded():
    calls: list[str] = []
    written = exporting.Written(lambda text: calls.append(text) or text.upper())
    for text in ["{}", "{}", "[]", "{}"]:
        assert written[text] == text.upper()
    assert calls == ["{}", "[]"]
    for n in range(3 * exporting.Written.SIZE):
        written[str(n)]
    assert len(written) <= exporting.Written.SIZE
    long = "x" * (exporting.Written.LONGEST + 1)
    written[long], written[long]
    assert calls[-2:] == [long, long]  # too long to keep


@pytest.mark.django_db
def test_a_question_column_takes_the_first_answer_even_without_a_value():
    """Two answers to q1, the first without a value: both writers leave the cell empty (the
    database's path once skipped to the second answer's value)."""
    user = {"user_id": "u", "anonymous_id": None, "name": "", "email": "", "created_at": None}
    response = {
        "rating": 9,
        "feedback": "",
        "answers": [{"id": "q1"}, {"id": "q1", "value": [None]}, {"id": "SM_rating", "value": 2}],
        "state": "answered",
        "method": "In-app",
        "language": "en",
        "referrer": "",
        "device": {},
        "traits": {},
        "created": datetime(2024, 3, 1, tzinfo=UTC),
    }
    rows = Response.objects.filter(
        project=make_rows([{**user, "erased": None, "groups": {}}], [response])
    )
    options = {"extended": False, "questions": QUESTION_COLUMNS}
    written = b"".join(exporting.csv_export(rows, **options))
    assert written == b"".join(exporting.python_csv_export(rows, **options))
    assert written.endswith(b",,2\r\n")  # no traits, q1 empty, the SM_rating answer
