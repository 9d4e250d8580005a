"""i18n: reading language tags and Accept-Language headers at their edges. Pure."""

import pytest

from satismeter_app.i18n import choose_language, normalize_tag, parse_accept_language

# 35 characters is the longest tag read; anything longer is not a tag.
LONGEST_TAG = "en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd"


def test_the_first_script_subtag_decides_between_traditional_and_simplified_chinese() -> None:
    assert normalize_tag("zh-Hant-Hans") == "zh-TW"
    assert normalize_tag("zh-Hans-Hant") == "zh"


@pytest.mark.parametrize(("tag", "normalized"), [("zh-yue", "zh-yue"), ("zh-Latn", "zh-Latn")])
def test_chinese_without_a_script_or_region_we_know_keeps_its_subtags(
    tag: str, normalized: str
) -> None:
    assert normalize_tag(tag) == normalized


@pytest.mark.parametrize(
    ("tag", "normalized"),
    [("sl-rozaj", "sl-rozaj"), ("de-1996", "de-1996"), ("ca-ES-valencia", "ca-ES-valencia")],
)
def test_variant_subtags_stay_in_lower_case(tag: str, normalized: str) -> None:
    assert normalize_tag(tag) == normalized


@pytest.mark.parametrize(
    ("locale", "normalized"),
    [("de_DE.UTF-8@euro.old", "de-DE"), ("ca_ES@valencia@old", "ca-ES")],
)
def test_a_posix_locale_is_cut_at_its_first_dot_or_at_sign(locale: str, normalized: str) -> None:
    assert normalize_tag(locale) == normalized


def test_a_tag_of_35_characters_is_read_and_one_of_36_is_not() -> None:
    assert len(LONGEST_TAG) == 35
    assert normalize_tag(LONGEST_TAG) == LONGEST_TAG
    assert normalize_tag(LONGEST_TAG + "d") is None


def test_a_header_of_exactly_1000_characters_is_read_whole() -> None:
    header = "de" + " " * 995 + ",fr"
    assert len(header) == 1000
    assert parse_accept_language(header) == ["de", "fr"]


def test_a_header_of_1001_characters_loses_its_last_range() -> None:
    header = "de" + " " * 996 + ",fr"
    assert parse_accept_language(header) == ["de"]


def test_an_explicit_quality_of_one_ties_with_no_quality() -> None:
    assert parse_accept_language("fr;q=1, de") == ["fr", "de"]
    assert parse_accept_language("fr;q=1.0, de, it;q=1") == ["fr", "de", "it"]


def test_a_quality_with_a_second_equals_sign_drops_its_range() -> None:
    assert parse_accept_language("de;q=0.5=1, fr;q=0.1") == ["fr"]


def test_a_dropped_range_lets_the_next_candidate_choose() -> None:
    assert choose_language(parse_accept_language("de;q=0.5=1, fr;q=0.1")) == "fr"
