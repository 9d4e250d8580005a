"""The survey form without JSON to type: texts per language, the design, trait conditions and
page rules as rows, device types as checkboxes.

Each editor reads and writes the same JSON the Survey has always stored (clients and the APIs
see no change); only the editing is new. An editor is a widget that renders inputs of its own
(``texts-de-FOLLOWUP``, ``trait_conditions-3-op``…) and reads them back as the value of one
form field, whose ``clean`` turns them into the stored JSON and checks it with the same
function the model and the management API use (``rules.py``, ``design.py``). A row the check
refuses is named in the message ("Condition 2: …") and marked in the form.

Rows are posted as ``<field>-<n>-<part>``; ``n`` only orders them (the page's script numbers a
new row after the highest), so removing a row needs no renumbering. The survey's questions,
rows that hold rows (their choices) and texts per language, have a module of their own:
:mod:`satismeter_app.admin.question_rows`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .. import i18n, questions, rules
from ..design import (
    COLOR_KEYS,
    CTA_CATEGORIES,
    DEFAULT_COLORS,
    FLAG_DEFAULTS,
    DeviceType,
    Position,
    Skin,
    is_css_colour,
    validate_design,
)
from ..models import Survey
from .question_rows import QuestionsField
from .scoping import ProjectScopedForm

# The fields the audience estimate reads: the Targeting section, and the state and schedule.
TARGETING_FIELDS = (
    "audience",
    "min_tenure_days",
    "tenure_basis",
    "trait_conditions",
    "trigger_event",
    "event_window_days",
    "url_rules",
    "device_types",
    "sample_percent",
    "resurvey_days",
    "dismiss_wait_days",
    "max_displays",
)
SCHEDULE_FIELDS = ("state", "starts_at", "ends_at")


def _model_label(name: str) -> Any:
    return capfirst(getattr(Survey._meta.get_field(name), "verbose_name", name))


# --- rows ------------------------------------------------------------------------------------


class Rows(list):
    """Rows as posted: one dict of the row's inputs (strings) per row, in the page's order."""


class RowsWidget(forms.Widget):
    """Renders a list as rows of inputs and reads them back as :class:`Rows`."""

    parts: tuple[str, ...] = ()
    row_label: Any = ""
    add_label: Any = ""
    # The 1-based row that the last check refused, set by the field: the row is marked.
    error_row: int | None = None

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Rows:
        pattern = re.compile(rf"{re.escape(name)}-(\d{{1,6}})-(\w+)")
        rows: dict[int, dict[str, str]] = {}
        for key in data:
            match = pattern.fullmatch(key)
            if match and match[2] in self.parts:
                rows.setdefault(int(match[1]), {})[match[2]] = str(data.get(key, ""))
        return Rows(rows[index] for index in sorted(rows))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no row posted is an empty list, not "keep what was saved"

    def display_row(self, item: Any) -> dict[str, str]:
        """A stored item as the strings its row's inputs show."""
        raise NotImplementedError

    def row_context(self, values: Mapping[str, str]) -> dict[str, Any]:
        """What a row's template needs besides its values."""
        return {}

    def id_for_label(self, id_: str) -> str:
        return ""  # the label names the group of rows (aria-label), not one input

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        items = value if isinstance(value, list) else []
        shown = [row if isinstance(value, Rows) else self.display_row(row) for row in items]
        context["widget"].update(
            rows=[self._row(index, row) for index, row in enumerate(shown)],
            blank=self._row("__n__", self.display_row({})),
            row_label=self.row_label,
            add_label=self.add_label,
            group_label=self.attrs.get("aria-label", self.row_label),
        )
        return context

    def _row(self, index: int | str, values: Mapping[str, str]) -> dict[str, Any]:
        number = index + 1 if isinstance(index, int) else ""
        error = number == self.error_row
        row = {"index": str(index), "number": number, "values": values, "error": error}
        return row | self.row_context(values)


