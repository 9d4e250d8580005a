"""Logging in while a survey is on screen, and Segment's messages in any order (issue #14,
items 2 and 4; docs/widget-api.md, "Identity").

The survey opens for an anonymous visitor; they sign in (``identify`` with their userId and
the same anonymousId) while it is open; the widget then sends the answer with the anonymousId
it had when the survey opened. The answer lands on the signed-in user — one row, the export
shows the userId — and they are not asked again. Segment's messages follow the same rules
whichever order they arrive in, and an older message's traits never overwrite newer ones.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from satismeter_app import keys
from satismeter_app.models import EndUser, Project, Response, Survey, UserEvent

pytestmark = pytest.mark.django_db

ANON = "anon-7f3a"


@pytest.fixture
def open_survey(make_survey: Callable[..., Survey], project: Project) -> Survey:
    """A survey shown to anyone at once, signed in or not."""
    return make_survey(project, audience=Survey.Audience.EVERYONE, min_tenure_days=0)


def widget(client: Any, project: Project, **body: Any) -> Any:
    return client.post("/api/widget", {"writeKey": project.write_key, **body}, format="json")


def answer(client: Any, project: Project, survey: Survey, **body: Any) -> Any:
    """The widget's answer: the rating at once, then the comment with a PUT."""
    started = client.post(
        "/api/responses",
        {"writeKey": project.write_key, "campaign": str(survey.pk), "method": "In-app", **body},
        format="json",
    )
    assert started.status_code == 201, started.content
    comment = {"feedback": "Faster exports, please."}
    saved = client.put(
        started["Location"], comment, format="json", HTTP_AUTH_TOKEN=started["auth-token"]
    )
    assert saved.status_code == 200, saved.content
    return started


def exported(client: Any, project: Project, key: str) -> list[dict[str, Any]]:
    reply = client.get(
        "/api/responses",
        {"project": project.pk, "format": "json"},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert reply.status_code == 200, reply.content
    return json.loads(b"".join(reply.streaming_content) if reply.streaming else reply.content)[
        "responses"
    ]


def visible(reply: Any) -> bool:
    assert reply.status_code == 200, reply.content
    return bool(reply.json()["widget"]["visible"])


# --- the widget: logging in while the survey is open -----------------------------------------------


def test_an_answer_sent_with_the_anonymous_id_after_login_lands_on_the_user(
    api_client, project, open_survey, key
):
    assert visible(widget(api_client, project, anonymousId=ANON, type="page"))
    widget(api_client, project, userId="ann", anonymousId=ANON, traits={"plan": "pro"})

    answer(api_client, project, open_survey, anonymousId=ANON, rating=9)

    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id, user.traits) == ("ann", ANON, {"plan": "pro"})
    response = Response.objects.get()
    assert (response.user, response.rating, response.completed) == (user, 9, True)
    assert [r["user"]["userId"] for r in exported(api_client, project, key)] == ["ann"]
    assert not visible(widget(api_client, project, userId="ann", anonymousId=ANON))


def test_a_known_user_who_logs_in_on_a_new_device_keeps_the_answer(
    api_client, project, open_survey, make_end_user, key
):
    ann = make_end_user(project, user_id="ann", anonymous_id="anon-laptop", traits={"plan": "pro"})
    # satismeter({writeKey}) first: the phone's visitor is anonymous and sees the survey.
    assert visible(widget(api_client, project, anonymousId=ANON, traits={"os": "android"}))

    widget(api_client, project, userId="ann", anonymousId=ANON)
    answer(api_client, project, open_survey, anonymousId=ANON, rating=4)

    user = EndUser.objects.get()  # the phone's anonymous row merged into Ann's
    assert (user.pk, user.user_id, user.anonymous_id) == (ann.pk, "ann", ANON)
    assert user.traits == {"plan": "pro", "os": "android"}
    assert Response.objects.get().user == user
    assert user.history["surveys"][str(open_survey.pk)]["answered"]
    assert [r["user"]["userId"] for r in exported(api_client, project, key)] == ["ann"]
    assert not visible(widget(api_client, project, userId="ann", anonymousId="anon-laptop"))


