"""The SatisMeter-compatible routes answer SatisMeter's documented objects, key for key.

Strict consumers validate what they read against SatisMeter's documentation: a JSON schema
with ``additionalProperties: false`` or a struct that refuses unknown fields breaks on one key
more. The schemas below are written from that documentation (shared/reference/satismeter.md
§2.2 and §2.3), not from our code: a key we add fails them. Our keys come with
``?extended=1`` only (and on v3, tested in test_representations.py).

And ``page[size]`` / ``page[number]``, as SatisMeter's Ruby client pages ``/api/responses``:
``Satismeter::SurveyResponse.all(page: {size: 50, number: 2})`` sends
``page%5Bsize%5D=50&page%5Bnumber%5D=2`` with HTTP Basic, and its ``Time`` values as epoch
seconds.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from satismeter_app.models import ApiKey

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def closed(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object with exactly these keys: all required but ``optional``, nothing else."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


ANY = {}  # a documented key whose values are free-form (traits, groups)
TEXT_OR_NULL = {"type": ["string", "null"]}
# What SatisMeter documents of a response that we do not store: the visitor's IP address and
# the place it was looked up to be. Differs on purpose (docs/compatibility.md): no visitor
# address is kept.
NOT_STORED = ("ip", "location")
RESPONSE_SCHEMA = closed(
    {
        "id": {"type": "string"},
        "project": {"type": "string"},
        "campaign": {"type": "string"},
        "created": {"type": "string"},
        "rating": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
        "feedback": {"type": "string"},
        "answers": {
            "type": "array",
            "items": closed(
                {"id": {}, "label": {}, "value": {}, "name": {}, "type": {}, "metric": {}},
                optional=("label", "name", "type", "metric"),
            ),
        },
        "category": {"enum": ["promoter", "passive", "detractor", None]},
        "score": {"enum": [100, 0, -100, None]},
        "dismissed": {"type": "boolean"},
        "pending": {"type": "boolean"},
        "completed": {"type": "boolean"},
        "method": {"enum": ["In-app", "Mobile", "Email"]},
        "language": TEXT_OR_NULL,
        "referrer": TEXT_OR_NULL,
        "ip": TEXT_OR_NULL,
        "location": {"type": "object"},
        "device": closed({"os": {}, "type": {}}, optional=("os", "type")),
        "user": closed(
            {
                "id": {"type": "string"},
                "userId": TEXT_OR_NULL,
                "name": TEXT_OR_NULL,
                "email": TEXT_OR_NULL,
                "createdAt": TEXT_OR_NULL,
                "deleted": {"type": "boolean"},
                "traits": ANY,
                "groups": ANY,
            }
        ),
    },
    optional=NOT_STORED,
)
EXPORT_SCHEMA = closed({"responses": {"type": "array", "items": RESPONSE_SCHEMA}})
USER_SCHEMA = closed(
    {
        "id": {"type": "string"},
        "project": {"type": "string"},
        "userId": {"type": "string"},
        "name": TEXT_OR_NULL,
        "email": TEXT_OR_NULL,
        "traits": ANY,
        "unsubscribed": {"type": "boolean"},
        "lastSeen": {"type": "string"},
        "created": {"type": "string"},
    }
)
USERS_SCHEMA = closed({"users": {"type": "array", "items": USER_SCHEMA}})
COUNT = {"type": "integer", "minimum": 0}
STATISTICS_SCHEMA = closed(
    {
        "data": {
            "type": "array",
            "items": closed(
                {
                    # A JSON:API resource: its id and type, then SatisMeter's attributes.
                    "id": {"type": "string"},
                    "type": {"const": "response-statistics"},
                    "attributes": closed(
                        {
                            **dict.fromkeys(
                                ("responses", "displays", "dismissed", "pending", "commented"),
                                COUNT,
                            ),
                            **dict.fromkeys(("promoters", "passives", "detractors"), COUNT),
                            "nps": {"type": ["number", "null"]},
                            "frequency": {
                                "type": "array",
                                "items": COUNT,
                                "minItems": 11,
                                "maxItems": 11,
                            },
                        }
                    ),
                }
            ),
        }
    }
)
# The CSV export: the response object's keys, the user's and the device's flattened.
CSV_HEADER = [
    *("id", "created", "project", "campaign", "user", "userId", "name", "email", "rating"),
    *("category", "score", "feedback", "dismissed", "pending", "completed", "method"),
    *("language", "referrer", "deviceOs", "deviceType", "answers", "traits"),
]


def valid(instance: Any, schema: dict[str, Any]) -> Any:
    jsonschema.Draft202012Validator(schema).validate(instance)
    return instance


def body_of(reply: Any) -> bytes:
    return b"".join(reply.streaming_content) if reply.streaming else reply.content


def basic(key: str) -> dict[str, str]:
    """How SatisMeter's Ruby client and the Singer tap authenticate."""
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def headers(project) -> dict[str, str]:
    return basic(ApiKey.issue(project, "strict")[1])


