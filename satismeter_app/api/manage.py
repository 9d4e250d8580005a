"""The management API for staff: ``/api/manage/projects|surveys|integrations|users|responses|tags``.

Authenticated by a DRF token (``Authorization: Token …``, when ``rest_framework.authtoken`` is
installed) or the admin session (with its CSRF token for writes); staff only. It follows the
admin's rules (see permissions.py): a staff user sees the projects they are a member of (superusers
all); any member manages surveys, users and responses; changing a project's settings and its
integrations takes the ``admin`` role. Another project's objects are not found (404), and one
cannot be created in a project the user may not edit. Every write is validated by the model's
``full_clean()`` (targeting rules by ``Survey.clean``); an integration's secret is write-only.
Any member works a response (``…/responses/<id>/work``: status, assignee, tags; ``…/notes``)
through :mod:`..services.work`, as the admin does, and manages the project's tags.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import nps, storable, timeparse
from .. import permissions as tenancy
from ..models import EndUser, Integration, Project, ResponseNote, Survey, Tag
from ..models import Response as SurveyResponse
from ..permissions import ADMIN_ROLE, ANY_ROLE
from ..services import privacy, work
from .authentication import StaffTokenAuthentication
from .base import AppViewMixin, extend_schema
from .parsers import DEFAULT_PARSERS
from .serializers import ExtendedResponseObjectSerializer


def staff_authentication() -> list[type]:
    classes: list[type] = [SessionAuthentication]
    if apps.is_installed("rest_framework.authtoken"):
        classes.insert(0, StaffTokenAuthentication)  # wrong tokens are limited per client
    return classes


class IsStaffMember(permissions.BasePermission):
    message = "Staff only: send a staff user's token or session."

    def has_permission(self, request: Request, view: Any) -> bool:
        return tenancy.is_staff_member(request.user)

    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        project_id = obj.pk if isinstance(obj, Project) else obj.project_id  # type: ignore[attr-defined]
        return tenancy.may(request.user, project_id, view.edit_roles)


class ManagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 500


# --- serializers ----------------------------------------------------------------------------------


class CleanModelSerializer(serializers.ModelSerializer):
    """Validates by the model's ``full_clean()``: field rules, ``clean()`` and constraints."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        _refuse_unstorable(attrs)
        model: type[Model] = self.Meta.model
        instance = copy.copy(self.instance) if self.instance else model()
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return attrs


def _refuse_unstorable(attrs: dict[str, Any]) -> None:
    """JSON parsed from form data skips the JSON parser's check (parsers.py)."""
    for name, value in attrs.items():
        if isinstance(value, dict | list) and (found := storable.find(value, name)):
            raise serializers.ValidationError({name: [f"{found}."]})


class ScopedProjectField(serializers.PrimaryKeyRelatedField):
    """A project the user may edit."""

    def get_queryset(self) -> QuerySet[Project]:
        view = self.context["view"]
        return tenancy.visible_projects(self.context["request"].user, view.edit_roles)


class ScopedSurveyField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Survey]:
        projects = tenancy.visible_projects(self.context["request"].user, ANY_ROLE)
        return Survey.objects.filter(project__in=projects)


class ProjectSerializer(CleanModelSerializer):
    segment_webhook_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200
    )
    segment_webhook_enabled = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "write_key",
            "default_language",
            "identity_verification",
            "survey_gap_days",
            "segment_webhook_secret",
            "segment_webhook_enabled",
            "created",
            "updated",
        ]
        read_only_fields = ["write_key", "created", "updated"]

    def get_segment_webhook_enabled(self, project: Project) -> bool:
        return bool(project.segment_webhook_secret)


SURVEY_FIELDS = [
    "id",
    "project",
    "name",
    "type",
    "state",
    "priority",
    "starts_at",
    "ends_at",
    "texts",
    "design",
    "questions",
    "audience",
    "min_tenure_days",
    "tenure_basis",
    "trait_conditions",
    "trigger_event",
    "event_window_days",
    "url_rules",
    "device_types",
    "sample_percent",
    "resurvey_days",
    "dismiss_wait_days",
    "max_displays",
    "reminders_enabled",
    "reminder_delay_days",
    "reminder_sender_name",
    "reminder_sender_email",
    "created",
    "updated",
]


