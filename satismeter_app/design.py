"""How a survey looks and where it may show: skins, positions, device types, and the checks of a
survey's ``design`` JSON.

The widget script repeats the skins, the positions and each skin's default position in its own
code (it cannot import Python); a test reads the script and keeps the two the same.
"""

import re
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Skin(models.TextChoices):
    DIALOG = "dialog", _("Dialog")  # a floating card
    PANEL = "panel", _("Panel")  # attached to the top or bottom edge
    BAR = "bar", _("Bar")  # full width


class Position(models.TextChoices):
    """Vertical letter (top, bottom, centre), then horizontal (left, right, centre)."""

    TOP_LEFT = "tl", _("Top left")
    TOP_RIGHT = "tr", _("Top right")
    TOP_CENTRE = "tc", _("Top centre")
    BOTTOM_LEFT = "bl", _("Bottom left")
    BOTTOM_RIGHT = "br", _("Bottom right")
    BOTTOM_CENTRE = "bc", _("Bottom centre")
    CENTRE_LEFT = "cl", _("Centre left")
    CENTRE_RIGHT = "cr", _("Centre right")
    CENTRE = "cc", _("Centre")


class DeviceType(models.TextChoices):
    DESKTOP = "desktop", _("Desktop")
    TABLET = "tablet", _("Tablet")
    MOBILE = "mobile", _("Mobile")


DEFAULT_SKIN = Skin.DIALOG
# Where a skin sits when the design names no position; the dialog's is SatisMeter's.
DEFAULT_POSITIONS = {
    Skin.DIALOG: Position.CENTRE_RIGHT,
    Skin.PANEL: Position.BOTTOM_RIGHT,
    Skin.BAR: Position.BOTTOM_CENTRE,
}
# A request whose device is unknown is treated as coming from a desktop.
DEFAULT_DEVICE = DeviceType.DESKTOP


# --- the design JSON ------------------------------------------------------------------------------

DESIGN_KEYS = {
    "skin": "dialog, panel or bar",
    "position": "two letters: t, b or c, then l, r or c (e.g. br)",
    "colors": "an object with primary, foreground and background colours",
    "showNumbers": "true or false",
    "requireFeedback": "true or false",
    "poweredBy": "true or false",
    "serviceName": "text",
    "ctaText": "text",
    "ctaUrl": "an http(s) URL",
    "ctaFor": "a list of promoter, passive and detractor",
}
CTA_CATEGORIES = ("promoter", "passive", "detractor")
COLOR_KEYS = ("primary", "foreground", "background")
# What the widget does when the design leaves a yes/no option out.
FLAG_DEFAULTS = {"showNumbers": True, "requireFeedback": False, "poweredBy": True}
# The widget's own colours when the design sets none (its CSS repeats them; a test keeps the two
# the same): where the admin's colour pickers start.
DEFAULT_COLORS = {"primary": "#ff4981", "foreground": "#333333", "background": "#fdfdfd"}
_CSS_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|(rgb|rgba|hsl|hsla)\([0-9., %]+\))$")


def is_css_colour(value: Any) -> bool:
    """A colour the design may hold: #hex, a name, rgb()/rgba()/hsl()/hsla()."""
    return isinstance(value, str) and bool(_CSS_COLOUR.match(value.strip()))


def validate_design(design: Any) -> None:
    """The widget's display options (keys in ``DESIGN_KEYS``); raises ValueError saying what
    is wrong with the first bad one."""
    if not isinstance(design, dict):
        raise ValueError('Design must be an object, e.g. {"skin": "panel"}.')
    unknown = sorted(set(design) - set(DESIGN_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown design keys: {', '.join(unknown)}; known: {', '.join(DESIGN_KEYS)}."
        )
    for key, value in design.items():
        if not _design_value_ok(key, value):
            raise ValueError(f"{key} must be {DESIGN_KEYS[key]}, not {value!r}.")


def _design_value_ok(key: str, value: Any) -> bool:
    if key == "skin":
        return value in Skin.values
    if key == "position":
        return value in Position.values
    if key == "colors":
        return isinstance(value, dict) and all(
            k in COLOR_KEYS and is_css_colour(v) for k, v in value.items()
        )
    if key in FLAG_DEFAULTS:
        return isinstance(value, bool)
    if key == "ctaUrl":
        return isinstance(value, str) and value.startswith(("https://", "http://"))
    if key == "ctaFor":
        return isinstance(value, list) and all(v in CTA_CATEGORIES for v in value)
    return isinstance(value, str)
