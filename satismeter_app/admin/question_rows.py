"""The survey's questions as rows of the survey form, without JSON to type.

One row per question (``questions-<n>-<part>``), in the order the page posts them, so that the
page's script reorders questions by moving rows, with no renumbering. Each row has its id, type,
metric (a scale), whether it is required, its texts in the language on screen (the other
languages travel in the row's hidden ``others`` input, as the survey's texts do: the page's
script swaps them when the language changes), its choices as rows of their own
(``questions-<n>-choice-<m>-<part>``) and its condition (an earlier question and the answers
that show this one). The built-in rating and comment (``SM_rating``, ``SM_comment``) keep their
id and type and take their texts from the survey's texts; they can be moved and given a
condition.

The rows make the stored list (:mod:`satismeter_app.questions`), checked by ``questions.parse``
with the languages of the catalogue, as the model and the management API check it; the row it
refuses is marked and named in the staff member's language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import i18n, questions
from ..questions import BUILT_IN, CHOICE_TYPES, SCALE, SMILEY, TEXT_KEYS

TYPE_LABELS = {
    questions.SCALE: _("Scale"),
    questions.SMILEY: _("Smiley (five faces)"),
    questions.SINGLE_CHOICE: _("Single choice"),
    questions.MULTIPLE_CHOICE: _("Multiple choice"),
    questions.LONG_TEXT: _("Long text"),
}
METRIC_LABELS = {
    "": _("None (1–5)"),
    questions.NPS: _("NPS (0–10)"),
    questions.CSAT: _("CSAT (1–5)"),
    questions.CES: _("CES (1–7)"),
}
BUILT_IN_LABELS = {
    questions.RATING_QUESTION: _("The survey's rating: its texts are in “Texts & design”."),
    questions.COMMENT_QUESTION: _("The follow-up comment: its texts are in “Texts & design”."),
}
QUESTION_PARTS = (
    "id",
    "type",
    "metric",
    "required",
    "others",
    "condition",
    "values",
    *TEXT_KEYS,
)
CHOICE_PARTS = ("id", "text", "others")
NEW_TYPE = questions.SINGLE_CHOICE  # what staff add next to the score, most often


class PostedQuestions(list):
    """The questions as posted, in the stored shape, and the language their texts were in."""

    language: str = i18n.ENGLISH
    unreadable: bool = False


def _text_keys(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The texts a question's row edits: a scale and a smiley have legends under them."""
    if item.get("id") in BUILT_IN or item.get("type") in (SCALE, SMILEY):
        return TEXT_KEYS
    return ("label",)


def _json_object(text: str, posted: PostedQuestions) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        posted.unreadable = True
        return {}
    return value


def _condition_value(text: str) -> Any:
    """A number for a scale or a smiley; categories and choice ids start with a letter."""
    return int(text) if re.fullmatch(r"-?\d{1,6}", text) else text


def _posted_rows(data: Any, name: str) -> list[dict[str, Any]]:
    """Each row's parts and its choices' parts, in the order the page posted them."""
    own = re.compile(rf"{re.escape(name)}-(\d{{1,6}})-(\w+)")
    choice = re.compile(rf"{re.escape(name)}-(\d{{1,6}})-choice-(\d{{1,6}})-(\w+)")
    rows: dict[str, dict[str, Any]] = {}
    for key in data:
        if match := choice.fullmatch(key):
            if match[3] in CHOICE_PARTS:
                row = rows.setdefault(match[1], {"parts": {}, "choices": {}})
                row["choices"].setdefault(match[2], {})[match[3]] = str(data.get(key, ""))
        elif (match := own.fullmatch(key)) and match[2] in QUESTION_PARTS:
            row = rows.setdefault(match[1], {"parts": {}, "choices": {}})
            row["parts"][match[2]] = str(data.get(key, ""))
    return list(rows.values())


def _row_texts(
    parts: Mapping[str, str], language: str, keys: tuple[str, ...], posted: PostedQuestions
) -> dict[str, dict[str, str]]:
    """The row's texts: the other languages' from its hidden input, the shown one's from its
    inputs (when the row has them; a built-in's are all in the hidden input)."""
    texts: dict[str, dict[str, str]] = {}
    for tag, strings in _json_object(parts.get("others", ""), posted).items():
        if not isinstance(strings, dict):
            continue
        kept = {k: str(v).strip() for k, v in strings.items() if k in keys and str(v).strip()}
        if kept:
            texts[str(tag)] = kept
    if any(key in parts for key in keys):
        own = {key: parts[key].strip() for key in keys if parts.get(key, "").strip()}
        texts.pop(language, None)
        if own:
            texts[language] = own
    return texts


