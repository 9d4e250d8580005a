"""A survey's questions: what each type accepts, when a question is shown, how it is stored.

A survey is an ordered list of questions (``Survey.questions``, a JSON list validated by
:func:`parse`). Each is one of SatisMeter's types — ``scale`` (with a ``metric``: ``nps``,
``csat`` or ``ces``), ``smiley``, ``single-choice``, ``multiple-choice`` and ``long-text`` —
with its texts per language, whether it must be answered, and an optional condition on an
earlier answer. The built-in questions keep SatisMeter's names: ``SM_rating``, the survey's
rating (0–10, stored in ``Response.rating``), and ``SM_comment``, the follow-up comment
(``Response.feedback``); their texts come from the catalogue and the survey's ``texts``, as
before questions existed. Every other answer is stored in ``Response.answers`` as
``{id, label, value, type, metric?}``.

Stored shape of one question::

    {"id": "reason", "type": "single-choice", "required": false,
     "texts": {"en": {"label": "What should we improve?", "low": "", "high": ""}},
     "choices": [{"id": "price", "texts": {"en": "Price"}}, ...],
     "condition": {"question": "SM_rating", "values": ["detractor", "passive"]}}

A condition names an earlier question and the values that show this one: categories
(``promoter``, ``passive``, ``detractor``) for an NPS scale, numbers for another scale or a
smiley, choice ids for a choice question (any chosen one matches).

Pure: no database, no Django models; :mod:`satismeter_app.rules` style validation that raises
``ValueError`` with a sentence naming the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import nps

RATING_QUESTION = "SM_rating"
COMMENT_QUESTION = "SM_comment"
BUILT_IN = (RATING_QUESTION, COMMENT_QUESTION)

SCALE = "scale"
SMILEY = "smiley"
SINGLE_CHOICE = "single-choice"
MULTIPLE_CHOICE = "multiple-choice"
LONG_TEXT = "long-text"
TYPES = (SCALE, SMILEY, SINGLE_CHOICE, MULTIPLE_CHOICE, LONG_TEXT)
CHOICE_TYPES = (SINGLE_CHOICE, MULTIPLE_CHOICE)

NPS, CSAT, CES = "nps", "csat", "ces"
METRICS = (NPS, CSAT, CES)
# The values a scale takes, by metric (SatisMeter's: NPS 0–10, CSAT 1–5, CES 1–7); a scale
# with no metric is 1–5, as is a smiley (five faces).
SCALE_RANGES: dict[str | None, range] = {
    NPS: range(0, 11),
    CSAT: range(1, 6),
    CES: range(1, 8),
    None: range(1, 6),
}
SMILEY_RANGE = range(1, 6)

MAX_QUESTIONS = 20
MAX_CHOICES = 30
MAX_TEXT = 500  # a question's label, a legend or a choice
MAX_LONG_TEXT = 5000  # a long-text answer
TEXT_KEYS = ("label", "low", "high")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,49}$")


@dataclass(frozen=True)
class Choice:
    id: str
    texts: Mapping[str, str]  # language -> text


@dataclass(frozen=True)
class Condition:
    question: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    metric: str | None = None
    required: bool = False
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> key -> text
    choices: tuple[Choice, ...] = ()
    condition: Condition | None = None

    @property
    def built_in(self) -> bool:
        return self.id in BUILT_IN

    @property
    def values(self) -> range | None:
        """The numbers a scale or smiley takes; None for the other types. The survey's rating
        is 0–10 whatever its metric (``Response.rating``, SatisMeter's contract)."""
        if self.id == RATING_QUESTION:
            return SCALE_RANGES[NPS]
        if self.type == SCALE:
            return SCALE_RANGES[self.metric]
        return SMILEY_RANGE if self.type == SMILEY else None

    def text(self, key: str, language: str, default_language: str = "en") -> str:
        """A text of the question in ``language``, else its base language, the default
        language, English, then any language it has ("" when it has none)."""
        return _in_language(
            {lang: texts.get(key, "") for lang, texts in self.texts.items()},
            language,
            default_language,
        )

    def choice_text(self, choice: Choice, language: str, default_language: str = "en") -> str:
        return _in_language(choice.texts, language, default_language) or choice.id


def texts_in(
    question: Question,
    language: str,
    default_language: str,
    strings: Mapping[str, str],
    *,
    followup: str | None = None,
) -> tuple[str, str, str]:
    """The question's label and its legends (low, high) in ``language``, wherever it is asked.
    The built-in questions keep the texts they had before questions existed: ``strings`` are
    the catalogue's, resolved with the survey's ``texts`` (``i18n.resolve_strings``); the
    comment asks ``followup`` when the caller knows the rating's category, else FOLLOWUP."""
    if question.id == RATING_QUESTION:
        return strings["HOW_LIKELY"], strings["UNLIKELY"], strings["LIKELY"]
    if question.id == COMMENT_QUESTION:
        return followup or strings["FOLLOWUP"], "", ""
    label, low, high = (question.text(key, language, default_language) for key in TEXT_KEYS)
    return label, low, high


def _in_language(texts: Mapping[str, str], language: str, default_language: str) -> str:
    for candidate in (language, language.split("-")[0], default_language, "en"):
        if texts.get(candidate):
            return texts[candidate]
    return next((text for text in texts.values() if text), "")


def default_questions(metric: str = NPS) -> list[dict[str, Any]]:
    """What a survey asked before it had a list of questions, and what a new survey asks:
    the rating, then the follow-up comment; their texts are the catalogue's and the survey's
    ``texts``."""
    return [
        {"id": RATING_QUESTION, "type": SCALE, "metric": metric, "required": True},
        {"id": COMMENT_QUESTION, "type": LONG_TEXT, "required": False},
    ]


# --- reading and checking the stored list ---------------------------------------------------


def of_survey(raw: Any, survey_type: str) -> tuple[Question, ...]:
    """A saved survey's questions, its rating's metric being the survey's type (``nps``,
    ``csat`` or ``ces``). A list that no longer parses (a language since removed, say) asks
    the default questions rather than failing every widget call."""
    try:
        parsed = parse(raw)
    except ValueError:
        parsed = parse(default_questions(survey_type))
    return tuple(replace(q, metric=survey_type) if q.id == RATING_QUESTION else q for q in parsed)


def parse(raw: Any, languages: Iterable[str] | None = None) -> tuple[Question, ...]:
    """The questions of a stored list; ``ValueError`` naming the question when one is wrong.
    ``languages``, when given, are the languages texts may be in."""
    if not isinstance(raw, list):
        raise ValueError("Questions must be a list.")
    if not raw:
        raise ValueError("A survey needs at least one question.")
    if len(raw) > MAX_QUESTIONS:
        raise ValueError(f"A survey has at most {MAX_QUESTIONS} questions.")
    known = set(languages) if languages is not None else None
    parsed: list[Question] = []
    for position, item in enumerate(raw, start=1):
        question = _question(item, position, known)
        if any(q.id == question.id for q in parsed):
            raise ValueError(f"Question {position}: the id {question.id!r} is used twice.")
        if question.condition is not None:
            _check_condition(question, parsed)
        parsed.append(question)
    _check_built_ins(parsed)
    return tuple(parsed)


def _question(item: Any, position: int, known: set[str] | None) -> Question:
    if not isinstance(item, dict):
        raise ValueError(f"Question {position} must be an object.")
    qid = item.get("id")
    name = f"Question {position}" if not isinstance(qid, str) else f"Question {qid!r}"
    if not isinstance(qid, str) or not _ID.match(qid):
        raise ValueError(f"{name}: the id must be a letter then letters, digits, _ or -.")
    kind = item.get("type")
    if kind not in TYPES:
        raise ValueError(f"{name}: the type must be one of {', '.join(TYPES)}.")
    metric = item.get("metric")
    if metric is not None and (kind != SCALE or metric not in METRICS):
        raise ValueError(f"{name}: a metric ({', '.join(METRICS)}) is for a scale only.")
    unknown = set(item) - {"id", "type", "metric", "required", "texts", "choices", "condition"}
    if unknown:
        raise ValueError(f"{name}: unknown keys {', '.join(sorted(unknown))}.")
    if not isinstance(item.get("required", False), bool):
        raise ValueError(f"{name}: required must be true or false.")
    return Question(
        id=qid,
        type=kind,
        metric=metric,
        required=item.get("required", False),
        texts=_texts(item.get("texts", {}), name, known),
        choices=_choices(item.get("choices", []), kind, name, known),
        condition=_condition(item.get("condition"), name),
    )


def _texts(raw: Any, name: str, known: set[str] | None) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise ValueError(f'{name}: texts must be an object by language, e.g. {{"en": {{…}}}}.')
    texts: dict[str, dict[str, str]] = {}
    for language, strings in raw.items():
        _check_language(language, name, known)
        if not isinstance(strings, dict) or set(strings) - set(TEXT_KEYS):
            raise ValueError(f"{name}: texts in {language!r} take {', '.join(TEXT_KEYS)}.")
        for key, text in strings.items():
            _check_text(text, f"{name}: {language}.{key}")
        texts[language] = dict(strings)
    return texts


def _choices(raw: Any, kind: str, name: str, known: set[str] | None) -> tuple[Choice, ...]:
    if kind not in CHOICE_TYPES:
        if raw:
            raise ValueError(f"{name}: only a choice question has choices.")
        return ()
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_CHOICES:
        raise ValueError(f"{name}: give 2 to {MAX_CHOICES} choices.")
    choices: list[Choice] = []
    for item in raw:
        cid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(cid, str) or not _ID.match(cid):
            raise ValueError(f"{name}: each choice needs an id (a letter, then letters or digits).")
        if any(c.id == cid for c in choices):
            raise ValueError(f"{name}: the choice {cid!r} is listed twice.")
        texts = item.get("texts", {})
        if not isinstance(texts, dict) or set(item) - {"id", "texts"}:
            raise ValueError(f"{name}: a choice is {{id, texts: {{language: text}}}}.")
        for language, text in texts.items():
            _check_language(language, name, known)
            _check_text(text, f"{name}: choice {cid!r} in {language}")
        choices.append(Choice(cid, dict(texts)))
    return tuple(choices)


def _condition(raw: Any, name: str) -> Condition | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or set(raw) != {"question", "values"}
        or not isinstance(raw["question"], str)
        or not isinstance(raw["values"], list)
        or not raw["values"]
    ):
        raise ValueError(f'{name}: a condition is {{"question": id, "values": [...]}}.')
    return Condition(raw["question"], tuple(raw["values"]))


