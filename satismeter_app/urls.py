"""The app's URLs; include them at the site root so that paths match SatisMeter's."""

from django.urls import URLPattern, URLResolver

app_name = "satismeter"

urlpatterns: list[URLPattern | URLResolver] = []
