"""The public widget routes, through HTTP: identify, decide, displays, responses, abuse."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from satismeter_app import keys
from satismeter_app.models import (
    Delivery,
    Display,
    EndUser,
    Integration,
    Response,
    Survey,
    UserEvent,
)

pytestmark = pytest.mark.django_db

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)


def widget(client, project, **body: Any) -> Any:
    return client.post(
        "/api/widget",
        {"writeKey": project.write_key, **body},
        format="json",
        HTTP_USER_AGENT=CHROME,
    )


def start(client, project, survey, **body: Any) -> Any:
    body = {"writeKey": project.write_key, "campaign": str(survey.pk), **body}
    return client.post("/api/responses", body, format="json", HTTP_USER_AGENT=CHROME)


# --- identify and decide --------------------------------------------------------------------------


def test_new_user_is_created_with_traits_and_sees_the_survey(api_client, project, survey):
    reply = widget(
        api_client,
        project,
        userId="42",
        url="https://app.example.com/home",
        traits={
            "name": "Ann",
            "email": "ann@example.com",
            "plan": "pro",
            "createdAt": "2021-07-26T10:32:26.041Z",
        },
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()["widget"]
    assert body["visible"] is True
    assert body["campaign"] == str(survey.pk)
    assert "How likely" in body["survey"]["translation"]["HOW_LIKELY"]
    user = EndUser.objects.get(project=project, user_id="42")
    assert (user.name, user.email, user.traits["plan"]) == ("Ann", "ann@example.com", "pro")
    assert user.created_at == datetime(2021, 7, 26, 10, 32, 26, 41000, tzinfo=UTC)
    assert user.last_url == "https://app.example.com/home"


@pytest.mark.parametrize(
    "created_at",
    [
        1627295546,
        1627295546000,
        "1627295546",
        "1627295546000",
        "2021-07-26T10:32:26Z",
        "2021-07-26T10:32:26+00:00",
    ],
)
def test_created_at_in_every_format(api_client, project, survey, created_at):
    reply = widget(api_client, project, userId="u", traits={"createdAt": created_at})
    assert reply.status_code == 200, reply.content
    created = EndUser.objects.get(user_id="u").created_at
    assert created.replace(microsecond=0) == datetime(2021, 7, 26, 10, 32, 26, tzinfo=UTC)


def test_unparseable_created_at_is_a_clear_400(api_client, project, survey):
    reply = widget(api_client, project, userId="u", traits={"createdAt": "last tuesday"})
    assert reply.status_code == 400
    assert reply.json()["field"] == "traits.createdAt"
    assert not EndUser.objects.exists()


def test_traits_merge_across_calls(api_client, project, survey):
    widget(api_client, project, userId="u", traits={"plan": "free", "seats": 3})
    widget(api_client, project, userId="u", traits={"plan": "pro"})
    assert EndUser.objects.get(user_id="u").traits == {"plan": "pro", "seats": 3}


def test_the_answer_names_one_survey_never_the_catalogue(api_client, project, make_survey):
    make_survey(project, name="Low", priority=1, min_tenure_days=0)
    high = make_survey(project, name="High", priority=5, min_tenure_days=0)
    body = widget(api_client, project, userId="u").json()["widget"]
    assert body["campaign"] == str(high.pk)
    assert "Low" not in str(body)


def test_user_too_new_sees_nothing(api_client, project, make_survey):
    make_survey(project, min_tenure_days=30)
    now = timezone.now().isoformat()
    body = widget(api_client, project, userId="u", traits={"createdAt": now}).json()
    assert body == {"widget": {"visible": False}}


def test_anonymous_visitors_only_where_the_survey_allows(api_client, project, make_survey):
    survey = make_survey(project, min_tenure_days=0)
    assert widget(api_client, project, anonymousId="a1").json()["widget"]["visible"] is False
    survey.audience = Survey.Audience.EVERYONE
    survey.save()
    assert widget(api_client, project, anonymousId="a1").json()["widget"]["visible"] is True


def test_an_identifying_visitor_keeps_their_row(api_client, project, survey):
    widget(api_client, project, anonymousId="a1")
    widget(api_client, project, anonymousId="a1", userId="u1")
    user = EndUser.objects.get()
    assert (user.user_id, user.anonymous_id) == ("u1", "a1")


def test_language_trait_picks_the_survey_language(api_client, project, survey):
    body = widget(api_client, project, userId="u", traits={"language": "pt-BR"}).json()
    survey_json = body["widget"]["survey"]
    assert survey_json["language"] == "pt-BR"
    assert (
        survey_json["translation"]["HOW_LIKELY"]
        != widget(api_client, project, userId="v").json()["widget"]["survey"]["translation"][
            "HOW_LIKELY"
        ]
    )


def test_browser_language_when_no_trait(api_client, project, survey):
    reply = api_client.post(
        "/api/widget",
        {"writeKey": project.write_key, "userId": "u"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de-AT,de;q=0.9,en;q=0.5",
    )
    assert reply.json()["widget"]["survey"]["language"] == "de"


def test_right_to_left_languages_say_so(api_client, project, survey):
    body = widget(api_client, project, userId="u", traits={"language": "ar"}).json()
    assert body["widget"]["survey"]["direction"] == "rtl"


def test_survey_and_user_overrides_win(api_client, project, survey):
    survey.texts = {"en": {"FOLLOWUP": "Survey text"}}
    survey.save()
    default = widget(api_client, project, userId="u").json()["widget"]["survey"]["translation"]
    assert default["FOLLOWUP"] == "Survey text"
    mine = widget(
        api_client, project, userId="v", traits={"translation": {"FOLLOWUP": "User text"}}
    ).json()["widget"]["survey"]["translation"]
    assert mine["FOLLOWUP"] == "User text"


def test_saving_a_survey_refreshes_the_cached_configuration(api_client, project, survey):
    assert widget(api_client, project, userId="u").json()["widget"]["visible"] is True
    survey.state = Survey.State.PAUSED
    survey.save()
    assert widget(api_client, project, userId="u").json()["widget"]["visible"] is False


# --- events -----------------------------------------------------------------------------------------


def test_track_triggers_a_survey_waiting_for_it(api_client, project, make_survey):
    make_survey(project, min_tenure_days=0, trigger_event="Exported report")
    assert widget(api_client, project, userId="u").json()["widget"]["visible"] is False
    reply = widget(
        api_client,
        project,
        userId="u",
        type="track",
        event="Exported report",
        properties={"rows": 10},
    )
    assert reply.json()["widget"]["visible"] is True
    event = UserEvent.objects.get()
    assert (event.name, event.properties) == ("Exported report", {"rows": 10})


def test_track_without_event_name_is_refused(api_client, project, survey):
    reply = widget(api_client, project, userId="u", type="track")
    assert reply.status_code == 400
    assert "event" in reply.json()


def test_group_traits_land_on_the_user(api_client, project, survey):
    widget(api_client, project, userId="u", type="group", groupId="acme", traits={"size": 40})
    user = EndUser.objects.get()
    assert user.groups == {"acme": {"size": 40}}
    assert "size" not in user.traits  # a group's traits are not the user's


def test_server_errors_still_reach_the_widget_with_cors(api_client, project, survey, monkeypatch):
    from satismeter_app.services import decisions

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(decisions, "decide", broken)
    reply = widget(api_client, project, userId="u")
    assert reply.status_code == 500
    assert reply["Access-Control-Allow-Origin"] == "*"
    assert reply.json() == {"error": "Internal server error."}


# --- preview ----------------------------------------------------------------------------------------


def test_force_survey_needs_staff(api_client, client, project, make_survey, make_staff):
    draft = make_survey(project, state=Survey.State.DRAFT)
    make_survey(project, min_tenure_days=365)
    body = {"userId": "u", "previewCampaign": str(draft.pk)}
    assert widget(api_client, project, **body).json()["widget"]["visible"] is False

    api_client.force_login(make_staff(project))
    shown = widget(api_client, project, **body).json()["widget"]
    assert (shown["visible"], shown["campaign"], shown["preview"]) == (True, str(draft.pk), True)


def test_staff_of_another_project_cannot_preview(
    api_client, project, make_project, make_staff, make_survey
):
    make_survey(project, min_tenure_days=365)
    api_client.force_login(make_staff(make_project()))
    assert widget(api_client, project, userId="u", forceSurvey=True).json()["widget"] == {
        "visible": False
    }


@override_settings(DEBUG=True)
def test_force_survey_works_in_debug(api_client, project, make_survey):
    make_survey(project, min_tenure_days=365)
    assert widget(api_client, project, userId="u", forceSurvey=True).json()["widget"]["visible"]


# --- displays and responses -----------------------------------------------------------------------


@pytest.fixture
def integration(project) -> Integration:
    # Segment: the kind that sends all four lifecycle events (webhooks send two).
    return Integration.objects.create(project=project, kind=Integration.Kind.SEGMENT)


def test_display_is_recorded_with_a_viewed_delivery(api_client, project, survey, integration):
    widget(api_client, project, userId="u")
    reply = api_client.post(
        "/api/displays",
        {
            "writeKey": project.write_key,
            "userId": "u",
            "campaign": str(survey.pk),
            "url": "https://app.example.com/x",
        },
        format="json",
    )
    assert reply.status_code == 201, reply.content
    display = Display.objects.get()
    assert display.url == "https://app.example.com/x"
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.payload["campaign"]["name"]) == ("viewed", "Quarterly NPS")


def test_rating_then_comment_completes_the_response(api_client, project, survey, integration):
    reply = start(
        api_client,
        project,
        survey,
        userId="u",
        rating=9,
        language="en",
        url="https://app.example.com/settings",
    )
    assert reply.status_code == 201, reply.content
    location, token = reply["Location"], reply["auth-token"]
    response = Response.objects.get()
    assert (response.rating, response.completed, response.pending) == (9, False, False)
    assert location.endswith(f"/api/responses/{response.pk}")

    saved = api_client.put(
        location, {"feedback": "Fast and friendly"}, format="json", HTTP_AUTH_TOKEN=token
    )
    assert saved.status_code == 200, saved.content
    response.refresh_from_db()
    assert (response.feedback, response.completed) == ("Fast and friendly", True)
    assert response.referrer == "https://app.example.com/settings"
    assert response.device == {"os": "macOS", "type": "desktop"}
    events = list(Delivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["answered", "completed"]
    completed = Delivery.objects.get(event="completed").payload
    assert completed["response"]["feedback"] == "Fast and friendly"
    assert completed["response"]["category"] == "promoter"


def test_answers_style_rating_and_comment(api_client, project, survey):
    reply = start(
        api_client,
        project,
        survey,
        userId="u",
        answers=[{"id": "SM_rating", "value": 3}, {"id": "SM_comment", "value": "Slow"}],
    )
    assert reply.status_code == 201, reply.content
    response = Response.objects.get()
    assert (response.rating, response.feedback, response.completed) == (3, "Slow", True)


def test_dismissal_is_recorded_and_closes(api_client, project, survey, integration):
    reply = start(api_client, project, survey, userId="u", dismissed=True)
    assert reply.status_code == 201
    response = Response.objects.get()
    assert (response.dismissed, response.rating, response.pending) == (True, None, False)
    assert Delivery.objects.get().event == "closed"
    assert widget(api_client, project, userId="u").json()["widget"]["visible"] is False


def test_closing_after_rating_completes(api_client, project, survey):
    reply = start(api_client, project, survey, userId="u", rating=6)
    api_client.put(
        reply["Location"], {"dismissed": True}, format="json", HTTP_AUTH_TOKEN=reply["auth-token"]
    )
    response = Response.objects.get()
    assert (response.completed, response.dismissed, response.rating) == (True, False, 6)


def test_answering_again_soon_is_a_duplicate(api_client, project, survey):
    assert start(api_client, project, survey, userId="u", rating=10).status_code == 201
    again = start(api_client, project, survey, userId="u", rating=2)
    assert again.status_code == 400
    assert again.json()["error"] == "Duplicate response"
    assert Response.objects.count() == 1
    assert widget(api_client, project, userId="u").json()["widget"]["visible"] is False


def test_a_user_outside_targeting_cannot_respond(api_client, project, make_survey):
    survey = make_survey(
        project,
        trait_conditions=[{"trait": "plan", "type": "text", "op": "equals", "value": "pro"}],
        min_tenure_days=0,
    )
    reply = start(api_client, project, survey, userId="u", traits={"plan": "free"}, rating=5)
    assert (reply.status_code, reply.json()["reason"]) == (400, "traits")


def test_put_needs_the_right_token(api_client, project, survey):
    reply = start(api_client, project, survey, userId="u", rating=8)
    wrong = api_client.put(
        reply["Location"], {"feedback": "x"}, format="json", HTTP_AUTH_TOKEN="not-the-token"
    )
    missing = api_client.put(reply["Location"], {"feedback": "x"}, format="json")
    assert (wrong.status_code, missing.status_code) == (403, 401)
    assert Response.objects.get().feedback == ""


def test_finished_responses_do_not_change(api_client, project, survey):
    reply = start(api_client, project, survey, userId="u", rating=8, feedback="ok")
    again = api_client.put(
        reply["Location"], {"rating": 0}, format="json", HTTP_AUTH_TOKEN=reply["auth-token"]
    )
    assert again.status_code == 409
    assert Response.objects.get().rating == 8


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 11}, "rating"),
        ({"rating": -1}, "rating"),
        ({"rating": "nine"}, "rating"),
        ({"answers": [{"id": "SM_rating", "value": 12}]}, "rating"),
        ({"feedback": "x" * 5001}, "feedback"),
        ({"stars": 5}, "stars"),
    ],
)
def test_bad_responses_say_what_is_wrong(api_client, project, survey, body, field):
    reply = start(api_client, project, survey, userId="u", **body)
    assert reply.status_code == 400
    assert field in str(reply.json())
    assert not Response.objects.exists()


def test_responses_to_an_inactive_or_foreign_survey_are_refused(
    api_client, project, make_project, make_survey
):
    foreign = make_survey(make_project(), min_tenure_days=0)
    reply = start(api_client, project, foreign, userId="u", rating=5)
    assert (reply.status_code, reply.json()["field"]) == (400, "campaign")


# --- identity verification --------------------------------------------------------------------------


@pytest.fixture
def verified(project, survey):
    project.identity_verification = True
    project.save()
    return project


def test_verified_user_with_the_right_hash_is_served(api_client, verified, survey):
    good = keys.user_hash("u", verified.verification_secret)
    reply = widget(api_client, verified, userId="u", userHash=good)
    assert reply.json()["widget"]["visible"] is True


def test_spoofed_user_id_reads_and_writes_nothing(api_client, verified, survey):
    victim = "ceo@example.com"
    reply = widget(api_client, verified, userId=victim, userHash="0" * 64)
    assert reply.status_code == 403
    assert "userHash" in reply.json()["error"]
    assert widget(api_client, verified, userId=victim).status_code == 403
    assert start(api_client, verified, survey, userId=victim, rating=0).status_code == 403
    assert not EndUser.objects.exists()
    assert not Response.objects.exists()


# --- abuse --------------------------------------------------------------------------------------------


def test_unknown_write_key_is_401_and_says_no_more(api_client, project, survey):
    reply = api_client.post("/api/widget", {"writeKey": "nope", "userId": "u"}, format="json")
    assert reply.status_code == 401
    assert reply.json() == {"error": "Invalid write key."}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [1, 2],
    ],
)
def test_malformed_bodies_are_400(api_client, project, body):
    reply = api_client.post("/api/widget", body, content_type="application/json")
    assert reply.status_code == 400


def test_missing_identity_is_400(api_client, project):
    reply = widget(api_client, project)
    assert reply.status_code == 400
    assert "userId" in str(reply.json())


def test_unknown_keys_are_named(api_client, project):
    reply = widget(api_client, project, userId="u", userID="typo")
    assert reply.status_code == 400
    assert reply.json() == {"userID": ["Unknown field."]}


def test_oversized_traits_are_refused(api_client, project, survey):
    reply = widget(api_client, project, userId="u", traits={"notes": "x" * 33_000})
    assert reply.status_code in (400, 413)
    assert not EndUser.objects.exists()


def test_traits_just_under_the_cap_are_kept(api_client, project, survey):
    reply = widget(api_client, project, userId="u", traits={"notes": "x" * 32_000})
    assert reply.status_code == 200
    assert len(EndUser.objects.get().traits["notes"]) == 32_000


@override_settings(SATISMETER={"WIDGET_RATE_PER_CLIENT": "3/min"})
def test_clients_are_rate_limited(api_client, project, survey):
    replies = [widget(api_client, project, userId="u") for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert 0 < int(replies[-1]["Retry-After"]) <= 60


@override_settings(SATISMETER={"WIDGET_RATE_PER_KEY": "2/min"})
def test_write_keys_are_rate_limited_across_clients(api_client, project, survey):
    codes = [
        api_client.post(
            "/api/widget",
            {"writeKey": project.write_key, "userId": "u"},
            format="json",
            REMOTE_ADDR=f"10.0.0.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


def test_cors_is_open_on_widget_routes(api_client, project):
    preflight = api_client.options(
        "/api/widget",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "auth-token" in preflight["Access-Control-Expose-Headers"]


# --- speed -------------------------------------------------------------------------------------------


def test_steady_state_widget_call_is_at_most_three_queries(
    api_client, project, make_survey, django_assert_max_num_queries
):
    now = timezone.now()
    surveys = [make_survey(project, min_tenure_days=0, priority=n) for n in range(20)]
    users = EndUser.objects.bulk_create(
        EndUser(
            project=project,
            user_id=f"user-{n}",
            first_seen=now - timedelta(days=400),
            last_seen=now - timedelta(days=1),
        )
        for n in range(3000)
    )
    Response.objects.bulk_create(
        Response(
            project=project,
            survey=surveys[n % 20],
            user=users[n],
            rating=n % 11,
            completed=True,
            created=now - timedelta(days=n % 300),
            completed_at=now,
        )
        for n in range(3000)
    )
    Display.objects.bulk_create(
        Display(project=project, survey=surveys[n % 20], user=users[n]) for n in range(3000)
    )
    for survey in surveys:  # nothing due: every survey waits a year after an answer
        survey.resurvey_days = 365
        survey.save()
    body = {"traits": {"plan": "pro"}, "url": "https://app.example.com/"}
    widget(api_client, project, userId="steady", **body)
    start(api_client, project, surveys[-1], userId="steady", rating=10)
    widget(api_client, project, userId="steady", **body)  # caches, refreshes last_seen
    with django_assert_max_num_queries(3):
        reply = widget(api_client, project, userId="steady", **body)
    assert reply.json() == {"widget": {"visible": False}}


def test_staff_preview_can_answer_a_draft_survey(api_client, project, make_survey, make_staff):
    draft = make_survey(project, state=Survey.State.DRAFT)
    refused = start(api_client, project, draft, userId="u", rating=7, forceSurvey=True)
    assert refused.status_code == 400  # not a staff member: forceSurvey is ignored
    api_client.force_login(make_staff(project))
    shown = api_client.post(
        "/api/displays",
        {
            "writeKey": project.write_key,
            "userId": "u",
            "campaign": str(draft.pk),
            "forceSurvey": True,
        },
        format="json",
    )
    answered = start(api_client, project, draft, userId="u", rating=7, forceSurvey=True)
    assert (shown.status_code, answered.status_code) == (201, 201), shown.content
    assert Response.objects.get().survey == draft


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_answers_sent_at_once_record_one(project, make_survey):
    import threading

    from django.db import connection, connections
    from rest_framework.test import APIClient

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs at once")
    survey = make_survey(project, min_tenure_days=0)
    widget(APIClient(), project, userId="twice")
    start_line = threading.Barrier(4)
    codes: list[int] = []

    def answer(rating: int) -> None:
        try:
            start_line.wait()
            codes.append(
                start(APIClient(), project, survey, userId="twice", rating=rating).status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(n,)) for n in (3, 6, 9, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201, 400, 400, 400]
    assert Response.objects.filter(survey=survey).count() == 1