@pytest.fixture
def answered(project, survey, make_end_user, make_response):
    """A rated, commented response with a follow-up answer, by a user who came anonymous."""
    user = make_end_user(
        project, user_id="u1", anonymous_id="anon-1", email="ann@example.com", name="Ann"
    )
    return make_response(
        survey,
        user=user,
        rating=9,
        feedback="Fast",
        answers=[{"id": "q2", "label": "Why?", "value": "Speed", "type": "single-choice"}],
        language="en",
        device={"os": "iOS", "type": "mobile"},
        traits={"plan": "pro"},
    )


def get_json(api_client, url: str, headers: dict[str, str]) -> Any:
    reply = api_client.get(url, **headers)
    assert reply.status_code == 200, body_of(reply)
    return json.loads(body_of(reply))


# --- the documented objects, exactly ---------------------------------------------------------------


def test_the_export_answers_documented_response_objects_only(api_client, headers, answered):
    body = valid(get_json(api_client, "/api/responses?format=json", headers), EXPORT_SCHEMA)
    (obj,) = body["responses"]
    assert set(obj) == set(RESPONSE_SCHEMA["properties"]) - set(NOT_STORED)
    assert "anonymousId" not in obj["user"]


def test_one_response_is_the_documented_object(api_client, headers, answered):
    valid(get_json(api_client, f"/api/responses/{answered.pk}", headers), RESPONSE_SCHEMA)


def test_a_dismissed_pending_and_anonymous_response_too(
    api_client, headers, project, survey, make_end_user, make_response
):
    visitor = make_end_user(project, anonymous_id="anon-2")
    make_response(survey, user=visitor, dismissed=True)
    make_response(survey, pending=True, method="Email")
    body = valid(get_json(api_client, "/api/responses", headers), EXPORT_SCHEMA)
    assert body["responses"][0]["user"]["userId"] is None


def test_the_user_list_answers_documented_user_objects_only(
    api_client, headers, project, make_end_user
):
    make_end_user(project, user_id="u1", survey_date=WHEN, traits={"plan": "pro"})
    body = valid(get_json(api_client, "/api/users", headers), USERS_SCHEMA)
    assert set(body["users"][0]) == set(USER_SCHEMA["properties"])


def test_the_statistics_are_the_documented_attributes(api_client, headers, answered):
    valid(
        get_json(api_client, "/api/v2/response-statistics?format=json", headers), STATISTICS_SCHEMA
    )


def test_the_csv_export_has_the_documented_columns_only(api_client, headers, answered):
    reply = api_client.get("/api/responses?format=csv", **headers)
    rows = list(csv.reader(io.StringIO(body_of(reply).decode())))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2 and "anon-1" not in rows[1]


# --- ours, when asked for ----------------------------------------------------------------------


def test_extended_adds_the_anonymous_id_after_the_documented_keys(api_client, headers, answered):
    body = get_json(api_client, "/api/responses?extended=1", headers)
    (obj,) = body["responses"]
    assert list(obj["user"])[-1] == "anonymousId" and obj["user"]["anonymousId"] == "anon-1"
    with pytest.raises(jsonschema.ValidationError, match="anonymousId"):
        valid(body, EXPORT_SCHEMA)
    one = get_json(api_client, f"/api/responses/{answered.pk}?extended=true", headers)
    assert one["user"]["anonymousId"] == "anon-1"
    del one["user"]["anonymousId"]
    valid(one, RESPONSE_SCHEMA)


