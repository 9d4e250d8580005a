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
