"""The tests' URLs: the app at the site root, as the README tells a host project to mount it."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("satismeter_app.urls")),
]