def test_the_anonymous_rows_displays_and_answers_move_with_it(
    api_client, project, open_survey, make_end_user
):
    make_end_user(project, user_id="ann")
    widget(api_client, project, anonymousId=ANON)
    api_client.post(
        "/api/displays",
        {"writeKey": project.write_key, "anonymousId": ANON, "campaign": str(open_survey.pk)},
        format="json",
    )
    answer(api_client, project, open_survey, anonymousId=ANON, rating=10)

    widget(api_client, project, userId="ann", anonymousId=ANON)

    ann = EndUser.objects.get()
    assert (ann.displays.count(), ann.responses.count()) == (1, 1)
    assert ann.history["surveys"][str(open_survey.pk)]["answered"]
    assert not visible(widget(api_client, project, userId="ann"))


def test_an_answer_that_arrives_before_the_login_lands_on_the_same_user(
    api_client, project, open_survey, key
):
    widget(api_client, project, anonymousId=ANON)
    answer(api_client, project, open_survey, anonymousId=ANON, rating=7)

    widget(api_client, project, userId="ann", anonymousId=ANON)

    assert EndUser.objects.get().user_id == "ann"
    assert [r["user"]["userId"] for r in exported(api_client, project, key)] == ["ann"]


def test_an_anonymous_call_after_login_finds_the_user_and_creates_no_row(api_client, project):
    widget(api_client, project, userId="ann", anonymousId=ANON)

    widget(api_client, project, anonymousId=ANON, traits={"seats": 5})

    user = EndUser.objects.get()
    assert (user.user_id, user.traits) == ("ann", {"seats": 5})


def test_on_a_shared_browser_the_anonymous_id_follows_the_last_login(
    api_client, project, open_survey
):
    widget(api_client, project, userId="ann", anonymousId=ANON)
    widget(api_client, project, userId="bob", anonymousId=ANON)

    answer(api_client, project, open_survey, anonymousId=ANON, rating=8)

    assert Response.objects.get().user.user_id == "bob"
    ids = dict(EndUser.objects.values_list("user_id", "anonymous_id"))
    assert ids == {"ann": None, "bob": ANON}


@pytest.mark.parametrize("body", [{"userId": "ann", "anonymousId": ANON}, {"anonymousId": ANON}])
def test_a_steady_page_view_is_one_query_whichever_id_it_sends(
    api_client, project, open_survey, django_assert_num_queries, body
):
    open_survey.resurvey_days = 365
    open_survey.save()
    widget(api_client, project, userId="ann", anonymousId=ANON, url="https://app.example.com/")
    answer(api_client, project, open_survey, userId="ann", rating=10)
    widget(api_client, project, url="https://app.example.com/", **body)  # caches the project

    with django_assert_num_queries(1):  # the user, by userId and anonymousId at once
        reply = widget(api_client, project, url="https://app.example.com/", **body)
    assert not visible(reply)


# --- with identity verification on -----------------------------------------------------------------


@pytest.fixture
def verified(project: Project) -> Project:
    project.identity_verification = True
    project.save()
    return project


def signed_in(client: Any, project: Project, user_id: str, **body: Any) -> Any:
    user_hash = keys.user_hash(user_id, project.verification_secret)
    return widget(client, project, userId=user_id, userHash=user_hash, **body)


def test_with_verification_the_answer_lands_on_the_verified_user(api_client, verified, open_survey):
    assert visible(widget(api_client, verified, anonymousId=ANON))
    signed_in(api_client, verified, "ann", anonymousId=ANON, traits={"email": "ann@x.test"})

    answer(api_client, verified, open_survey, anonymousId=ANON, rating=9)

    assert Response.objects.get().user.user_id == "ann"
    assert EndUser.objects.count() == 1
    assert not visible(signed_in(api_client, verified, "ann", anonymousId=ANON))


def test_with_verification_an_anonymous_call_writes_no_trait_on_a_verified_user(
    api_client, verified
):
    signed_in(api_client, verified, "ann", anonymousId=ANON, traits={"email": "ann@x.test"})

    widget(api_client, verified, anonymousId=ANON, traits={"email": "evil@x.test", "plan": "x"})
    widget(api_client, verified, anonymousId=ANON, type="group", groupId="g", traits={"a": 1})

    ann = EndUser.objects.get()
    assert (ann.email, ann.traits, ann.groups) == ("ann@x.test", {"email": "ann@x.test"}, {})


