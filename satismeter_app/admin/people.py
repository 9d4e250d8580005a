"""Users of the host product, what they did, and the addresses that get no email."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import (
    EndUser,
    Survey,
    Unsubscribe,
    UserEvent,
)
from ..services import decisions, privacy
from . import readonly
from .results import clipped, user_cell
from .scoping import (
    ProjectScopedAdmin,
    ViewOnlyAdmin,
    project_filter,
)

# What the product says about a user (widget, users API, Segment): shown, never edited here.
PRODUCT_FIELDS = ("user_id", "anonymous_id", "name", "email", "language", "created_at")

# Users of the host product and what they did ----------------------------------------------


@admin.register(EndUser)
class EndUserAdmin(ProjectScopedAdmin):
    """Users as the product identified them: their ids, name, email, language and traits come
    from the product (widget, users API, Segment) and are shown, never edited here; staff set
    only what is theirs to set — the survey date and the unsubscribe. Nobody adds a user here,
    and deleting one is the user's erasure (privacy.erase_user)."""

    list_display = ("user_name", "contact", "last_seen_cell", "project")
    list_filter = (
        project_filter(),
        "unsubscribed",
        ("erased", admin.EmptyFieldListFilter),
        "is_test",
    )
    list_select_related = ("project",)
    # Ids match exactly and names by prefix: that is how staff look a user up, and it keeps
    # the search from scanning for substrings across millions of users.
    search_fields = ("=user_id", "=anonymous_id", "^email", "^name")
    show_full_result_count = False  # a second COUNT(*) over millions of rows per page
    actions = ("erase_anonymise", "export_data")
    readonly_fields = (
        "project",
        *PRODUCT_FIELDS,
        "is_test",
        "survey_eligibility",
        "traits_table",
        "groups_table",
        "first_seen",
        "last_seen",
        "last_url",
        "erased",
        "history_table",
    )
    fieldsets = (
        (None, {"fields": ("project", "user_id", "anonymous_id", "name", "email", "language")}),
        (
            _("Surveys"),
            {"fields": ("created_at", "survey_date", "unsubscribed", "survey_eligibility")},
        ),
        (_("Traits"), {"fields": ("traits_table", "groups_table")}),
        (_("Activity"), {"fields": ("first_seen", "last_seen", "last_url", "erased", "is_test")}),
        (_("Survey history"), {"fields": ("history_table",), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: EndUser) -> None:
        privacy.erase_user(obj, privacy.DELETE)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in self.editable(request, queryset):
            privacy.erase_user(user, privacy.DELETE)

    @admin.display(description=_("user"), ordering="user_id")
    def user_name(self, obj: EndUser) -> str:
        return user_cell(obj)

    @admin.display(description=_("last seen"), ordering="last_seen")
    def last_seen_cell(self, obj: EndUser) -> str:
        return readonly.when_cell(obj.last_seen)

    @admin.display(description=_("name and email"), ordering="name")
    def contact(self, obj: EndUser) -> str:
        """The name, then the address and whether it gets survey email (the unsubscribed
        filter lists those who do not)."""
        unsubscribed = (
            format_html(' <span class="sm-test">{}</span>', _("unsubscribed"))
            if obj.unsubscribed
            else ""
        )
        return format_html(
            '{}<br><span class="sm-clip sm-quiet">{}</span>{}',
            clipped(obj.name),
            obj.email,
            unsubscribed,
        )

    @admin.action(description=_("Erase (anonymise) selected users"), permissions=["change"])
    def erase_anonymise(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Identity, traits and comments go; the ratings stay (privacy.erase_user)."""
        users = list(self.editable(request, queryset).filter(erased__isnull=True))
        for user in users:
            privacy.erase_user(user)
        self.message_user(
            request,
            ngettext("%(count)d user was erased.", "%(count)d users were erased.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Export data of selected users (JSON)"), permissions=["view"])
    def export_data(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        users = self.scoped(request, queryset, self.view_roles)
        data = [privacy.export_user(user) for user in users]
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json",
        )
        response["Content-Disposition"] = 'attachment; filename="users.json"'
        return response

    @admin.display(description=_("Would see now"))
    def survey_eligibility(self, obj: EndUser) -> str:
        """Each survey's targeting decision for this user, with the reason, for staff."""
        if obj.pk is None:
            return "—"
        decisions_now = decisions.explain(obj, timezone.now())
        return render_to_string(
            "admin/satismeter_app/enduser/survey_eligibility.html", {"decisions": decisions_now}
        )

    @admin.display(description=_("traits"))
    def traits_table(self, obj: EndUser) -> str:
        return readonly.key_value_table(obj.traits)

    @admin.display(description=_("groups"))
    def groups_table(self, obj: EndUser) -> str:
        groups = obj.groups if isinstance(obj.groups, dict) else {}
        return readonly.key_value_table(groups)

    @admin.display(description=_("survey history"))
    def history_table(self, obj: EndUser) -> str:
        return render_to_string(
            "admin/satismeter_app/enduser/history.html", survey_history(obj.history)
        )


def survey_history(kept: Any) -> dict[str, Any]:
    """The user's history row (history.py) for a template: per survey and per event, times as
    datetimes (the page shows them in the locale's format), the surveys by name."""
    kept = kept if isinstance(kept, dict) else {}
    surveys = kept.get("surveys") or {}
    names = dict(
        Survey.objects.filter(pk__in=[key for key in surveys if str(key).isdigit()]).values_list(
            "pk", "name"
        )
    )
    rows = [
        {
            "survey": names.get(int(key), key) if str(key).isdigit() else key,
            "displays": entry.get("displays", 0),
            "last_display": readonly.parse_time(entry.get("last_display")),
            "answered": readonly.parse_time(entry.get("answered")),
            "dismissed": readonly.parse_time(entry.get("dismissed")),
        }
        for key, entry in surveys.items()
        if isinstance(entry, dict)
    ]
    events = [
        (name, readonly.parse_time(when))
        for name, when in sorted((kept.get("events") or {}).items())
    ]
    return {"surveys": rows, "events": events}


@admin.register(UserEvent)
class UserEventAdmin(ViewOnlyAdmin):
    list_display = ("name", "user_name", "time", "project")
    list_filter = (project_filter(),)
    list_select_related = ("user", "project")
    search_fields = ("name", "=user__user_id")
    date_hierarchy = "timestamp"
    fields = ("project", "user", "name", "timestamp", "properties_table")
    readonly_fields = ("properties_table",)
    show_full_result_count = False

    @admin.display(description=_("user"))
    def user_name(self, obj: UserEvent) -> str:
        return user_cell(obj.user)

    @admin.display(description=_("time"), ordering="timestamp")
    def time(self, obj: UserEvent) -> str:
        return readonly.when_cell(obj.timestamp)

    @admin.display(description=_("properties"))
    def properties_table(self, obj: UserEvent) -> str:
        return readonly.key_value_table(obj.properties)


@admin.register(Unsubscribe)
class UnsubscribeAdmin(ProjectScopedAdmin):
    list_display = ("email", "project", "source", "created")
    list_filter = ("source", project_filter())
    list_select_related = ("project",)
    search_fields = ("email",)
    readonly_fields = ("source", "created")

    def save_model(self, request: HttpRequest, obj: Unsubscribe, form: Any, change: bool) -> None:
        if not change:
            obj.source = Unsubscribe.Source.ADMIN
        super().save_model(request, obj, form, change)
