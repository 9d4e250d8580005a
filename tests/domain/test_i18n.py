"""The string catalogue and the choice of language: pure, no database."""

import json
import re
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satismeter_app import i18n

LANGUAGES = sorted(i18n.available_languages())
ENGLISH = i18n.catalog("en")
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


# The catalogue ------------------------------------------------------------------------------


def test_the_catalogue_has_at_least_32_languages() -> None:
    assert len(LANGUAGES) >= 32
    assert {"en", "pt", "pt-BR", "zh", "zh-TW", "ar", "he", "fa", "no"} <= set(LANGUAGES)


def test_every_catalogue_file_is_valid_json_named_by_a_canonical_tag() -> None:
    folder = files("satismeter_app") / "catalog"
    names = [entry.name for entry in folder.iterdir() if entry.name.endswith(".json")]
    assert len(names) == len(LANGUAGES)
    for name in names:
        json.loads((folder / name).read_text(encoding="utf-8"))
        tag = name.removesuffix(".json")
        assert i18n.normalize_tag(tag) == tag


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_exactly_the_english_keys(language: str) -> None:
    strings = i18n.catalog(language)
    assert set(strings) - set(ENGLISH) == set(), "keys English does not have"
    assert set(ENGLISH) - set(strings) == set(), "keys missing"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_has_the_placeholders_of_its_english_text(language: str) -> None:
    strings = i18n.catalog(language)
    wrong = {
        key: sorted(placeholders(strings.get(key, "")) ^ placeholders(text))
        for key, text in ENGLISH.items()
        if placeholders(strings.get(key, "")) != placeholders(text)
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_written(language: str) -> None:
    blank = [key for key, text in i18n.catalog(language).items() if not text.strip()]
    assert blank == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_ends_of_the_scale_read_differently_from_their_first_word(language: str) -> None:
    """The two labels must not begin with the same word: "Крайне маловероятно" and "Крайне
    вероятно" differed by one syllable, easy to misread at a glance."""
    strings = i18n.catalog(language)
    assert strings["UNLIKELY"].split()[0] != strings["LIKELY"].split()[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_unsubscribe_page_has_its_own_words(language: str) -> None:
    """The page says what happened; it does not repeat the link's "Unsubscribe from..."."""
    strings = i18n.catalog(language)
    assert strings["UNSUBSCRIBED"] != strings["UNSUBSCRIBE"]
    assert strings["UNSUBSCRIBE"] not in strings["UNSUBSCRIBED"]


def test_english_keeps_each_placeholder_where_it_belongs() -> None:
    assert placeholders(ENGLISH["HOW_LIKELY"]) == {"service_name"}
    assert placeholders(ENGLISH["SUBJECT"]) == {"service_name"}
    assert placeholders(ENGLISH["SCORE_BUTTON_LABEL"]) == {"score"}
    assert placeholders(ENGLISH["SHORTCUT"]) == {"keys"}  # filled in by the widget
    others = {key for key, text in ENGLISH.items() if "score" in placeholders(text)}
    assert others == {"SCORE_BUTTON_LABEL"}


def test_right_to_left_exactly_for_arabic_persian_and_hebrew() -> None:
    rtl = {tag for tag in LANGUAGES if i18n.catalog(tag)["DIRECTION"] == "rtl"}
    assert rtl == {"ar", "fa", "he"}
    assert {i18n.catalog(tag)["DIRECTION"] for tag in LANGUAGES} == {"ltr", "rtl"}


@pytest.mark.parametrize("tag", ["ar", "ar-EG", "he_IL", "iw", "fa-IR"])
def test_right_to_left_languages_and_their_regional_forms(tag: str) -> None:
    assert i18n.is_rtl(tag)
    assert i18n.direction(tag) == "rtl"


@pytest.mark.parametrize("tag", ["en", "de-AT", "ur", "xx", None, ""])
def test_direction_is_that_of_the_language_that_would_be_shown(tag: str | None) -> None:
    assert not i18n.is_rtl(tag)
    assert i18n.direction(tag) == "ltr"


def test_languages_are_named_in_their_own_language() -> None:
    names = i18n.available_languages()
    assert names["de"] == "Deutsch"
    assert names["ja"] == "日本語"
    assert names["no"] == "Norsk bokmål"
    assert ("pt-BR", "Português (Brasil) (pt-BR)") in i18n.language_choices()


# Tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "normalized"),
    [
        ("pt_br", "pt-BR"),
        ("PT-br", "pt-BR"),
        (" en-us ", "en-US"),
        ("de_DE.UTF-8", "de-DE"),
        ("ca_ES@valencia", "ca-ES"),
        ("sr-latn-rs", "sr-Latn-RS"),
        ("es-419", "es-419"),
        ("zh-Hant", "zh-TW"),
        ("zh-hk", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("zh-Hans", "zh"),
        ("zh-CN", "zh"),
        ("zh_SG", "zh"),
        ("zh-Hans-TW", "zh"),
        ("zh", "zh"),
        ("nb", "no"),
        ("nb-NO", "no-NO"),
        ("nn", "no"),
        ("iw", "he"),
        ("in", "id"),
        ("cz", "cs"),
        ("xx", "xx"),
    ],
)
def test_normalize_tag(tag: str, normalized: str) -> None:
    assert i18n.normalize_tag(tag) == normalized


NOT_TAGS = ["", " ", "*", "e", "12", "english!", "en--us", "-en", "en-", "en US", "ár", "<b>"]


@pytest.mark.parametrize("garbage", [None, 7, "en-toolongsubtag", "x" * 40, *NOT_TAGS])
def test_normalize_tag_refuses_what_is_not_a_tag(garbage: object) -> None:
    assert i18n.normalize_tag(garbage) is None


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("da, en-gb;q=0.8, en;q=0.7", ["da", "en-GB", "en"]),
        ("en;q=0.2, fr-CH, de;q=0.9", ["fr-CH", "de", "en"]),
        ("fr;q=0.5, de;q=0.5, it;q=0.5", ["fr", "de", "it"]),
        ("de;q=0, en", ["en"]),
        ("*, en;q=0.5", ["en"]),
        ("en-US, en-us;q=0.9, en", ["en-US", "en"]),
        ("pt_BR;Q=1.0", ["pt-BR"]),
        ("en;q=abc, ;;, 12, de", ["de"]),
        ("en;q=1.5, fr;q=-1, it;q=nan, es;q=0.3", ["es"]),
        ("fr;level=1;q=0.4, de", ["de", "fr"]),
        ("", []),
        (",,,", []),
        (None, []),
    ],
)
def test_parse_accept_language(header: str | None, tags: list[str]) -> None:
    assert i18n.parse_accept_language(header) == tags


