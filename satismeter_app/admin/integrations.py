"""Integrations and the outbox's delivery log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import outbox
from ..destinations import KINDS, kind_class, kind_classes
from ..destinations.base import LIFECYCLE_EVENTS, Destination
from ..models import (
    Delivery,
    DeliveryAttempt,
    Integration,
)
from ..permissions import ADMIN_ROLE
from .scoping import (
    ProjectScopedAdmin,
    ProjectScopedForm,
    ReadOnlyInline,
    project_filter,
)


class IntegrationForm(ProjectScopedForm):
    """The settings of every kind as form fields named ``<kind>_<setting>``, as each kind's
    Destination class declares them; the secret is write-only (typed in, never rendered back;
    empty keeps the current one)."""

    events = forms.MultipleChoiceField(
        label=_("events"),
        required=False,
        choices=[(event, event) for event in LIFECYCLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        label=_("secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = Integration
        # ``settings`` is assembled from the fields of the integration's kind (clean()).
        fields = ("project", "survey", "kind", "name", "enabled", "events", "secret")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        declared = kind_classes()
        self.fields["events"].help_text = events_help(declared)
        self.fields["secret"].help_text = secret_help(declared)
        for kind, cls in declared.items():
            saved = self.instance.settings if self.instance.kind == kind else {}
            for name, field in cls.settings_fields().items():
                self.fields[f"{kind}_{name}"] = field
                self.initial.setdefault(f"{kind}_{name}", (saved or {}).get(name, field.initial))

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"] or self.instance.secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The model validates the settings dict; the form only assembles it for the kind.
        self.instance.settings = self.settings_for(cleaned.get("kind"), cleaned)
        return cleaned

    @staticmethod
    def settings_for(kind: str | None, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The settings of ``kind`` from its fields; an empty field leaves its setting out."""
        if kind not in KINDS:
            return {}
        names = kind_class(kind).settings_fields()
        values = {name: cleaned.get(f"{kind}_{name}") for name in names}
        return {name: value for name, value in values.items() if value not in ("", None)}


def events_help(declared: dict[str, type[Destination]]) -> str:
    """What each kind takes and sends when none is ticked, from the declarations."""
    lines = [
        _("%(kind)s takes %(events)s; none ticked: %(default)s.")
        % {
            "kind": cls.label,
            "events": ", ".join(cls.events),
            "default": ", ".join(cls.default_events),
        }
        for cls in declared.values()
    ]
    return " ".join(str(line) for line in lines)


def secret_help(declared: dict[str, type[Destination]]) -> str:
    texts = [str(cls.secret.help_text) for cls in declared.values() if cls.secret]
    return " ".join([*texts, str(_("Leave empty to keep the current one."))])