# An object of one project, for good: what hangs on it (a survey's responses and displays, an
# integration's deliveries) would stay behind. (A comment: the schema takes docstrings.)
class ProjectPartSerializer(CleanModelSerializer):
    project = ScopedProjectField()
    cannot_move = "It cannot move to another project."

    def validate_project(self, project: Project) -> Project:
        if self.instance is not None and project.pk != self.instance.project_id:
            raise serializers.ValidationError(self.cannot_move)
        return project


class SurveySerializer(ProjectPartSerializer):
    cannot_move = "A survey cannot move to another project."

    class Meta:
        model = Survey
        fields = SURVEY_FIELDS
        read_only_fields = ["created", "updated"]


class IntegrationSerializer(ProjectPartSerializer):
    cannot_move = "An integration cannot move to another project."
    survey = ScopedSurveyField(allow_null=True, required=False)
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=500
    )
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "project",
            "survey",
            "kind",
            "name",
            "enabled",
            "events",
            "settings",
            "secret",
            "has_secret",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def get_has_secret(self, integration: Integration) -> bool:
        return bool(integration.secret)


class TagSerializer(ProjectPartSerializer):
    cannot_move = "A tag cannot move to another project."

    class Meta:
        model = Tag
        fields = ["id", "project", "name", "color", "keywords", "created"]
        read_only_fields = ["created"]


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)
    authorName = serializers.SerializerMethodField()

    class Meta:
        model = ResponseNote
        fields = ["id", "author", "authorName", "text", "created"]
        read_only_fields = ["created"]
        extra_kwargs = {"text": {"max_length": work.NOTE_MAX_CHARACTERS}}

    def get_authorName(self, note: ResponseNote) -> str | None:
        return work.person_name(note.author) if note.author else None


class WorkSerializer(serializers.Serializer):
    """Staff's work on a response; a write changes the keys it sends (tags: the whole set)."""

    status = serializers.ChoiceField(choices=SurveyResponse.Status.choices, required=False)
    assignee = serializers.IntegerField(
        allow_null=True,
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="A staff user who sees the project (a member or a superuser); null: nobody.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        max_length=100,
        help_text="The names of the project's tags the response carries.",
    )
    notes = NoteSerializer(many=True, read_only=True)

    def to_representation(self, response: Any) -> dict[str, Any]:
        notes = response.notes.select_related("author").order_by("created", "pk")
        return {
            "status": response.status,
            "assignee": response.assignee_id,
            "tags": sorted(tag.name for tag in response.tags.all()),
            "notes": NoteSerializer(notes, many=True).data,
        }


class EndUserSerializer(serializers.ModelSerializer):
    # A plain string: "" (no address) is not a valid ``format: email``.
    email = serializers.CharField(read_only=True)

    class Meta:
        model = EndUser
        fields = [
            "id",
            "project",
            "user_id",
            "anonymous_id",
            "email",
            "name",
            "language",
            "created_at",
            "first_seen",
            "last_seen",
            "traits",
            "groups",
            "unsubscribed",
            "survey_date",
            "erased",
        ]
        read_only_fields = fields


class EraseSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=list(privacy.MODES), default=privacy.ANONYMISE)


# --- filters --------------------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # what a bigint column holds; a larger id is a 400, not a database error


