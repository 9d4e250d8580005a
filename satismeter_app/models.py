"""The data model. Every invariant the database can hold is a constraint here, and every lookup
the widget, the API and the dashboard make has an index."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import i18n, keys, nps, tagging
from . import questions as survey_questions
from .design import DeviceType, validate_design
from .destinations import KINDS, kind_class
from .destinations.base import Destination
from .destinations.segment import SegmentDestination
from .destinations.slack import SlackDestination
from .destinations.webhook import WebhookDestination
from .querysets import (
    DisplayQuerySet,
    EndUserQuerySet,
    InboundMessageQuerySet,
    ProjectQuerySet,
    ResponseQuerySet,
    SurveyQuerySet,
)
from .rules import (
    validate_texts,
    validate_trait_conditions,
    validate_url_rules,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise


@cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(name: str) -> None:
    """An IANA time zone name (Europe/Berlin, Asia/Kolkata, UTC), as PostgreSQL and Python's
    zoneinfo both know it."""
    if name not in _time_zone_names():
        raise ValidationError(
            _("%(name)s is not an IANA time zone name, such as Europe/Berlin or UTC."),
            code="invalid_time_zone",
            params={"name": name},
        )


def site_time_zone() -> str:
    """A new project's time zone: the site's TIME_ZONE."""
    return str(settings.TIME_ZONE or "UTC")


def json_field(
    verbose_name: StrOrPromise,
    default: Callable[[], Any],
    help_text: StrOrPromise = "",
    **options: Any,
) -> models.JSONField:
    """A JSON value that may be left empty: ``default`` (dict or list) makes the empty one."""
    return models.JSONField(
        verbose_name, default=default, blank=True, help_text=help_text, **options
    )


class Project(models.Model):
    """One product whose users are surveyed; the unit of tenancy."""

    name = models.CharField(_("name"), max_length=200)
    write_key = models.CharField(
        _("write key"),
        max_length=64,
        unique=True,
        default=keys.new_write_key,
        editable=False,
        help_text=_("Public key for the widget snippet and the widget API."),
    )
    default_language = models.CharField(
        _("default language"),
        max_length=35,
        default="en",
        help_text=_("Language tag used when a user's own language is unknown, e.g. en, pt-BR."),
    )
    identity_verification = models.BooleanField(
        _("identity verification"),
        default=False,
        help_text=_(
            "Require userHash (HMAC-SHA256 of the userId with the verification secret) "
            "on every widget call that names a userId."
        ),
    )
    verification_secret = models.CharField(
        _("verification secret"),
        max_length=128,
        default=keys.new_verification_secret,
        editable=False,
    )
    survey_gap_days = models.PositiveIntegerField(
        _("days between surveys"),
        default=14,
        help_text=_("After a user saw any survey of this project, wait this long before another."),
    )
    segment_webhook_secret = models.CharField(
        _("Segment webhook secret"),
        max_length=200,
        blank=True,
        help_text=_(
            "Shared secret of Segment's Webhooks destination: requests to "
            "/segment/webhook/<project id> must carry its X-Signature. Empty turns the route off."
        ),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=site_time_zone,
        validators=[validate_time_zone],
        help_text=_(
            "The project's days (dashboard ranges, trends, daily counts) start at midnight here; "
            "an IANA name such as Europe/Berlin."
        ),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new time zone rebuilds the project's daily counts in the same transaction: their
        days are the project's days. (A queryset ``update(time_zone=…)`` skips this; run
        ``satismeter_rebuild_rollups`` after one.)"""
        with transaction.atomic():
            moved = self._zone_changes(kwargs.get("update_fields"))
            super().save(*args, **kwargs)
            if moved:
                DailyRollup.rebuild(self)

    def _zone_changes(self, update_fields: Any) -> bool:
        if self.pk is None or (update_fields is not None and "time_zone" not in update_fields):
            return False
        return Project.objects.filter(pk=self.pk).exclude(time_zone=self.time_zone).exists()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @staticmethod
    def zone_of(project_id: int) -> ZoneInfo:
        """A project's time zone, read without loading the project."""
        return ZoneInfo(Project.objects.values_list("time_zone", flat=True).get(pk=project_id))


class ProjectDashboard(Project):
    """The projects' NPS dashboards as an entry of the admin's index and sidebar, which list
    models: a proxy of Project (no table of its own) whose admin picks the project."""

    class Meta:
        proxy = True
        verbose_name = _("NPS dashboard")
        verbose_name_plural = _("NPS dashboards")