def _choice(parts: Mapping[str, str], language: str, posted: PostedQuestions) -> dict[str, Any]:
    texts = {
        str(tag): str(text).strip()
        for tag, text in _json_object(parts.get("others", ""), posted).items()
        if isinstance(text, str) and text.strip() and tag != language
    }
    if parts.get("text", "").strip():
        texts[language] = parts["text"].strip()
    return {"id": parts.get("id", "").strip(), "texts": texts}


def question_from_row(row: Mapping[str, Any], language: str, posted: PostedQuestions) -> dict:
    """One question in the stored shape, from its row; what is wrong is left for the check."""
    parts = row["parts"]
    item: dict[str, Any] = {"id": parts.get("id", "").strip(), "type": parts.get("type", "")}
    if item["type"] == SCALE and parts.get("metric"):
        item["metric"] = parts["metric"]
    item["required"] = parts.get("required") == "1"
    texts = _row_texts(parts, language, _text_keys(item), posted)
    if texts:
        item["texts"] = texts
    if item["type"] in CHOICE_TYPES:
        item["choices"] = [_choice(c, language, posted) for c in row["choices"].values()]
    if parts.get("condition", "").strip():
        values = [_condition_value(v) for v in _split(parts.get("values", ""))]
        item["condition"] = {"question": parts["condition"].strip(), "values": values}
    return item


def _split(line: str) -> list[str]:
    return [value.strip() for value in line.split(",") if value.strip()]


class QuestionsWidget(forms.Widget):
    template_name = "admin/satismeter_app/survey/widgets/questions.html"
    default_language = i18n.ENGLISH
    saved_ids: frozenset[str] = frozenset()  # ids answers may already use: not renamed here
    error_row: int | None = None  # the 1-based row the last check refused

    def value_from_datadict(self, data: Any, files: Any, name: str) -> PostedQuestions | None:
        if f"{name}-language" not in data:
            return None  # the page did not post the questions at all: the saved ones are kept
        posted = PostedQuestions()
        language = str(data.get(f"{name}-language") or "")
        posted.language = language if language in i18n.available_languages() else "en"
        for row in _posted_rows(data, name):
            posted.append(question_from_row(row, posted.language, posted))
        return posted

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-language" not in data

    def id_for_label(self, id_: str) -> str:
        return ""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        listed = value if isinstance(value, list) else []
        items = [item for item in listed if isinstance(item, dict)]
        language = getattr(value, "language", "") or self.default_language
        language = language if language in i18n.available_languages() else i18n.ENGLISH
        blank = {"id": "", "type": NEW_TYPE, "choices": [{"id": ""}, {"id": ""}]}
        context["widget"].update(
            rows=[self._row(n, item, language, items[:n]) for n, item in enumerate(items)],
            blank=self._row("__n__", blank, language, []),
            choice_blank=_choice_row("__m__", {}, language),
            language=language,
            direction=i18n.direction(language),
            languages=i18n.language_choices(),
            directions={tag: i18n.direction(tag) for tag in i18n.available_languages()},
            directions_id=f"{context['widget']['attrs'].get('id', name)}-directions",
            types=[(kind, str(label)) for kind, label in TYPE_LABELS.items()],
            metrics=[(metric, str(label)) for metric, label in METRIC_LABELS.items()],
            group_label=self.attrs.get("aria-label", ""),
        )
        return context

    def _row(self, index: int | str, item: Mapping[str, Any], language: str, before: list) -> dict:
        number = index + 1 if isinstance(index, int) else ""
        texts = _object(item.get("texts"))
        condition = _object(item.get("condition"))
        qid, kind = str(item.get("id", "")), str(item.get("type", ""))
        built_in = qid in BUILT_IN and isinstance(index, int)
        target = str(condition.get("question", ""))
        shown = _object(texts.get(language))
        values = condition.get("values")
        values = values if isinstance(values, list) else []
        earlier = [str(other.get("id", "")) for other in before]
        return {
            "index": str(index),
            "number": number,
            "error": number == self.error_row,
            "values": {**item, "id": qid, "type": kind, "metric": item.get("metric") or ""},
            "texts": {key: shown.get(key, "") for key in TEXT_KEYS} if not built_in else {},
            "others": json.dumps(texts if built_in else _without(texts, language)),
            "built_in": built_in,
            "built_in_label": BUILT_IN_LABELS.get(qid, ""),
            "type_label": TYPE_LABELS.get(kind, kind),
            "saved": qid in self.saved_ids,
            "shows": _parts_shown(kind),
            "targets": earlier + ([target] if target and target not in earlier else []),
            "condition": target,
            "condition_hint": answers_hint(next((o for o in before if o.get("id") == target), {})),
            "condition_values": ", ".join(str(v) for v in values),
            "choices": [_choice_row(m, c, language) for m, c in enumerate(_choices_of(item))],
        }


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _without(texts: Mapping[str, Any], language: str) -> dict[str, Any]:
    return {tag: strings for tag, strings in texts.items() if tag != language}


