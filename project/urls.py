from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # At the site root, so that the paths match SatisMeter's (/api/widget, /js, ...).
    path("", include("satismeter_app.urls")),
]