def test_with_verification_a_signed_in_user_does_not_take_another_users_anonymous_id(
    api_client, verified
):
    signed_in(api_client, verified, "ann", anonymousId=ANON)
    signed_in(api_client, verified, "mallory", anonymousId=ANON)

    ids = dict(EndUser.objects.values_list("user_id", "anonymous_id"))
    assert ids == {"ann": ANON, "mallory": None}


# --- at once (PostgreSQL) ---------------------------------------------------------------------------


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each on its own connection."""
    start_line = threading.Barrier(len(calls))
    results: list[Any] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            start_line.wait()
            results.append(call())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def status(call: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    return int(call(*args, **kwargs).status_code)


def start(client: Any, project: Project, **body: Any) -> Any:
    """The widget's first save of an answer."""
    return client.post("/api/responses", {"writeKey": project.write_key, **body}, format="json")


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs at once")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known", [False, True], ids=["new user", "known user"])
def test_a_login_and_an_anonymous_answer_at_once_end_in_one_user(
    project, open_survey, make_end_user, known
):
    needs_postgresql()
    for attempt in range(5):  # races go either way: a few rounds, each with its own visitor
        user_id, anonymous_id = f"ann-{attempt}", f"{ANON}-{attempt}"
        if known:
            make_end_user(project, user_id=user_id)
        widget(APIClient(), project, anonymousId=anonymous_id)
        login = {"userId": user_id, "anonymousId": anonymous_id}
        body = {"campaign": str(open_survey.pk), "rating": 9, "anonymousId": anonymous_id}
        codes = at_once(
            partial(status, widget, APIClient(), project, **login),
            partial(status, start, APIClient(), project, **body),
        )
        assert sorted(codes) == [200, 201]
        user = EndUser.objects.get(anonymous_id=anonymous_id)
        assert user.user_id == user_id
        assert Response.objects.get(user__anonymous_id=anonymous_id).user == user
        assert user.history["surveys"][str(open_survey.pk)]["answered"]  # not asked again
    assert EndUser.objects.count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known", [False, True], ids=["first mention", "both known"])
def test_segment_messages_at_once_end_in_one_user(project, key, make_end_user, known):
    needs_postgresql()
    for attempt in range(5):
        anonymous_id = f"{ANON}-{attempt}"
        identify = {"userId": f"u{attempt}", "anonymousId": anonymous_id, "traits": {"n": 1}}
        track = {"anonymousId": anonymous_id, "event": "Viewed pricing"}
        if known:  # the user has a row, and so has the visitor: the two are merged
            make_end_user(project, user_id=f"u{attempt}")
            make_end_user(project, anonymous_id=anonymous_id)
        codes = at_once(
            partial(status, segment, APIClient(), key, "identify", identify),
            partial(status, segment, APIClient(), key, "track", track),
        )
        assert codes == [200, 200]
        users = EndUser.objects.filter(anonymous_id=anonymous_id)
        assert list(users.values_list("user_id", flat=True)) == [f"u{attempt}"]
        assert UserEvent.objects.get(user__anonymous_id=anonymous_id).user.user_id == f"u{attempt}"


# --- Segment: the same rules, in any order ----------------------------------------------------------


def segment(client: Any, key: str, route: str, body: Any) -> Any:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return client.post(
        f"/segment/v1/{route}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )


IDENTIFY = {"type": "identify", "userId": "ann", "anonymousId": ANON, "traits": {"plan": "pro"}}
TRACK = {"type": "track", "anonymousId": ANON, "event": "Viewed pricing"}


@pytest.mark.parametrize("order", [(TRACK, IDENTIFY), (IDENTIFY, TRACK)], ids=["track", "identify"])
@pytest.mark.parametrize("batched", [True, False], ids=["one batch", "one by one"])
def test_an_anonymous_track_and_an_identify_land_on_one_user(api_client, key, order, batched):
    if batched:
        assert segment(api_client, key, "batch", {"batch": list(order)}).status_code == 200
    for message in [] if batched else order:
        assert segment(api_client, key, message["type"], message).status_code == 200

    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id, user.traits) == ("ann", ANON, {"plan": "pro"})
    assert UserEvent.objects.get().user == user
    assert "Viewed pricing" in user.history["events"]


