"""What a respondent reads, in their language: the string catalogue and the choice of language.

Pure: no ORM, no request objects. The catalogue is one JSON file per language in ``catalog/``,
named by its tag (``en.json``, ``pt-BR.json``, ``zh-TW.json``), every file with exactly the keys
of ``en.json``. The files are read once per process.

**Choosing the language**. The candidates come in priority order: the user's
``language`` trait, then the browser's ``Accept-Language`` tags, then the project's default.
Each candidate is tried as written, then without its last subtags (``pt-PT`` → ``pt``,
``de-AT`` → ``de``); the first that the catalogue has wins. When none does, the app's
``default``, else English::

    language = choose_language(
        [traits.get("language"), *parse_accept_language(header), project.default_language],
        default=app_settings.DEFAULT_LANGUAGE,
    )

Tags are compared case- and separator-insensitively (``pt_br`` is ``pt-BR``); Traditional
Chinese (``zh-Hant``, ``zh-HK``, ``zh-MO``) is ``zh-TW`` and Simplified (``zh-Hans``,
``zh-CN``, ``zh-SG``) is ``zh``; ``nb`` and ``nn`` are ``no``, ``iw`` is ``he``, ``in`` is ``id``
and SatisMeter's ``cz`` is ``cs``. ``zh-TW`` never falls back to ``zh``, nor ``zh`` to it.

**Resolving the strings** (:func:`resolve_strings`), each layer overriding the one before:

1. the catalogue of the language;
2. the survey's texts (``Survey.texts``, ``{"<tag>": {KEY: text}}``): first those of the base
   language (``pt`` for ``pt-BR``; none for ``zh-TW``), then those of the exact tag;
3. the user's ``translation`` trait (SatisMeter's per-user overrides) — only as sent by the
   widget call being answered: callers never pass a stored trait, and emails, their pages and
   Slack pass none, since whoever holds the public write key sets traits (docs/widget.md).

An override is used when its value is a non-blank string. ``DIRECTION`` and ``LANGUAGE_NAME``
describe the language and are never overridden. The survey may add keys of its own (upper
snake case, e.g. SatisMeter's ``AGREE`` or ``PROMOTION_TEXT``) for custom templates; the user's
trait, which comes from the browser and is echoed back to it, may only replace known keys.

A layer that sets a general key without its variants sets them too, so that the more specific
catalogue text never hides a deliberate override: a survey's ``FOLLOWUP`` is asked of promoters,
passives and detractors alike unless that survey also sets ``FOLLOWUP_PROMOTER`` etc., and a
survey's ``HOW_LIKELY`` is used even when no service name is known.

``{{service_name}}`` is replaced by the service name. Without one, ``HOW_LIKELY`` and
``SUBJECT`` take their ``_US`` variants, written for each language ("recommend us" needs other
grammar than "recommend Acme" in many), and any remaining placeholder becomes the language's
``US``. ``{{score}}`` (in ``SCORE_BUTTON_LABEL``) is left for the widget. Values are plain text:
escaping them is the template's job.

**Staff replies** (:func:`reply_strings`) have a greeting and a footer of their own, in
``catalog/reply/strings.json``: for the languages they are written in, English for the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType

ENGLISH = "en"
LTR = "ltr"
RTL = "rtl"

# Keys that describe the language itself rather than say something to the respondent.
FIXED_KEYS = frozenset({"DIRECTION", "LANGUAGE_NAME"})

# A general key and the more specific keys that stand in for it.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "FOLLOWUP": ("FOLLOWUP_PROMOTER", "FOLLOWUP_PASSIVE", "FOLLOWUP_DETRACTOR"),
    "HOW_LIKELY": ("HOW_LIKELY_US",),
    "SUBJECT": ("SUBJECT_US",),
}
# Used instead of the key when there is no service name to put in it.
_WITHOUT_NAME = {"HOW_LIKELY": "HOW_LIKELY_US", "SUBJECT": "SUBJECT_US"}

_SERVICE_NAME = re.compile(r"\{\{\s*service_name\s*\}\}")
_CUSTOM_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")

_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_MAX_TAG_LENGTH = 35
_LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "nb": "no", "nn": "no", "cz": "cs"}
_TRADITIONAL_CHINESE = frozenset({"Hant", "TW", "HK", "MO"})
_SIMPLIFIED_CHINESE = frozenset({"Hans", "CN", "SG", "MY"})
# Languages whose base language is written in another script: never mixed with it.
_OWN_SCRIPT = frozenset({"zh-TW"})

_MAX_HEADER_LENGTH = 1000
_QUALITY = re.compile(r"\d(?:\.\d*)?|\.\d+")


# The catalogue ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _catalogs() -> Mapping[str, Mapping[str, str]]:
    folder = files("satismeter_app") / "catalog"
    catalogs = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".json"):
            strings = json.loads(entry.read_text(encoding="utf-8"))
            catalogs[entry.name.removesuffix(".json")] = MappingProxyType(strings)
    return MappingProxyType(catalogs)


@lru_cache(maxsize=1)
def available_languages() -> Mapping[str, str]:
    """Every language of the catalogue: tag → its name in that language, sorted by tag."""
    return MappingProxyType({tag: strings["LANGUAGE_NAME"] for tag, strings in _catalogs().items()})


def language_choices() -> list[tuple[str, str]]:
    """``(tag, "Name (tag)")`` pairs, for a model field's or a form's ``choices``."""
    return [(tag, f"{name} ({tag})") for tag, name in available_languages().items()]


def string_keys() -> frozenset[str]:
    """The keys every language has (those of English)."""
    return frozenset(_catalogs()[ENGLISH])


def catalog(language: str) -> Mapping[str, str]:
    """The built-in strings of an available language tag, as written; KeyError otherwise."""
    return _catalogs()[language]


@lru_cache(maxsize=1)
def _reply_catalog() -> Mapping[str, Mapping[str, str]]:
    entry = files("satismeter_app") / "catalog" / "reply" / "strings.json"
    return MappingProxyType(json.loads(entry.read_text(encoding="utf-8")))


def reply_strings(language: str | None) -> dict[str, str]:
    """The greeting and footer of a staff reply in the language :func:`choose_language` picks
    (or its base), else in English; with ``DIRECTION``."""
    tag = choose_language([language])
    table = _reply_catalog()
    own = table.get(tag) or table.get(tag.partition("-")[0]) or {}
    return {**table[ENGLISH], **own, "DIRECTION": direction(tag)}


def direction(tag: str | None) -> str:
    """``"rtl"`` or ``"ltr"``: the direction of the language :func:`choose_language` picks."""
    return catalog(choose_language([tag]))["DIRECTION"]


def is_rtl(tag: str | None) -> bool:
    return direction(tag) == RTL


# Tags ---------------------------------------------------------------------------------------


def normalize_tag(tag: object) -> str | None:
    """A language tag in canonical form (``pt_br`` → ``pt-BR``), or None when it is not one.

    Accepts BCP 47-like tags with ``-`` or ``_`` and POSIX locales (``de_DE.UTF-8``). The tag
    need not be in the catalogue; aliases are mapped (see the module's docstring).
    """
    if not isinstance(tag, str) or not tag.isascii():
        return None
    candidate = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
    if len(candidate) > _MAX_TAG_LENGTH or not _TAG.fullmatch(candidate):
        return None
    language, *rest = candidate.split("-")
    language = _LANGUAGE_ALIASES.get(language, language)
    subtags = [_subtag_case(subtag) for subtag in rest]
    if language == "zh":
        return _chinese(subtags)
    return "-".join([language, *subtags])


def _subtag_case(subtag: str) -> str:
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()  # script: Hant, Latn
    if (len(subtag) == 2 and subtag.isalpha()) or (len(subtag) == 3 and subtag.isdigit()):
        return subtag.upper()  # region: BR, 419
    return subtag


def _chinese(subtags: list[str]) -> str:
    # The script decides; without one, the region's customary script does.
    scripts = [subtag for subtag in subtags if subtag in {"Hant", "Hans"}]
    marks = scripts[:1] or subtags
    if any(mark in _TRADITIONAL_CHINESE for mark in marks):
        return "zh-TW"
    if any(mark in _SIMPLIFIED_CHINESE for mark in marks):
        return "zh"
    return "-".join(["zh", *subtags])


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first, normalized, without repeats.

    Ties keep the header's order; ``q=0`` (not acceptable) and ``*`` are dropped, and so is
    any part that does not parse. Never raises.
    """
    if not isinstance(header, str):
        return []
    if len(header) > _MAX_HEADER_LENGTH:
        header = header[:_MAX_HEADER_LENGTH].rpartition(",")[0]
    ranges = [parsed for part in header.split(",") if (parsed := _language_range(part))]
    ranges.sort(key=lambda parsed: -parsed[1])  # stable: ties keep their order
    return list(dict.fromkeys(tag for tag, quality in ranges if quality > 0))


def _language_range(part: str) -> tuple[str, float] | None:
    tag, *parameters = part.split(";")
    normalized = normalize_tag(tag)
    if normalized is None:
        return None
    quality: float | None = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            quality = _quality(value.strip())
    return None if quality is None else (normalized, quality)


def _quality(value: str) -> float | None:
    if not (value.isascii() and _QUALITY.fullmatch(value)):
        return None
    quality = float(value)
    return quality if quality <= 1 else None


def choose_language(candidates: Iterable[str | None], default: str = ENGLISH) -> str:
    """The first candidate the catalogue has, exactly or by base language; else the default.

    Candidates that are None, empty, malformed or unknown are skipped. The result is always
    a key of :func:`available_languages`: ``default`` if it is available, else English.
    """
    for candidate in candidates:
        if match := _match(candidate):
            return match
    return _match(default) or ENGLISH


def _match(tag: str | None) -> str | None:
    normalized = normalize_tag(tag)
    if normalized is None:
        return None
    subtags = normalized.split("-")
    for end in range(len(subtags), 0, -1):
        if (prefix := "-".join(subtags[:end])) in _catalogs():
            return prefix
    return None


# Strings ------------------------------------------------------------------------------------


def resolve_strings(
    language: str | None,
    *,
    survey_texts: Mapping[str, object] | None = None,
    user_translation: Mapping[str, object] | None = None,
    service_name: str = "",
) -> dict[str, str]:
    """Every string of ``language`` with the survey's and the user's overrides applied.

    An unknown ``language`` is matched as by :func:`choose_language` (English at worst).
    See the module's docstring for the order of precedence and the placeholders.
    """
    tag = choose_language([language])
    strings = dict(catalog(tag))
    layers = [*_survey_layers(tag, survey_texts), _overrides(user_translation, custom=False)]
    for layer in layers:
        _apply(strings, layer)
    name = service_name.strip() if isinstance(service_name, str) else ""
    if not name:
        strings.update({key: strings[variant] for key, variant in _WITHOUT_NAME.items()})
    filler = name or strings["US"]
    return {key: _SERVICE_NAME.sub(lambda _: filler, value) for key, value in strings.items()}


def _survey_layers(tag: str, survey_texts: object) -> list[dict[str, str]]:
    if not isinstance(survey_texts, Mapping):
        return []
    by_tag = {normalize_tag(key): texts for key, texts in survey_texts.items()}
    base = tag.partition("-")[0]
    tags = [tag] if base == tag or tag in _OWN_SCRIPT else [base, tag]
    return [_overrides(by_tag.get(each), custom=True) for each in tags]


def _overrides(texts: object, *, custom: bool) -> dict[str, str]:
    """The usable overrides in ``texts``; ``custom`` also admits keys the catalogue lacks."""
    if not isinstance(texts, Mapping):
        return {}
    known = string_keys()
    return {
        key: value
        for key, value in texts.items()
        if isinstance(key, str)
        and key not in FIXED_KEYS
        and (key in known or (custom and _CUSTOM_KEY.fullmatch(key)))
        and isinstance(value, str)
        and value.strip()
    }


def _apply(strings: dict[str, str], layer: Mapping[str, str]) -> None:
    for key, variants in _VARIANTS.items():
        if key in layer:
            strings.update({variant: layer[key] for variant in variants if variant not in layer})
    strings.update(layer)


def followup_question(strings: Mapping[str, str], category: str | None) -> str:
    """The follow-up question for a promoter, passive or detractor, else the generic one."""
    if category and (specific := strings.get(f"FOLLOWUP_{category.upper()}")):
        return specific
    return strings.get("FOLLOWUP", "")


# Staff languages --------------------------------------------------------------------------

# The languages staff pages and staff emails are translated into: English and the catalogues
# under locale/ (Django's codes, as translation.override takes them). tests/domain checks
# that the list and the folders agree.
STAFF_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("ar", "العربية"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt-br", "Português (Brasil)"),
    ("ru", "Русский"),
    ("tr", "Türkçe"),
    ("zh-hans", "简体中文"),
)
_STAFF_BASES = {"pt": "pt-br", "zh": "zh-hans"}


def staff_language(*candidates: str | None) -> str:
    """The first candidate tag staff texts are translated into (``de-AT`` → ``de``,
    ``pt-PT`` → ``pt-br``, ``zh-CN`` → ``zh-hans``); English when none is."""
    codes = {code for code, _ in STAFF_LANGUAGES}
    for candidate in candidates:
        tag = (candidate or "").strip().lower().replace("_", "-")
        if tag in codes:
            return tag
        base = tag.split("-")[0]
        base = _STAFF_BASES.get(base, base)
        if base in codes:
            return base
    return ENGLISH
