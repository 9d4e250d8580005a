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
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import (
    EndUser,
    Unsubscribe,
    UserEvent,
)
from ..services import decisions, privacy
from .scoping import (
    ProjectScopedAdmin,
    project_filter,
)

# Users of the host product and what they did ----------------------------------------------


@admin.register(EndUser)
class EndUserAdmin(ProjectScopedAdmin):
    list_display = ("__str__", "project", "email", "name", "language", "last_seen", "unsubscribed")
    list_filter = (project_filter(), "unsubscribed", ("erased", admin.EmptyFieldListFilter))
    list_select_related = ("project",)
    # Ids match exactly and names by prefix: that is how staff look a user up, and it keeps
    # the search from scanning for substrings across millions of users.
    search_fields = ("=user_id", "=anonymous_id", "^email", "^name")
    show_full_result_count = False  # a second COUNT(*) over millions of rows per page
    actions = ("erase_anonymise", "export_data")
    # Written by the widget and the services; targeting reads them.
    readonly_fields = (
        "first_seen",
        "last_seen",
        "last_url",
        "history",
        "erased",
        "survey_eligibility",
    )
    fieldsets = (
        (
            None,
            {"fields": ("project", "user_id", "anonymous_id", "name", "email", "language")},
        ),
        (
            _("Surveys"),
            {"fields": ("created_at", "survey_date", "unsubscribed", "survey_eligibility")},
        ),
        (_("Traits"), {"fields": ("traits", "groups")}),
        (_("Activity"), {"fields": ("first_seen", "last_seen", "last_url", "erased")}),
        (_("Survey history"), {"fields": ("history",), "classes": ("collapse",)}),
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


@admin.register(UserEvent)
class UserEventAdmin(ProjectScopedAdmin):
    list_display = ("name", "user", "project", "timestamp")
    list_filter = (project_filter(),)
    list_select_related = ("user", "project")
    search_fields = ("name", "=user__user_id")
    date_hierarchy = "timestamp"
    raw_id_fields = ("user",)
    readonly_fields = ("timestamp",)
    show_full_result_count = False


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
