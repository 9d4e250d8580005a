"""The app's URLs; include them at the site root so that paths match SatisMeter's.

Every SatisMeter-compatible route answers the same with and without a trailing slash (see
:func:`compatible`); the management API, the schema, the script and the pages have one form.
"""

from django.urls import URLPattern, include, path
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from . import email_views, views
from .api import exports, manage, schema, segment, unsubscribes, users, v3, widget

manage_router = SimpleRouter(trailing_slash=False)
manage_router.register("projects", manage.ProjectViewSet, basename="manage-project")
manage_router.register("surveys", manage.SurveyViewSet, basename="manage-survey")
manage_router.register("integrations", manage.IntegrationViewSet, basename="manage-integration")
manage_router.register("users", manage.EndUserViewSet, basename="manage-user")
manage_router.register("responses", manage.ResponseViewSet, basename="manage-response")
manage_router.register("tags", manage.TagViewSet, basename="manage-tag")

V3_PROJECT = "api/v3/projects/<str:project>"
SEGMENT_TYPES = ("identify", "track", "page", "screen", "group")
# Segment's tracking API, by the last part of the path: a route per message type, and batches.
SEGMENT_ROUTES: dict[str, type[segment.SegmentView]] = {
    **{kind: segment.message_view(kind) for kind in SEGMENT_TYPES},
    "batch": segment.BatchView,
    "import": segment.ImportView,
}

# SatisMeter's routes: (route, view, name). Their clients write them with and without a
# trailing slash (`/api/responses/?project=…`).
COMPATIBLE: list[tuple[str, type[APIView], str]] = [
    ("api/widget", widget.WidgetView, "widget"),
    ("api/displays", widget.DisplaysView, "displays"),
    ("api/responses", widget.ResponsesView, "responses"),
    ("api/responses/<int:pk>", widget.ResponseDetailView, "response"),
    # The REST API with a project's secret key (docs/rest-api.md).
    ("api/users", users.UsersView, "users"),
    ("api/users/<int:pk>", users.UserDetailView, "user"),
    ("api/users/<int:pk>/export", users.UserExportView, "user-export"),
    ("api/v2/response-statistics", exports.StatisticsView, "v2-statistics"),
    (
        "api/v2/project-unsubscribes/<str:project>",
        unsubscribes.ProjectUnsubscribesView,
        "v2-unsubscribes",
    ),
    (V3_PROJECT, v3.ProjectView, "v3-project"),
    (f"{V3_PROJECT}/campaigns", v3.CampaignsView, "v3-campaigns"),
    (f"{V3_PROJECT}/campaigns/<str:cid>", v3.CampaignView, "v3-campaign"),
    (f"{V3_PROJECT}/responses", v3.ResponsesView, "v3-responses"),
    (
        f"{V3_PROJECT}/campaigns/<str:cid>/responses",
        v3.CampaignResponsesView,
        "v3-campaign-responses",
    ),
    (
        f"{V3_PROJECT}/campaigns/<str:cid>/statistics",
        v3.CampaignStatisticsView,
        "v3-campaign-statistics",
    ),
    # Segment, inbound: the tracking API under /segment (a client's host), and webhooks.
    *((f"segment/v1/{name}", view, f"segment-{name}") for name, view in SEGMENT_ROUTES.items()),
    ("segment/webhook/<str:project>", segment.SegmentWebhookView, "segment-webhook"),
]


def compatible(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """One of SatisMeter's routes, with and without a trailing slash, both answered by the view.

    No redirect from one to the other (Django's APPEND_SLASH only adds a slash, and it is
    a redirect): clients do not follow one for a POST or PUT, some not even for a GET. The
    slashed form has no name, so that ``reverse()`` gives the slash-less URL SatisMeter
    documents, and no schema (DRF's ``schema=None``), so that OpenAPI lists each path once.
    """
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None)),
    ]


app_name = "satismeter"

urlpatterns = [
    *(pattern for entry in COMPATIBLE for pattern in compatible(*entry)),
    # Staff: the management API, and the OpenAPI schema with its interactive docs.
    path("api/manage/", include(manage_router.urls)),
    path("api/schema/", schema.SchemaView.as_view(), name="schema"),
    path("api/docs/", schema.DocsView.as_view(url_name="satismeter:schema"), name="docs"),
    # The widget script, at SatisMeter's current and older paths. No slashed form: the script
    # finds the API by the path it was loaded from, which must end in /js or /satismeter.js.
    path("js", views.script, name="script"),
    path("satismeter.js", views.script, name="script-legacy"),
    # The code for questions beyond the rating and the comment, loaded only by surveys that
    # have them (docs/widget.md).
    path("js/questions", views.questions_script_view, name="script-questions"),
    path("sample", views.sample, name="sample"),
    # The links of reminder emails (docs/email.md).
    path("email/r/<str:token>", email_views.score, name="email-score"),
    path("email/u/<str:token>", email_views.unsubscribe, name="email-unsubscribe"),
    path("email/h/<str:token>", email_views.honeypot, name="email-honeypot"),
    # The opt-out link of staff alerts and digests (docs/staff-email.md).
    path("email/staff-off/<str:token>", email_views.staff_email_off, name="staff-email-off"),
]
