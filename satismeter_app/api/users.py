"""The users of a project, with its secret key.

``POST /api/users`` upserts a user from a back end, or records a server-side event;
``GET /api/users`` lists them (streamed); ``DELETE /api/users/<id>`` erases one (anonymised,
or deleted with ``?mode=delete``); ``GET /api/users/<id>/export`` is everything stored about one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import representations, timeparse
from ..models import EndUser
from ..services import exporting, identity, ingest, privacy, reporting
from .authentication import key_project_id
from .base import extend_schema
from .exports import PROJECT_PARAM, stream
from .secret import SecretKeyView, extended_param, project_row
from .serializers import (
    ID_LENGTH,
    ExtendedUserObjectSerializer,
    StrictSerializer,
    UserListSerializer,
    UserSavedSerializer,
)


class UserUpsertSerializer(StrictSerializer):
    project = serializers.CharField(max_length=32, required=False)
    userId = serializers.CharField(max_length=ID_LENGTH)
    traits = serializers.DictField(required=False, allow_null=True)
    surveyDate = serializers.CharField(required=False, allow_null=True)
    type = serializers.ChoiceField(choices=["identify", "track"], required=False)
    event = serializers.CharField(max_length=200, required=False)
    properties = serializers.DictField(required=False, allow_null=True)
    timestamp = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("type") == "track" and not attrs.get("event"):
            raise serializers.ValidationError({"event": ["A track call needs an event name."]})
        for name in ("surveyDate", "timestamp"):
            value = attrs.get(name)
            if value and timeparse.parse_loose(value) is None:
                raise serializers.ValidationError({name: ["Use an ISO-8601 date-time."]})
        return attrs


class UsersView(SecretKeyView):
    @extend_schema(
        summary="List the project's identified users (streamed)",
        parameters=[
            PROJECT_PARAM,
            OpenApiParameter("userId", str, description="Only this one."),
            OpenApiParameter("extended", bool, description="1: also the user's surveyDate."),
        ],
        responses={200: UserListSerializer},
    )
    def get(self, request: Request) -> Any:
        project_id = self.project_id(request.query_params.get("project"))
        represent = partial(representations.user_object, extended=extended_param(request))
        users = EndUser.objects.counted().filter(project_id=project_id, erased__isnull=True)
        users = users.identified()
        if user_id := request.query_params.get("userId"):
            users = users.filter(user_id=user_id)
        rows = users.defer("history").order_by("pk").iterator(chunk_size=reporting.CHUNK_SIZE)
        return stream(
            exporting.json_chunks(map(represent, rows), key="users"),
            "application/json",
        )

    @extend_schema(
        summary="Create or update a user, or record a server-side event",
        request=UserUpsertSerializer,
        responses={200: UserSavedSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = UserUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project_id = key_project_id(request, data.get("project"))
        now = timezone.now()
        # One transaction: a call refused half-way leaves the user as it was.
        with transaction.atomic():
            user = identity.identify(
                project_id,
                identity.Identity(user_id=data["userId"]),
                data.get("traits"),
                now=now,
                seen=False,
            )
            if "surveyDate" in data:
                identity.set_survey_date(user, timeparse.parse_loose(data["surveyDate"]))
            if data.get("type") == "track":
                when = ingest.event_time(data, now)
                identity.track(user, data["event"], data.get("properties") or {}, when)
        return Response({"user": ExtendedUserObjectSerializer(user).data})


def project_user(project_id: int, pk: Any) -> EndUser:
    return project_row(EndUser.objects.all(), project_id, pk, "No such user.")


class UserDetailView(SecretKeyView):
    @extend_schema(
        summary="Erase a user: anonymise (default) or delete with their responses",
        parameters=[
            OpenApiParameter(
                "mode",
                str,
                enum=list(privacy.MODES),
                description="anonymise (default): keep the ratings, drop identity, traits and "
                "comments; delete: remove the user and their responses.",
            )
        ],
        responses={204: None, 404: OpenApiResponse(description="No such user.")},
    )
    def delete(self, request: Request, pk: int) -> Response:
        user = project_user(self.project_id(), pk)
        mode = request.query_params.get("mode") or privacy.ANONYMISE
        privacy.erase_user(user, mode)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserExportView(SecretKeyView):
    @extend_schema(
        summary="Everything stored about one user (data subject access)",
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such user.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(privacy.export_user(project_user(self.project_id(), pk)))
