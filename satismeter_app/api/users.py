"""``POST /api/users``: upsert a user from a back end, or record a server-side event."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services, targeting
from ..exceptions import SatismeterError
from .authentication import ApiKeyAuthentication, HasProjectKey, key_project_id
from .serializers import ID_LENGTH, StrictSerializer


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
            if value and targeting.parse_timestamp(value) is None:
                raise serializers.ValidationError({name: ["Use an ISO-8601 date-time."]})
        return attrs


class UserObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    project = serializers.CharField()
    userId = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    traits = serializers.DictField()
    unsubscribed = serializers.BooleanField()
    lastSeen = serializers.DateTimeField()
    created = serializers.DateTimeField()
    surveyDate = serializers.DateTimeField(allow_null=True)


def user_object(user: Any) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "project": str(user.project_id),
        "userId": user.user_id,
        "name": user.name or None,
        "email": user.email or None,
        "traits": user.traits,
        "unsubscribed": user.unsubscribed,
        "lastSeen": user.last_seen,
        "created": user.first_seen,
        "surveyDate": user.survey_date,
    }


class UsersView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasProjectKey]

    @extend_schema(request=UserUpsertSerializer, responses={200: UserObjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = UserUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project_id = key_project_id(request, data.get("project"))
        now = timezone.now()
        try:
            user = services.identify(
                project_id,
                services.Identity(user_id=data["userId"]),
                data.get("traits"),
                now=now,
                seen=False,
            )
            if "surveyDate" in data:
                services.set_survey_date(user, targeting.parse_timestamp(data["surveyDate"]))
            if data.get("type") == "track":
                when = targeting.parse_timestamp(data.get("timestamp")) or now
                services.track(user, data["event"], data.get("properties") or {}, when)
        except SatismeterError as exc:
            body = {"error": str(exc), "field": getattr(exc, "field", None)}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response({"user": user_object(user)})
