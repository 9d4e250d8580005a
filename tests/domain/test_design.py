"""design.py: the skins, positions and device types, the same in the widget script as on the
server, and the checks of a survey's design."""

import re
from importlib.resources import files
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from satismeter_app import design, device
from satismeter_app.design import DeviceType, Position, Skin, validate_design
from satismeter_app.models import Survey
from satismeter_app.views import SampleForm

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"


def widget_constant(name: str) -> str:
    script = (files("satismeter_app") / "static/satismeter_app/widget.js").read_text()
    match = re.search(rf"^  var {name} = (.+);$", script, re.MULTILINE)
    assert match, f"widget.js has no {name}"
    return match.group(1)


def js_pattern(name: str) -> re.Pattern[str]:
    """One of the script's regular expression literals, which Python reads the same way."""
    literal = widget_constant(name)
    assert literal.startswith("/") and literal.endswith("/"), literal
    return re.compile(literal[1:-1])


def test_the_widget_knows_the_servers_skins() -> None:
    every_name = {"dialog", "panel", "bar", "popup", "modal", "", "Dialog", "bar "}
    assert {name for name in every_name if js_pattern("SKINS").search(name)} == set(Skin.values)
    assert widget_constant("DEFAULT_SKIN") == f'"{design.DEFAULT_SKIN}"'


def test_the_widget_knows_the_servers_positions() -> None:
    pairs = {a + b for a in "tbclrx" for b in "tbclrx"} | {"brr", "", "BR"}
    assert {pair for pair in pairs if js_pattern("POSITIONS").search(pair)} == set(Position.values)


def test_the_widget_places_each_skin_where_the_server_says() -> None:
    defaults = dict(re.findall(r'(\w+): "(\w+)"', widget_constant("DEFAULT_POSITIONS")))
    assert defaults == {skin.value: place.value for skin, place in design.DEFAULT_POSITIONS.items()}


@pytest.mark.parametrize(
    ("agent", "kind"), [(IPHONE, "mobile"), (IPAD, "tablet"), (MAC, "desktop"), ("", "desktop")]
)
def test_every_device_type_the_server_detects_is_one_a_survey_can_target(
    agent: str, kind: str
) -> None:
    assert device.device_type(agent) == kind
    assert kind in DeviceType.values


def test_the_sample_page_offers_every_skin() -> None:
    offered = [value for value, _ in SampleForm().fields["skin"].choices if value]
    assert offered == Skin.values


@pytest.mark.parametrize(
    "value",
    [
        {"skin": ["dialog"]},  # a list is not a skin (this once failed with a TypeError)
        {"ctaFor": [["promoter"]]},
        {"position": "rb"},
        {"position": ["br"]},
        {"skin": "popup"},
    ],
)
def test_a_design_the_widget_cannot_show_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        validate_design(value)


@pytest.mark.parametrize("position", Position.values)
def test_every_position_is_valid(position: str) -> None:
    validate_design({"skin": "panel", "position": position})


def test_a_survey_for_an_unknown_device_type_is_refused() -> None:
    survey = Survey(name="NPS", device_types=["desktop", "fridge"])
    with pytest.raises(ValidationError) as error:
        survey.clean()
    assert "device_types" in error.value.message_dict


def test_the_admins_colour_pickers_start_at_the_widgets_own_colours() -> None:
    script = (files("satismeter_app") / "static/satismeter_app/widget.js").read_text()
    found = dict(re.findall(r"--(p|fg|bg):(#[0-9a-fA-F]{3,6});", script))

    def six(colour: str) -> str:
        return colour if len(colour) == 7 else "#" + "".join(c * 2 for c in colour[1:])

    widget = {
        "primary": six(found["p"]),
        "foreground": six(found["fg"]),
        "background": six(found["bg"]),
    }
    assert widget == design.DEFAULT_COLORS
