"""The staff side (admin and dashboard) in the shipped languages: complete catalogs, compiled
.mo files that match them, and the admin following the browser's Accept-Language."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from satismeter_app.models import Project

LOCALE_DIR = Path(__file__).resolve().parents[2] / "satismeter_app" / "locale"
LANGUAGES = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())

# Python-format placeholders (%% is a literal percent sign) and str.format-style fields.
PLACEHOLDER = re.compile(r"%%|%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader (no polib): entries with their flags, header included."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry = None
            continue
        if line.startswith("#~"):
            continue  # obsolete entries are not shipped
        if entry is None:
            entry = Entry()
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = LINE.match(line)
        if match:
            key, text = match.group(1), ast.literal_eval(match.group(2))
        else:
            text = ast.literal_eval(line)  # a continuation line
        if key == "msgid":
            entry.msgid += text
        elif key == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        elif key == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        else:
            index = int(key[7:-1]) if key.startswith("msgstr[") else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
    if entry is not None:
        entries.append(entry)
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def messages(lang: str) -> list[Entry]:
    return [e for e in parse_po(LOCALE_DIR / lang / "LC_MESSAGES" / "django.po") if e.msgid]


def test_at_least_ten_staff_languages_ship() -> None:
    assert len(LANGUAGES) >= 10, LANGUAGES
    for lang in LANGUAGES:
        assert (LOCALE_DIR / lang / "LC_MESSAGES" / "django.po").is_file()
        assert (LOCALE_DIR / lang / "LC_MESSAGES" / "django.mo").is_file()


def test_the_parser_reads_flags_plurals_and_escapes(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr "Language: xx\\n"\n\n'
        '#, fuzzy, python-format\nmsgid "Say \\"%(a)s\\""\nmsgstr ""\n"B %(a)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "1"\nmsgstr[1] "2"\n',
        encoding="utf-8",
    )
    header, fuzzy, plural = parse_po(po)
    assert header.msgid == "" and fuzzy.flags == {"fuzzy", "python-format"}
    assert fuzzy.msgid == 'Say "%(a)s"' and fuzzy.msgstr == {0: "B %(a)s"}
    assert plural.msgid_plural == "many" and plural.msgstr == {0: "1", 1: "2"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_and_keeps_placeholders(lang: str) -> None:
    entries = messages(lang)
    assert len(entries) > 100
    problems = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        if not entry.msgstr or not all(entry.msgstr.values()):
            problems.append(f"untranslated: {entry.msgid!r}")
            continue
        if entry.msgid_plural is None:
            if placeholders(entry.msgstr[0]) != placeholders(entry.msgid):
                problems.append(f"placeholders: {entry.msgid!r} -> {entry.msgstr[0]!r}")
        else:
            # Every plural form may leave out %(count)d (Arabic "one"), never add a name.
            expected = set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural))
            for text in entry.msgstr.values():
                if set(placeholders(text)) - expected or not set(placeholders(text)):
                    problems.append(f"placeholders: {entry.msgid_plural!r} -> {text!r}")
        html = re.compile(r"</?\w+[^>]*>")
        for text in entry.msgstr.values():
            if sorted(html.findall(text)) != sorted(html.findall(entry.msgid)):
                problems.append(f"HTML: {entry.msgid!r} -> {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalog_has_the_same_messages(lang: str) -> None:
    reference = {(e.msgctxt, e.msgid) for e in messages("de")}
    assert {(e.msgctxt, e.msgid) for e in messages(lang)} == reference


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_mo_matches_the_po(lang: str) -> None:
    """compilemessages was run after the last .po change (no msgfmt needed to check)."""
    directory = LOCALE_DIR / lang / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    compiled: dict[Any, str] = catalog._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for entry in messages(lang):
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(key, index)] = text
    compiled = {k: v for k, v in compiled.items() if k != ""}  # the header
    assert compiled == expected


def test_a_plural_message_uses_the_language_rules() -> None:
    from django.utils import translation

    text = "%(count)d API key was revoked."
    with translation.override("ru"):
        few = translation.ngettext(text, "%(count)d API keys were revoked.", 3) % {"count": 3}
        many = translation.ngettext(text, "%(count)d API keys were revoked.", 5) % {"count": 5}
    assert few == "Отозвано 3 API-ключа." and many == "Отозвано 5 API-ключей."


@pytest.fixture
def staff_client(client: Any, make_staff: Callable[..., Any]) -> Any:
    client.force_login(make_staff(superuser=True))
    return client


@pytest.mark.parametrize(
    ("accept", "html_lang", "index_text", "dashboard_text"),
    [
        ("de", 'lang="de"', ["NPS-Umfragen", "Projekte"], ["NPS-Dashboard", "Neueste Kommentare"]),
        (
            "ja",
            'lang="ja"',
            ["NPS アンケート", "プロジェクト"],
            ["NPS ダッシュボード", "最新のコメント"],
        ),
        ("ar", 'dir="rtl"', ["استطلاعات NPS", "المشاريع"], ["لوحة NPS", "أحدث التعليقات"]),
        ("en", 'lang="en"', ["NPS surveys", "Projects"], ["NPS dashboard", "Latest comments"]),
    ],
)
def test_admin_and_dashboard_follow_accept_language(
    staff_client: Any,
    project: Project,
    accept: str,
    html_lang: str,
    index_text: list[str],
    dashboard_text: list[str],
) -> None:
    index = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=accept)
    assert index.status_code == 200
    body = index.content.decode()
    assert html_lang in body
    for text in index_text:
        assert text in body

    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    page = staff_client.get(url, HTTP_ACCEPT_LANGUAGE=accept)
    assert page.status_code == 200
    body = page.content.decode()
    assert html_lang in body
    for text in dashboard_text:
        assert text in body


def test_the_trend_chart_names_its_interval_in_the_staff_language(
    staff_client: Any, project: Project
) -> None:
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    german = staff_client.get(url, {"interval": "month"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "NPS pro Monat mit der 95-%-Fehlermarge als Band" in german.content.decode()
    english = staff_client.get(url, {"interval": "month"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "NPS by month with its 95 % margin of error as a band" in english.content.decode()


def test_the_charts_data_tables_follow_the_staff_language(staff_client: Any, project: Project):
    url = reverse("admin:satismeter_app_project_dashboard", args=[project.pk])
    german = staff_client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert german.count("<summary>Datentabelle</summary>") == 3
