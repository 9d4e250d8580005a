"""The OpenAPI schema says what the server does: how each operation authenticates, which bodies
refuse unknown keys, and which refusals (400, 401, 403, 404, 429) it can answer, with their
bodies. Issue #13, item 12: the schema listed Bearer, Basic and AuthKey as one requirement
(all three at once), gave the widget operations only the staff session, and documented
neither ``additionalProperties: false`` nor the 4xx answers.

These read the generated document; ``test_schemathesis.py`` checks it against the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

API_KEY = [{"apiKeyBearer": []}, {"apiKeyBasic": []}, {"apiKeyHeader": []}]
WIDGET = [
    ("post", "/api/widget"),
    ("post", "/api/displays"),
    ("post", "/api/responses"),
    ("put", "/api/responses/{id}"),
]
STRICT_BODIES = [*WIDGET, ("post", "/api/users")]


@pytest.fixture(scope="module")
def document(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        reply = Client().get("/api/schema/?format=json")
    assert reply.status_code == 200
    return dict(reply.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return dict(document["components"]["schemas"][name])
    return schema


def request_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    content = document["paths"][path][method]["requestBody"]["content"]
    return resolve(document, content["application/json"]["schema"])


# --- security ---------------------------------------------------------------------------------


def test_each_security_requirement_names_one_way_to_authenticate(document) -> None:
    """OpenAPI: the schemes of one requirement object are all required at once; alternatives
    are separate objects."""
    for method, path, operation in operations(document):
        for requirement in operation.get("security", []):
            assert len(requirement) <= 1, (method, path, operation["security"])


def test_the_secret_key_is_accepted_in_any_one_of_three_ways(document) -> None:
    secret_key_operations = [
        (method, path)
        for method, path, _ in operations(document)
        if path.startswith(("/api/users", "/api/v2/", "/api/v3/"))
        or (path.startswith("/api/responses") and method == "get")
    ]
    assert len(secret_key_operations) == 15
    for method, path in secret_key_operations:
        assert document["paths"][path][method]["security"] == API_KEY, (method, path)


def test_segment_takes_its_key_in_a_header_or_in_the_body(document) -> None:
    security = document["paths"]["/segment/v1/batch"]["post"]["security"]
    assert {"segmentKeyBasic": []} in security and {"segmentKeyHeader": []} in security
    assert {} in security  # writeKey in the body, as Segment's libraries may send it
    assert "writeKey" in document["components"]["securitySchemes"]["segmentKeyBasic"]["description"]


def test_widget_operations_need_no_credential_but_the_write_key_in_the_body(document) -> None:
    for method, path in WIDGET:
        operation = document["paths"][path][method]
        assert {} in operation["security"], (method, path)  # anonymous visitors call them
        assert "writeKey" in operation["description"], (method, path)


# --- request bodies ---------------------------------------------------------------------------


def test_bodies_that_refuse_unknown_keys_say_so(document) -> None:
    for method, path in STRICT_BODIES:
        schema = request_schema(document, method, path)
        assert schema.get("additionalProperties") is False, (method, path)
    answer = document["components"]["schemas"]["AnswerRequest"]
    assert answer.get("additionalProperties") is False  # the items of a response's answers


def test_bodies_that_ignore_unknown_keys_do_not_claim_to_refuse_them(document) -> None:
    schema = request_schema(document, "post", "/api/manage/surveys")
    assert "additionalProperties" not in schema


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", STRICT_BODIES)
def test_a_body_that_says_so_refuses_an_unknown_key(
    api_client: Any, project: Any, key: str, method: str, path: str
) -> None:
    body = {"writeKey": project.write_key, "userId": "u", "campaign": "1", "typo": 1}
    reply = getattr(api_client, method)(path.format(id=1), body, format="json", HTTP_AUTHKEY=key)
    assert reply.status_code == 400
    assert "typo" in reply.content.decode()


# --- refusals ---------------------------------------------------------------------------------


def error_refs(document: dict[str, Any], response: dict[str, Any]) -> set[str]:
    schema = response["content"]["application/json"]["schema"]
    kinds = schema.get("anyOf", [schema])
    return {item["$ref"].rsplit("/", 1)[-1] for item in kinds if "$ref" in item}


def test_every_operation_documents_its_refusals_with_their_bodies(document) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        expected = {"400", "401"}
        if not path.startswith("/segment/"):
            expected.add("403")
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            refs = error_refs(document, responses[status])
            if path.startswith("/segment/"):
                assert refs == {"Failure"}, (method, path, status)
            else:
                assert {"Error", "Detail"} <= refs, (method, path, status)


def test_throttled_operations_document_429_with_retry_after(document) -> None:
    for method, path in WIDGET:
        refusal = document["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in refusal["headers"], (method, path)


def test_the_error_bodies_are_the_error_handlers(document) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"error", "field", "reason"}
    assert schemas["Error"]["required"] == ["error"]
    assert schemas["Detail"]["required"] == ["detail"]
    assert set(schemas["Failure"]["required"]) == {"success", "code", "message"}


def test_the_document_is_valid_openapi(document) -> None:
    validate_schema(document)  # the refusals and security above are hand-built parts


def test_widget_operations_document_their_own_refusals(document) -> None:
    """The widget routes refuse oversized bodies (413) and saves of a closed response (409)."""
    paths = document["paths"]
    for method, path in WIDGET:
        assert "413" in paths[path][method]["responses"], (method, path)
    assert "409" in paths["/api/responses/{id}"]["put"]["responses"]