def _check_condition(question: Question, earlier: Sequence[Question]) -> None:
    assert question.condition is not None
    target = next((q for q in earlier if q.id == question.condition.question), None)
    name = f"Question {question.id!r}"
    if target is None:
        raise ValueError(f"{name}: its condition must name an earlier question.")
    allowed: Iterable[Any]
    if _by_category(target):
        allowed = nps.CATEGORIES
    elif target.values is not None:
        allowed = target.values
    elif target.type in CHOICE_TYPES:
        allowed = [c.id for c in target.choices]
    else:
        raise ValueError(f"{name}: a condition cannot look at a long-text answer.")
    wrong = [v for v in question.condition.values if isinstance(v, bool) or v not in allowed]
    if wrong:
        raise ValueError(
            f"{name}: {', '.join(map(repr, wrong))} is not an answer of {target.id!r} "
            f"(use {', '.join(map(str, allowed))})."
        )


def _check_built_ins(questions: Sequence[Question]) -> None:
    for question in questions:
        if question.id == RATING_QUESTION and question.type != SCALE:
            raise ValueError(f"{RATING_QUESTION} is the survey's rating: a scale.")
        if question.id == COMMENT_QUESTION and question.type != LONG_TEXT:
            raise ValueError(f"{COMMENT_QUESTION} is the follow-up comment: a long text.")


