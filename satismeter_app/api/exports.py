"""Reading responses with the secret key: ``GET /api/responses`` (JSON or CSV, streamed),
``GET /api/responses/<id>`` and ``GET /api/v2/response-statistics``.

``/api/responses`` and ``/api/responses/<id>`` are also the widget's ``POST`` and ``PUT``
routes: the widget views mix :class:`ResponseExport` and :class:`ResponseRead` in, which
answer ``GET`` only.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import InvalidInput
from ..models import Response as SurveyResponse
from ..services import reporting
from .base import extend_schema
from .errors import ErrorSerializer
from .secret import SecretKeyReads, SecretKeyView, object_id, time_window
from .serializers import (
    ResponseExportSerializer,
    ResponseObjectSerializer,
    StatisticsListSerializer,
)

PROJECT_PARAM = OpenApiParameter(
    "project", str, description="The project id; optional, the key's project is the only one."
)
WINDOW_PARAMS = [
    OpenApiParameter("startDate", OpenApiTypes.DATETIME, description="From (inclusive), ISO-8601."),
    OpenApiParameter(
        "endDate",
        OpenApiTypes.DATETIME,
        description="Until (exclusive), ISO-8601; a date alone includes its day.",
    ),
]
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A parameter is malformed."),
    403: OpenApiResponse(description="The key belongs to another project."),
}


def stream(chunks: Any, content_type: str, filename: str | None = None) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class ResponseExport(SecretKeyReads):
    @extend_schema(
        operation_id="responses_export",
        summary="Export the project's responses as JSON or CSV (streamed)",
        parameters=[
            PROJECT_PARAM,
            OpenApiParameter("format", str, enum=["json", "csv"], description="Default json."),
            *WINDOW_PARAMS,
        ],
        responses={
            (200, "application/json"): ResponseExportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request) -> Any:
        project_id = self.project_id(request.query_params.get("project"))
        export_format = request.query_params.get("format") or "json"
        if export_format not in ("json", "csv"):
            raise InvalidInput("format", "is json or csv")
        start, end = time_window(request)
        responses = SurveyResponse.objects.filter(project_id=project_id).between(start, end)
        objects = reporting.iter_objects(responses)
        if export_format == "csv":
            chunks = reporting.csv_chunks(objects)
            return stream(chunks, "text/csv; charset=utf-8", f"responses-{project_id}.csv")
        return stream(reporting.json_chunks(objects), "application/json")


def one_response(project_id: int, pk: Any) -> SurveyResponse:
    """A response of the project; another project's is as missing as a deleted one."""
    response = (
        reporting.for_export(SurveyResponse.objects.filter(project_id=project_id))
        .filter(pk=object_id(pk))
        .first()
    )
    if response is None:
        raise Http404("No such response.")
    return response


class ResponseRead(SecretKeyReads):
    @extend_schema(
        operation_id="responses_read",
        summary="One response",
        responses={200: ResponseObjectSerializer, 404: OpenApiResponse(description="No such")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ResponseObjectSerializer(one_response(self.project_id(), pk)).data)


class StatisticsView(SecretKeyView):
    @extend_schema(
        summary="Response statistics (NPS, counts and the rating frequency)",
        parameters=[
            PROJECT_PARAM,
            OpenApiParameter("format", str, enum=["json"], description="Only json."),
            *WINDOW_PARAMS,
        ],
        responses={200: StatisticsListSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        project_id = self.project_id(request.query_params.get("project"))
        start, end = time_window(request)
        attributes = reporting.statistics(project_id, start=start, end=end)
        resource = {"id": str(project_id), "type": "response-statistics", "attributes": attributes}
        return Response({"data": [resource]})