def project_key(related_name: str, *, db_index: bool = True) -> models.ForeignKey:
    """The project a row belongs to: what every page and API call scopes by; deleting the
    project deletes the row. ``db_index=False`` where a composite index starts with it."""
    return models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name=related_name,
        verbose_name=_("project"),
        db_index=db_index,
    )


def test_flag(help_text: StrOrPromise) -> models.BooleanField:
    """Marks a test row (EndUser.is_test): set when the row is made, never edited; the
    database's own default covers rows written by SQL."""
    return models.BooleanField(
        _("test user"), default=False, db_default=False, editable=False, help_text=help_text
    )


class ApiKey(models.Model):
    """A secret key of one project for the REST API; only its hash is stored."""

    project = project_key("api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(_("hashed key"), max_length=64, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @classmethod
    def issue(cls, project: Project, name: str = "") -> tuple[ApiKey, str]:
        """Create a key; the clear-text key is returned once and never stored."""
        new = keys.new_api_key()
        api_key = cls.objects.create(
            project=project, name=name, prefix=new.prefix, hashed_key=new.hashed
        )
        return api_key, new.key

    @classmethod
    def authenticate(cls, key: str) -> ApiKey | None:
        prefix = keys.api_key_prefix(key)
        if prefix is None:
            return None
        api_key = cls.objects.select_related("project").filter(prefix=prefix).first()
        if api_key is None or api_key.revoked or not keys.api_key_matches(key, api_key.hashed_key):
            return None
        return api_key


class Membership(models.Model):
    """A staff user's access to a project; non-superusers see only their projects."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="satismeter_memberships",
        verbose_name=_("user"),
    )
    project = project_key("memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="sm_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.project}"


class EndUser(models.Model):
    """A user of the host product, identified by its userId or, anonymous, by anonymousId."""

    project = project_key("users")
    # NULL, not "", marks the missing id: the partial unique constraints below rely on it.
    user_id = models.CharField(_("user id"), max_length=255, null=True, blank=True)  # noqa: DJ001
    anonymous_id = models.CharField(  # noqa: DJ001
        _("anonymous id"), max_length=255, null=True, blank=True
    )
    email = models.EmailField(_("email"), max_length=254, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    created_at = models.DateTimeField(
        _("signed up"), null=True, blank=True, help_text=_("From the createdAt trait.")
    )
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    language = models.CharField(_("language"), max_length=35, blank=True)
    traits = json_field(_("traits"), dict)
    # When each trait (and each group's trait) was set, so that a message older than the value
    # it would replace is not applied: {"traits": {"<key>": <epoch ms>},
    # "groups": {"<group id>": {"<key>": <epoch ms>}}} (services/identity.py).
    trait_times = json_field(_("trait times"), dict, editable=False)
    unsubscribed = models.BooleanField(_("unsubscribed from email"), default=False)
    survey_date = models.DateTimeField(
        _("survey date"),
        null=True,
        blank=True,
        help_text=_("Overrides when this user is next due for a survey (surveyDate)."),
    )
    groups = json_field(_("groups"), dict, _("Group traits by group id."))
    last_url = models.TextField(_("last page"), blank=True)
    # What targeting needs of the user's past, kept on the row so that deciding takes one
    # query; written in the same transaction as the displays, responses and events it sums up.
    # {"surveys": {"<id>": {"answered", "dismissed", "last_display", "displays"}},
    #  "events": {"<name>": "<iso time>"}}
    history = json_field(_("survey history"), dict, editable=False)
    erased = models.DateTimeField(_("erased"), null=True, blank=True)
    # A user the sample page made for staff to try a survey (views.sample): shown in the admin,
    # marked; its displays and responses carry the mark too and count in no statistic or export.
    is_test = test_flag(
        _("Made on the sample page to try a survey: never counted in statistics or exports.")
    )

    objects = EndUserQuerySet.as_manager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["-last_seen", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user_id"],
                condition=Q(user_id__isnull=False),
                name="sm_enduser_unique_user_id",
            ),
            # An anonymousId names one row: the visitor's, or that of the user who last signed
            # in with it. It also serves the lookups by anonymousId (services/identity.py).
            models.UniqueConstraint(
                fields=["project", "anonymous_id"],
                condition=Q(anonymous_id__isnull=False),
                name="sm_enduser_one_row_per_anonymous_id",
            ),
            models.CheckConstraint(
                condition=Q(user_id__isnull=False) | Q(anonymous_id__isnull=False),
                name="sm_enduser_has_identity",
            ),
            models.CheckConstraint(
                condition=Q(last_seen__gte=models.F("first_seen")),
                name="sm_enduser_seen_order",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "last_seen"], name="sm_enduser_last_seen"),
            models.Index(Lower("email"), "project", name="sm_enduser_email"),
        ]

    def __str__(self) -> str:
        return self.user_id or f"anonymous {self.anonymous_id}"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    def mail_refusal(self) -> StrOrPromise | None:
        """Why no email may go to this user, in staff's words, or None: the one rule for a
        single message (a reply); reminders ask the same of many users in one query."""
        if self.erased is not None:
            return _("The user's data was erased.")
        if not self.email:
            return _("The user has no email address.")
        if self.unsubscribed or Unsubscribe.covers(self.project_id, self.email):
            return _("The user unsubscribed from email.")
        return None


class Survey(models.Model):
    """A campaign: one question set, its texts, design, targeting and reminders."""

    class Type(models.TextChoices):
        NPS = "nps", _("Net Promoter Score")
        CSAT = "csat", _("Customer satisfaction")
        CES = "ces", _("Customer effort")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    class Audience(models.TextChoices):
        IDENTIFIED = "identified", _("Identified users only")
        ANONYMOUS = "anonymous", _("Anonymous visitors only")
        EVERYONE = "everyone", _("Everyone")

    class TenureBasis(models.TextChoices):
        FIRST_SEEN = "first_seen", _("First seen")
        CREATED_AT = "created_at", _("Signed up (createdAt)")

    project = project_key("surveys")
    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.NPS)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("When several surveys are due, the highest wins.")
    )
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)

    texts = json_field(
        _("texts"),
        dict,
        _('Overrides per language, e.g. {"en": {"FOLLOWUP": "What could we improve?"}}.'),
    )
    design = json_field(_("design"), dict, _("Skin, position, colours and other display options."))
    questions = json_field(
        _("questions"),
        survey_questions.default_questions,
        _("The questions in order (satismeter_app.questions): the rating, the comment, others."),
    )

    # Targeting: each field is one gate of targeting.decide().
    audience = models.CharField(
        _("audience"), max_length=12, choices=Audience.choices, default=Audience.IDENTIFIED
    )
    min_tenure_days = models.PositiveIntegerField(_("minimum tenure (days)"), default=30)
    tenure_basis = models.CharField(
        _("tenure counted from"),
        max_length=12,
        choices=TenureBasis.choices,
        default=TenureBasis.CREATED_AT,
        help_text=_("createdAt when the user has it, else first seen."),
    )
    trait_conditions = json_field(
        _("trait conditions"),
        list,
        _(
            'All must hold, e.g. [{"trait": "plan", "type": "text", "op": "equals", '
            '"value": "pro"}].'
        ),
    )
    trigger_event = models.CharField(
        _("trigger event"),
        max_length=200,
        blank=True,
        help_text=_("Show only after this event was tracked."),
    )
    event_window_days = models.PositiveIntegerField(
        _("event delivery window (days)"),
        default=0,
        help_text=_("0: only right after the event (30 minutes); N: for up to N days after it."),
    )
    url_rules = json_field(
        _("page rules"),
        list,
        _('e.g. [{"op": "contains", "value": "/app"}]; one include rule must match, no exclude.'),
    )
    device_types = json_field(
        _("device types"), list, _('Subset of ["desktop", "tablet", "mobile"]; empty for all.')
    )
    sample_percent = models.PositiveSmallIntegerField(
        _("sample (%)"),
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of eligible users asked; the same users every time."),
    )
    resurvey_days = models.PositiveIntegerField(_("days after an answer"), default=90)
    dismiss_wait_days = models.PositiveIntegerField(_("days after a dismissal"), default=30)
    max_displays = models.PositiveSmallIntegerField(
        _("displays before ignored"),
        default=3,
        help_text=_("After this many displays without an answer the user counts as ignoring it."),
    )

    # Email reminders.
    reminders_enabled = models.BooleanField(_("email reminders"), default=False)
    reminder_delay_days = models.PositiveIntegerField(_("reminder delay (days)"), default=7)
    reminder_sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    reminder_sender_email = models.EmailField(_("sender email"), blank=True)

    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-priority", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sample_percent__gte=0, sample_percent__lte=100),
                name="sm_survey_sample_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="sm_survey_schedule_order",
            ),
            models.CheckConstraint(
                condition=Q(type__in=["nps", "csat", "ces"]), name="sm_survey_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "active", "paused", "archived"]),
                name="sm_survey_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["project", "state"], name="sm_survey_project_state")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        for field, validate in (
            ("trait_conditions", validate_trait_conditions),
            ("url_rules", validate_url_rules),
            ("design", validate_design),
            ("texts", partial(validate_texts, languages=i18n.available_languages())),
            ("questions", partial(survey_questions.parse, languages=i18n.available_languages())),
        ):
            try:
                validate(getattr(self, field))
            except ValueError as exc:
                errors[field] = str(exc)
        devices = self.device_types
        if not isinstance(devices, list) or not all(d in DeviceType.values for d in devices):
            errors["device_types"] = _("Use a list of desktop, tablet and mobile.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        if self.reminders_enabled and not self.reminder_sender_email:
            errors["reminder_sender_email"] = _("Reminders need a sender address.")
        if errors:
            raise ValidationError(errors)


class Integration(models.Model):
    """A destination that receives survey lifecycle events: Segment, Slack or a webhook.

    A project-wide integration (no survey) covers every survey of the project; a survey with
    enabled integrations of its own of some kind gets only those for that kind, so that a
    survey can narrow or redirect what the project sends (other events, traits, a channel).

    What each kind is (the events it takes, its settings and their validation, its secret,
    its filters) is declared by its Destination class; the methods here ask that class
    (``destinations.kind_class``).
    """

    class Kind(models.TextChoices):
        """The kinds the database stores: the field's choices and a check constraint, so a
        change takes a migration and cannot follow the ``DESTINATIONS`` setting. Each kind is
        named by its built-in Destination class, and a test keeps this list equal to
        ``destinations.KINDS``."""

        SEGMENT = SegmentDestination.kind, SegmentDestination.label
        SLACK = SlackDestination.kind, SlackDestination.label
        WEBHOOK = WebhookDestination.kind, WebhookDestination.label

    project = project_key("integrations")
    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="integrations",
        help_text=_(
            "Only this survey's feedback; empty for every survey of the project. A survey's own "
            "integrations of a kind replace the project's of that kind for that survey."
        ),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    events = json_field(
        _("events"),
        list,
        _(
            "Subset of viewed, closed, answered, completed; empty for the kind's default "
            "(Segment: all; Slack: completed; webhook: closed and completed)."
        ),
    )
    settings = json_field(
        _("settings"),
        dict,
        _(
            'Segment: {"region": "us"|"eu", "host": URL, "traits": [...]}; Slack: '
            '{"filter": "all"|"detractors"|"commented"}; webhook: {"url": URL}.'
        ),
    )
    secret = models.CharField(
        _("secret"),
        max_length=500,
        blank=True,
        help_text=_("Write key, Slack incoming-webhook URL or signing secret; never shown back."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["project", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["segment", "slack", "webhook"]),
                name="sm_integration_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["project", "enabled"], name="sm_integration_project")]

    def __str__(self) -> str:
        return self.name or self.get_kind_display()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A kind that makes its own secret (a webhook's signing secret) gets one if none is set,
        # however the integration is made (admin, management API, code).
        if not self.secret and self.kind in KINDS:
            self.secret = self.declared.new_secret()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.survey_id and self.survey and self.survey.project_id != self.project_id:
            errors["survey"] = _("The survey belongs to another project.")
        if self.kind in KINDS:  # another kind is the field's error
            errors.update(self._kind_errors())
        if errors:
            raise ValidationError(errors)

    def _kind_errors(self) -> dict[str, Any]:
        """What the kind's declaration refuses in events, settings and secret."""
        declared = self.declared
        errors: dict[str, Any] = {}
        if not isinstance(self.events, list) or set(self.events) - set(declared.events):
            errors["events"] = _("Use a list of %(events)s.") % {
                "events": ", ".join(declared.events)
            }
        for name, clean, value in (
            ("settings", declared.clean_settings, self.settings),
            ("secret", declared.clean_secret, self.secret),
        ):
            try:
                clean(value)
            except ValidationError as error:
                errors[name] = error.messages
        return errors

    @property
    def declared(self) -> type[Destination]:
        """The Destination class that declares this integration's kind."""
        return kind_class(self.kind)

    def missing(self) -> list[str]:
        """What the integration still needs before it can send (a check and the admin say so;
        its deliveries wait and retry meanwhile)."""
        return self.declared.missing(self.settings or {}, self.secret)

    @property
    def sends(self) -> tuple[str, ...]:
        """The lifecycle events this integration sends."""
        return self.declared.sends(self.events or [])

    def wants(self, event: str, payload: dict[str, Any] | None = None) -> bool:
        """Whether this event (with this snapshot, for the kind's filters) goes out."""
        if not self.enabled or event not in self.sends:
            return False
        return payload is None or self.declared.wants(event, payload, self.settings or {})


class UserEvent(models.Model):
    """An event tracked for a user (widget ``track``, ``POST /api/users`` type track, Segment)."""

    project = project_key("events")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(_("event"), max_length=200)
    properties = json_field(_("properties"), dict)
    timestamp = models.DateTimeField(_("time"), default=timezone.now)
    # Segment's messageId: a message delivered twice (Segment retries) is stored once.
    message_id = models.CharField(  # noqa: DJ001
        _("message id"), max_length=100, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("user event")
        verbose_name_plural = _("user events")
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "message_id"],
                condition=Q(message_id__isnull=False),
                name="sm_event_unique_message_id",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "name", "-timestamp"], name="sm_event_user_name"),
            models.Index(fields=["project", "-timestamp"], name="sm_event_project_time"),
        ]

    def __str__(self) -> str:
        return self.name