def test_an_oversized_accept_language_header_is_cut_at_a_comma() -> None:
    header = ", ".join(["de"] + ["en-US"] * 300)
    assert i18n.parse_accept_language(header) == ["de", "en-US"]
    assert i18n.parse_accept_language("d" * 5000) == []


# Choosing the language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (["pt-BR"], "pt-BR"),
        (["pt_br"], "pt-BR"),
        (["pt-PT"], "pt"),
        (["de-AT"], "de"),
        (["zh-TW"], "zh-TW"),
        (["zh-HK"], "zh-TW"),
        (["zh-CN"], "zh"),
        (["zh"], "zh"),
        (["nb-NO"], "no"),
        (["sr-Latn-RS"], "sr"),
        (["xx", "fr"], "fr"),
        (["xx", "yy-ZZ"], "en"),
        ([None, "", "not a tag!", "de"], "de"),
        ([], "en"),
    ],
)
def test_choose_language(candidates: list[str | None], chosen: str) -> None:
    assert i18n.choose_language(candidates) == chosen


def test_the_trait_beats_the_browser_and_the_browser_beats_the_project() -> None:
    browser = i18n.parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8")
    assert i18n.choose_language(["de-AT", *browser, "es"]) == "de"
    assert i18n.choose_language([None, *browser, "es"]) == "fr"
    assert i18n.choose_language(["", *i18n.parse_accept_language(""), "es"]) == "es"


def test_each_candidate_falls_back_to_its_base_before_the_next_is_tried() -> None:
    assert i18n.choose_language(["de-CH", "fr"]) == "de"


def test_the_default_is_used_when_no_candidate_matches_and_english_when_it_is_unknown() -> None:
    assert i18n.choose_language(["xx"], default="ja") == "ja"
    assert i18n.choose_language(["xx"], default="pt_br") == "pt-BR"
    assert i18n.choose_language(["xx"], default="xx") == "en"


