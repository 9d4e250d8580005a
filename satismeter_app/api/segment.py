"""Segment, inbound: the tracking API's routes and the Webhooks destination.

``POST /segment/v1/identify|track|page|screen|group|batch|import`` speak Segment's HTTP
tracking API, so that Segment's server libraries send here when their ``host`` is
``https://<this server>/segment``. The key is a secret API key of the project (``sk_…``), as
HTTP Basic user name, ``Authorization: Bearer``, ``AuthKey`` or ``writeKey`` in the body —
never the public write key. A message may be 32 KB of JSON, a batch 500 KB; over that, or
with malformed JSON, the answer is a 400 that says so. In a batch each message is validated
on its own: ``{"success": true, "accepted": N, "duplicates": D, "errors": [{"index",
"messageId", "error"}]}``; a message that can never be stored is reported there, never a 5xx
that would make Segment send the batch again. A messageId already applied to the project is
acknowledged and skipped (``duplicates``), on every route.

``POST /segment/webhook/<project id>`` takes what Segment's Webhooks destination sends (one
message, or an array), signed with ``X-Signature``: the hex HMAC-SHA1 of the exact body with
the project's ``segment_webhook_secret``. Only the exact body: Segment signs a batch by its
first message alone, which would let anyone holding one signed message append their own, so
batched webhooks must be signed over the whole body or turned off. A ``delete`` message
(Segment's deletion request for a userId) anonymises that user.

Error bodies carry ``code`` and ``message``, as Segment's own libraries read them.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from ..conf import app_settings
from ..exceptions import RequestRefused
from ..models import Project
from ..services import ingest
from .authentication import ApiKeyAuthentication, HasProjectKey
from .base import AppAPIView, F, extend_schema
from .errors import SEGMENT_FAILURES
from .parsers import StorableJSONParser, parse_json
from .secret import object_id


def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refused over ``limit`` bytes (gzip bodies too, once inflated)."""
    return json_of(read_body(request, limit))


def json_of(raw: bytes) -> Any:
    try:
        # NaN and the like are read here and reported with their message (ingest), so that
        # the other messages of a batch are kept.
        return parse_json(raw)
    except ValueError as exc:
        raise RequestRefused(f"The body is not JSON: {exc}", code="invalid_json") from None


def read_body(request: Request, limit: int) -> bytes:
    """The body's bytes, refused over ``limit`` bytes (gzip bodies too, once inflated)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise RequestRefused(f"The body is {length} bytes; the limit is {limit}.", code="too_large")
    raw = request._request.body
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        raw = _gunzip(raw, limit)
    if len(raw) > limit:
        raise RequestRefused(
            f"The body is {len(raw)} bytes; the limit is {limit}.", code="too_large"
        )
    return raw


def _gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise RequestRefused(
            "Content-Encoding is gzip, the body is not.", code="invalid_gzip"
        ) from None
    if len(data) > limit:
        raise RequestRefused(f"The inflated body is over {limit} bytes.", code="too_large")
    return data


class SegmentKeyAuthentication(ApiKeyAuthentication):
    """A secret API key in a header, or as ``writeKey`` in the body as Segment's libraries
    send it."""

    def authenticate(self, request: Request) -> Any:
        found = super().authenticate(request)
        if found is not None:
            return found
        body = getattr(request, "segment_body", None)
        key = body.get("writeKey") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            return None
        return self.authenticate_key(key, request)


class SegmentView(AppAPIView):
    """Shared by the tracking routes: size limits, key, Segment-style errors."""

    segment_errors = True
    authentication_classes = [SegmentKeyAuthentication]
    permission_classes = [HasProjectKey]
    throttle_classes: list[Any] = []
    parser_classes = [StorableJSONParser]
    body_limit_setting = "MAX_MESSAGE_BYTES"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Read (and size-check) the body before the key: the key may be in it.
        request.segment_body = read_json(request, getattr(app_settings, self.body_limit_setting))  # type: ignore[attr-defined]
        if not isinstance(request.segment_body, dict):  # type: ignore[attr-defined]
            raise RequestRefused("The body must be a JSON object.", code="invalid_body")
        super().initial(request, *args, **kwargs)

    def project_id(self) -> int:
        return int(self.request.auth.project_id)  # type: ignore[union-attr]


def accepted(result: ingest.Result) -> Response:
    return Response(
        {
            "success": True,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "errors": [e.as_dict() for e in result.errors],
        }
    )


# --- the schema -------------------------------------------------------------------------------


class SegmentMessageSerializer(serializers.Serializer):
    """One Segment message; anything else it carries is accepted and ignored."""

    type = serializers.CharField(
        required=False, help_text="identify, track, page, screen or group; implied by the route."
    )
    userId = serializers.CharField(required=False, allow_null=True)
    anonymousId = serializers.CharField(required=False, allow_null=True)
    traits = serializers.DictField(required=False)
    event = serializers.CharField(required=False)
    properties = serializers.DictField(required=False)
    groupId = serializers.CharField(required=False)
    context = serializers.DictField(required=False)  # type: ignore[assignment]
    integrations = serializers.DictField(required=False)
    timestamp = serializers.CharField(required=False)
    messageId = serializers.CharField(required=False)
    writeKey = serializers.CharField(required=False)


class SegmentBatchSerializer(serializers.Serializer):
    batch = SegmentMessageSerializer(many=True)
    context = serializers.DictField(required=False)  # type: ignore[assignment]
    integrations = serializers.DictField(required=False)
    sentAt = serializers.CharField(required=False)
    writeKey = serializers.CharField(required=False)


class RejectedSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    messageId = serializers.CharField(allow_null=True)
    error = serializers.CharField()


class AcceptedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    accepted = serializers.IntegerField(help_text="Valid messages, applied now or before.")
    duplicates = serializers.IntegerField(
        help_text="Of them, those whose messageId was applied before: acknowledged, skipped."
    )
    errors = RejectedSerializer(many=True)  # type: ignore[assignment]


def segment_operation(
    name: str, summary: str, request: type[serializers.Serializer], **more: Any
) -> Callable[[F], F]:
    """The schema of a Segment route: Segment's answer and failures, under the segment tag."""
    return extend_schema(
        operation_id=f"segment_{name}",
        summary=summary,
        request=request,
        responses={200: AcceptedSerializer, **SEGMENT_FAILURES},
        tags=["segment"],
        **more,
    )


