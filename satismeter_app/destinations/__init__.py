"""Where feedback goes: one small module per kind of integration, on one base class.

``SATISMETER["DESTINATIONS"]`` maps each kind to its class; a kind left out keeps the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from ..conf import DEFAULTS, app_settings
from ..exceptions import SatismeterConfigurationError

if TYPE_CHECKING:
    from ..models import Integration
    from .base import Destination


def destination_class(kind: str, *, default: bool = False) -> type[Destination]:
    """The class that sends ``kind``: the configured one, or the built-in one with default."""
    paths = dict(DEFAULTS["DESTINATIONS"])
    if not default:
        paths.update(app_settings.DESTINATIONS)
    if kind not in paths:
        raise SatismeterConfigurationError(f"No destination class for {kind!r} integrations.")
    try:
        cls: type[Destination] = import_string(paths[kind])
    except ImportError as exc:
        raise SatismeterConfigurationError(
            f"SATISMETER['DESTINATIONS'][{kind!r}] = {paths[kind]!r} cannot be imported: {exc}"
        ) from exc
    return cls


def destination_for(integration: Integration) -> Destination:
    return destination_class(integration.kind)(integration)
