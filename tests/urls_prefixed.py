"""The tests' host project with the app under a prefix instead of the site root, as
docs/widget.md allows: every URL the app hands out must keep the prefix."""

from django.contrib import admin
from django.urls import include, path

PREFIX = "nps/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(PREFIX, include("satismeter_app.urls")),
]