class RowsField(forms.Field):
    """A list edited as rows: ``to_python`` builds the stored items, ``check`` is the rule."""

    check: Callable[[Any], None]

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, Rows):
            return value if isinstance(value, list) else []
        return [self.item_from_row(row) for row in value]

    def item_from_row(self, row: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, value: Any) -> None:
        try:
            type(self).check(value)
        except rules.RuleError as error:
            self.widget.error_row = error.row  # type: ignore[attr-defined]
            raise ValidationError(str(error), code="invalid") from error

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(data) != (initial or [])


def _number(text: str) -> Any:
    """A typed number as int or float; anything else is left as typed, for the check to name."""
    text = text.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and abs(number) != float("inf") else text


def join_values(values: list[str]) -> str:
    """A list as one line: comma-separated, a value with a comma or a quote in quotes."""
    quoted = ['"' + v.replace('"', '""') + '"' if "," in v or '"' in v else v for v in values]
    return ", ".join(quoted)


def split_values(line: str) -> list[str]:
    """The values of :func:`join_values`'s line (or of one typed the same way)."""
    try:
        parts = next(csv.reader([line], skipinitialspace=True), [])
    except csv.Error:
        parts = line.split(",")
    return [part.strip() for part in parts if part.strip()]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# Trait conditions

OPERATOR_LABELS = {
    "equals": _("is"),
    "not_equals": _("is not"),
    "contains": _("contains"),
    "in": _("is one of"),
    "eq": "=",
    "lt": "<",
    "gt": ">",
    "between": _("is between"),
    "before": _("is before"),
    "after": _("is after"),
    "within_days": _("is within the last … days"),
    "is": _("is"),
    "exists": _("is set"),
    "missing": _("is not set"),
}
TYPE_LABELS = {
    "text": _("text"),
    "number": _("number"),
    "date": _("date"),
    "boolean": _("yes / no"),
}


def operators_by_type() -> dict[str, list[tuple[str, str]]]:
    """Each type's operators as (code, label), in the order the form offers them."""
    order = list(OPERATOR_LABELS)
    return {
        kind: [
            (op, str(OPERATOR_LABELS[op]))
            for op in sorted(ops | rules.PRESENCE_OPERATORS, key=order.index)
        ]
        for kind, ops in rules.OPERATORS.items()
    }


class ConditionsWidget(RowsWidget):
    template_name = "admin/satismeter_app/survey/widgets/conditions.html"
    parts = ("trait", "type", "op", "value", "value2", "flag")
    row_label = _("Condition")
    add_label = _("Add a condition")

    def display_row(self, item: Any) -> dict[str, str]:
        condition = item if isinstance(item, dict) else {}
        kind, op, value = condition.get("type") or "text", condition.get("op") or "", None
        row = {"trait": _as_text(condition.get("trait")), "type": kind, "op": op}
        row.update(value="", value2="", flag="")
        value = condition.get("value")
        texts = [_as_text(v) for v in value] if isinstance(value, list) else []
        if op == "in":
            row["value"] = join_values(texts)
        elif op == "between":
            row.update(value=[*texts, ""][0], value2=[*texts, "", ""][1])
        elif kind == "boolean":
            row["flag"] = _as_text(value)
        else:
            row["value"] = _as_text(value)
        return row

    def row_context(self, values: Mapping[str, str]) -> dict[str, Any]:
        kind = str(values.get("type", ""))
        kind = kind if kind in rules.OPERATORS else "text"
        return {
            "operators": operators_by_type()[kind],
            "shows": inputs_shown(kind, values.get("op", "")),
        }

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["types"] = [(kind, str(label)) for kind, label in TYPE_LABELS.items()]
        context["widget"]["operators"] = operators_by_type()
        return context


def inputs_shown(kind: str, op: str) -> dict[str, bool]:
    """Which value inputs a condition's row shows (the page's script repeats this)."""
    presence = op in rules.PRESENCE_OPERATORS
    return {
        "value": not presence and kind != "boolean",
        "value2": op == "between",
        "flag": not presence and kind == "boolean",
    }


class ConditionsField(RowsField):
    widget = ConditionsWidget
    check = staticmethod(rules.validate_trait_conditions)

    def item_from_row(self, row: Mapping[str, str]) -> dict[str, Any]:
        kind, op = row.get("type", ""), row.get("op", "")
        condition: dict[str, Any] = {"trait": row.get("trait", "").strip()}
        if op in rules.PRESENCE_OPERATORS:
            return {**condition, "op": op}
        return {**condition, "type": kind, "op": op, "value": _typed_value(kind, op, row)}