def test_extended_csv_has_an_anonymous_id_column_after_the_user_id(api_client, headers, answered):
    reply = api_client.get("/api/responses?format=csv&extended=1", **headers)
    header, row = csv.reader(io.StringIO(body_of(reply).decode()))
    at = CSV_HEADER.index("userId") + 1
    assert header == [*CSV_HEADER[:at], "anonymousId", *CSV_HEADER[at:]]
    assert row[header.index("anonymousId")] == "anon-1"


def test_extended_users_carry_their_survey_date(api_client, headers, project, make_end_user):
    make_end_user(project, user_id="u1", survey_date=WHEN)
    (user,) = get_json(api_client, "/api/users?extended=1", headers)["users"]
    assert user["surveyDate"].startswith("2024-05-06T07:08:09")


@pytest.mark.parametrize("route", ["/api/responses", "/api/users"])
def test_extended_is_yes_or_no(api_client, headers, answered, route):
    reply = api_client.get(f"{route}?extended=please", **headers)
    assert reply.status_code == 400
    assert "extended" in reply.content.decode()


# --- page[size] and page[number] -----------------------------------------------------------------


@pytest.fixture
def five(project, survey, make_response) -> list[Any]:
    """Five responses, a day apart, oldest first: ratings 0 to 4."""
    return [make_response(survey, rating=n, created=WHEN + timedelta(days=n)) for n in range(5)]


def ruby_page(api_client, headers, size: int | None, number: int | None, **extra) -> Any:
    """``GET /api/responses`` with the query SatisMeter's Ruby client writes (CGI.escape)."""
    query = [f"{key}={value}" for key, value in extra.items()]
    if size is not None:
        query.append(f"page%5Bsize%5D={size}")
    if number is not None:
        query.append(f"page%5Bnumber%5D={number}")
    return api_client.get("/api/responses?" + "&".join(query), **headers)


def ratings(body: dict[str, Any]) -> list[int]:
    return [obj["rating"] for obj in body["responses"]]


def test_pages_of_the_export_as_the_ruby_client_asks(api_client, headers, five):
    reply = ruby_page(api_client, headers, 2, 2)
    assert reply.status_code == 200
    body = reply.json()
    assert ratings(body) == [2, 3]
    assert body["meta"] == {"page": {"number": 2, "size": 2}, "total": 5, "pages": 3}
    for obj in body["responses"]:
        valid(obj, RESPONSE_SCHEMA)
    assert ratings(ruby_page(api_client, headers, 2, 3).json()) == [4]
    past_the_end = ruby_page(api_client, headers, 2, 4).json()
    assert past_the_end["responses"] == [] and past_the_end["meta"]["total"] == 5


def test_a_page_size_alone_is_the_first_page_a_number_alone_pages_by_100(api_client, headers, five):
    assert ratings(ruby_page(api_client, headers, 3, None).json()) == [0, 1, 2]
    body = ruby_page(api_client, headers, None, 1).json()
    assert ratings(body) == [0, 1, 2, 3, 4]
    assert body["meta"]["page"] == {"number": 1, "size": 100}


def test_pages_keep_the_time_window_given_in_epoch_seconds(api_client, headers, five):
    """The Ruby client writes a Time as its epoch seconds."""
    start = int((WHEN + timedelta(days=1)).timestamp())
    end = int((WHEN + timedelta(days=4)).timestamp())
    body = ruby_page(api_client, headers, 2, 1, startDate=start, endDate=end).json()
    assert ratings(body) == [1, 2]
    assert body["meta"]["total"] == 3


def test_a_csv_page_holds_that_page_rows(api_client, headers, five):
    reply = ruby_page(api_client, headers, 2, 2, format="csv")
    rows = list(csv.DictReader(io.StringIO(body_of(reply).decode())))
    assert [row["rating"] for row in rows] == ["2", "3"]


@pytest.mark.parametrize(("size", "number"), [(0, 1), (1001, 1), ("ten", 1), (10, 0), (10, "-1")])
def test_a_page_out_of_range_is_a_400_that_names_it(api_client, headers, five, size, number):
    reply = ruby_page(api_client, headers, size, number)
    assert reply.status_code == 400
    assert "page[" in reply.content.decode()


def test_without_page_parameters_the_export_still_streams(api_client, headers, five):
    reply = api_client.get("/api/responses", **headers)
    assert reply.streaming
    body = json.loads(body_of(reply))
    assert set(body) == {"responses"} and ratings(body) == [0, 1, 2, 3, 4]
