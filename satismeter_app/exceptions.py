"""Every error the app raises descends from :class:`SatismeterError`."""

from django.core.exceptions import ImproperlyConfigured


class SatismeterError(Exception):
    """Base class of the app's errors."""


class SatismeterConfigurationError(SatismeterError, ImproperlyConfigured):
    """The ``SATISMETER`` settings are missing something or contradict themselves."""


class MissingExtraError(SatismeterConfigurationError):
    """An optional integration is used but its package is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"The package {package!r} is needed for this feature; "
            f"install it with: pip install 'django-satismeter[{extra}]'"
        )
        self.package = package
        self.extra = extra


class RequestRefused(SatismeterError):
    """A request the app refuses for a reason the client can fix.

    ``status_code`` is the HTTP status the API answers with; ``code`` names the reason in a
    word, for the clients that read one (Segment's libraries).
    """

    status_code = 400
    code = "invalid_request"

    def __init__(
        self, message: str, *, status_code: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code


class InvalidInput(RequestRefused, ValueError):
    """Something a client sent cannot be used; ``field`` names it, the message says why."""

    code = "invalid_message"  # Segment's name for a message it refuses

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DuplicateResponse(RequestRefused):
    """The user answered recently, or does not match the survey's targeting."""

    code = "duplicate_response"

    def __init__(self, reason: str) -> None:
        super().__init__("Duplicate response")
        self.reason = reason


class ResponseClosed(RequestRefused):
    """A completed or dismissed response can no longer change."""

    status_code = 409
    code = "response_closed"


class ReplyRefused(RequestRefused):
    """No reply may go to this respondent (no address, unsubscribed, erased); the message
    says why, for staff."""

    code = "reply_refused"


class BadLink(SatismeterError):
    """A signed email link is forged, expired, or names a reminder that no longer exists."""


class DeliveryError(SatismeterError):
    """Sending to a destination failed; says what happened and whether a retry can help.

    ``status_code`` is the destination's HTTP status, or None when no answer came (connection
    refused, timeout). ``retry_after`` is the destination's Retry-After, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        response_text: str = "",
        retry_after: float | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.response_text = response_text
        self.retry_after = retry_after
        self._permanent = permanent

    @property
    def retryable(self) -> bool:
        """429, 5xx and no answer at all are worth another try; any other 4xx is final."""
        if self._permanent is not None:
            return not self._permanent
        status = self.status_code
        return status is None or status == 429 or status >= 500

    def __str__(self) -> str:
        text = super().__str__()
        if self.status_code is not None:
            text = f"{text} (HTTP {self.status_code})"
        if self.response_text:
            text = f"{text}: {self.response_text[:500]}"
        return text


class MessageRejected(DeliveryError):
    """A message cannot be sent at all (too large, no user id): dead at once, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)