def _typed_value(kind: str, op: str, row: Mapping[str, str]) -> Any:
    """The condition's value from the row's inputs; what cannot be read is left as typed, so
    that rules.validate_trait_conditions names the row and says what it needs."""
    value = row.get("value", "")
    if op == "in":
        return split_values(value)
    if kind == "text":
        return value
    if op == "between":
        return [_number(value), _number(row.get("value2", ""))]
    if kind == "number" or op == "within_days":
        number = _number(value)
        return number if op != "within_days" or not isinstance(number, float) else value
    if kind == "boolean":
        return {"true": True, "false": False}.get(row.get("flag", ""), row.get("flag", ""))
    return value.strip()


# Page rules

URL_OPERATOR_LABELS = {
    "contains": _("contains"),
    "equals": _("is"),
    "starts_with": _("starts with"),
    "regex": _("matches the regular expression"),
}


class PageRulesWidget(RowsWidget):
    template_name = "admin/satismeter_app/survey/widgets/page_rules.html"
    parts = ("exclude", "op", "value")
    row_label = _("Page rule")
    add_label = _("Add a page rule")

    def display_row(self, item: Any) -> dict[str, str]:
        rule = item if isinstance(item, dict) else {}
        exclude = "1" if rule.get("exclude") is True else ""
        return {
            "exclude": exclude,
            "op": _as_text(rule.get("op")) or "contains",
            "value": _as_text(rule.get("value")),
        }

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["operators"] = [
            (op, str(label)) for op, label in URL_OPERATOR_LABELS.items()
        ]
        return context


class PageRulesField(RowsField):
    widget = PageRulesWidget
    check = staticmethod(rules.validate_url_rules)

    def item_from_row(self, row: Mapping[str, str]) -> dict[str, Any]:
        rule: dict[str, Any] = {"op": row.get("op", ""), "value": row.get("value", "").strip()}
        if row.get("exclude") == "1":
            rule["exclude"] = True
        return rule


# --- texts -----------------------------------------------------------------------------------

# What each built-in text is, for staff; a key the catalogue gains later is shown by its name.
TEXT_LABELS = {
    "HOW_LIKELY": _("Question"),
    "HOW_LIKELY_US": _("Question when there is no service name"),
    "UNLIKELY": _("Label under 0"),
    "LIKELY": _("Label under 10"),
    "FOLLOWUP": _("Follow-up question"),
    "FOLLOWUP_PROMOTER": _("Follow-up question for promoters (9–10)"),
    "FOLLOWUP_PASSIVE": _("Follow-up question for passives (7–8)"),
    "FOLLOWUP_DETRACTOR": _("Follow-up question for detractors (0–6)"),
    "FEEDBACK_PLACEHOLDER": _("Comment box hint"),
    "SUBMIT": _("Send button"),
    "DISMISS": _("Close button"),
    "BACK": _("Back button"),
    "THANKS": _("Thank-you message"),
    "FILLED": _("Already answered"),
    "POWERED_BY": _("“Powered by”"),
    "RATING_LABEL": _("Rating scale, for screen readers"),
    "SCORE_BUTTON_LABEL": _("Score button, for screen readers"),
    "SHORTCUT": _("Keyboard shortcut hint"),
    "CONTINUE": _("Continue button (next question; the email's follow-up page)"),
    "US": _("“us”, when there is no service name"),
    "SUBJECT": _("Email subject"),
    "SUBJECT_US": _("Email subject when there is no service name"),
    "INTRO": _("Email introduction"),
    "OUTRO": _("Email closing line"),
    "UNSUBSCRIBE": _("Email unsubscribe link"),
    "UNSUBSCRIBED": _("Email unsubscribe page: confirmation"),
    "ANSWER_SURVEY": _("Email button to the survey's questions"),
}
EMAIL_KEYS = frozenset(
    {"SUBJECT", "SUBJECT_US", "INTRO", "OUTRO", "UNSUBSCRIBE", "UNSUBSCRIBED", "ANSWER_SURVEY"}
)