class IdFilter(filters.NumberFilter):
    """A whole number within what the column holds."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, low: int = 1, high: int = MAX_ID, **kwargs: Any) -> None:
        super().__init__(*args, min_value=low, max_value=high, **kwargs)


class TimeBoundField(forms.CharField):
    """A ``startDate``/``endDate`` read as every route reads it (:func:`timeparse.parse_bound`):
    a date alone as an end includes its day; an offset no zone has is a 400, not a database
    error."""

    def __init__(self, *args: Any, end: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.end = end

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        when = timeparse.parse_bound(text, end=self.end)
        if when is None:
            raise forms.ValidationError("Use an ISO-8601 date (2024-01-31) or date-time.")
        return when


class TimeBoundFilter(filters.IsoDateTimeFilter):  # the schema still says "date-time"
    field_class = TimeBoundField


def rating_filter(lookup: str = "exact") -> IdFilter:
    return IdFilter(field_name="rating", lookup_expr=lookup, low=0, high=10)


class SurveyFilter(filters.FilterSet):
    project = IdFilter()
    state = filters.ChoiceFilter(choices=Survey.State.choices)
    type = filters.ChoiceFilter(choices=Survey.Type.choices)

    class Meta:
        model = Survey
        fields = ["project", "state", "type"]


class IntegrationFilter(filters.FilterSet):
    project = IdFilter()
    survey = IdFilter()
    kind = filters.ChoiceFilter(choices=Integration.Kind.choices)
    enabled = filters.BooleanFilter()

    class Meta:
        model = Integration
        fields = ["project", "survey", "kind", "enabled"]


class EndUserFilter(filters.FilterSet):
    project = IdFilter()
    userId = filters.CharFilter(field_name="user_id")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    unsubscribed = filters.BooleanFilter()
    erased = filters.BooleanFilter(field_name="erased", lookup_expr="isnull", exclude=True)

    class Meta:
        model = EndUser
        fields = ["project", "userId", "email", "unsubscribed", "erased"]


class TagFilter(filters.FilterSet):
    project = IdFilter()

    class Meta:
        model = Tag
        fields = ["project"]


class ResponseFilter(filters.FilterSet):
    project = IdFilter()
    survey = IdFilter()
    startDate = TimeBoundFilter(field_name="created", lookup_expr="gte")
    endDate = TimeBoundFilter(field_name="created", lookup_expr="lt", end=True)
    rating = rating_filter()
    ratingMin = rating_filter("gte")
    ratingMax = rating_filter("lte")
    category = filters.ChoiceFilter(
        choices=[(c, c) for c in nps.CATEGORIES],
        method="by_category",
    )
    method = filters.ChoiceFilter(choices=SurveyResponse.Method.choices)
    dismissed = filters.BooleanFilter()
    pending = filters.BooleanFilter()
    completed = filters.BooleanFilter()
    userId = filters.CharFilter(field_name="user__user_id")
    status = filters.ChoiceFilter(choices=SurveyResponse.Status.choices)
    tag = filters.CharFilter(method="by_tag", help_text="A tag's name: responses that carry it.")
    assignee = filters.CharFilter(method="by_assignee", help_text="A staff user's id, or nobody.")

    class Meta:
        model = SurveyResponse
        fields = ["project", "survey", "rating", "method", "dismissed", "pending", "completed"]

    def by_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(nps.category_q(value))

    def by_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return work.narrowed(queryset, tags=[value])

    def by_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value != work.NOBODY and not (value.isascii() and value.isdigit() and len(value) < 19):
            raise serializers.ValidationError({"assignee": ["A staff user's id, or nobody."]})
        return work.narrowed(queryset, assignee=value)


# --- viewsets -------------------------------------------------------------------------------------


class ProjectScopedViewSet(AppViewMixin, viewsets.GenericViewSet):
    authentication_classes = staff_authentication()
    permission_classes = [IsStaffMember]
    throttle_classes: list[Any] = []
    parser_classes = DEFAULT_PARSERS
    pagination_class = ManagePagination
    # Staff may browse the management API with their admin session.
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = "[0-9]+"
    view_roles = ANY_ROLE
    edit_roles = ANY_ROLE
    project_lookup = "project"

    def visible_projects(self) -> QuerySet[Project]:
        return tenancy.visible_projects(self.request.user, self.view_roles)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # the schema generator's fake request
            return queryset.none()
        return queryset.filter(**{f"{self.project_lookup}__in": self.visible_projects()})


@extend_schema_view(
    list=extend_schema(summary="The projects you are a member of"),
    retrieve=extend_schema(summary="One project"),
    update=extend_schema(summary="Change a project's settings (project admins)"),
    partial_update=extend_schema(summary="Change some of a project's settings (project admins)"),
)
class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ProjectScopedViewSet,
):
    queryset = Project.objects.order_by("pk")
    serializer_class = ProjectSerializer
    edit_roles = ADMIN_ROLE
    project_lookup = "pk"


@extend_schema_view(
    list=extend_schema(summary="Surveys, with their texts and targeting"),
    create=extend_schema(summary="Create a survey"),
    retrieve=extend_schema(summary="One survey"),
    update=extend_schema(summary="Change a survey"),
    partial_update=extend_schema(summary="Change some of a survey"),
    destroy=extend_schema(summary="Delete a survey with its responses"),
)
class SurveyViewSet(viewsets.ModelViewSet, ProjectScopedViewSet):
    queryset = Survey.objects.order_by("pk")
    serializer_class = SurveySerializer
    filterset_class = SurveyFilter


@extend_schema_view(
    list=extend_schema(summary="Integrations (Segment, Slack, webhooks); secrets not shown"),
    create=extend_schema(summary="Add an integration (project admins)"),
    retrieve=extend_schema(summary="One integration"),
    update=extend_schema(summary="Change an integration (project admins)"),
    partial_update=extend_schema(summary="Change some of an integration (project admins)"),
    destroy=extend_schema(summary="Remove an integration (project admins)"),
)
class IntegrationViewSet(viewsets.ModelViewSet, ProjectScopedViewSet):
    queryset = Integration.objects.order_by("pk")
    serializer_class = IntegrationSerializer
    filterset_class = IntegrationFilter
    edit_roles = ADMIN_ROLE


@extend_schema_view(
    list=extend_schema(summary="Users of the host product"),
    retrieve=extend_schema(summary="One user"),
)
class EndUserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    queryset = EndUser.objects.order_by("pk").defer("history")
    serializer_class = EndUserSerializer
    filterset_class = EndUserFilter

    @extend_schema(
        summary="Erase the user: anonymise (default) or delete with their responses",
        request=EraseSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: Any = None) -> Response:
        user = self.get_object()
        serializer = EraseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        privacy.erase_user(user, serializer.validated_data["mode"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Everything stored about the user",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: Any = None) -> Response:
        return Response(privacy.export_user(self.get_object()))


@extend_schema_view(
    list=extend_schema(summary="Responses, newest first"),
    retrieve=extend_schema(summary="One response"),
)
class ResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    queryset = SurveyResponse.objects.select_related("survey", "user").defer(
        "edit_token_hash", "survey__texts", "survey__design", "user__history"
    )
    serializer_class = ExtendedResponseObjectSerializer
    filterset_class = ResponseFilter

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().order_by("-created", "-pk")

    @extend_schema(
        methods=["GET"],
        summary="Staff's work on a response: status, assignee, tags and notes",
        responses={200: WorkSerializer},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Set a response's status, assignee or tags",
        request=WorkSerializer,
        responses={200: WorkSerializer},
    )
    @action(detail=True, methods=["get", "patch"], url_path="work", url_name="work")
    def work_state(self, request: Request, pk: Any = None) -> Response:
        response = self.get_object()
        if request.method == "PATCH":
            serializer = WorkSerializer(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            work.update(response, **_work_changes(response, serializer.validated_data))
        return Response(WorkSerializer(response).data)

    @extend_schema(
        methods=["GET"],
        summary="A response's notes, oldest first",
        responses={200: NoteSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a note to a response (you are its author)",
        request=NoteSerializer,
        responses={201: NoteSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request: Request, pk: Any = None) -> Response:
        response = self.get_object()
        if request.method == "POST":
            serializer = NoteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            text = serializer.validated_data["text"]
            note = work.add_note(response, request.user, text)
            return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
        notes = response.notes.select_related("author").order_by("created", "pk")
        return Response(NoteSerializer(notes, many=True).data)


def _work_changes(response: SurveyResponse, data: dict[str, Any]) -> dict[str, Any]:
    """The validated body as :func:`work.update` takes it: a user and tags for ids and names."""
    changes = {key: data[key] for key in ("status",) if key in data}
    if "assignee" in data:
        changes["assignee"] = work.staff_user(data["assignee"])
    if "tags" in data:
        changes["tags"] = work.tags_named(response.project_id, data["tags"])
    return changes


@extend_schema_view(
    list=extend_schema(summary="The projects' tags"),
    create=extend_schema(summary="Add a tag to a project"),
    retrieve=extend_schema(summary="One tag"),
    update=extend_schema(summary="Change a tag"),
    partial_update=extend_schema(summary="Change some of a tag"),
    destroy=extend_schema(summary="Delete a tag (it comes off its responses)"),
)
class TagViewSet(viewsets.ModelViewSet, ProjectScopedViewSet):
    queryset = Tag.objects.order_by("project", "name")
    serializer_class = TagSerializer
    filterset_class = TagFilter
