"""What the API accepts, and what it answers.

What the widget routes accept: unknown keys are refused, so a typo never passes silently.

What the API answers: one serializer per resource. The objects are built by the functions of
:mod:`satismeter_app.representations` (plain functions, so that an export builds no serializer
per row); each serializer here answers what its function builds, and its fields describe that
for the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .. import questions, representations
from ..models import Response, Survey

ID_LENGTH = 255


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class LegacyUserSerializer(serializers.Serializer):
    """SatisMeter's 2015 ``user`` object: ``id`` is the userId, ``signUpDate`` the ``createdAt``
    trait, and every other key (``name``, ``email``, …) a trait."""

    id = serializers.CharField(
        max_length=ID_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    email = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    signUpDate = serializers.JSONField(
        required=False, help_text="Read as the createdAt trait (ISO-8601 or epoch)."
    )

    def to_internal_value(self, data: Any) -> Any:
        validated = super().to_internal_value(data)
        return {**{k: v for k, v in data.items() if k not in self.fields}, **validated}


# The keys of SatisMeter's 2015 snippet and Segment's integration 1.0.x, still in customers'
# pages: `satismeter({token, user: {id, name, email, signUpDate}, trackAnonymous, preview})`.
# Declared on every widget call and read in one place, `modernize`; deprecated in the schema.
LEGACY_FIELDS = ["token", "user", "trackAnonymous", "preview"]


def modernize(attrs: dict[str, Any]) -> dict[str, Any]:
    """Today's names for the 2015 keys; when a call sends both, today's name wins."""
    attrs = dict(attrs)
    token = attrs.pop("token", None)
    user = attrs.pop("user", None) or {}
    preview = attrs.pop("preview", None)
    if token and not attrs.get("writeKey"):
        attrs["writeKey"] = token
    if user.get("id") not in (None, "") and not attrs.get("userId"):
        attrs["userId"] = user["id"]
    traits = {key: value for key, value in user.items() if key != "id"}
    if "signUpDate" in traits:
        traits["createdAt"] = traits.pop("signUpDate")
    if traits:
        attrs["traits"] = {**traits, **(attrs.get("traits") or {})}
    if preview:
        attrs["forceSurvey"] = True
    return attrs


@extend_schema_serializer(deprecate_fields=LEGACY_FIELDS)
class IdentityFields(StrictSerializer):
    writeKey = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The project's write key. Required: in this key or in `token`.",
    )
    userId = serializers.CharField(max_length=ID_LENGTH, required=False, allow_null=True)
    anonymousId = serializers.CharField(max_length=ID_LENGTH, required=False, allow_null=True)
    userHash = serializers.CharField(max_length=128, required=False, allow_null=True)
    traits = serializers.DictField(required=False, allow_null=True)
    url = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    forceSurvey = serializers.BooleanField(required=False)
    token = serializers.CharField(max_length=64, required=False, help_text="Read as writeKey.")
    user = LegacyUserSerializer(required=False, allow_null=True)
    trackAnonymous = serializers.BooleanField(
        required=False,
        help_text="false: a call without a userId is refused (the visitor is not tracked).",
    )
    preview = serializers.BooleanField(required=False, help_text="Read as forceSurvey.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = modernize(attrs)
        if not attrs.get("writeKey"):
            raise serializers.ValidationError({"writeKey": ["This field is required."]})
        if not attrs.get("userId") and attrs.get("trackAnonymous") is False:
            raise serializers.ValidationError(
                "trackAnonymous is false and the call names no userId (or user.id): "
                "an anonymous visitor is not tracked."
            )
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
    previewCampaign = serializers.CharField(max_length=32, required=False, allow_null=True)
    # Accepted for compatibility with SatisMeter's snippets, and not needed here.
    method = serializers.CharField(max_length=20, required=False)
    source = serializers.CharField(max_length=50, required=False)  # type: ignore[assignment]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("type") == "track" and not attrs.get("event"):
            raise serializers.ValidationError({"event": ["A track call needs an event name."]})
        if attrs.get("type") == "group" and not attrs.get("groupId"):
            raise serializers.ValidationError({"groupId": ["A group call needs a groupId."]})
        return attrs


class AnswerSerializer(StrictSerializer):
    """An answer to one of the survey's questions, checked against it (docs/widget-api.md)."""

    id = serializers.CharField(
        max_length=100, help_text="The question's id; SM_rating and SM_comment are built in."
    )
    value = serializers.JSONField(
        allow_null=True,
        help_text="A whole number (scale, smiley), a choice id (single choice), a list of "
        "choice ids (multiple choice) or text (long text); null clears the answer.",
    )
    # Accepted, so that a client may send back the answer objects its callbacks got, and
    # ignored: the stored label, type and metric are the survey's.
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


