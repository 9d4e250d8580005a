"""i18n.resolve_strings when the service name is not usable text. Pure."""

from typing import Any

import pytest

from satismeter_app.i18n import resolve_strings


@pytest.mark.parametrize("service_name", [None, 5, ["Acme"], "", "   "])
def test_a_service_name_that_is_not_text_is_no_name_at_all(service_name: Any) -> None:
    strings = resolve_strings("en", service_name=service_name)
    assert strings["HOW_LIKELY"] == "How likely are you to recommend us to a friend or colleague?"
    assert strings["SUBJECT"] == "How likely are you to recommend us?"


def test_a_service_name_is_trimmed() -> None:
    strings = resolve_strings("en", service_name="  Acme ")
    assert strings["SUBJECT"] == "How likely are you to recommend Acme?"
