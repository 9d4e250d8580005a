"""The public widget routes, authenticated by the project's write key, open to any origin.

``POST /api/widget`` identifies the user and answers whether a survey is due;
``POST /api/displays`` records that it was shown; ``POST /api/responses`` starts a response
and ``PUT /api/responses/<id>`` (with the ``auth-token`` header) saves it further.
"""

from __future__ import annotations

import functools
import hmac
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import device, i18n, keys, links, permissions, targeting
from ..conf import app_settings
from ..exceptions import InvalidInput, RequestRefused
from ..services import decisions, identity, installation, responses, snapshots
from ..services.snapshots import NOT_READ, ProjectConfig, project_config
from ..views import questions_script_url
from . import serializers, throttling
from .base import AppAPIView, extend_schema
from .exports import ResponseExport, ResponseRead
from .parsers import DEFAULT_PARSERS
from .throttling import ClientThrottle, WriteKeyThrottle

CREATED = {201: serializers.CreatedSerializer}
# Refusals of these routes beyond the ones every route documents (api/base.py AppAutoSchema).
TOO_LARGE = {413: OpenApiResponse(description="The request body is over the size limit.")}
CLOSED = {409: OpenApiResponse(description="The response is closed: it takes no more saves.")}


class StaffSessionAuthentication(BaseAuthentication):
    """The staff login of the admin, if any, for previews. Without CSRF enforcement: the
    only thing a session adds on these routes is showing a survey to its own browser."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active or not user.is_staff:
            return None
        return (user, None)


class PublicWidgetView(AppAPIView):
    """Shared by the widget routes: CORS for any origin, throttles, write key, errors."""

    authentication_classes = [StaffSessionAuthentication]
    permission_classes: list[Any] = []
    throttle_classes = [ClientThrottle, WriteKeyThrottle]
    parser_classes = DEFAULT_PARSERS  # JSON with NUL or lone surrogates is a 400, not a 500
    # What the route's POST or PUT accepts: parse() validates the body with it, and its
    # @extend_schema names it as the request.
    accepts: type[serializers.StrictSerializer]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "POST, PUT, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, auth-token"
        response["Access-Control-Expose-Headers"] = "Location, auth-token"
        response["Access-Control-Max-Age"] = "86400"
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before the throttles read the body: traits may take 32 KB, the rest is small.
        limit = app_settings.MAX_MESSAGE_BYTES * 2
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise RequestRefused(f"The request body is over {limit} bytes.", status_code=413)
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request: Request) -> None:
        # Lazily, as DRF allows: only a preview asks who the caller is (may_preview), so a
        # page view's call does not load a session.
        pass

    def check_throttles(self, request: Request) -> None:
        # One round trip to the cache: the rate limits, the version of the write key's
        # configuration that project() then finds held by this process (services/snapshots),
        # and the install page's note of the call (services/installation).
        write_key = throttling.write_key_of(request)
        reads = [snapshots.version_key(write_key)] if write_key else []
        writes = [_call_note(write_key, request)] if write_key and not _previews(request) else []
        checked = throttling.check(request, self.get_throttles(), reads, writes)
        if write_key:
            version = checked.values[0] if checked.reached else snapshots.UNREACHABLE
            self.config_version = (write_key, version)
        if checked.wait is not None:
            self.throttled(request, checked.wait)

    def parse(self) -> dict[str, Any]:
        """The body, validated by the route's ``accepts`` serializer (or, for a well-formed
        body, by its fast path: serializers.FastPath)."""
        validated = _fast_path(self.accepts)(self.request.data)
        if validated is not None:
            return validated
        if not isinstance(self.request.data, dict):
            raise ParseError("Send a JSON object.")
        serializer = self.accepts(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def project(self, data: dict[str, Any]) -> ProjectConfig:
        write_key = data.get("writeKey") or ""
        read_key, version = getattr(self, "config_version", ("", snapshots.NOT_READ))
        config = None
        if keys.may_be_write_key(write_key):
            config = project_config(
                write_key, version=version if read_key == write_key else NOT_READ
            )
        if config is None:
            raise RequestRefused("Invalid write key.", status_code=401)
        return config

    @staticmethod
    def who(data: dict[str, Any]) -> identity.Identity:
        return identity.Identity(data.get("userId"), data.get("anonymousId"))

    def user(self, config: ProjectConfig, data: dict[str, Any]) -> Any:
        """The caller, found or created; the traits of a group call are the group's."""
        who = self.who(data)
        self.verify_identity(config, who, data.get("userHash"))
        traits = None if data.get("type") == "group" else data.get("traits")
        return identity.identify(
            config.id,
            who,
            traits,
            url=_page_url(data),
            now=timezone.now(),
            verified=config.identity_verification,
        )

    def read_call(self) -> tuple[dict[str, Any], ProjectConfig, Any]:
        """The call's data, its project (by the write key) and its user."""
        data = self.parse()
        config = self.project(data)
        return data, config, self.user(config, data)

    def may_preview(self, config: ProjectConfig) -> bool:
        """Staff previews: a logged-in member of the project, or DEBUG in the demo."""
        if settings.DEBUG and app_settings.ALLOW_PREVIEW_IN_DEBUG:
            return True
        return permissions.may(self.request.user, config.id)

    def forced(self, config: ProjectConfig, data: dict[str, Any]) -> bool:
        return bool(data.get("forceSurvey")) and self.may_preview(config)

    @staticmethod
    def verify_identity(config: ProjectConfig, who: identity.Identity, given: Any) -> None:
        if not config.identity_verification or who.user_id is None:
            return
        expected = keys.user_hash(who.user_id, config.verification_secret).encode()
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
        given_bytes = given.lower().encode("utf-8", "replace") if isinstance(given, str) else b""
        if not given_bytes or not hmac.compare_digest(expected, given_bytes):
            raise RequestRefused(
                "Identity verification is on: userHash must be the HMAC-SHA256 "
                "of the userId with the project's verification secret.",
                status_code=403,
            )


