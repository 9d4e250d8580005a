"""The languages staff email can be in: English and every catalogue under locale/."""

from pathlib import Path

from django.utils.translation import to_language

from satismeter_app import i18n

LOCALE = Path(i18n.__file__).parent / "locale"


def test_the_staff_languages_are_english_and_the_locale_folders():
    folders = {to_language(folder.name) for folder in LOCALE.iterdir() if folder.is_dir()}
    assert {code for code, _ in i18n.STAFF_LANGUAGES} == {"en", *folders}


def test_a_regional_tag_gets_its_staff_language_and_an_unknown_one_english():
    assert i18n.staff_language("de-AT") == "de"
    assert i18n.staff_language("pt_PT") == "pt-br"
    assert i18n.staff_language("", "fr-CA") == "fr"
    assert i18n.staff_language("sv", None) == "en"