class InboundMessage(models.Model):
    """A Segment message applied to the project, by its ``messageId``: a message delivered
    again (Segment retries for hours) or replayed is acknowledged and skipped, whatever its
    type and route. Kept for ``SEGMENT_MESSAGE_ID_RETENTION``; ``forget_segment_message_ids``
    deletes older rows."""

    project = project_key("inbound_messages")
    message_id = models.CharField(_("message id"), max_length=100)
    received = models.DateTimeField(_("received"), default=timezone.now)

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbound message id")
        verbose_name_plural = _("inbound message ids")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "message_id"], name="sm_inbound_unique_message_id"
            ),
        ]
        indexes = [models.Index(fields=["received"], name="sm_inbound_received")]

    def __str__(self) -> str:
        return self.message_id


class Display(models.Model):
    """The survey was actually shown to a user."""

    project = project_key("displays")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="displays")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="displays")
    url = models.TextField(_("page"), blank=True)
    created = models.DateTimeField(_("shown"), default=timezone.now)
    is_test = test_flag(_("Shown to a test user: never counted."))

    objects = DisplayQuerySet.as_manager()

    class Meta:
        verbose_name = _("display")
        verbose_name_plural = _("displays")
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["user", "survey", "-created"], name="sm_display_user_survey"),
            models.Index(fields=["survey", "created"], name="sm_display_survey_time"),
            models.Index(fields=["project", "created"], name="sm_display_project_time"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.user}"