@functools.cache
def _fast_path(accepts: type[serializers.StrictSerializer]) -> serializers.FastPath:
    return serializers.FastPath(accepts)


def _page_url(data: dict[str, Any]) -> str:
    properties = data.get("properties") or {}
    url = data.get("url") or data.get("referrer") or properties.get("url") or ""
    return str(url)[:4096]


def _call_translation(data: dict[str, Any]) -> dict[str, Any] | None:
    """The ``translation`` trait this call sends (a group call's traits are the group's): it
    overrides the texts of this call's answer only, never an email or a later answer."""
    traits = data.get("traits") if data.get("type") != "group" else None
    translation = (traits or {}).get("translation")
    return translation if isinstance(translation, dict) else None


def _previews(request: Request) -> bool:
    """A staff preview of a survey (the admin's form): not the product's installation."""
    return isinstance(request.data, dict) and bool(request.data.get("previewCampaign"))


def _call_note(write_key: str, request: Request) -> Any:
    origin = request.META.get("HTTP_ORIGIN") or ""
    return installation.widget_call_note(write_key, str(origin), _user_agent(request))


def _user_agent(request: Request) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:1000]


class WidgetView(PublicWidgetView):
    """Identify the user, record the page or event, and decide whether to show a survey."""

    accepts = serializers.WidgetCallSerializer

    @extend_schema(
        request=accepts,
        responses={200: serializers.WidgetAnswerSerializer, **TOO_LARGE},
        summary="Identify the user and decide whether a survey is due",
    )
    def post(self, request: Request) -> Response:
        data = self.parse()
        config = self.project(data)
        preview, force = self.preview(config, data)
        now = timezone.now()
        if preview is None:
            user = self.user(config, data)
            self.record_event_or_group(config, user, data, now)
        else:  # a staff preview of one survey records nothing, not even its user
            user = identity.stand_in(config.id, self.who(data), data.get("traits"), now=now)
        device_type = device.device_type(_user_agent(request))
        context = targeting.Context(url=_page_url(data), device_type=device_type, force=force)
        verdict = decisions.decide(config, user, context, now, preview=preview)
        return Response({"widget": self.widget(config, user, verdict, data, force)})

    def record_event_or_group(
        self, config: ProjectConfig, user: Any, data: dict[str, Any], now: Any
    ) -> None:
        if data.get("type") == "track":
            identity.track(user, data["event"], data.get("properties") or {}, now)
        verified = config.identity_verification
        if data.get("type") == "group" and identity.may_describe(
            user, self.who(data), verified=verified
        ):
            identity.add_group(user, data["groupId"], data.get("traits") or {}, now)

    def preview(self, config: ProjectConfig, data: dict[str, Any]) -> tuple[Any, bool]:
        wanted = data.get("forceSurvey") or data.get("previewCampaign")
        if not wanted:
            return None, False
        if not self.may_preview(config):
            return None, False
        if data.get("previewCampaign"):
            survey = decisions.preview_survey(config, data["previewCampaign"])
            if survey is None:
                raise RequestRefused("previewCampaign names no survey of this project.")
            return survey, True
        return None, True

    def widget(
        self, config: ProjectConfig, user: Any, verdict: decisions.Verdict, data: dict, force: bool
    ) -> dict[str, Any]:
        if verdict.survey is None:
            return {"visible": False}
        languages = data.get("languages") or i18n.parse_accept_language(
            self.request.META.get("HTTP_ACCEPT_LANGUAGE", "")
        )
        survey = decisions.survey_for_widget(
            config, verdict.survey, user, languages, _call_translation(data)
        )
        if decisions.asks_more(verdict.survey):
            survey["script"] = questions_script_url()
        return {"visible": True, "campaign": survey["id"], "survey": survey, "preview": force}


