"""One set of identity rules for every way a user reaches us: a widget call
(``identity.identify``) and a Segment batch (``ingest``) find, claim, create and merge users
the same way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from satismeter_app.models import EndUser
from satismeter_app.services import identity, ingest
from satismeter_app.services.identity import Identity

pytestmark = pytest.mark.django_db

# (userId, anonymousId, traits) in the order they arrive.
VISITS = [
    (None, "anon-1", {"plan": "free"}),
    ("u1", "anon-1", {"email": "ann@example.com", "plan": "pro"}),
    ("u1", None, {"name": "Ann", "createdAt": "2024-01-02T03:04:05Z"}),
    (None, "anon-2", {"plan": "trial"}),
    ("u2", None, {"language": "de"}),
]

COLUMNS = ("user_id", "anonymous_id", "email", "name", "language", "created_at", "traits")


def rows(project) -> list[tuple]:
    users = EndUser.objects.filter(project=project).values_list(*COLUMNS)
    return sorted(users, key=lambda row: (row[0] or "~", row[1] or ""))


def through_the_widget(project, now) -> None:
    for user_id, anonymous_id, traits in VISITS:
        identity.identify(project.pk, Identity(user_id, anonymous_id), traits, now=now)


def through_segment(project, now) -> None:
    messages = [
        {"type": "identify", "userId": user_id, "anonymousId": anonymous_id, "traits": traits}
        for user_id, anonymous_id, traits in VISITS
    ]
    result = ingest.ingest(project.pk, messages, now=now)
    assert result.errors == []


def test_a_widget_call_and_a_segment_batch_leave_the_same_users(make_project):
    now = timezone.now()
    by_widget, by_segment = make_project(name="widget"), make_project(name="segment")
    through_the_widget(by_widget, now)
    through_segment(by_segment, now)
    assert rows(by_widget) == rows(by_segment)
    # The anonymous visitor who identified kept one row, now named by the userId.
    assert [r[:2] for r in rows(by_widget)] == [
        ("u1", "anon-1"),
        ("u2", None),
        (None, "anon-2"),
    ]
    ann = EndUser.objects.get(project=by_widget, user_id="u1")
    assert ann.traits == {
        "plan": "pro",
        "email": "ann@example.com",
        "name": "Ann",
        "createdAt": "2024-01-02T03:04:05Z",
    }


def test_a_known_user_who_signs_in_with_an_anonymous_id_absorbs_its_row(
    project, make_end_user, make_survey
):
    now = timezone.now()
    known = make_end_user(project, user_id="u1", traits={"plan": "pro"}, first_seen=now)
    visitor = make_end_user(
        project,
        anonymous_id="anon-9",
        traits={"plan": "free", "os": "ios"},
        first_seen=now - timedelta(days=3),
        history={"events": {"Viewed pricing": now.isoformat()}},
    )
    found = identity.identify(project.pk, Identity("u1", "anon-9"), now=now)
    assert found.pk == known.pk
    assert not EndUser.objects.filter(pk=visitor.pk).exists()
    known.refresh_from_db()
    assert (known.anonymous_id, known.first_seen) == ("anon-9", visitor.first_seen)
    assert known.traits == {"plan": "pro", "os": "ios"}  # the user's value on a tie
    assert "Viewed pricing" in known.history["events"]


def test_a_newer_trait_of_the_visitor_wins_when_the_rows_merge(project, make_end_user):
    now = timezone.now()
    identity.identify(project.pk, Identity("u1"), {"plan": "free"}, now=now - timedelta(hours=1))
    identity.identify(
        project.pk, Identity(None, "anon-9"), {"plan": "pro", "email": "a@x.test"}, now=now
    )

    user = identity.identify(project.pk, Identity("u1", "anon-9"), now=now)

    assert (user.traits, user.email) == ({"plan": "pro", "email": "a@x.test"}, "a@x.test")
    assert EndUser.objects.get().pk == user.pk


def test_an_anonymous_visitor_and_a_user_first_named_in_one_batch_end_in_one_row(project):
    now = timezone.now()
    identity.identify(project.pk, Identity(None, "anon-1"), {"a": 1}, now=now)
    messages = [
        {"type": "identify", "userId": "u1", "traits": {"b": 2}},
        {"type": "track", "anonymousId": "anon-1", "event": "E"},
        {"type": "identify", "userId": "u1", "anonymousId": "anon-1"},
        {"type": "track", "userId": "u1", "event": "F"},
    ]
    assert ingest.ingest(project.pk, messages, now=now).errors == []

    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id, user.traits) == ("u1", "anon-1", {"a": 1, "b": 2})
    assert sorted(user.events.values_list("name", flat=True)) == ["E", "F"]


def test_page_views_of_a_known_user_write_nothing_within_the_resolution(project, make_end_user):
    now = timezone.now()
    user = make_end_user(project, user_id="u1", first_seen=now, last_seen=now, last_url="/a")
    soon = now + identity.LAST_SEEN_RESOLUTION - timedelta(seconds=1)
    assert identity.record_visit(user, "/a", soon) == set()
    assert user.last_seen == now
    later = now + identity.LAST_SEEN_RESOLUTION
    assert identity.record_visit(user, "/a", later) == {"last_seen"}
    assert user.last_seen == later


def test_a_visit_moves_last_seen_forward_only(project, make_end_user):
    now = timezone.now()
    user = make_end_user(project, user_id="u1", first_seen=now, last_seen=now)
    assert identity.record_visit(user, "/new", now - timedelta(hours=1)) == {"last_url"}
    assert user.last_seen == now


def test_a_change_to_the_user_refreshes_last_seen_at_once(project, make_end_user):
    now = timezone.now()
    user = make_end_user(project, user_id="u1", first_seen=now, last_seen=now, last_url="/a")
    moment = now + timedelta(seconds=5)
    assert identity.record_visit(user, "/a", moment, changed=True) == {"last_seen"}


def test_group_traits_merge_into_the_group_not_the_user(project, make_end_user):
    user = make_end_user(project, user_id="u1", groups={"acme": {"size": 10, "tier": "gold"}})
    now = timezone.now()
    assert identity.merge_group(user, "acme", {"size": 40}, now) == {"groups", "trait_times"}
    assert user.groups == {"acme": {"size": 40, "tier": "gold"}}
    assert identity.merge_group(user, "acme", {"size": 40}, now) == set()
    assert "size" not in user.traits