def test_segment_merges_a_known_users_anonymous_history(api_client, key, make_end_user, project):
    ann = make_end_user(project, user_id="ann", traits={"plan": "free"})
    segment(api_client, key, "track", TRACK)

    segment(api_client, key, "identify", IDENTIFY)
    segment(api_client, key, "track", {**TRACK, "event": "Opened settings"})

    user = EndUser.objects.get()
    assert (user.pk, user.anonymous_id, user.traits) == (ann.pk, ANON, {"plan": "pro"})
    assert sorted(user.events.values_list("name", flat=True)) == [
        "Opened settings",
        "Viewed pricing",
    ]


# --- item 4: an older message never overwrites newer traits ----------------------------------------


def at(minutes_ago: int) -> str:
    return (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()


def identify_at(minutes_ago: int, message_id: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "userId": "ann",
        "messageId": message_id,
        "timestamp": at(minutes_ago),
        "traits": traits,
    }


FREE = identify_at(10, "m1", plan="free", email="old@x.test", seats=1)
PRO = identify_at(5, "m2", plan="pro", email="new@x.test")


@pytest.mark.parametrize("batched", [True, False], ids=["one batch", "one by one"])
def test_an_older_identify_arriving_later_does_not_undo_a_newer_one(api_client, key, batched):
    if batched:
        segment(api_client, key, "batch", {"batch": [PRO, FREE]})
    else:
        segment(api_client, key, "identify", PRO)
        segment(api_client, key, "identify", FREE)

    user = EndUser.objects.get()
    # plan and email are m2's; seats only m1 set, so it is kept.
    assert user.traits == {"plan": "pro", "email": "new@x.test", "seats": 1}
    assert user.email == "new@x.test"


def test_messages_in_order_still_change_the_traits(api_client, key):
    segment(api_client, key, "batch", {"batch": [FREE, PRO, FREE]})  # m1 again: a duplicate

    assert EndUser.objects.get().traits == {"plan": "pro", "email": "new@x.test", "seats": 1}


def test_the_widgets_traits_are_now(api_client, project, key):
    widget(api_client, project, userId="ann", traits={"plan": "business"})

    segment(api_client, key, "identify", identify_at(1, "late", plan="free"))

    assert EndUser.objects.get().traits == {"plan": "business"}


def test_context_traits_of_an_older_track_do_not_overwrite_either(api_client, key):
    segment(api_client, key, "identify", PRO)
    old_track = {
        "type": "track",
        "userId": "ann",
        "event": "E",
        "timestamp": at(30),
        "context": {"traits": {"plan": "trial", "team": "a"}},
    }
    segment(api_client, key, "track", old_track)

    assert EndUser.objects.get().traits == {"plan": "pro", "email": "new@x.test", "team": "a"}


def test_an_older_group_message_does_not_overwrite_the_groups_traits(api_client, key):
    def group(minutes_ago: int, size: int) -> dict[str, Any]:
        return {
            "userId": "ann",
            "groupId": "acme",
            "timestamp": at(minutes_ago),
            "traits": {"size": size},
        }

    segment(api_client, key, "group", group(5, 40))
    segment(api_client, key, "group", group(10, 10))

    assert EndUser.objects.get().groups == {"acme": {"size": 40}}


# --- through Segment's own Python library ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_segment_analytics_python_out_of_order(live_server, project):
    from segment.analytics import Client
    from segment.analytics import request as segment_request

    from satismeter_app.models import ApiKey

    key = ApiKey.issue(project, "segment-python")[1]
    client = Client(write_key=key, host=f"{live_server.url}/segment", sync_mode=True)
    now = timezone.now()
    try:
        client.track(
            anonymous_id=ANON, event="Viewed pricing", timestamp=now - timedelta(minutes=9)
        )
        client.identify(
            "ann", {"plan": "pro"}, anonymous_id=ANON, timestamp=now - timedelta(minutes=5)
        )
        # Sent late: older than the identify above, so its plan does not count, its seats do.
        client.identify("ann", {"plan": "free", "seats": 3}, timestamp=now - timedelta(minutes=8))
        client.track(anonymous_id=ANON, event="Opened settings", timestamp=now)
    finally:
        segment_request._session.close()  # the library keeps its connection alive

    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id) == ("ann", ANON)
    assert user.traits == {"plan": "pro", "seats": 3}
    assert sorted(user.events.values_list("name", flat=True)) == [
        "Opened settings",
        "Viewed pricing",
    ]
