"""What the REST API answers, described for the OpenAPI schema.

The objects themselves are built by :mod:`satismeter_app.payloads` and
:mod:`satismeter_app.reporting`; these serializers only say what they look like.
"""

from rest_framework import serializers


class AnswerObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    value = serializers.JSONField(allow_null=True)
    type = serializers.CharField(required=False)
    metric = serializers.CharField(required=False)


class DeviceSerializer(serializers.Serializer):
    os = serializers.CharField(required=False)
    type = serializers.CharField(required=False, help_text="desktop, tablet or mobile.")


class UserSnapshotSerializer(serializers.Serializer):
    id = serializers.CharField()
    userId = serializers.CharField(allow_null=True)
    anonymousId = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    traits = serializers.DictField(help_text="The user's traits when they answered.")
    groups = serializers.DictField()


class ResponseObjectSerializer(serializers.Serializer):
    """SatisMeter's response object."""

    id = serializers.CharField()
    project = serializers.CharField()
    campaign = serializers.CharField()
    created = serializers.DateTimeField()
    rating = serializers.IntegerField(allow_null=True, min_value=0, max_value=10)
    feedback = serializers.CharField(allow_blank=True)
    answers = AnswerObjectSerializer(many=True)
    category = serializers.ChoiceField(
        choices=["promoter", "passive", "detractor"], allow_null=True
    )
    score = serializers.ChoiceField(choices=[100, 0, -100], allow_null=True)
    dismissed = serializers.BooleanField()
    pending = serializers.BooleanField()
    completed = serializers.BooleanField()
    method = serializers.CharField(help_text="In-app, Mobile or Email.")
    language = serializers.CharField(allow_null=True)
    referrer = serializers.CharField(allow_null=True)
    device = DeviceSerializer()
    user = UserSnapshotSerializer()


class ResponseExportSerializer(serializers.Serializer):
    responses = ResponseObjectSerializer(many=True)


class StatisticsSerializer(serializers.Serializer):
    responses = serializers.IntegerField(help_text="Answered (rated) responses.")
    displays = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    pending = serializers.IntegerField()
    commented = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True, help_text="None without answered responses.")
    frequency = serializers.ListField(
        child=serializers.IntegerField(), help_text="Responses per rating, 0 to 10."
    )


class StatisticsResourceSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    attributes = StatisticsSerializer()


class StatisticsListSerializer(serializers.Serializer):
    data = StatisticsResourceSerializer(many=True)  # type: ignore[assignment]


class StatisticsOneSerializer(serializers.Serializer):
    data = StatisticsResourceSerializer()  # type: ignore[assignment]