class ResponseUpdateSerializer(ResponseFields, StrictSerializer):
    """``PUT /api/responses/<id>`` with the ``auth-token`` header."""

    writeKey = serializers.CharField(max_length=64, required=False)


class DisplaySerializer(IdentityFields):
    """``POST /api/displays``: the survey was shown."""

    campaign = serializers.CharField(max_length=32)


class CreatedSerializer(serializers.Serializer):
    id = serializers.CharField()


class SavedSerializer(CreatedSerializer):
    completed = serializers.BooleanField()


class WidgetChoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class WidgetConditionSerializer(serializers.Serializer):
    question = serializers.CharField()
    values = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Categories for an NPS scale, numbers for a scale or smiley, choice ids.",
    )


class WidgetQuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    # Text, not enums: the same sets are the survey's `type` and other fields' `type` elsewhere
    # in the schema, which drf-spectacular would name twice (a `check --deploy` warning).
    type = serializers.CharField(help_text=f"One of {', '.join(questions.TYPES)}.")
    metric = serializers.CharField(
        allow_null=True, help_text=f"A scale's metric: {', '.join(questions.METRICS)}; else null."
    )
    required = serializers.BooleanField()  # type: ignore[assignment]
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    low = serializers.CharField(allow_blank=True, help_text="The legend of the lowest value.")
    high = serializers.CharField(allow_blank=True, help_text="The legend of the highest value.")
    min = serializers.IntegerField(allow_null=True, help_text="A scale's or smiley's lowest value.")
    max = serializers.IntegerField(
        allow_null=True, help_text="A scale's or smiley's highest value."
    )
    choices = WidgetChoiceSerializer(many=True)
    condition = WidgetConditionSerializer(allow_null=True)


class WidgetSurveySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    language = serializers.CharField()
    direction = serializers.ChoiceField(choices=["ltr", "rtl"])
    translation = serializers.DictField(child=serializers.CharField())
    design = serializers.DictField()
    questions = WidgetQuestionSerializer(
        many=True, help_text="The survey's questions in order, their texts in `language`."
    )
    script = serializers.CharField(
        required=False,
        help_text="The widget's questions script, to load when the survey asks more than a "
        "rating and a comment.",
    )


class WidgetDecisionSerializer(serializers.Serializer):
    visible = serializers.BooleanField()
    campaign = serializers.CharField(required=False)
    survey = WidgetSurveySerializer(required=False)
    preview = serializers.BooleanField(required=False)


class WidgetAnswerSerializer(serializers.Serializer):
    widget = WidgetDecisionSerializer()


# --- what the API answers -----------------------------------------------------------------------


# A resource's serializer answers what its ``represent`` function builds, and its fields describe
# that. (Comments, not docstrings: the schema takes a serializer's docstring, inherited too.)
class RepresentationSerializer(serializers.Serializer):
    represent: staticmethod[[Any], dict[str, Any]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return self.represent(instance)


class AnswerObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    value = serializers.JSONField(allow_null=True)
    type = serializers.CharField(required=False)
    metric = serializers.CharField(required=False)


class DeviceSerializer(serializers.Serializer):
    os = serializers.CharField(required=False)
    type = serializers.CharField(required=False, help_text="desktop, tablet or mobile.")


class UserSnapshotSerializer(RepresentationSerializer):
    represent = staticmethod(representations.user_snapshot)

    id = serializers.CharField()
    userId = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    traits = serializers.DictField(help_text="The user's traits when they answered.")
    groups = serializers.DictField()


# Extended objects: SatisMeter's keys, then ours (representations.py says which).
class ExtendedUserSnapshotSerializer(UserSnapshotSerializer):
    represent = staticmethod(partial(representations.user_snapshot, extended=True))

    anonymousId = serializers.CharField(allow_null=True)


class ResponseObjectSerializer(RepresentationSerializer):
    """SatisMeter's response object."""

    represent = staticmethod(representations.response_object)

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


class ExtendedResponseObjectSerializer(ResponseObjectSerializer):
    """SatisMeter's response object, and the user's anonymousId."""

    represent = staticmethod(partial(representations.response_object, extended=True))

    user = ExtendedUserSnapshotSerializer()


class PageNumberSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="page[number]: 1 is the first page.")
    size = serializers.IntegerField(help_text="page[size]: responses per page.")


