"""The project's URLs plus ``GET /bench/ping``, the baseline of the widget bench.

The ping view is the least a DRF view can do: no authentication, permission or throttle, a
constant JSON body. It goes through the same middleware, WSGI server and client as
``POST /api/widget``, so the ratio of the two shows what the widget route itself costs.
"""

from typing import Any

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from project.urls import urlpatterns as project_urlpatterns


class PingView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [path("bench/ping", PingView.as_view(), name="bench-ping"), *project_urlpatterns]
