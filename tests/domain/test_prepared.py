"""Prepared queries (satismeter_app/prepared.py) load what the queryset they stand for loads."""

from datetime import UTC, datetime

import pytest
from django.db.models import Q

from satismeter_app.models import EndUser
from satismeter_app.prepared import Prepared

pytestmark = pytest.mark.django_db


def by_ids(project_id: int, user_id: str, anonymous_id: str):
    return EndUser.objects.filter(
        Q(user_id__in=[user_id]) | Q(anonymous_id__in=[anonymous_id]), project_id=project_id
    ).order_by("pk")


PREPARED = Prepared(EndUser, by_ids, project_id=-1, user_id="\x01u", anonymous_id="\x01a")


def fields(user: EndUser) -> dict:
    return {f.attname: getattr(user, f.attname) for f in EndUser._meta.concrete_fields}


def test_the_same_rows_and_values_as_the_queryset(project, make_project, make_end_user):
    other = make_project(name="Other")
    make_end_user(
        project,
        user_id="ü-1",
        anonymous_id="anon-🙂",
        traits={"plan": "pro", "nested": {"a": [1, None, "x"]}, "name": "Zoë"},
        email="zoe@example.com",
        created_at=datetime(2020, 2, 29, 12, 30, 15, 123456, tzinfo=UTC),
    )
    make_end_user(project, user_id="u-2", anonymous_id=None, traits={})
    make_end_user(project, user_id=None, anonymous_id="anon-2")
    make_end_user(other, user_id="ü-1", anonymous_id="anon-🙂")  # another project's
    for user_id, anonymous_id in [("ü-1", "anon-2"), ("u-2", "nobody"), ("none", "anon-🙂")]:
        expected = list(by_ids(project.pk, user_id, anonymous_id))
        found = PREPARED(project_id=project.pk, user_id=user_id, anonymous_id=anonymous_id)
        assert [fields(u) for u in found] == [fields(u) for u in expected]
        assert all(not u._state.adding and u._state.db == "default" for u in found)


def test_a_loaded_row_saves_like_a_queried_one(project, make_end_user):
    make_end_user(project, user_id="u-1", traits={"plan": "free"})
    (user,) = PREPARED(project_id=project.pk, user_id="u-1", anonymous_id="x")
    user.traits = {**user.traits, "plan": "pro"}
    user.save(update_fields=["traits"])
    assert EndUser.objects.get(user_id="u-1").traits == {"plan": "pro"}


def test_stand_ins_the_sql_does_not_take_as_they_are_are_refused(project):
    prepared = Prepared(EndUser, by_ids, project_id=-1, user_id="same", anonymous_id="same")
    with pytest.raises(ValueError, match="distinct"):
        prepared(project_id=project.pk, user_id="a", anonymous_id="b")


def test_a_query_of_other_columns_is_refused(project):
    def emails(project_id: int):
        return EndUser.objects.filter(project_id=project_id).only("email")

    with pytest.raises(ValueError, match="own columns"):
        Prepared(EndUser, emails, project_id=-1)(project_id=project.pk)


def test_postgresql_keeps_the_statement_prepared_and_django_still_logs_it(project, make_end_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (psycopg's prepare_threshold)")
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    assert threshold is not None  # tests/settings.py sets it, as the example project does
    make_end_user(project, user_id="u-1")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(threshold + 1):
            assert PREPARED(project_id=project.pk, user_id="u-1", anonymous_id="x")
    assert len(queries) == threshold + 1
    # as the query log of any other query reads: the values quoted in
    assert all('"satismeter_app_enduser"' in q["sql"] and "'u-1'" in q["sql"] for q in queries)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "satismeter_app_enduser"%'],
        )
        assert cursor.fetchone()[0] == 1