# Resolving strings --------------------------------------------------------------------------


def test_strings_come_from_the_catalogue_of_the_language() -> None:
    strings = i18n.resolve_strings("de", service_name="Acme")
    assert strings["SUBMIT"] == "Senden"
    assert strings["DIRECTION"] == "ltr"
    assert set(strings) == set(ENGLISH)


def test_an_unknown_language_gets_the_strings_of_its_base_or_english() -> None:
    assert i18n.resolve_strings("de-AT")["SUBMIT"] == "Senden"
    assert i18n.resolve_strings("xx")["SUBMIT"] == "Send"
    assert i18n.resolve_strings(None)["SUBMIT"] == "Send"


def test_the_survey_overrides_the_catalogue_and_the_user_overrides_the_survey() -> None:
    strings = i18n.resolve_strings(
        "en",
        survey_texts={"en": {"SUBMIT": "Submit", "THANKS": "Cheers!"}},
        user_translation={"THANKS": "Thanks, Jane!"},
    )
    assert strings["SUBMIT"] == "Submit"
    assert strings["THANKS"] == "Thanks, Jane!"
    assert strings["BACK"] == "Back"


def test_survey_texts_of_the_base_language_apply_below_those_of_the_exact_tag() -> None:
    texts = {"pt": {"SUBMIT": "Submeter", "BACK": "Anterior"}, "pt_br": {"SUBMIT": "Mandar"}}
    strings = i18n.resolve_strings("pt-BR", survey_texts=texts)
    assert strings["SUBMIT"] == "Mandar"
    assert strings["BACK"] == "Anterior"
    assert strings["DISMISS"] == "Fechar"


def test_survey_texts_of_other_languages_are_not_used() -> None:
    texts = {"en": {"SUBMIT": "Submit"}, "pt-BR": {"SUBMIT": "Mandar"}}
    assert i18n.resolve_strings("de", survey_texts=texts)["SUBMIT"] == "Senden"
    assert i18n.resolve_strings("pt", survey_texts=texts)["SUBMIT"] == "Enviar"


def test_simplified_chinese_texts_never_reach_traditional_chinese_readers() -> None:
    texts = {"zh-CN": {"SUBMIT": "提交"}}
    assert i18n.resolve_strings("zh", survey_texts=texts)["SUBMIT"] == "提交"
    assert i18n.resolve_strings("zh-TW", survey_texts=texts)["SUBMIT"] == "送出"


def test_the_user_translation_only_replaces_known_keys_with_text() -> None:
    strings = i18n.resolve_strings(
        "en",
        user_translation={
            "FOLLOWUP": "What can we improve",
            "SUBMIT": 42,
            "BACK": "   ",
            "REASONS": ["Price", "Speed"],
            "PROMOTION_TEXT": "Rate us",
            "DIRECTION": "rtl",
            "LANGUAGE_NAME": "Klingon",
        },
    )
    assert strings["FOLLOWUP"] == "What can we improve"
    assert (strings["SUBMIT"], strings["BACK"]) == ("Send", "Back")
    assert "REASONS" not in strings
    assert "PROMOTION_TEXT" not in strings
    assert (strings["DIRECTION"], strings["LANGUAGE_NAME"]) == ("ltr", "English")


def test_the_survey_may_add_custom_upper_case_keys() -> None:
    texts = {"en": {"PROMOTION_TEXT": "Rate {{service_name}}", "lower": "x", "DIRECTION": "rtl"}}
    strings = i18n.resolve_strings("en", survey_texts=texts, service_name="Acme")
    assert strings["PROMOTION_TEXT"] == "Rate Acme"
    assert "lower" not in strings
    assert strings["DIRECTION"] == "ltr"


@pytest.mark.parametrize("malformed", [None, "not a mapping", ["SUBMIT"], {"en": "Submit"}])
def test_malformed_overrides_are_ignored(malformed: object) -> None:
    strings = i18n.resolve_strings("en", survey_texts=malformed, user_translation=malformed)  # type: ignore[arg-type]
    assert strings == i18n.resolve_strings("en")


def test_the_service_name_goes_into_the_question_and_the_subject() -> None:
    strings = i18n.resolve_strings("en", service_name="Acme")
    assert strings["HOW_LIKELY"] == "How likely are you to recommend Acme to a friend or colleague?"
    assert strings["SUBJECT"] == "How likely are you to recommend Acme?"


