"""SatisMeter's v3 API, with the secret key: the project, its campaigns (surveys), their
responses page by page, and a campaign's statistics.

Responses come oldest first, ``pageSize`` (1–100, default 20) at a time; ``pageCursor`` is the
``nextPageCursor`` of the page before. The cursor holds the (created, id) of the last response
served, so a page starts strictly after it: responses that arrive while a client pages are
neither skipped nor served twice, they come at the end. Without ``startDate`` (and without a
cursor) the last 30 days are served. ``status`` and ``tag`` narrow the pages to the responses
staff closed or tagged so; each object carries its ``status`` and ``tags`` after the extended
object's keys.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import Project, Survey
from ..models import Response as SurveyResponse
from ..routers import reads_reports
from ..services import reporting, work
from .base import extend_schema
from .exports import ERRORS, WINDOW_PARAMS, WORK_PARAMS, by_work, statistics_resource
from .secret import SecretKeyView, int_param, project_row, time_window
from .serializers import (
    CampaignDocumentSerializer,
    CampaignListSerializer,
    CampaignObjectSerializer,
    ProjectDocumentSerializer,
    ProjectObjectSerializer,
    ResponsePageSerializer,
    StatisticsOneSerializer,
)

DEFAULT_DAYS = 30


def _campaign(project_id: int, cid: Any) -> Survey:
    return project_row(Survey.objects.all(), project_id, cid, "No such campaign.")


class ProjectView(SecretKeyView):
    @extend_schema(summary="The project", responses={200: ProjectDocumentSerializer, **ERRORS})
    @reads_reports("v3")
    def get(self, request: Request, project: str) -> Response:
        project_id = self.project_id(project)
        project_object = ProjectObjectSerializer(Project.objects.get(pk=project_id))
        return Response({"data": project_object.data})


class CampaignsView(SecretKeyView):
    @extend_schema(
        operation_id="v3_campaigns_list",
        summary="The project's campaigns",
        responses={200: CampaignListSerializer},
    )
    @reads_reports("v3")
    def get(self, request: Request, project: str) -> Response:
        surveys = Survey.objects.filter(project_id=self.project_id(project)).order_by("pk")
        return Response({"data": CampaignObjectSerializer(surveys, many=True).data})


class CampaignView(SecretKeyView):
    @extend_schema(
        operation_id="v3_campaign_retrieve",
        summary="One campaign",
        responses={200: CampaignDocumentSerializer, 404: OpenApiResponse(description="None")},
    )
    @reads_reports("v3")
    def get(self, request: Request, project: str, cid: str) -> Response:
        survey = _campaign(self.project_id(project), cid)
        return Response({"data": CampaignObjectSerializer(survey).data})


PAGE_PARAMS = [
    *WINDOW_PARAMS,
    OpenApiParameter("pageSize", int, description="1 to 100, default 20."),
    OpenApiParameter("pageCursor", str, description="nextPageCursor of the previous page."),
    *WORK_PARAMS,
]


class ResponsePages(SecretKeyView):
    def respond(self, responses: Any) -> Response:
        request = self.request
        size = int_param(request, "pageSize", 20, 1, 100)
        text = request.query_params.get("pageCursor")
        cursor = reporting.Cursor.decode(text) if text else None
        start, end = time_window(request, default_days=None if cursor else DEFAULT_DAYS)
        # v3 is where our keys beyond SatisMeter's documented ones belong: extended objects.
        responses = by_work(request, responses.between(start, end))
        page = reporting.page(responses, cursor, size, extended=True)
        with_work(page.objects)
        next_cursor = page.next_cursor.encode() if page.next_cursor else None
        return Response(
            {
                "data": page.objects,
                "page": {"hasNextPage": page.has_next, "nextPageCursor": next_cursor},
            }
        )


def with_work(objects: list[dict[str, Any]]) -> None:
    """v3's keys after the extended object's: the response's ``status`` and its ``tags``
    (names, by name), for the whole page in one query."""
    found = work.work_of([int(obj["id"]) for obj in objects])
    for obj in objects:
        obj.update(found.get(int(obj["id"]), {"status": "open", "tags": []}))


class ResponsesView(ResponsePages):
    @extend_schema(
        summary="The project's responses, oldest first, page by page",
        parameters=PAGE_PARAMS,
        responses={200: ResponsePageSerializer, **ERRORS},
    )
    @reads_reports("v3")
    def get(self, request: Request, project: str) -> Response:
        responses = SurveyResponse.objects.counted()
        return self.respond(responses.filter(project_id=self.project_id(project)))


class CampaignResponsesView(ResponsePages):
    @extend_schema(
        summary="A campaign's responses, oldest first, page by page",
        parameters=PAGE_PARAMS,
        responses={200: ResponsePageSerializer, 404: OpenApiResponse(description="None"), **ERRORS},
    )
    @reads_reports("v3")
    def get(self, request: Request, project: str, cid: str) -> Response:
        survey = _campaign(self.project_id(project), cid)
        return self.respond(SurveyResponse.objects.counted().filter(survey=survey))


class CampaignStatisticsView(SecretKeyView):
    @extend_schema(
        summary="A campaign's statistics",
        parameters=WINDOW_PARAMS,
        responses={
            200: StatisticsOneSerializer,
            404: OpenApiResponse(description="None"),
            **ERRORS,
        },
    )
    @reads_reports("statistics")
    def get(self, request: Request, project: str, cid: str) -> Response:
        survey = _campaign(self.project_id(project), cid)
        statistics = statistics_resource(
            request, "statistics", survey.project_id, survey.pk, questions=True
        )
        return Response({"data": statistics})