class Tag(models.Model):
    """A label staff put on responses, coloured, per project; ``keywords`` tags new comments
    that match by themselves (services/tagging.py)."""

    project = project_key("tags", db_index=False)  # sm_tag_name starts with it
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(
        _("colour"),
        max_length=7,
        default="#64748b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1d4ed8."))],
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=500,
        blank=True,
        help_text=_(
            "Words that put this tag on a comment by themselves, separated by | (for example "
            "price|pricing|expensive); empty: only staff put it on."
        ),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="sm_tag_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        problem = tagging.keyword_problem(self.keywords)
        if problem:
            raise ValidationError({"keywords": problem})


class Response(models.Model):
    """One user's answer to one survey, from first click to completion or dismissal."""

    class Method(models.TextChoices):
        IN_APP = "In-app", _("In-app")
        MOBILE = "Mobile", _("Mobile")
        EMAIL = "Email", _("Email")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    project = project_key("responses")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="responses")
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    feedback = models.TextField(_("feedback"), blank=True)
    answers = json_field(_("other answers"), list)
    method = models.CharField(
        _("method"), max_length=10, choices=Method.choices, default=Method.IN_APP
    )
    language = models.CharField(_("language"), max_length=35, blank=True)
    referrer = models.TextField(_("page"), blank=True)
    device = json_field(_("device"), dict)
    traits = json_field(_("traits when answered"), dict)
    dismissed = models.BooleanField(_("dismissed"), default=False)
    pending = models.BooleanField(
        _("pending"), default=False, help_text=_("Started, but no rating yet and not dismissed.")
    )
    completed = models.BooleanField(_("completed"), default=False)
    edit_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    is_test = test_flag(_("Given by a test user: never counted in statistics or exports."))
    # Working the response: staff's, never the respondent's or an API client's to write.
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.OPEN,
        db_default=Status.OPEN,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="satismeter_assigned_responses",
        verbose_name=_("assignee"),
        help_text=_("A member of the project who follows this response up."),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="responses", verbose_name=_("tags"))

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=0, rating__lte=10),
                name="sm_response_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(method__in=["In-app", "Mobile", "Email"]),
                name="sm_response_method_valid",
            ),
            # pending: started, no rating yet; dismissed: closed unanswered; completed: done.
            models.CheckConstraint(
                condition=Q(pending=False)
                | Q(rating__isnull=True, dismissed=False, completed=False),
                name="sm_response_pending_unrated",
            ),
            models.CheckConstraint(
                condition=Q(dismissed=False) | Q(rating__isnull=True, completed=False),
                name="sm_response_dismissed_unrated",
            ),
            models.CheckConstraint(
                condition=Q(completed=False) | Q(completed_at__isnull=False),
                name="sm_response_completed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "closed"]), name="sm_response_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created", "id"], name="sm_response_project_time"),
            models.Index(fields=["survey", "created", "id"], name="sm_response_survey_time"),
            models.Index(fields=["user", "survey", "-created"], name="sm_response_user_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.survey}: {self.rating if self.rating is not None else '—'}"

    @property
    def category(self) -> str | None:
        return nps.category(self.rating)

    @property
    def score(self) -> int | None:
        return nps.score(self.rating)


def timeline_response(related_name: str) -> models.ForeignKey:
    """The response an entry of its timeline (a note, a reply) belongs to; deleting the
    response deletes it. Not indexed alone: the entry's (response, created) index starts
    with it."""
    return models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name=related_name,
        verbose_name=_("response"),
        db_index=False,
    )


def staff_author() -> models.ForeignKey:
    """The staff member who wrote a timeline entry; the entry stays when the account goes."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )


class ResponseNote(models.Model):
    """A staff member's note on a response: who wrote it and when, kept on its timeline."""

    response = timeline_response("notes")  # sm_note_response starts with it
    author = staff_author()
    text = models.TextField(_("note"))
    created = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created", "pk"]
        indexes = [models.Index(fields=["response", "created"], name="sm_note_response")]

    def __str__(self) -> str:
        return self.text[:50]


class DailyRollup(models.Model):
    """One of the project's days counted, so that the dashboard and the statistics add up
    days rather than scan responses.

    A row counts the responses of one survey, day, language, method and rating (``rating``
    −1: none, i.e. dismissed or pending): how many, and of those how many were dismissed,
    pending, completed and commented. Displays are counted on the row with no language,
    method or rating (a display has none). Days are the project's days, midnight to midnight
    in its time zone. Test rows (``is_test``) are not counted.

    Database triggers (migration 0007) keep the rows current in the transaction of every
    insert, update and delete of a response or a display, whatever makes it: the services,
    the admin, a queryset ``update()``, ``bulk_create``, a cascade or raw SQL. :meth:`rebuild`
    counts a project again from its responses and displays.
    """

    NO_RATING = -1

    project = project_key("rollups")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="rollups")
    day = models.DateField(_("day"))
    language = models.CharField(_("language"), max_length=35, blank=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    rating = models.SmallIntegerField(_("rating"), help_text=_("−1: no rating."))
    responses = models.IntegerField(_("responses"), default=0)
    dismissed = models.IntegerField(_("dismissed"), default=0)
    pending = models.IntegerField(_("pending"), default=0)
    completed = models.IntegerField(_("completed"), default=0)
    commented = models.IntegerField(_("commented"), default=0)
    displays = models.IntegerField(_("displays"), default=0)

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            # The triggers' ON CONFLICT target: one row per key.
            models.UniqueConstraint(
                fields=["project", "survey", "day", "language", "method", "rating"],
                name="sm_rollup_key",
            )
        ]
        indexes = [models.Index(fields=["project", "day"], name="sm_rollup_project_day")]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.language}/{self.method}/{self.rating}"

    @classmethod
    def rebuild(cls, project: Project) -> int:
        """Count the project again from its responses and displays, in its time zone; returns
        the number of rows written.

        PostgreSQL: the table is locked against writers (readers go on) until the transaction
        ends, so that no response written meanwhile is counted twice or missed.
        """
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {cls._meta.db_table} IN EXCLUSIVE MODE")
            cls.objects.filter(project=project).delete()
            rows = [*cls._counted_responses(project), *cls._counted_displays(project)]
            DailyRollup.objects.bulk_create(rows, batch_size=2000)
        return len(rows)

    @classmethod
    def _counted_responses(cls, project: Project) -> list[DailyRollup]:
        counts = {f"n_{name}": count for name, count in nps.outcome_counts().items()}
        grouped: QuerySet[Any] = (
            Response.objects.counted()
            .filter(project=project)
            .order_by()
            .annotate(
                day=TruncDate("created", tzinfo=project.zone),
                key=Coalesce("rating", cls.NO_RATING),
            )
            .values("survey_id", "day", "language", "method", "key")
            .annotate(n=Count("pk"), **counts)
        )
        return [
            cls(
                project=project,
                **{name: row[name] for name in ("survey_id", "day", "language", "method")},
                rating=row["key"],
                responses=row["n"],
                **{name: row[f"n_{name}"] for name in nps.outcome_counts()},
            )
            for row in grouped
        ]

    @classmethod
    def _counted_displays(cls, project: Project) -> list[DailyRollup]:
        grouped = (
            Display.objects.counted()
            .filter(project=project)
            .order_by()
            .annotate(day=TruncDate("created", tzinfo=project.zone))
            .values("survey_id", "day")
            .annotate(n=Count("pk"))
        )
        return [
            cls(
                project=project,
                survey_id=row["survey_id"],
                day=row["day"],
                rating=cls.NO_RATING,
                displays=row["n"],
            )
            for row in grouped
        ]