def test_without_a_service_name_the_question_is_about_us() -> None:
    strings = i18n.resolve_strings("de", service_name=" ")
    expected = "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?"
    assert strings["HOW_LIKELY"] == expected
    assert strings["SUBJECT"] == "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"


def test_a_survey_question_is_kept_without_a_service_name_filled_with_us() -> None:
    texts = {"en": {"HOW_LIKELY": "Would you recommend {{ service_name }} to your team?"}}
    strings = i18n.resolve_strings("en", survey_texts=texts)
    assert strings["HOW_LIKELY"] == "Would you recommend us to your team?"
    named = i18n.resolve_strings("en", survey_texts=texts, service_name="Acme")
    assert named["HOW_LIKELY"] == "Would you recommend Acme to your team?"


def test_the_service_name_is_inserted_literally() -> None:
    strings = i18n.resolve_strings("en", service_name=r"A\1 & {{score}} \g<0>")
    assert strings["SUBJECT"] == r"How likely are you to recommend A\1 & {{score}} \g<0>?"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("service_name", ["", "Acme"])
def test_no_service_name_placeholder_is_ever_left(language: str, service_name: str) -> None:
    strings = i18n.resolve_strings(language, service_name=service_name)
    assert not [key for key, text in strings.items() if "service_name" in text]
    assert "{{score}}" in strings["SCORE_BUTTON_LABEL"]
    if service_name:
        assert service_name in strings["HOW_LIKELY"]
        assert service_name in strings["SUBJECT"]


# The follow-up question ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "question"),
    [
        ("promoter", "What do you like most about us?"),
        ("passive", "What could we do to make it better?"),
        ("detractor", "What disappointed you, and how can we improve?"),
        (None, "What is the most important reason for your score?"),
        ("unknown", "What is the most important reason for your score?"),
    ],
)
def test_the_followup_question_depends_on_the_category(category: str | None, question: str) -> None:
    assert i18n.followup_question(i18n.resolve_strings("en"), category) == question


def test_a_general_followup_override_is_asked_of_every_category() -> None:
    strings = i18n.resolve_strings("en", user_translation={"FOLLOWUP": "What can we improve"})
    for category in ("promoter", "passive", "detractor", None):
        assert i18n.followup_question(strings, category) == "What can we improve"


def test_a_category_override_beats_a_general_one_of_the_same_layer() -> None:
    texts = {"en": {"FOLLOWUP": "Why?", "FOLLOWUP_PROMOTER": "What do you love?"}}
    strings = i18n.resolve_strings("en", survey_texts=texts)
    assert i18n.followup_question(strings, "promoter") == "What do you love?"
    assert i18n.followup_question(strings, "detractor") == "Why?"


def test_the_followup_falls_back_to_the_general_question() -> None:
    assert i18n.followup_question({"FOLLOWUP": "Why?"}, "passive") == "Why?"
    assert i18n.followup_question({}, "passive") == ""


# Fuzzing ------------------------------------------------------------------------------------

tag_like = st.from_regex(r"[a-zA-Z*]{1,4}([-_][a-zA-Z0-9]{1,9}){0,3}", fullmatch=True)
header_part = st.one_of(
    tag_like, st.text(max_size=12), st.tuples(tag_like, st.text(max_size=6)).map(";q=".join)
)


@given(st.one_of(st.text(), st.lists(header_part).map(", ".join)))
def test_parse_accept_language_never_raises(header: str) -> None:
    tags = i18n.parse_accept_language(header)
    assert len(tags) == len(set(tags))
    assert all(i18n.normalize_tag(tag) == tag for tag in tags)


@given(st.one_of(st.text(), tag_like))
def test_normalize_tag_never_raises_and_is_idempotent(tag: str) -> None:
    normalized = i18n.normalize_tag(tag)
    assert normalized is None or i18n.normalize_tag(normalized) == normalized


@given(st.lists(st.one_of(st.none(), st.text(), tag_like)), st.one_of(st.text(), tag_like))
def test_choose_language_always_returns_an_available_language(
    candidates: list[str | None], default: str
) -> None:
    assert i18n.choose_language(candidates, default=default) in i18n.available_languages()
