"""Automatic tags: keyword tags put themselves on comments that name their keywords — as the
comment arrives from the widget, and on old responses by ``satismeter_apply_tags``."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from satismeter_app import tagging
from satismeter_app.models import Project, Response, Survey, Tag

pytestmark = pytest.mark.django_db

PRICING = "price|pricing|expensive|too costly"


@pytest.mark.parametrize(
    ("text", "tagged"),
    [
        ("Way too EXPENSIVE for a small team", True),
        ("The pricing page is confusing", True),
        ("Price: 10 €, fine.", True),
        ("It is priceless", False),  # a whole word only
        ("inexpensive and good", False),
        ("This is too   costly\nfor us", True),  # a phrase across any white space
        ("too costlyish", False),
        ("", False),
    ],
)
def test_keywords_match_whole_words_whatever_their_case(text: str, tagged: bool) -> None:
    assert tagging.matches(PRICING, text) is tagged


@pytest.mark.parametrize(
    ("keywords", "text", "tagged"),
    [
        ("café", "Le CAFÉ était froid", True),
        ("café", "cafés", False),
        ("дорого", "Слишком ДОРОГО.", True),
        ("straße", "STRASSE gesperrt", True),  # full case folding
        ("élevé", "prix élevé!", True),
        ("a.b", "aXb", False),  # a dot is a dot, not a pattern
        ("(x+)+$", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!", False),  # a pattern is plain text
    ],
)
def test_matching_is_unicode_aware_and_plain_text(keywords: str, text: str, tagged: bool) -> None:
    assert tagging.matches(keywords, text) is tagged


def test_matching_names_every_tag_whose_keywords_appear() -> None:
    rules = [(1, "price|pricing"), (2, "slow|lag"), (3, "bug")]
    assert tagging.matching(rules, ["Pricing is fine", "but the app is SLOW"]) == {1, 2}


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ("price||cost", "Leave no empty keyword"),
        ("price|", "Leave no empty keyword"),
        ("price|!!!", "has no letter or digit"),
    ],
)
def test_a_tag_with_bad_keywords_is_refused_with_a_message(
    project: Project, keywords: str, message: str
) -> None:
    tag = Tag(project=project, name="pricing", keywords=keywords)
    with pytest.raises(ValidationError) as raised:
        tag.full_clean()
    assert message in str(raised.value.message_dict["keywords"])


def test_good_keywords_pass(project: Project) -> None:
    Tag(project=project, name="pricing", keywords=PRICING).full_clean()
    Tag(project=project, name="manual", keywords="").full_clean()


# --- as a comment arrives -------------------------------------------------------------------


def start(project: Project, survey: Survey, **body: Any) -> Any:
    body = {"writeKey": project.write_key, "campaign": str(survey.pk), "userId": "u1", **body}
    return APIClient().post("/api/responses", body, format="json")


def put(reply: Any, **body: Any) -> Any:
    return APIClient().put(
        reply["Location"], body, format="json", HTTP_AUTH_TOKEN=reply["auth-token"]
    )


def tag_names(response_id: Any) -> set[str]:
    return set(Response.objects.get(pk=response_id).tags.values_list("name", flat=True))


def test_a_comment_from_the_widget_gets_its_tags_and_keeps_staffs(
    project: Project, survey: Survey
) -> None:
    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    Tag.objects.create(project=project, name="speed", keywords="slow|lag")
    vip = Tag.objects.create(project=project, name="vip")
    reply = start(project, survey, rating=4)
    response = Response.objects.get(pk=reply.json()["id"])
    response.tags.add(vip)  # staff, before the comment arrives
    assert put(reply, feedback="Far too expensive for what it does").status_code == 200
    assert tag_names(response.pk) == {"pricing", "vip"}


def test_a_comment_sent_with_the_rating_is_tagged_too(project: Project, survey: Survey) -> None:
    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    reply = start(project, survey, rating=3, feedback="PRICING!")
    assert tag_names(reply.json()["id"]) == {"pricing"}


def test_a_new_keyword_tag_applies_to_the_next_comment(project: Project, survey: Survey) -> None:
    first = start(project, survey, rating=3, userId="a", feedback="too slow")
    assert tag_names(first.json()["id"]) == set()  # the configuration is held now
    Tag.objects.create(project=project, name="speed", keywords="slow")
    second = start(project, survey, rating=3, userId="b", feedback="too slow")
    assert tag_names(second.json()["id"]) == {"speed"}


def test_the_comment_costs_no_query_without_keyword_tags_and_one_insert_with(
    project: Project,
    survey: Survey,
    django_assert_max_num_queries: Any,
) -> None:
    Tag.objects.create(project=project, name="vip")  # staff's only: no keywords
    warm = start(project, survey, rating=4, userId="warm")
    put(warm, feedback="expensive")  # holds the configuration
    reply = start(project, survey, rating=4, userId="u2")
    with CaptureQueriesContext(connection) as plain:
        put(reply, feedback="Far too expensive")
    baseline = len(plain.captured_queries)
    assert not any("satismeter_app_tag" in q["sql"] for q in plain.captured_queries)

    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    warm = start(project, survey, rating=4, userId="warm2")
    put(warm, feedback="nothing")  # holds the new configuration
    reply = start(project, survey, rating=4, userId="u3")
    with django_assert_max_num_queries(baseline + 1) as tagged:
        put(reply, feedback="Far too expensive")
    assert sum("satismeter_app_response_tags" in q["sql"] for q in tagged.captured_queries) == 1
    assert tag_names(reply.json()["id"]) == {"pricing"}


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def old(project: Project, survey: Survey, make_response: Any) -> list[Response]:
    long_ago = timezone.now() - timedelta(days=200)
    return [
        make_response(survey, rating=2, feedback="Too expensive", created=long_ago),
        make_response(survey, rating=9, feedback="Fast and cheap"),
        make_response(survey, rating=5, feedback="The PRICE and the lag"),
        make_response(
            survey,
            rating=6,
            answers=[{"id": "why", "type": "long-text", "value": "slow pricing"}],
        ),
        make_response(survey, rating=8),
    ]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("satismeter_apply_tags", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_tags_old_responses_once(project: Project, old: list[Response]) -> None:
    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    Tag.objects.create(project=project, name="speed", keywords="slow|lag")
    out, err = run("--project", str(project.pk))
    assert "3 response(s) got 5 tag(s) (4 response(s) read)" in out
    assert re.search(r"responses \[#+\] 4/4\n", err)  # not a terminal: plain lines
    assert [tag_names(r.pk) for r in old] == [
        {"pricing"},
        set(),
        {"pricing", "speed"},
        {"pricing", "speed"},
        set(),
    ]
    out, _ = run("--project", str(project.pk))
    assert "0 response(s) got 0 tag(s)" in out
    assert Response.tags.through.objects.count() == 5


def test_a_dry_run_counts_and_writes_nothing(project: Project, old: list[Response]) -> None:
    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    out, _ = run("--project", str(project.pk), "--dry-run")
    assert "3 response(s) would get 3 tag(s)" in out
    assert not Response.tags.through.objects.exists()


def test_one_tag_since_a_date(project: Project, old: list[Response]) -> None:
    Tag.objects.create(project=project, name="pricing", keywords=PRICING)
    Tag.objects.create(project=project, name="speed", keywords="slow|lag")
    since = (timezone.now() - timedelta(days=30)).date().isoformat()
    out, _ = run("--project", str(project.pk), "--tag", "pricing", "--since", since)
    assert "2 response(s) got 2 tag(s)" in out
    assert tag_names(old[0].pk) == set() and tag_names(old[2].pk) == {"pricing"}


def test_the_command_says_what_is_wrong(project: Project) -> None:
    Tag.objects.create(project=project, name="vip")
    with pytest.raises(CommandError, match="no tag named 'nope'"):
        run("--project", str(project.pk), "--tag", "nope")
    with pytest.raises(CommandError, match="has no keywords"):
        run("--project", str(project.pk), "--tag", "vip")
    with pytest.raises(CommandError, match="not a date"):
        run("--project", str(project.pk), "--since", "yesterday-ish")
    with pytest.raises(CommandError, match="No project"):
        run("--project", "999999")
