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


class InvalidRuleError(SatismeterError, ValueError):
    """A targeting rule (trait condition, URL rule) is malformed."""


class InvalidInput(SatismeterError, ValueError):
    """Something a client sent cannot be used; ``field`` names it, the message says why."""

    status_code = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DuplicateResponse(SatismeterError):
    """The user answered recently, or does not match the survey's targeting."""

    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__("Duplicate response")
        self.reason = reason


class ResponseClosed(SatismeterError):
    """A completed or dismissed response can no longer change."""

    status_code = 409