@admin.register(Integration)
class IntegrationAdmin(ProjectScopedAdmin):
    # Integrations send every answer and a secret elsewhere: project admins set them up.
    edit_roles = ADMIN_ROLE
    form = IntegrationForm
    list_display = ("__str__", "kind", "project", "survey", "enabled", "setup", "updated")
    list_filter = ("kind", "enabled", project_filter())
    list_select_related = ("project", "survey")
    search_fields = ("name",)
    readonly_fields = ("secret_hint", "receiver_secret", "delivery_log", "created", "updated")
    actions = ("send_test_message",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """A section per kind, with the settings its Destination class declares."""
        kinds = [
            (cls.label, {"fields": kind_field_names(kind, cls), "description": cls.description})
            for kind, cls in kind_classes().items()
        ]
        return [
            (None, {"fields": ("project", "survey", "kind", "name", "enabled", "events")}),
            (_("Connection"), {"fields": self.connection_fields(request, obj)}),
            *kinds,
            (_("History"), {"fields": ("created", "updated"), "classes": ("collapse",)}),
        ]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # The kinds' fields are made by the form itself (they follow the DESTINATIONS setting),
        # so the model form factory is given only the model's fields.
        kwargs["fields"] = IntegrationForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def connection_fields(self, request: HttpRequest, obj: Integration | None) -> list[str]:
        """The secret's fields. Those who only view the integration get its hint: the admin
        renders a read-only field's value, and a write key, a Slack URL or a signing secret
        lets whoever reads it send as the project. Those who may change it also get the form
        of the secret the receiver needs (a webhook's ``whsec_`` secret)."""
        if obj is not None and not self.has_change_permission(request, obj):
            return ["secret_hint", "delivery_log"]
        if obj is not None and obj.declared.receiver_secret(obj.secret):
            return ["secret", "secret_hint", "receiver_secret", "delivery_log"]
        return ["secret", "secret_hint", "delivery_log"]

    @admin.display(description=_("signing secret for receivers"))
    def receiver_secret(self, obj: Integration) -> str:
        """A webhook's secret as Standard Webhooks libraries take it (``whsec_…``)."""
        return obj.declared.receiver_secret(obj.secret) or "—"

    @admin.display(description=_("current secret"))
    def secret_hint(self, obj: Integration) -> str:
        """Enough to tell secrets apart; a Slack URL shows only its host."""
        if not obj.secret:
            return "—"
        parts = urlsplit(obj.secret)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/…"
        return f"{obj.secret[:4]}…"

    @admin.display(description=_("setup"))
    def setup(self, obj: Integration) -> str:
        missing = obj.missing()
        text = _("missing %(what)s") % {"what": ", ".join(missing)} if missing else _("complete")
        return str(text)

    @admin.display(description=_("deliveries"))
    def delivery_log(self, obj: Integration) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:satismeter_app_delivery_changelist")
        return format_html(
            '<a href="{}?integration__id__exact={}">{}</a>', url, obj.pk, _("Delivery log")
        )

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        missing = obj.missing()
        if obj.enabled and missing:
            messages.warning(
                request,
                _("%(integration)s sends nothing until it has its %(what)s.")
                % {"integration": obj, "what": ", ".join(missing)},
            )

    @admin.action(description=_("Send a test message"), permissions=["change"])
    def send_test_message(self, request: HttpRequest, queryset: QuerySet) -> None:
        integrations = list(self.editable(request, queryset))
        for integration in integrations:
            outbox.send_test_message(integration)
        self.message_user(
            request,
            ngettext(
                "%(count)d test message is on its way; see the delivery log.",
                "%(count)d test messages are on their way; see the delivery log.",
                len(integrations),
            )
            % {"count": len(integrations)},
            messages.SUCCESS,
        )


def kind_field_names(kind: str, cls: type[Destination]) -> list[str]:
    return [f"{kind}_{name}" for name in cls.settings_fields()]


class DeliveryAttemptInline(ReadOnlyInline):
    """Every attempt of a delivery: when, how long, the HTTP status and the error."""

    model = DeliveryAttempt
    fields = ("started", "duration_ms", "status_code", "outcome", "error")
    readonly_fields = fields
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(ProjectScopedAdmin):
    """The outbox, read only: services write it with what caused each message.

    Staff read it, delete rows, and retry: "retry now" makes pending and dead rows due with a
    fresh retry window and asks a worker to send them at once.
    """

    list_display = (
        "created",
        "destination",
        "event",
        "state",
        "attempts",
        "last_status",
        "short_error",
        "next_attempt_at",
        "delivered_at",
        "integration",
        "project",
    )
    list_filter = (
        "state",
        "destination",
        "event",
        ("created", admin.DateFieldListFilter),
        project_filter("integration"),
        project_filter(),
    )
    list_select_related = ("project", "integration")
    search_fields = ("=message_id", "destination", "event")
    date_hierarchy = "created"
    readonly_fields = (
        "payload",
        "message_id",
        "attempts",
        "last_status",
        "last_error",
        "retry_until",
        "created",
        "delivered_at",
    )
    inlines = (DeliveryAttemptInline,)
    show_full_result_count = False
    actions = ("retry",)

    @admin.display(description=_("last error"))
    def short_error(self, obj: Delivery) -> str:
        return Truncator(obj.last_error).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a hand-written message would skip the payload builders and message ids

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return self.may(request, self.edit_roles)

    @admin.action(description=_("Retry selected deliveries now"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox.retry_now(self.editable(request, queryset))
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be retried.",
                "%(count)d deliveries will be retried.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