def text_keys() -> list[str]:
    """The keys a survey may override: those staff know by name first, in the order the
    widget shows them, then any other of the catalogue."""
    keys = [key for key in i18n.catalog(i18n.ENGLISH) if key not in i18n.FIXED_KEYS]
    order = list(TEXT_LABELS)
    return sorted(keys, key=lambda key: order.index(key) if key in order else len(order))


def builtin_texts() -> dict[str, dict[str, str]]:
    """Every language's built-in texts (the placeholders) and its DIRECTION, by tag."""
    keys = [*text_keys(), "DIRECTION"]
    return {tag: {k: i18n.catalog(tag)[k] for k in keys} for tag in i18n.available_languages()}


class PostedTexts(dict):
    """The texts as posted: every language's overrides, and the language that was on screen."""

    language: str = i18n.ENGLISH
    unreadable: bool = False


class TextsWidget(forms.Widget):
    """One language's texts at a time, each with its built-in text as placeholder; the other
    languages' overrides travel in a hidden input (the page's script swaps them)."""

    template_name = "admin/satismeter_app/survey/widgets/texts.html"
    default_language = i18n.ENGLISH

    def value_from_datadict(self, data: Any, files: Any, name: str) -> PostedTexts | None:
        if f"{name}-language" not in data:
            return None  # the page did not post the texts at all: the saved ones are kept
        texts = PostedTexts()
        language = str(data.get(f"{name}-language") or "")
        try:
            others = json.loads(data.get(f"{name}-others") or "{}")
        except ValueError:
            others, texts.unreadable = {}, True
        if isinstance(others, dict):
            texts.update({tag: strings for tag, strings in others.items() if tag != language})
        else:
            texts.unreadable = True
        prefix = f"{name}-{language}-"
        own = {
            key.removeprefix(prefix): str(data.get(key)).strip()
            for key in data
            if key.startswith(prefix) and str(data.get(key) or "").strip()
        }
        if language and own:
            texts[language] = own
        texts.language = language or self.default_language
        return texts

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-language" not in data

    def id_for_label(self, id_: str) -> str:
        return ""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        texts = value if isinstance(value, dict) else {}
        language = self._shown_language(texts)
        own = texts.get(language)
        own = own if isinstance(own, dict) else {}
        context["widget"].update(
            language=language,
            direction=i18n.direction(language),
            languages=[
                (tag, label, len(texts.get(tag) or {})) for tag, label in i18n.language_choices()
            ],
            rows=self._rows(language, own),
            others=json.dumps({tag: v for tag, v in texts.items() if tag != language}),
            catalog_id=f"{context['widget']['attrs'].get('id', name)}-catalog",
            catalog=builtin_texts(),
            groups=[(_("In the widget"), False), (_("In the reminder email"), True)],
            group_label=self.attrs.get("aria-label", ""),
        )
        return context

    def _shown_language(self, texts: Mapping[str, Any]) -> str:
        language = getattr(texts, "language", "")
        if not language:
            changed = [tag for tag in texts if tag in i18n.available_languages()]
            language = (
                self.default_language
                if self.default_language in texts or not changed
                else changed[0]
            )
        return language if language in i18n.available_languages() else i18n.ENGLISH

    def _rows(self, language: str, own: Mapping[str, Any]) -> list[dict[str, Any]]:
        builtin = i18n.catalog(language)
        keys = text_keys()
        custom = [key for key in own if key not in keys]
        return [
            {
                "key": key,
                "label": TEXT_LABELS.get(key, key),
                "placeholder": builtin.get(key, ""),
                "value": own.get(key, ""),
                "email": key in EMAIL_KEYS,
            }
            for key in [*keys, *custom]
        ]


class TextsField(forms.Field):
    widget = TextsWidget

    def to_python(self, value: Any) -> Any:
        if isinstance(value, PostedTexts) and value.unreadable:
            raise ValidationError(
                _("The texts of the other languages could not be read; reload the page.")
            )
        return {tag: strings for tag, strings in (value or {}).items() if strings}

    def validate(self, value: Any) -> None:
        try:
            rules.validate_texts(value, i18n.available_languages())
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from error

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


