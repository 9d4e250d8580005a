"""The API's one error handler: the app's errors and DRF's, answered as each family of routes
has always answered them.

- SatisMeter's routes (widget, REST API, management API): a refused request is
  ``{"error": message}``, with ``field`` or ``reason`` when the error has one; DRF's own
  errors (authentication, permission, validation, not found, throttling) keep DRF's bodies.
- Segment's routes: ``{"success": false, "code", "message"}``, as Segment's libraries read it.
- Anything unexpected is a server error. The widget routes answer it themselves, as JSON that
  carries their CORS headers (the widget then sees a server error and retries, not a network
  failure); on the others Django answers it. Either way it is logged with its traceback: here,
  or by Django's ``django.request`` logger.

Every app view uses :func:`handle` through :class:`AppErrors`, never through the host's
``REST_FRAMEWORK["EXCEPTION_HANDLER"]``, which the host sets for its own views.
"""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..exceptions import RequestRefused

logger = logging.getLogger(__name__)

SERVER_ERROR = {"error": "Internal server error."}


class AppErrors:
    """Mixed into every app view, before DRF's view class: its errors are answered by
    :func:`handle`. ``segment_errors`` picks Segment's bodies; ``answers_server_errors``
    answers unexpected errors instead of leaving them to Django."""

    segment_errors = False
    answers_server_errors = False

    def get_exception_handler(self) -> Any:
        return handle


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The answer to ``exc`` on the view of ``context``; None leaves it to Django (a 500)."""
    view = context.get("view")
    if getattr(view, "segment_errors", False):
        response = segment_answer(exc, context)
    else:
        response = satismeter_answer(exc, context)
    if response is None and getattr(view, "answers_server_errors", False):
        return server_error(exc, context)
    return response


def error_body(exc: RequestRefused) -> dict[str, Any]:
    """``{"error": message}``, with the ``field`` or the ``reason`` the error names."""
    body: dict[str, Any] = {"error": str(exc)}
    body.update({name: getattr(exc, name) for name in ("field", "reason") if hasattr(exc, name)})
    return body


def satismeter_answer(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestRefused):
        return Response(error_body(exc), status=exc.status_code)
    return drf_exception_handler(exc, context)


def failure(code: str, message: str, status: int) -> Response:
    """A refusal as Segment's tracking API words it."""
    return Response({"success": False, "code": code, "message": message}, status=status)


def segment_answer(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestRefused):
        return failure(exc.code, str(exc), exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException):
        data = response.data
        detail = data.get("detail", exc.detail) if isinstance(data, dict) else exc.detail
        response.data = {"success": False, "code": exc.default_code, "message": str(detail)}
    return response


def server_error(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    logger.error("Unexpected error on %s", getattr(request, "path", "?"), exc_info=exc)
    set_rollback()  # with ATOMIC_REQUESTS, a 500 must not commit what the view half did
    return Response(SERVER_ERROR, status=500)


# --- the schema of the bodies above ---------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    field = serializers.CharField(required=False)


class FailureSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()


SEGMENT_FAILURES = {
    400: OpenApiResponse(FailureSerializer, description="Too large, not JSON, or invalid."),
    401: OpenApiResponse(FailureSerializer, description="No secret key, or a wrong one."),
}
