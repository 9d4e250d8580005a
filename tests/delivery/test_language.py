"""The language a response goes out with: the one the survey was shown in.

A client that does not send ``language`` with its answer (SatisMeter's insert-response API
from a back end, a mobile SDK, an older snippet) still answered a survey shown in some
language: the one the widget call resolves — the user's ``language`` trait, then the browser's
``Accept-Language``, then the project's default. That is stored on the response, so Segment's
event properties and the webhook's response object say it instead of ``null``. Through the
widget route, the outbox, and a real HTTP server on loopback standing in for Segment and for
the webhook receiver.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from satismeter_app import outbox
from satismeter_app.models import Integration, Project, Survey
from satismeter_app.models import Response as SurveyResponse

pytestmark = pytest.mark.django_db

SEGMENT_WRITE_KEY = "segment-write-key"


@pytest.fixture
def german(project: Project) -> Project:
    project.default_language = "de"
    project.save(update_fields=["default_language"])
    return project


@pytest.fixture
def destinations(german: Project, httpserver: HTTPServer) -> HTTPServer:
    """Segment and a webhook, both on the loopback server, answering 200."""
    httpserver.expect_request("/v1/batch", method="POST").respond_with_json({"success": True})
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    base = httpserver.url_for("").rstrip("/")
    Integration.objects.create(
        project=german, kind="segment", secret=SEGMENT_WRITE_KEY, settings={"host": base}
    )
    Integration.objects.create(
        project=german, kind="webhook", secret="whsec_abc", settings={"url": f"{base}/hook"}
    )
    return httpserver


def answer(api_client: Any, project: Project, survey: Survey, **extra: Any) -> SurveyResponse:
    """The widget route, as a client that sends no ``language`` calls it."""
    headers = {key: extra.pop(key) for key in list(extra) if key.startswith("HTTP_")}
    body = {
        "writeKey": project.write_key,
        "campaign": str(survey.pk),
        "userId": "cust-1",
        "rating": 9,
        "feedback": "Gut",
        **extra,
    }
    reply = api_client.post("/api/responses", body, format="json", **headers)
    assert reply.status_code == 201, reply.content
    return SurveyResponse.objects.get(pk=reply.json()["id"])


def sent_languages(server: HTTPServer) -> dict[str, set[Any]]:
    """What each destination received as the response's language."""
    segment: set[Any] = set()
    webhook: set[Any] = set()
    for request, _ in server.log:
        body = request.get_json()
        if request.path == "/v1/batch":
            segment |= {
                m["properties"].get("language") for m in body["batch"] if m["type"] == "track"
            }
        else:
            webhook.add(body["response"]["language"])
    return {"segment": segment, "webhook": webhook}


def test_without_any_language_the_projects_default_goes_out(
    api_client: Any, german: Project, survey: Survey, destinations: HTTPServer
) -> None:
    response = answer(api_client, german, survey)
    assert response.language == "de"

    report = outbox.send_all_due()

    assert report.delivered == 3  # answered and completed to Segment, completed to the webhook
    assert sent_languages(destinations) == {"segment": {"de"}, "webhook": {"de"}}


def test_the_browsers_language_as_the_widget_would_have_shown_it(
    api_client: Any, german: Project, survey: Survey, destinations: HTTPServer
) -> None:
    answer(api_client, german, survey, HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9, en;q=0.5")

    outbox.send_all_due()

    assert sent_languages(destinations) == {"segment": {"fr"}, "webhook": {"fr"}}


def test_the_users_language_trait_comes_first(
    api_client: Any, german: Project, survey: Survey, destinations: HTTPServer
) -> None:
    answer(api_client, german, survey, traits={"language": "pt-BR"}, HTTP_ACCEPT_LANGUAGE="fr")

    outbox.send_all_due()

    assert sent_languages(destinations) == {"segment": {"pt-BR"}, "webhook": {"pt-BR"}}


def test_a_language_the_widget_sends_is_kept_as_sent(
    api_client: Any, german: Project, survey: Survey, destinations: HTTPServer
) -> None:
    answer(api_client, german, survey, language="it", HTTP_ACCEPT_LANGUAGE="fr")

    outbox.send_all_due()

    assert sent_languages(destinations) == {"segment": {"it"}, "webhook": {"it"}}