# --- design ----------------------------------------------------------------------------------


def _colour_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"class": "sm-colour-text", "placeholder": _("default")}),
    )


class DesignForm(forms.Form):
    """The design's options as inputs; :meth:`stored` is the design JSON they make."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    skin = forms.ChoiceField(
        label=_("Skin"), required=False, choices=[("", _("Default (dialog)")), *Skin.choices]
    )
    position = forms.ChoiceField(
        label=_("Position"),
        required=False,
        choices=[("", _("The skin's default")), *Position.choices],
    )
    primary = _colour_field(_("Primary colour"))
    foreground = _colour_field(_("Text colour"))
    background = _colour_field(_("Background colour"))
    showNumbers = forms.BooleanField(label=_("Show the numbers on the scale"), required=False)
    requireFeedback = forms.BooleanField(label=_("Require a comment"), required=False)
    poweredBy = forms.BooleanField(label=_("Show “Powered by”"), required=False)
    serviceName = forms.CharField(
        label=_("Service name"),
        required=False,
        max_length=100,
        help_text=_("Fills {{service_name}} in the question; the project's name when empty."),
    )
    ctaText = forms.CharField(
        label=_("Link after the answer: text"), required=False, max_length=100
    )
    ctaUrl = forms.URLField(
        label=_("Link after the answer: address"), required=False, assume_scheme="https"
    )
    ctaFor = forms.MultipleChoiceField(
        label=_("Link shown to"),
        required=False,
        choices=[(c, _(c + "s")) for c in CTA_CATEGORIES],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for key in COLOR_KEYS:
            if cleaned.get(key) and not is_css_colour(cleaned[key]):
                self.add_error(key, _("Use a CSS colour, e.g. #ff4981, rgb(255, 73, 129) or teal."))
        return cleaned

    @classmethod
    def initial_from(cls, design: Mapping[str, Any]) -> dict[str, Any]:
        colours = design.get("colors")
        colours = colours if isinstance(colours, dict) else {}
        initial = {key: design.get(key, default) for key, default in FLAG_DEFAULTS.items()}
        initial.update({key: colours.get(key, "") for key in COLOR_KEYS})
        initial.update(
            {k: design.get(k, "") for k in ("skin", "position", "serviceName", "ctaText", "ctaUrl")}
        )
        initial["ctaFor"] = list(design.get("ctaFor") or CTA_CATEGORIES)
        return initial

    def stored(self, previous: Mapping[str, Any]) -> dict[str, Any]:
        """The design JSON: what is set, and yes/no options that differ from the widget's
        default or were stored before (so saving unchanged changes nothing)."""
        data = self.cleaned_data
        design: dict[str, Any] = {k: data[k] for k in ("skin", "position") if data.get(k)}
        colours = {key: data[key].strip() for key in COLOR_KEYS if data.get(key)}
        if colours:
            design["colors"] = colours
        for key, default in FLAG_DEFAULTS.items():
            if data.get(key) != default or key in previous:
                design[key] = bool(data.get(key))
        design.update({k: data[k] for k in ("serviceName", "ctaText", "ctaUrl") if data.get(k)})
        chosen = [c for c in CTA_CATEGORIES if c in (data.get("ctaFor") or [])]
        if chosen != list(CTA_CATEGORIES) or "ctaFor" in previous:
            design["ctaFor"] = chosen
        return design


class DesignWidget(forms.Widget):
    template_name = "admin/satismeter_app/survey/widgets/design.html"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> DesignForm | None:
        # None when the page did not post the design at all: the saved design is kept.
        return DesignForm(data, prefix=name) if f"{name}-skin" in data else None

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-skin" not in data

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if not isinstance(value, DesignForm):
            design = value if isinstance(value, dict) else {}
            value = DesignForm(initial=DesignForm.initial_from(design), prefix=name)
        colours = [(value[key], _picker_colour(value, key)) for key in COLOR_KEYS]
        context["widget"].update(
            form=value, colours=colours, group_label=self.attrs.get("aria-label", "")
        )
        return context

    def id_for_label(self, id_: str) -> str:
        return ""


def _picker_colour(form: DesignForm, key: str) -> str:
    """Where a colour picker starts: the colour typed, when it is #rgb or #rrggbb, else the
    widget's own."""
    typed = str(form[key].value() or "").strip()
    if re.fullmatch(r"#[0-9a-fA-F]{6}", typed):
        return typed.lower()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", typed):
        return "#" + "".join(c * 2 for c in typed[1:]).lower()
    return DEFAULT_COLORS[key]


