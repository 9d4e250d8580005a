"""The database holds the invariants itself: a bad row is refused whoever writes it."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from satismeter_app.models import Delivery, EndUser, Response, Survey, Unsubscribe

pytestmark = pytest.mark.django_db


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_user_id_is_unique_per_project_only(project, make_project, make_end_user) -> None:
    make_end_user(project, user_id="u1")
    _refused(lambda: make_end_user(project, user_id="u1"))
    assert make_end_user(make_project(), user_id="u1").user_id == "u1"


def test_an_anonymous_id_names_one_row(project, make_end_user, make_project) -> None:
    make_end_user(project, anonymous_id="a1")
    _refused(lambda: make_end_user(project, anonymous_id="a1"))
    # Nor a signed-in user's: an answer sent with the anonymousId must find one row.
    _refused(lambda: make_end_user(project, user_id="u9", anonymous_id="a1"))
    assert make_end_user(project, user_id="u9", anonymous_id="a2").anonymous_id == "a2"
    assert make_end_user(make_project(), anonymous_id="a1")  # another project's visitor


def test_a_user_needs_some_identity(project) -> None:
    _refused(lambda: EndUser.objects.create(project=project))


def test_last_seen_cannot_precede_first_seen(project, make_end_user) -> None:
    now = timezone.now()
    _refused(lambda: make_end_user(project, first_seen=now, last_seen=now - timedelta(1)))


@pytest.mark.parametrize("rating", [-1, 11, 100])
def test_ratings_stay_on_the_scale(project, make_survey, make_response, rating) -> None:
    survey = make_survey(project)
    _refused(lambda: make_response(survey, rating=rating))


@pytest.mark.parametrize(
    "fields",
    [
        {"rating": 5, "dismissed": True},  # a dismissal has no rating
        {"dismissed": True, "completed": True},
        {"pending": True, "rating": 3},  # pending means no rating yet
        {"pending": True, "dismissed": True},
        {"method": "Pigeon"},
    ],
)
def test_response_states_are_consistent(project, make_survey, make_end_user, fields) -> None:
    survey = make_survey(project)
    user = make_end_user(project)
    _refused(lambda: Response.objects.create(project=project, survey=survey, user=user, **fields))


def test_survey_sample_and_schedule_are_sane(project, make_survey) -> None:
    _refused(lambda: make_survey(project, sample_percent=101))
    now = timezone.now()
    _refused(lambda: make_survey(project, starts_at=now, ends_at=now - timedelta(hours=1)))


def test_unsubscribes_are_unique_per_address_whatever_the_case(project) -> None:
    Unsubscribe.objects.create(project=project, email="Ann@Example.com", source="api")
    _refused(lambda: Unsubscribe.objects.create(project=project, email="ann@example.com"))


def test_delivery_message_ids_are_unique(project) -> None:
    Delivery.objects.create(project=project, destination="segment", event="x", message_id="m1")
    _refused(
        lambda: Delivery.objects.create(
            project=project, destination="slack", event="y", message_id="m1"
        )
    )


def test_a_delivered_row_records_when(project) -> None:
    _refused(
        lambda: Delivery.objects.create(
            project=project, destination="segment", event="x", message_id="m2", state="delivered"
        )
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("trait_conditions", [{"trait": "plan", "type": "text", "op": "lt", "value": "a"}], "lt"),
        ("trait_conditions", [{"trait": "seats", "type": "number", "op": "gt"}], "number"),
        ("trait_conditions", [{"trait": "x", "op": "exists", "colour": 1}], "colour"),
        ("url_rules", [{"op": "regex", "value": "("}], "regular expression"),
        ("url_rules", {"op": "contains"}, "list"),
        ("device_types", ["fridge"], "desktop"),
        ("design", {"skin": "popup"}, "dialog, panel or bar"),
        ("design", {"colors": {"primary": "red; background: url(x)"}}, "colours"),
        ("design", {"colour": "red"}, "Unknown design keys: colour"),
        ("design", {"ctaUrl": "javascript:alert(1)"}, "http(s) URL"),
        ("texts", {"klingon": {"FOLLOWUP": "?"}}, "Unknown language 'klingon'"),
        ("texts", {"en": {"followup": "?"}}, "upper case"),
        ("texts", {"en": {"FOLLOWUP": 3}}, "must be text"),
    ],
)
def test_survey_rules_say_what_is_wrong(project, field, value, message) -> None:
    survey = Survey(project=project, name="NPS", **{field: value})
    with pytest.raises(ValidationError) as info:
        survey.full_clean()
    assert message in str(info.value.message_dict[field])


def test_well_formed_rules_pass(project) -> None:
    Survey(
        project=project,
        name="NPS",
        trait_conditions=[
            {"trait": "plan", "type": "text", "op": "in", "value": ["pro", "team"]},
            {"trait": "seats", "type": "number", "op": "between", "value": [5, 50]},
            {"trait": "trialEnds", "type": "date", "op": "within_days", "value": 14},
            {"trait": "beta", "type": "boolean", "op": "is", "value": True},
            {"trait": "company", "op": "exists"},
        ],
        url_rules=[
            {"op": "starts_with", "value": "/app"},
            {"op": "contains", "value": "x", "exclude": True},
        ],
        device_types=["desktop", "mobile"],
        texts={"pt-BR": {"FOLLOWUP": "O que podemos melhorar?"}},
        design={
            "skin": "panel",
            "position": "bl",
            "colors": {"primary": "#0a7"},
            "poweredBy": False,
        },
    ).full_clean()


def test_live_surveys_respect_state_and_schedule(project, make_survey) -> None:
    now = timezone.now()
    live = make_survey(project)
    make_survey(project, state=Survey.State.PAUSED)
    make_survey(project, starts_at=now + timedelta(days=1))
    make_survey(project, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    assert list(Survey.objects.live(now)) == [live]
