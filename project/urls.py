from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico; the site's icon is the project's business,
    not the reusable app's (a host has its own), so the example project answers it."""
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    # At the site root, so that the paths match SatisMeter's (/api/widget, /js, ...).
    path("", include("satismeter_app.urls")),
]