class DesignField(forms.Field):
    widget = DesignWidget
    previous: Mapping[str, Any] = {}

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, DesignForm):
            return value if isinstance(value, dict) else {}
        if not value.is_valid():
            raise ValidationError(
                [
                    f"{value[name].label}: {' '.join(map(str, errors))}"
                    for name, errors in value.errors.items()
                ]
            )
        return value.stored(self.previous)

    def validate(self, value: Any) -> None:
        try:
            validate_design(value)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from error

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


# --- the form --------------------------------------------------------------------------------


class SurveyForm(ProjectScopedForm):
    texts = TextsField(
        label=_model_label("texts"),
        required=False,
        help_text=_(
            "Pick a language: the grey text is what users see unless you write your own. "
            "Only what you write is saved; {{service_name}} becomes the service name."
        ),
    )
    design = DesignField(label=_model_label("design"), required=False)
    questions = QuestionsField(
        label=_model_label("questions"),
        required=False,
        help_text=_(
            "Asked in this order; a question with a condition is asked only after one of the "
            "given answers to the earlier question: categories (promoter, passive, detractor) "
            "for an NPS rating, numbers for another scale or a smiley, choice ids for a choice. "
            "Texts left empty in a language fall back to the project's default language."
        ),
    )
    trait_conditions = ConditionsField(
        label=_model_label("trait_conditions"),
        required=False,
        help_text=_(
            "All must hold. “Is one of” takes values separated by commas; put a value that "
            "has a comma in quotes."
        ),
    )
    url_rules = PageRulesField(
        label=_model_label("url_rules"),
        required=False,
        help_text=_(
            "The page must match one “show on” rule (if there is any) and no “never on” rule. "
            "A value starting with / is compared with the address from its path on."
        ),
    )
    device_types = forms.MultipleChoiceField(
        label=_model_label("device_types"),
        required=False,
        choices=DeviceType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every device."),
    )

    class Meta:
        model = Survey
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        project = getattr(self.instance, "project", None) if self.instance.project_id else None
        if "texts" in self.fields and project is not None:
            self.fields["texts"].widget.default_language = project.default_language  # type: ignore[attr-defined]
        if "design" in self.fields:
            self.fields["design"].previous = dict(self.instance.design or {})  # type: ignore[attr-defined]
        if "questions" in self.fields:
            self._set_up_questions(project)
        for name in ("texts", "design", "questions", "trait_conditions", "url_rules"):
            if name in self.fields:
                self.fields[name].widget.attrs["aria-label"] = str(self.fields[name].label)

    def _set_up_questions(self, project: Any) -> None:
        widget = self.fields["questions"].widget
        saved = self.instance.questions if self.instance.pk else []
        if not self.instance.pk:  # a new survey asks what every survey asked before
            self.fields["questions"].initial = self.instance.questions
        widget.saved_ids = frozenset(  # type: ignore[attr-defined]
            str(item.get("id")) for item in saved if isinstance(item, dict)
        )
        if project is not None:
            widget.default_language = project.default_language  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """The rating question's metric is the survey's type (as ``questions.of_survey``
        reads it), so that a condition on it is checked as it will be used."""
        cleaned = super().clean() or {}
        listed, kind = cleaned.get("questions"), cleaned.get("type")
        for item in listed if isinstance(listed, list) else []:
            if item.get("id") == questions.RATING_QUESTION and kind:
                item["metric"] = kind
        return cleaned

    def clean_device_types(self) -> list[str]:
        chosen = set(self.cleaned_data.get("device_types") or [])
        return [device for device in DeviceType.values if device in chosen]