class DisplaysView(PublicWidgetView):
    accepts = serializers.DisplaySerializer

    @extend_schema(
        request=accepts,
        responses={**CREATED, **TOO_LARGE},
        summary="Record that the survey was shown",
    )
    def post(self, request: Request) -> Response:
        data, config, user = self.read_call()
        display = responses.record_display(
            config,
            user,
            data["campaign"],
            url=_page_url(data),
            now=timezone.now(),
            forced=self.forced(config, data),
        )
        return Response({"id": str(display.pk)}, status=status.HTTP_201_CREATED)


def _response_input(data: dict[str, Any], request: Request) -> responses.ResponseInput:
    method = data.get("method")
    return responses.ResponseInput(
        rating=data.get("rating"),
        feedback=data.get("feedback"),
        answers=[dict(a) for a in data["answers"]] if "answers" in data else None,
        dismissed=data.get("dismissed"),
        completed=data.get("completed"),
        method="In-app" if method == "In-App" else method,
        language=data.get("language") or None,
        referrer=_page_url(data) or None,
        device=device.describe(_user_agent(request)) or None,
        browser_languages=tuple(
            i18n.parse_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        ),
    )


class ResponsesView(ResponseExport, PublicWidgetView):
    """POST: the widget starts a response. GET: the secret-key export (see api/exports.py)."""

    accepts = serializers.NewResponseSerializer

    @extend_schema(
        request=accepts,
        responses={**CREATED, **TOO_LARGE},
        summary="Start a response (answers with Location and auth-token headers)",
    )
    def post(self, request: Request) -> Response:
        data, config, user = self.read_call()
        response, token = responses.start_response(
            config,
            user,
            data["campaign"],
            _response_input(data, request),
            now=timezone.now(),
            forced=self.forced(config, data),
        )
        # reverse(): under the host's prefix too, or the comment's PUT would miss (links.py).
        location = links.public_url("satismeter:response", response.pk, request=request)
        return Response(
            {"id": str(response.pk)},
            status=status.HTTP_201_CREATED,
            headers={"Location": location, "auth-token": token},
        )


class ResponseDetailView(ResponseRead, PublicWidgetView):
    """PUT: the widget saves more of a response. GET: one response with the secret key."""

    throttle_classes = [ClientThrottle]
    accepts = serializers.ResponseUpdateSerializer

    @extend_schema(
        request=accepts,
        responses={200: serializers.SavedSerializer, **TOO_LARGE, **CLOSED},
        parameters=[OpenApiParameter("auth-token", str, OpenApiParameter.HEADER, required=True)],
        summary="Save more of a response: the rating, the comment, completion or dismissal",
    )
    def put(self, request: Request, pk: int) -> Response:
        data = self.parse()
        token = request.headers.get("auth-token", "")
        if not token:
            raise RequestRefused("Send the auth-token header from the POST.", status_code=401)
        try:
            response = responses.update_response(
                pk, token, _response_input(data, request), now=timezone.now()
            )
        except InvalidInput as exc:
            if exc.field == "auth-token":
                raise RequestRefused(str(exc), status_code=403) from exc
            raise
        return Response({"id": str(response.pk), "completed": response.completed})
