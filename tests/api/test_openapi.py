"""The OpenAPI schema: served, valid, with interactive docs that load nothing from the internet.
That it is true to the server is tests/security/test_schemathesis.py's job, and what it says
about authentication, bodies and refusals tests/security/test_schema.py's."""

import re

from django.test import Client


def test_schema_is_served_as_openapi_3(client: Client) -> None:
    reply = client.get("/api/schema/?format=json")
    assert reply.status_code == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    for path in (
        "/api/responses",
        "/api/responses/{id}",
        "/api/v2/response-statistics",
        "/api/users",
        "/api/users/{id}",
        "/api/users/{id}/export",
        "/api/v2/project-unsubscribes/{project}",
        "/api/v3/projects/{project}/campaigns/{cid}/responses",
        "/segment/v1/batch",
        "/segment/webhook/{project}",
        "/api/manage/surveys/{id}",
    ):
        assert path in paths, path
    schemes = document["components"]["securitySchemes"]
    assert {"apiKeyBearer", "apiKeyBasic", "apiKeyHeader", "tokenAuth", "cookieAuth"} <= set(
        schemes
    )


def test_interactive_docs_load_swagger_ui_from_this_server(client: Client) -> None:
    reply = client.get("/api/docs/")
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "swagger-ui" in html.lower()
    external = [
        src
        for src in re.findall(r'(?:src|href)="([^"]+)"', html)
        if src.startswith(("http://", "https://", "//"))
    ]
    assert external == []  # the sidecar serves Swagger UI: no CDN
    assert "/api/schema/" in html
