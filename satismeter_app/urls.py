"""The app's URLs; include them at the site root so that paths match SatisMeter's."""

from django.urls import path

from .api import users, widget

app_name = "satismeter"

urlpatterns = [
    path("api/widget", widget.WidgetView.as_view(), name="widget"),
    path("api/displays", widget.DisplaysView.as_view(), name="displays"),
    path("api/responses", widget.ResponsesView.as_view(), name="responses"),
    path("api/responses/<int:pk>", widget.ResponseDetailView.as_view(), name="response"),
    path("api/users", users.UsersView.as_view(), name="users"),
]
