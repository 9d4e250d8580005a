"""``GET`` / ``PATCH /api/v2/project-unsubscribes/<project>``: the unsubscribe list, JSON:API.

``PATCH`` replaces the whole list with the one sent.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import RequestRefused
from ..services import unsubscribes
from .base import extend_schema
from .parsers import JSON_PARSERS
from .secret import SecretKeyView

RESOURCE_TYPE = "project-unsubscribes"


class EmailsSerializer(serializers.Serializer):
    emails = serializers.ListField(child=serializers.CharField(max_length=254))


class UnsubscribesResourceSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField(help_text=RESOURCE_TYPE)
    attributes = EmailsSerializer()


class UnsubscribesInputSerializer(serializers.Serializer):
    id = serializers.CharField(required=False)
    type = serializers.CharField(required=False, help_text=RESOURCE_TYPE)
    attributes = EmailsSerializer()


class UnsubscribesDocumentSerializer(serializers.Serializer):
    data = UnsubscribesResourceSerializer()  # type: ignore[assignment]


class UnsubscribesPatchSerializer(serializers.Serializer):
    data = UnsubscribesInputSerializer()  # type: ignore[assignment]


def document(project_id: int, emails: list[str]) -> dict[str, Any]:
    return {
        "data": {"id": str(project_id), "type": RESOURCE_TYPE, "attributes": {"emails": emails}}
    }


class ProjectUnsubscribesView(SecretKeyView):
    parser_classes = JSON_PARSERS

    @extend_schema(
        summary="The project's unsubscribed email addresses",
        responses={200: UnsubscribesDocumentSerializer},
    )
    def get(self, request: Request, project: str) -> Response:
        project_id = self.project_id(project)
        return Response(document(project_id, unsubscribes.emails(project_id)))

    @extend_schema(
        summary="Replace the project's unsubscribed email addresses",
        request=UnsubscribesPatchSerializer,
        responses={
            200: UnsubscribesDocumentSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Not a list of addresses: {"error", "field"}, or the fields in error.',
            ),
            409: OpenApiResponse(description="data.id names another project."),
        },
    )
    def patch(self, request: Request, project: str) -> Response:
        project_id = self.project_id(project)
        serializer = UnsubscribesPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data["data"]
        if data.get("id") not in (None, str(project_id)):
            raise RequestRefused("data.id is not this project.", status_code=409)
        emails = unsubscribes.replace(project_id, data["attributes"]["emails"])
        return Response(document(project_id, emails))
