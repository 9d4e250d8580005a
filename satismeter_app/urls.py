"""The app's URLs; include them at the site root so that paths match SatisMeter's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import email_views, views
from .api import exports, manage, schema, segment, unsubscribes, users, v3, widget

manage_router = SimpleRouter(trailing_slash=False)
manage_router.register("projects", manage.ProjectViewSet, basename="manage-project")
manage_router.register("surveys", manage.SurveyViewSet, basename="manage-survey")
manage_router.register("integrations", manage.IntegrationViewSet, basename="manage-integration")
manage_router.register("users", manage.EndUserViewSet, basename="manage-user")
manage_router.register("responses", manage.ResponseViewSet, basename="manage-response")

V3_PROJECT = "api/v3/projects/<str:project>"
SEGMENT_TYPES = ("identify", "track", "page", "screen", "group")
# Segment's tracking API, by the last part of the path: a route per message type, and batches.
SEGMENT_ROUTES: dict[str, type[segment.SegmentView]] = {
    **{kind: segment.message_view(kind) for kind in SEGMENT_TYPES},
    "batch": segment.BatchView,
    "import": segment.ImportView,
}

app_name = "satismeter"

urlpatterns = [
    path("api/widget", widget.WidgetView.as_view(), name="widget"),
    path("api/displays", widget.DisplaysView.as_view(), name="displays"),
    path("api/responses", widget.ResponsesView.as_view(), name="responses"),
    path("api/responses/<int:pk>", widget.ResponseDetailView.as_view(), name="response"),
    # The REST API with a project's secret key (docs/rest-api.md).
    path("api/users", users.UsersView.as_view(), name="users"),
    path("api/users/<int:pk>", users.UserDetailView.as_view(), name="user"),
    path("api/users/<int:pk>/export", users.UserExportView.as_view(), name="user-export"),
    path("api/v2/response-statistics", exports.StatisticsView.as_view(), name="v2-statistics"),
    path(
        "api/v2/project-unsubscribes/<str:project>",
        unsubscribes.ProjectUnsubscribesView.as_view(),
        name="v2-unsubscribes",
    ),
    path(V3_PROJECT, v3.ProjectView.as_view(), name="v3-project"),
    path(f"{V3_PROJECT}/campaigns", v3.CampaignsView.as_view(), name="v3-campaigns"),
    path(f"{V3_PROJECT}/campaigns/<str:cid>", v3.CampaignView.as_view(), name="v3-campaign"),
    path(f"{V3_PROJECT}/responses", v3.ResponsesView.as_view(), name="v3-responses"),
    path(
        f"{V3_PROJECT}/campaigns/<str:cid>/responses",
        v3.CampaignResponsesView.as_view(),
        name="v3-campaign-responses",
    ),
    path(
        f"{V3_PROJECT}/campaigns/<str:cid>/statistics",
        v3.CampaignStatisticsView.as_view(),
        name="v3-campaign-statistics",
    ),
    # Segment, inbound: the tracking API under /segment (a client's host), and webhooks.
    *(
        path(f"segment/v1/{name}", view.as_view(), name=f"segment-{name}")
        for name, view in SEGMENT_ROUTES.items()
    ),
    path(
        "segment/webhook/<str:project>",
        segment.SegmentWebhookView.as_view(),
        name="segment-webhook",
    ),
    # Staff: the management API, and the OpenAPI schema with its interactive docs.
    path("api/manage/", include(manage_router.urls)),
    path("api/schema/", schema.SchemaView.as_view(), name="schema"),
    path("api/docs/", schema.DocsView.as_view(url_name="satismeter:schema"), name="docs"),
    # The widget script, at SatisMeter's current and older paths.
    path("js", views.script, name="script"),
    path("satismeter.js", views.script, name="script-legacy"),
    path("sample", views.sample, name="sample"),
    # The links of reminder emails (docs/email.md).
    path("email/r/<str:token>", email_views.score, name="email-score"),
    path("email/u/<str:token>", email_views.unsubscribe, name="email-unsubscribe"),
    path("email/h/<str:token>", email_views.honeypot, name="email-honeypot"),
]
