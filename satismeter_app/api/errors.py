"""The API's one error handler: the app's errors and DRF's, answered as each family of routes
has always answered them.

- SatisMeter's routes (widget, REST API, management API): a refused request is
  ``{"error": message}``, with ``field`` or ``reason`` when the error has one; DRF's own
  errors (authentication, permission, validation, not found, throttling) keep DRF's bodies.
- Segment's routes: ``{"success": false, "code", "message"}``, as Segment's libraries read it.
- Anything unexpected is a server error, answered here as JSON in the route family's words
  (on the widget routes with their CORS headers: the widget then sees a server error and
  retries, not a network failure) and logged here, once, at ERROR with its traceback on the
  ``satismeter_app`` logger. Django's other views (the admin, the email pages) leave theirs to
  Django, whose ``django.request`` logger records them; the host's LOGGING must give that
  logger a handler (the example project's does, docs/deployment.md).
- What Django itself answers with a 400 (``SuspiciousOperation``, ``BadRequest``: a request
  body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a host not in ``ALLOWED_HOSTS``) is left to Django,
  which also logs it on ``django.security``.

Every app view uses :func:`handle` through :class:`AppErrors`, never through the host's
``REST_FRAMEWORK["EXCEPTION_HANDLER"]``, which the host sets for its own views.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.utils.log import log_response
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..exceptions import RequestRefused

logger = logging.getLogger(__name__)

SERVER_ERROR = {"error": "Internal server error."}


DJANGOS_CLIENT_ERRORS = (SuspiciousOperation, BadRequest)


class AppErrors:
    """Mixed into every app view, before DRF's view class: its errors are answered by
    :func:`handle`. ``segment_errors`` picks Segment's bodies."""

    segment_errors = False

    def get_exception_handler(self) -> Any:
        return handle


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The answer to ``exc`` on the view of ``context``; None leaves it to Django."""
    segment = getattr(context.get("view"), "segment_errors", False)
    response = segment_answer(exc, context) if segment else satismeter_answer(exc, context)
    if response is not None or isinstance(exc, DJANGOS_CLIENT_ERRORS):
        return response
    return server_error(exc, context, segment=segment)


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


def server_error(exc: Exception, context: dict[str, Any], *, segment: bool = False) -> Response:
    """A 500, logged with the traceback; Django then logs the answer no second time."""
    set_rollback()  # with ATOMIC_REQUESTS, a 500 must not commit what the view half did
    if segment:
        response = failure("server_error", SERVER_ERROR["error"], 500)
    else:
        response = Response(SERVER_ERROR, status=500)
    request = context.get("request")
    # Django's own call for an uncaught error, on the app's logger: one ERROR record with the
    # traceback, the status and the request, and the answer marked as logged.
    log_response(
        "Internal Server Error: %s",
        getattr(request, "path", "?"),
        response=response,
        request=getattr(request, "_request", request),
        logger=logger,
        exception=exc,
    )
    return response


# --- the schema of the bodies above ---------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The app's refusal (:func:`error_body`)."""

    error = serializers.CharField(help_text="What is wrong.")
    field = serializers.CharField(
        required=False, help_text="The field, query parameter or path id in error."
    )
    reason = serializers.CharField(
        required=False, help_text="Why a duplicate response was refused."
    )


class DetailSerializer(serializers.Serializer):
    """DRF's own refusals: authentication, permission, not found, throttling, a bad body."""

    detail = serializers.CharField()


class FailureSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()


# A serializer's refusal lists each field in error with its messages (nested like the body).
VALIDATION_ERRORS = {
    "type": "object",
    "description": "The fields in error, each with its messages (DRF's validation errors).",
    "additionalProperties": {},
}
REFUSALS = {
    400: "Malformed or invalid: the body says what is wrong and where.",
    401: "No credential, or a wrong one.",
    403: "The credential does not open this project or object.",
    404: "No such object, or another project's.",
    429: "Too many requests: wait Retry-After seconds.",
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before the next try.",
    }
}


def refusal_schema(status: int, segment: bool, ref: Callable[[type], dict[str, str]]) -> dict:
    """The body of a 4xx answer of :func:`handle`; ``ref`` names a serializer's component."""
    if segment:
        return ref(FailureSerializer)
    kinds: list[dict[str, Any]] = [ref(ErrorSerializer), ref(DetailSerializer)]
    if status == 400:
        kinds.append(VALIDATION_ERRORS)
    return {"anyOf": kinds}


SEGMENT_FAILURES = {
    400: OpenApiResponse(FailureSerializer, description="Too large, not JSON, or invalid."),
    401: OpenApiResponse(FailureSerializer, description="No secret key, or a wrong one."),
}