def _choices_of(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    choices = item.get("choices")
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


def _choice_row(index: int | str, choice: Mapping[str, Any], language: str) -> dict[str, Any]:
    texts = _object(choice.get("texts"))
    return {
        "index": str(index),
        "number": index + 1 if isinstance(index, int) else "",
        "id": str(choice.get("id", "")),
        "text": str(texts.get(language, "")),
        "others": json.dumps(_without(texts, language)),
    }


def answers_hint(target: Mapping[str, Any]) -> str:
    """The answers a condition on ``target`` may name, for its input's placeholder (the
    page's script repeats this)."""
    kind = target.get("type")
    if kind in CHOICE_TYPES:
        return ", ".join(str(c.get("id")) for c in _choices_of(target) if c.get("id"))
    if kind == SCALE and target.get("metric") == questions.NPS:
        return "detractor, passive"
    return "1, 2" if kind in (SCALE, SMILEY) else ""


def _parts_shown(kind: str) -> dict[str, bool]:
    """Which parts of a row its type uses (the page's script repeats this)."""
    return {
        "metric": kind == SCALE,
        "legends": kind in (SCALE, SMILEY),
        "choices": kind in CHOICE_TYPES,
    }


class QuestionsField(forms.Field):
    widget = QuestionsWidget

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        if getattr(value, "unreadable", False):
            raise ValidationError(
                _("The texts of the other languages could not be read; reload the page.")
            )
        return list(value)

    def validate(self, value: Any) -> None:
        if value is None:
            return
        self.widget.error_row = None  # type: ignore[attr-defined]
        for number, item in enumerate(value, start=1):
            if "condition" in item and not item["condition"]["values"]:
                self.widget.error_row = number  # type: ignore[attr-defined]
                raise ValidationError(
                    gettext("Question %(number)s (%(id)s): give the answers that show it.")
                    % {"number": number, "id": item["id"]},
                    code="invalid",
                )
        try:
            questions.parse(value, languages=i18n.available_languages())
        except ValueError as error:
            raise self.refusal(str(error), value) from error

    def refusal(self, message: str, value: list[dict[str, Any]]) -> ValidationError:
        """The check's message, led by the question's place in the staff member's language;
        the row is marked."""
        number, reason = refused_question(message, value)
        self.widget.error_row = number  # type: ignore[attr-defined]
        if number is None:
            text = gettext("The questions cannot be saved: %(reason)s") % {"reason": reason}
        else:
            text = gettext("Question %(number)s (%(id)s): %(reason)s") % {
                "number": number,
                "id": value[number - 1].get("id") or "?",
                "reason": reason,
            }
        return ValidationError(text, code="invalid")

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial if data is None else data

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            value = self.to_python(data)
        except ValidationError:
            return True
        return value is not None and value != (initial or [])


def refused_question(message: str, value: list[dict[str, Any]]) -> tuple[int | None, str]:
    """Which question ``questions.parse`` names (1-based), and what it says of it."""
    by_place = re.match(r"Question (\d+)(?::| must) ?(.*)", message, re.S)
    if by_place:
        return int(by_place[1]), by_place[2] or message
    by_id = re.match(r"Question (['\"])(.*?)\1: (.*)", message, re.S)
    if by_id:
        ids = [str(item.get("id", "")) for item in value]
        if by_id[2] in ids:
            return ids.index(by_id[2]) + 1, by_id[3]
    return None, message