class ExportMetaSerializer(serializers.Serializer):
    page = PageNumberSerializer()
    total = serializers.IntegerField(help_text="Responses in the time window, on every page.")
    pages = serializers.IntegerField(help_text="Pages of this size.")


class ResponseExportSerializer(serializers.Serializer):
    responses = ResponseObjectSerializer(many=True)
    meta = ExportMetaSerializer(required=False, help_text="Only with page[size] or page[number].")


class ValueCountSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="A number of the scale or smiley, or a choice id.")
    count = serializers.IntegerField(help_text="Responses that gave it.")


class QuestionStatisticsSerializer(serializers.Serializer):
    """One question's numbers (services/answers.py; docs/rest-api.md)."""

    campaign = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField(help_text="In the project's default language.")  # type: ignore[assignment]
    type = serializers.CharField()
    metric = serializers.CharField(allow_null=True)
    answered = serializers.IntegerField(help_text="Responses that answered it.")
    distribution = ValueCountSerializer(
        many=True, required=False, help_text="Each value or choice; not for a long text."
    )
    average = serializers.FloatField(
        allow_null=True, required=False, help_text="Scale and smiley only."
    )
    csat = serializers.FloatField(
        allow_null=True, required=False, help_text="Metric csat: % of 4 and 5."
    )
    ces = serializers.FloatField(allow_null=True, required=False, help_text="Metric ces: mean.")


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
    questions = QuestionStatisticsSerializer(
        many=True,
        required=False,
        help_text="v3, and v2 with extended=1: each question but the rating and the comment.",
    )


class StatisticsResourceSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    attributes = StatisticsSerializer()


class StatisticsListSerializer(serializers.Serializer):
    data = StatisticsResourceSerializer(many=True)  # type: ignore[assignment]


class StatisticsOneSerializer(serializers.Serializer):
    data = StatisticsResourceSerializer()  # type: ignore[assignment]


class UserObjectSerializer(RepresentationSerializer):
    """SatisMeter's user object."""

    represent = staticmethod(representations.user_object)

    id = serializers.CharField()
    project = serializers.CharField()
    userId = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    traits = serializers.DictField()
    unsubscribed = serializers.BooleanField()
    lastSeen = serializers.DateTimeField()
    created = serializers.DateTimeField()


class ExtendedUserObjectSerializer(UserObjectSerializer):
    """SatisMeter's user object, and the date of the user's next survey."""

    represent = staticmethod(partial(representations.user_object, extended=True))

    surveyDate = serializers.DateTimeField(allow_null=True)


class UserListSerializer(serializers.Serializer):
    users = UserObjectSerializer(many=True)


class UserSavedSerializer(serializers.Serializer):
    user = ExtendedUserObjectSerializer()


class ProjectObjectSerializer(RepresentationSerializer):
    represent = staticmethod(representations.project_object)

    id = serializers.CharField()
    name = serializers.CharField()
    defaultLanguage = serializers.CharField()
    identityVerification = serializers.BooleanField()
    created = serializers.DateTimeField()


class CampaignObjectSerializer(RepresentationSerializer):
    represent = staticmethod(representations.campaign_object)

    id = serializers.CharField()
    project = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Survey.Type.values)
    state = serializers.ChoiceField(choices=Survey.State.values)
    priority = serializers.IntegerField()
    startsAt = serializers.DateTimeField(allow_null=True)
    endsAt = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class PageInfoSerializer(serializers.Serializer):
    hasNextPage = serializers.BooleanField()
    nextPageCursor = serializers.CharField(allow_null=True)


class ProjectDocumentSerializer(serializers.Serializer):
    data = ProjectObjectSerializer()  # type: ignore[assignment]


class CampaignDocumentSerializer(serializers.Serializer):
    data = CampaignObjectSerializer()  # type: ignore[assignment]


class CampaignListSerializer(serializers.Serializer):
    data = CampaignObjectSerializer(many=True)  # type: ignore[assignment]


# v3's response object: the extended one, then staff's work on it.
class WorkedResponseObjectSerializer(ExtendedResponseObjectSerializer):
    """SatisMeter's response object, the user's anonymousId, and staff's status and tags."""

    status = serializers.ChoiceField(choices=["open", "closed"])
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tag names, by name.")


class ResponsePageSerializer(serializers.Serializer):
    data = WorkedResponseObjectSerializer(many=True)  # type: ignore[assignment]
    page = PageInfoSerializer()


# --- the widget's fast path -----------------------------------------------------------------------


class _Decline(Exception):
    """The fast path does not take this body: the serializer validates it (and words the 400)."""