class Unsubscribe(models.Model):
    """An email address that gets no survey email from the project."""

    class Source(models.TextChoices):
        LINK = "link", _("Unsubscribe link")
        API = "api", _("API")
        ADMIN = "admin", _("Admin")

    project = project_key("unsubscribes")
    email = models.EmailField(_("email"), max_length=254)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("unsubscribed address")
        verbose_name_plural = _("unsubscribed addresses")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint("project", Lower("email"), name="sm_unsubscribe_unique_email"),
        ]

    def __str__(self) -> str:
        return self.email

    @classmethod
    def covers(cls, project_id: int, address: str) -> bool:
        """Whether ``address`` is on the project's list (any spelling of it)."""
        return cls.objects.filter(project_id=project_id, email__iexact=address.strip()).exists()


class Reminder(models.Model):
    """One reminder email for one user and one survey period (see docs/email.md).

    The unique (survey, user, period) row is inserted before the email goes out: whoever
    inserts it sends, so the same period never gets two emails, however many workers run.
    """

    class State(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    project = project_key("reminders")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="reminders")
    period = models.PositiveIntegerField(
        _("survey period"), help_text=_("Days since the survey's creation // resurvey days.")
    )
    reason = models.CharField(_("reason"), max_length=20, blank=True)
    email = models.EmailField(_("email"), max_length=254)
    language = models.CharField(_("language"), max_length=35, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.SENDING
    )
    nonce = models.CharField(max_length=32, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    response = models.OneToOneField(
        Response,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminder",
        verbose_name=_("response"),
    )
    scanner_hits = models.PositiveIntegerField(_("scanner hits"), default=0)
    last_scanner_hit = models.DateTimeField(_("last scanner hit"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "user", "period"], name="sm_reminder_once_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "survey", "-created"], name="sm_reminder_user_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.email}"


class Delivery(models.Model):
    """The outbox: one message for one destination, written with what caused it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead")

    # Every index is written on each of the outbox's inserts and state changes: the project's
    # lookups are served by sm_delivery_log, which starts with it.
    project = project_key("deliveries", db_index=False)
    response = models.ForeignKey(
        Response, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    destination = models.CharField(_("destination"), max_length=30)
    event = models.CharField(_("event"), max_length=50)
    payload = models.JSONField(_("payload"), default=dict)
    message_id = models.CharField(_("message id"), max_length=100, unique=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    last_status = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True, help_text=_("Empty: no answer came.")
    )
    retry_until = models.DateTimeField(
        _("retried until"),
        null=True,
        blank=True,
        help_text=_("After this a failing delivery is dead; empty: the window from creation."),
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "delivered", "dead"]),
                name="sm_delivery_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="delivered") | Q(delivered_at__isnull=False),
                name="sm_delivery_delivered_has_time",
            ),
        ]
        indexes = [
            # The sender's hot path: due rows in state order.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="sm_delivery_due",
            ),
            # A worker's claim: one integration's due rows, oldest first.
            models.Index(
                fields=["integration", "next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="sm_delivery_claim",
            ),
            models.Index(fields=["project", "state", "-created"], name="sm_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.destination} {self.event} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, what the destination answered, what went wrong."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        RETRY = "retry", _("Will retry")
        DEAD = "dead", _("Gave up")

    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
        db_index=False,  # sm_attempt_delivery starts with it
    )
    started = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-started", "-pk"]
        indexes = [models.Index(fields=["delivery", "-started"], name="sm_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.started:%Y-%m-%d %H:%M:%S} {self.outcome}"


class Reply(models.Model):
    """A staff member's email to the respondent of a response, sent through the outbox
    (docs/email.md, "Replying to a respondent"); its state is that of its delivery."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    response = timeline_response("replies")  # sm_reply_response starts with it
    author = staff_author()
    to_email = models.EmailField(_("to"), max_length=254)
    reply_to = models.EmailField(_("reply to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    language = models.CharField(_("language"), max_length=35, blank=True)
    delivery = models.OneToOneField(
        Delivery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reply",
        verbose_name=_("delivery"),
    )
    created = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["created", "pk"]
        indexes = [models.Index(fields=["response", "created"], name="sm_reply_response")]

    def __str__(self) -> str:
        return self.subject

    @property
    def state(self) -> str:
        """Sent once its delivery is; failed when it died (or was dropped, the user erased)."""
        delivery = self.delivery
        if delivery is None or delivery.state == Delivery.State.DEAD:
            return self.State.FAILED
        if delivery.state == Delivery.State.DELIVERED:
            return self.State.SENT
        return self.State.PENDING

    @property
    def state_label(self) -> str:
        return str(self.State(self.state).label)


class StaffSubscription(models.Model):
    """A staff member's email about one project, or one of its surveys (docs/staff-email.md):
    an alert when detractors answer, at most one per ``alert_interval`` minutes and bundling
    what arrived meanwhile, and a daily or weekly digest.

    Only a member of the project subscribes, and the emails stop when the membership goes.
    ``alerted_until`` is how far the alerts have gone (detractors answering after it are in
    the next one); ``digested_until`` is the last day the last digest counted (a digest goes
    out for a period ending after it). Each is moved forward by a conditional UPDATE before
    its email goes out: whoever moves it sends, so several workers never send it twice.
    """

    class Digest(models.TextChoices):
        NONE = "none", _("No digest")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly (on Mondays)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="satismeter_subscriptions",
        verbose_name=_("staff member"),
    )
    project = project_key("staff_subscriptions")
    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff_subscriptions",
        verbose_name=_("survey"),
        help_text=_("Empty: every survey of the project."),
    )
    detractor_alerts = models.BooleanField(
        _("detractor alerts"),
        default=True,
        help_text=_("An email when users answer 0–6."),
    )
    alert_interval = models.PositiveIntegerField(
        _("alert interval (minutes)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text=_(
            "At most one alert per interval: detractors who answer meanwhile come together "
            "in the next one."
        ),
    )
    digest = models.CharField(
        _("digest"), max_length=10, choices=Digest.choices, default=Digest.WEEKLY
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=i18n.STAFF_LANGUAGES,
        blank=True,
        help_text=_("Of the emails. Empty: the project's default language, else English."),
    )
    alerted_until = models.DateTimeField(_("alerted until"), default=timezone.now, editable=False)
    last_alert_at = models.DateTimeField(_("last alert"), null=True, blank=True, editable=False)
    digested_until = models.DateField(
        _("last digest's last day"), null=True, blank=True, editable=False
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("email notification")
        verbose_name_plural = _("email notifications")
        ordering = ["project__name", "survey__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=Q(survey__isnull=True),
                name="sm_subscription_project_once",
            ),
            models.UniqueConstraint(
                fields=["user", "survey"],
                condition=Q(survey__isnull=False),
                name="sm_subscription_survey_once",
            ),
            models.CheckConstraint(
                condition=Q(digest__in=["none", "daily", "weekly"]),
                name="sm_subscription_digest_valid",
            ),
            models.CheckConstraint(
                condition=Q(alert_interval__gte=1), name="sm_subscription_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.survey or self.project}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Alerts turned back on start from now, not from when they were turned off."""
        if self.pk is not None and self.detractor_alerts:
            was_off = StaffSubscription.objects.filter(pk=self.pk, detractor_alerts=False)
            if was_off.exists():
                self.alerted_until = timezone.now()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        survey = self.survey if self.survey_id is not None else None
        if survey is not None and survey.project_id != self.project_id:
            raise ValidationError({"survey": _("This belongs to another project.")})
        if self.user_id is not None and self.project_id is not None:
            member = Membership.objects.filter(user_id=self.user_id, project_id=self.project_id)
            if not member.exists():
                raise ValidationError(
                    {"project": _("Only a member of the project receives its emails.")}
                )

    @property
    def email_language(self) -> str:
        return i18n.staff_language(self.language, self.project.default_language)