def _check_language(language: Any, name: str, known: set[str] | None) -> None:
    if known is not None and language not in known:
        raise ValueError(f"{name}: unknown language {language!r}.")


def _check_text(text: Any, where: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"{where} must be text.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{where} is over {MAX_TEXT} characters.")


# --- answers ------------------------------------------------------------------------------------


def check_answer(question: Question, value: Any) -> Any:
    """The value as stored, or ``ValueError`` saying what the question takes. None clears."""
    if value is None:
        return None
    if question.values is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value not in question.values:
            low, high = question.values[0], question.values[-1]
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value
    if question.type == LONG_TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > MAX_LONG_TEXT:
            raise ValueError(f"is {len(value)} characters; the limit is {MAX_LONG_TEXT}")
        return value
    ids = [c.id for c in question.choices]
    if question.type == SINGLE_CHOICE:
        if value not in ids:
            raise ValueError(f"must be one of {', '.join(ids)}")
        return value
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) and v in ids for v in value)
        or len(set(value)) != len(value)
    ):
        raise ValueError(f"must be a list of distinct choices among {', '.join(ids)}")
    return [c for c in ids if c in value]  # in the question's order


def is_shown(question: Question, answers: Mapping[str, Any], by_id: Mapping[str, Question]) -> bool:
    """Whether ``question`` is asked, given the answers so far (id -> value)."""
    condition = question.condition
    if condition is None:
        return True
    value = answers.get(condition.question)
    if value is None:
        return False
    if _by_category(by_id[condition.question]):
        return nps.category(value) in condition.values
    if isinstance(value, list):
        return any(v in condition.values for v in value)
    return value in condition.values


def _by_category(question: Question) -> bool:
    """A condition on an NPS rating names categories (promoter, passive, detractor)."""
    return question.type == SCALE and question.metric == NPS


def missing_required(questions: Sequence[Question], answers: Mapping[str, Any]) -> list[Question]:
    """The required questions shown for these answers that have no answer."""
    by_id = {q.id: q for q in questions}
    return [
        q
        for q in questions
        if q.required and is_shown(q, answers, by_id) and answers.get(q.id) in (None, "", [])
    ]