def _char(field: serializers.CharField) -> Callable[[Any], Any]:
    limit = field.max_length
    blank, null, trim = field.allow_blank, field.allow_null, field.trim_whitespace

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if type(value) is not str or "\x00" in value:
            raise _Decline
        if trim:
            value = value.strip()
        if (not value and not blank) or (limit is not None and len(value) > limit):
            raise _Decline
        return value

    return check


def _choice(field: serializers.ChoiceField) -> Callable[[Any], Any]:
    choices = {choice for choice in field.choices if isinstance(choice, str) and choice}

    def check(value: Any) -> Any:
        if type(value) is not str or value not in choices:
            raise _Decline
        return value

    return check


def _boolean(value: Any) -> Any:
    if type(value) is not bool:
        raise _Decline
    return value


def _dict(field: serializers.DictField) -> Callable[[Any], Any]:
    null = field.allow_null

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if type(value) is not dict:
            raise _Decline
        return dict(value)  # keys are strings: the body is JSON

    return check


def _list(field: serializers.ListField) -> Callable[[Any], Any]:
    item = _compile_field(field.child)
    limit = field.max_length

    def check(value: Any) -> Any:
        if type(value) is not list or (limit is not None and len(value) > limit):
            raise _Decline
        return [item(v) for v in value]

    return check


def _integer(field: serializers.IntegerField) -> Callable[[Any], Any]:
    low, high, null = field.min_value, field.max_value, field.allow_null

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if type(value) is not int:
            raise _Decline
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Decline
        return value

    return check


def _unsupported(value: Any) -> Any:
    raise _Decline


# What each field kind's own validators are: a field with any other validator is not compiled.
_OWN_VALIDATORS = {
    "MaxLengthValidator",
    "MinLengthValidator",
    "MaxValueValidator",
    "MinValueValidator",
    "ProhibitNullCharactersValidator",
    "ProhibitSurrogateCharactersValidator",
}


def _compile_field(field: serializers.Field) -> Callable[[Any], Any]:
    """A check that returns what the field's ``run_validation`` would for the plain values
    it takes, and raises :class:`_Decline` for anything else."""
    if field.source != field.field_name and field.field_name is not None:
        return _unsupported
    if any(type(v).__name__ not in _OWN_VALIDATORS for v in field.validators):
        return _unsupported
    if field.default is not serializers.empty:
        return _unsupported
    kind = type(field)
    if kind is serializers.CharField:
        return _char(cast(serializers.CharField, field))
    if kind is serializers.ChoiceField:
        return _choice(cast(serializers.ChoiceField, field))
    if kind is serializers.BooleanField and not field.allow_null:
        return _boolean
    if kind is serializers.DictField:
        dict_field = cast(serializers.DictField, field)
        if type(dict_field.child).__name__ == "_UnvalidatedField":
            return _dict(dict_field)
    if kind is serializers.ListField and not field.allow_null:
        return _list(cast(serializers.ListField, field))
    if kind is serializers.IntegerField:
        return _integer(cast(serializers.IntegerField, field))
    return _unsupported


class FastPath:
    """A serializer's validation of a well-formed body, without building the serializer.

    DRF builds a serializer's fields anew for every instance (a deep copy of the declared
    ones): on ``POST /api/widget``, called on every page view, that was a quarter of the call.
    This reads the same declarations once and checks a body whose values are the plain types
    they declare, then runs the serializer's own ``validate``. Anything else — a wrong type, a
    value out of bounds, a missing required key, an unknown key, a form-encoded body, a rule
    of ``validate`` broken — is declined, and the serializer validates it as before, so every
    400 keeps its wording. tests/api/test_fast_path.py checks the two agree.
    """

    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        self.serializer_class = serializer_class
        serializer = serializer_class()
        fields = serializer.fields
        self.checks = {name: _compile_field(field) for name, field in fields.items()}
        self.required = {name for name, field in fields.items() if field.required}
        self.order = list(fields)
        if any(hasattr(serializer, f"validate_{name}") for name in fields):
            self.checks = {}  # field-level validate_ methods: never taken
        self.validate = serializer.validate

    def __call__(self, data: Any) -> dict[str, Any] | None:
        """The validated data, or None when the serializer must validate the body."""
        if type(data) is not dict or not self.checks or not self.required <= data.keys():
            return None
        checks = self.checks
        try:
            attrs = {name: checks[name](data[name]) for name in self.order if name in data}
            if len(attrs) != len(data):
                return None  # an unknown key
            return dict(self.validate(attrs))
        except (_Decline, serializers.ValidationError):
            return None
