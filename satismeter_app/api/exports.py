"""Reading responses with the secret key: ``GET /api/responses`` (JSON or CSV, streamed, or
one page of it with ``page[size]`` / ``page[number]``), ``GET /api/responses/<id>`` and
``GET /api/v2/response-statistics``.

They answer SatisMeter's documented objects, key for key; ``?extended=1`` adds ours after
them (representations.py).

``/api/responses`` and ``/api/responses/<id>`` are also the widget's ``POST`` and ``PUT``
routes: the widget views mix :class:`ResponseExport` and :class:`ResponseRead` in, which
answer ``GET`` only.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import InvalidInput
from ..models import Project
from ..models import Response as SurveyResponse
from ..routers import reads_reports
from ..services import exporting, reporting, work
from .base import extend_schema
from .errors import ErrorSerializer
from .secret import (
    SecretKeyReads,
    SecretKeyView,
    extended_param,
    int_param,
    project_row,
    time_window,
)
from .serializers import (
    ExtendedResponseObjectSerializer,
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
EXTENDED_PARAM = OpenApiParameter(
    "extended",
    bool,
    description="1: after SatisMeter's documented keys, ours (the user's anonymousId).",
)
# SatisMeter's Ruby client pages so (page[size]=50&page[number]=2); a page is small, so
# it is built at once, while the whole export streams in constant memory.
PAGE_SIZE_PARAM, PAGE_NUMBER_PARAM = "page[size]", "page[number]"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE_NUMBER = 100, 1000, 10**9
PAGE_PARAMS = [
    OpenApiParameter(
        PAGE_SIZE_PARAM, int, description=f"1 to {MAX_PAGE_SIZE}; default {DEFAULT_PAGE_SIZE}."
    ),
    OpenApiParameter(PAGE_NUMBER_PARAM, int, description="From 1 (the oldest responses)."),
]
# Staff's work on the responses narrows what is read; the objects stay SatisMeter's.
WORK_PARAMS = [
    OpenApiParameter(
        "status", str, enum=list(SurveyResponse.Status.values), description="open or closed."
    ),
    OpenApiParameter(
        "tag",
        str,
        many=True,
        explode=True,
        description="A tag's name: responses that carry it; repeated, every one of them.",
    ),
]
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A parameter is malformed."),
    403: OpenApiResponse(description="The key belongs to another project."),
}


def by_work(request: Request, responses: Any) -> Any:
    """The responses of the ``status`` and ``tag`` parameters (every one given)."""
    status = request.query_params.get("status") or ""
    if status and status not in SurveyResponse.Status.values:
        raise InvalidInput("status", "is open or closed")
    tags = [name for name in request.query_params.getlist("tag") if name]
    return work.narrowed(responses, status=status, tags=tags)


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
            *PAGE_PARAMS,
            EXTENDED_PARAM,
            *WORK_PARAMS,
        ],
        responses={
            (200, "application/json"): ResponseExportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    @reads_reports("exports")
    def get(self, request: Request) -> Any:
        project_id = self.project_id(request.query_params.get("project"))
        export_format = request.query_params.get("format") or "json"
        if export_format not in ("json", "csv"):
            raise InvalidInput("format", "is json or csv")
        extended = extended_param(request)
        start, end = time_window(request)
        responses = SurveyResponse.objects.counted().filter(project_id=project_id)
        responses = by_work(request, responses.between(start, end))
        page = numbered_page(request, responses, extended)
        if export_format == "csv":
            questions = exporting.project_question_columns(project_id)
            chunks = (
                exporting.csv_page(page, questions)
                if page
                else exporting.csv_export(responses, extended=extended, questions=questions)
            )
            return stream(chunks, "text/csv; charset=utf-8", f"responses-{project_id}.csv")
        if page:
            return Response({"responses": page.objects, "meta": page_meta(page)})
        return stream(exporting.json_export(responses, extended=extended), "application/json")


def numbered_page(
    request: Request, responses: Any, extended: bool
) -> reporting.NumberedPage | None:
    """The page that ``page[size]`` / ``page[number]`` ask for; None when they ask none."""
    params = request.query_params
    if PAGE_SIZE_PARAM not in params and PAGE_NUMBER_PARAM not in params:
        return None
    size = int_param(request, PAGE_SIZE_PARAM, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = int_param(request, PAGE_NUMBER_PARAM, 1, 1, MAX_PAGE_NUMBER)
    return reporting.numbered_page(responses, number, size, extended=extended)


def page_meta(page: reporting.NumberedPage) -> dict[str, Any]:
    """Where the page stands, as ``meta`` (JSON:API's place for it, which page[...] is)."""
    return {
        "page": {"number": page.number, "size": page.size},
        "total": page.total,
        "pages": page.pages,
    }


class ResponseRead(SecretKeyReads):
    @extend_schema(
        operation_id="responses_read",
        summary="One response",
        parameters=[EXTENDED_PARAM],
        responses={200: ResponseObjectSerializer, 404: OpenApiResponse(description="No such")},
    )
    @reads_reports("exports")
    def get(self, request: Request, pk: int) -> Response:
        extended = extended_param(request)
        rows = reporting.for_export(SurveyResponse.objects.all())
        response = project_row(rows, self.project_id(), pk, "No such response.")
        serializer = ExtendedResponseObjectSerializer if extended else ResponseObjectSerializer
        return Response(serializer(response).data)


def statistics_resource(
    request: Request,
    resource_type: str,
    project_id: int,
    survey_id: int | None = None,
    *,
    questions: bool = False,
) -> dict[str, Any]:
    """The statistics of the project, or of one survey, in the request's time window, as
    the resource that :class:`StatisticsResourceSerializer` describes; a date alone is the
    project's day. With ``questions``, the numbers of each question after them."""
    start, end = time_window(request, zone=Project.zone_of(project_id))
    window: dict[str, Any] = {"survey_id": survey_id, "start": start, "end": end}
    attributes = reporting.statistics(project_id, **window)
    if questions:
        attributes["questions"] = reporting.question_statistics(project_id, **window)
    resource_id = project_id if survey_id is None else survey_id
    return {"id": str(resource_id), "type": resource_type, "attributes": attributes}


class StatisticsView(SecretKeyView):
    @extend_schema(
        summary="Response statistics (NPS, counts and the rating frequency)",
        parameters=[
            PROJECT_PARAM,
            OpenApiParameter("format", str, enum=["json"], description="Only json."),
            *WINDOW_PARAMS,
            OpenApiParameter(
                "extended", bool, description="1: after SatisMeter's attributes, `questions`."
            ),
        ],
        responses={200: StatisticsListSerializer, **ERRORS},
    )
    @reads_reports("statistics")
    def get(self, request: Request) -> Response:
        project_id = self.project_id(request.query_params.get("project"))
        resource = statistics_resource(
            request, "response-statistics", project_id, questions=extended_param(request)
        )
        return Response({"data": [resource]})
