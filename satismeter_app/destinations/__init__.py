"""Where feedback goes: one small module per kind of integration, on one base class.

``SATISMETER["DESTINATIONS"]`` maps each kind to its class; a kind left out keeps the default.
The kinds themselves are the built-in ones (:data:`KINDS`): the database stores no other, so a
configured class replaces a kind, it does not add one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from ..conf import DEFAULTS, app_settings
from ..exceptions import SatismeterConfigurationError

if TYPE_CHECKING:
    from ..models import Integration
    from .base import Destination

KINDS: tuple[str, ...] = tuple(DEFAULTS["DESTINATIONS"])


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


def kind_class(kind: str) -> type[Destination]:
    """The class that declares what ``kind`` is (events, settings, secret, extra, filters).

    The configured class when it declares this kind; otherwise (a stand-in such as
    LocmemDestination, or a class that cannot be imported) the built-in one, so that a
    configuration mistake never stops an answer from being saved: sending reports it, and so
    does the system check satismeter.E010.
    """
    from .base import Destination

    if kind not in KINDS:
        raise SatismeterConfigurationError(f"{kind!r} is not a kind of integration.")
    try:
        cls = destination_class(kind)
    except SatismeterConfigurationError:
        return destination_class(kind, default=True)
    declares = isinstance(cls, type) and issubclass(cls, Destination) and cls.kind == kind
    return cls if declares else destination_class(kind, default=True)


def kind_classes() -> dict[str, type[Destination]]:
    """Every kind and the class that declares it, in the order of :data:`KINDS`."""
    return {kind: kind_class(kind) for kind in KINDS}


def load_extras() -> None:
    """Import the optional packages the kinds send with, those installed (a worker starting)."""
    for cls in kind_classes().values():
        if cls.extra is not None:
            cls.extra.load()


def destination_for(integration: Integration) -> Destination:
    return destination_class(integration.kind)(integration)