# --- the routes -------------------------------------------------------------------------------


def message_view(message_type: str) -> type[SegmentView]:
    """The view of one single-message route, e.g. ``/segment/v1/identify``."""

    class MessageView(SegmentView):
        @segment_operation(
            message_type, f"Segment {message_type} (tracking API)", SegmentMessageSerializer
        )
        def post(self, request: Request) -> Response:
            body = request.segment_body  # type: ignore[attr-defined]
            return accepted(ingest.ingest_one(self.project_id(), body, message_type))

    MessageView.__name__ = MessageView.__qualname__ = f"Segment{message_type.title()}View"
    return MessageView


class BatchView(SegmentView):
    body_limit_setting = "MAX_BATCH_BYTES"

    @segment_operation(
        "batch", "Segment batch (tracking API; /import is the same)", SegmentBatchSerializer
    )
    def post(self, request: Request) -> Response:
        body = request.segment_body  # type: ignore[attr-defined]
        messages = body.get("batch")
        if not isinstance(messages, list):
            raise RequestRefused("batch must be an array of messages.", code="invalid_batch")
        if len(messages) > ingest.MAX_BATCH_MESSAGES:
            limit = ingest.MAX_BATCH_MESSAGES
            raise RequestRefused(
                f"{len(messages)} messages; the limit is {limit}.", code="too_many"
            )
        return accepted(ingest.ingest(self.project_id(), messages, defaults=body))


class ImportView(BatchView):
    @segment_operation(
        "import", "Segment import (the legacy name of batch)", SegmentBatchSerializer
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- the Webhooks destination -----------------------------------------------------------------


def signature_matches(secret: str, raw: bytes, given: str) -> bool:
    """Whether ``given`` is the hex HMAC-SHA1 of exactly ``raw`` with ``secret``.

    The bytes as they came, never a re-serialisation of the JSON, and never one message of a
    batch: a signature then covers what the sender signed and nothing added to it.
    """
    expected = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    given = given.strip().lower()
    # compare_digest refuses non-ASCII text with a TypeError: such a header is simply wrong.
    return given.isascii() and hmac.compare_digest(expected, given)


class SegmentWebhookView(AppAPIView):
    segment_errors = True
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [StorableJSONParser]

    @segment_operation(
        "webhook",
        "Segment's Webhooks destination (signed with X-Signature)",
        SegmentMessageSerializer,
        parameters=[
            OpenApiParameter(
                "X-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Hex HMAC-SHA1 of the exact body with the project's webhook secret.",
            )
        ],
    )
    def post(self, request: Request, project: str) -> Response:
        raw = read_body(request, app_settings.MAX_BATCH_BYTES)
        # Verified before the body is read as JSON: nothing unsigned is parsed.
        project_id = self.verified_project(request, project, raw)
        if project_id is None:
            raise RequestRefused(
                "Unknown webhook, or a wrong X-Signature.",
                status_code=401,
                code="invalid_signature",
            )
        body = json_of(raw)
        messages = body if isinstance(body, list) else [body]
        if len(messages) > ingest.MAX_BATCH_MESSAGES:
            raise RequestRefused("Too many messages in one request.", code="too_many")
        return accepted(ingest.ingest(project_id, messages, webhook=True))

    def verified_project(self, request: Request, project: str, raw: bytes) -> int | None:
        row = (
            Project.objects.filter(pk=object_id(project))
            .exclude(segment_webhook_secret="")
            .values_list("pk", "segment_webhook_secret")
            .first()
        )
        given = request.headers.get("X-Signature", "")
        if row is None or not given:
            return None
        pk, secret = row
        return pk if signature_matches(secret, raw, given) else None
