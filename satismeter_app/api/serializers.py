"""What the widget routes accept. Unknown keys are refused, so a typo never passes silently."""

from typing import Any

from rest_framework import serializers

from ..models import Response

ID_LENGTH = 255


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class IdentityFields(StrictSerializer):
    writeKey = serializers.CharField(max_length=64)
    userId = serializers.CharField(max_length=ID_LENGTH, required=False, allow_null=True)
    anonymousId = serializers.CharField(max_length=ID_LENGTH, required=False, allow_null=True)
    userHash = serializers.CharField(max_length=128, required=False, allow_null=True)
    traits = serializers.DictField(required=False, allow_null=True)
    url = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=4096, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("userId") and not attrs.get("anonymousId"):
            raise serializers.ValidationError("Send a userId, or an anonymousId for visitors.")
        return attrs


class WidgetCallSerializer(IdentityFields):
    """``POST /api/widget``: object style, or one command of the command style."""

    type = serializers.ChoiceField(
        choices=["load", "identify", "page", "track", "group"], required=False
    )
    event = serializers.CharField(max_length=200, required=False)
    properties = serializers.DictField(required=False, allow_null=True)
    groupId = serializers.CharField(max_length=ID_LENGTH, required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category = serializers.CharField(max_length=200, required=False, allow_blank=True)
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35), max_length=20, required=False
    )
    forceSurvey = serializers.BooleanField(required=False)
    previewCampaign = serializers.CharField(max_length=32, required=False, allow_null=True)
    # Accepted for compatibility with SatisMeter's snippets, and not needed here.
    method = serializers.CharField(max_length=20, required=False)
    source = serializers.CharField(max_length=50, required=False)  # type: ignore[assignment]
    trackAnonymous = serializers.BooleanField(required=False)
    preview = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("type") == "track" and not attrs.get("event"):
            raise serializers.ValidationError({"event": ["A track call needs an event name."]})
        if attrs.get("type") == "group" and not attrs.get("groupId"):
            raise serializers.ValidationError({"groupId": ["A group call needs a groupId."]})
        return attrs


class AnswerSerializer(StrictSerializer):
    id = serializers.CharField(max_length=100)
    value = serializers.JSONField(allow_null=True)
    label = serializers.CharField(max_length=500, required=False)  # type: ignore[assignment]
    type = serializers.CharField(max_length=30, required=False)
    metric = serializers.CharField(max_length=10, required=False)


class ResponseFields(serializers.Serializer):
    rating = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    feedback = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    answers = AnswerSerializer(many=True, required=False)
    dismissed = serializers.BooleanField(required=False)
    completed = serializers.BooleanField(required=False)


class NewResponseSerializer(ResponseFields, IdentityFields):
    """``POST /api/responses``."""

    campaign = serializers.CharField(max_length=32)
    method = serializers.ChoiceField(choices=[*Response.Method.values, "In-App"], required=False)
    language = serializers.CharField(max_length=35, required=False, allow_blank=True)
    trackAnonymous = serializers.BooleanField(required=False)
    forceSurvey = serializers.BooleanField(required=False)


class ResponseUpdateSerializer(ResponseFields, StrictSerializer):
    """``PUT /api/responses/<id>`` with the ``auth-token`` header."""

    writeKey = serializers.CharField(max_length=64, required=False)


class DisplaySerializer(IdentityFields):
    """``POST /api/displays``: the survey was shown."""

    campaign = serializers.CharField(max_length=32)
    forceSurvey = serializers.BooleanField(required=False)


class CreatedSerializer(serializers.Serializer):
    id = serializers.CharField()


class SavedSerializer(CreatedSerializer):
    completed = serializers.BooleanField()


class WidgetSurveySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    language = serializers.CharField()
    direction = serializers.ChoiceField(choices=["ltr", "rtl"])
    translation = serializers.DictField(child=serializers.CharField())
    design = serializers.DictField()


class WidgetDecisionSerializer(serializers.Serializer):
    visible = serializers.BooleanField()
    campaign = serializers.CharField(required=False)
    survey = WidgetSurveySerializer(required=False)
    preview = serializers.BooleanField(required=False)


class WidgetAnswerSerializer(serializers.Serializer):
    widget = WidgetDecisionSerializer()
