"""The questions of a reminder (docs/email.md): the survey's first question as the email asks
it, and the others as the page its links open asks them, in the email's language.

The email takes the first question's answer in one click when the answer is one of a few
values: a scale or a smiley (a link per value), a single choice (a link per choice). Any other
first question (multiple choice, long text) gets one button to the page. The page then asks
the questions shown for the answers so far (:func:`questions.is_shown`), one form at a time: a
question whose condition looks at an answer given on that form comes on the next one.

No writes here: :mod:`.reminders` records the answers through :mod:`.responses`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import i18n, nps, questions
from ..exceptions import InvalidInput
from ..models import Response, Survey
from ..questions import COMMENT_QUESTION, RATING_QUESTION, Question

# The faces of a smiley question, its values 1 (unhappy) to 5 (delighted).
FACES = {1: "😠", 2: "🙁", 3: "😐", 4: "🙂", 5: "😍"}
# The first question's types that the email answers in one click.
IN_ONE_CLICK = (questions.SCALE, questions.SMILEY, questions.SINGLE_CHOICE)


@dataclass(frozen=True)
class Asked:
    """A question as an email or a page shows it, its texts in one language."""

    id: str
    type: str
    label: str
    low: str = ""  # a scale's legends
    high: str = ""
    required: bool = False
    options: tuple[tuple[Any, str], ...] = ()  # (value, what its button or box says)

    @property
    def name(self) -> str:
        """The form field: SatisMeter's ``answers[<questionId>]``."""
        return f"answers[{self.id}]"

    @property
    def in_one_click(self) -> bool:
        return self.type in IN_ONE_CLICK


def of_survey(survey: Survey) -> tuple[Question, ...]:
    return questions.of_survey(survey.questions, survey.type)


def asked(
    question: Question,
    strings: Mapping[str, str],
    language: str,
    default_language: str,
    answers: Mapping[str, Any] | None = None,
) -> Asked:
    """``question`` in ``language``. The built-in questions take the catalogue's and the
    survey's texts, as before questions existed: the rating its question and legends, the
    comment the follow-up for the rating's category (when ``answers`` hold the rating)."""
    followup = None
    if question.id == COMMENT_QUESTION:
        followup = i18n.followup_question(
            strings, nps.category((answers or {}).get(RATING_QUESTION))
        )
    label, low, high = questions.texts_in(
        question, language, default_language, strings, followup=followup
    )
    return Asked(
        id=question.id,
        type=question.type,
        label=label,
        low=low,
        high=high,
        required=question.required,
        options=_options(question, language, default_language),
    )


def _options(question: Question, language: str, default_language: str) -> tuple[Any, ...]:
    if question.type == questions.SMILEY:
        return tuple((value, FACES[value]) for value in questions.SMILEY_RANGE)
    if question.values is not None:
        return tuple((value, str(value)) for value in question.values)
    return tuple(
        (choice.id, question.choice_text(choice, language, default_language))
        for choice in question.choices
    )


def answers_of(response: Response | None) -> dict[str, Any]:
    """A response's answers so far, by question id (the built-in ones included)."""
    if response is None:
        return {}
    found = {a["id"]: a.get("value") for a in response.answers if isinstance(a, dict)}
    found[RATING_QUESTION] = response.rating
    found[COMMENT_QUESTION] = response.feedback or None
    return found


def unanswered(value: Any) -> bool:
    return value in (None, "", [])


def next_questions(
    survey_questions: Sequence[Question], answers: Mapping[str, Any], asked_ids: Sequence[str]
) -> list[Question]:
    """The questions the next form asks: shown for these answers, not asked yet, unanswered."""
    by_id = {q.id: q for q in survey_questions}
    return [
        q
        for q in survey_questions
        if q.id not in asked_ids
        and unanswered(answers.get(q.id))
        and questions.is_shown(q, answers, by_id)
    ]


def check_click(survey_questions: Sequence[Question], question_id: str, value: Any) -> Any:
    """The answer an emailed link carries, as stored; ``ValueError`` when the question is
    gone or no longer takes it (the survey changed since the email went out)."""
    question = next((q for q in survey_questions if q.id == question_id), None)
    if question is None:
        raise ValueError(f"the survey has no question {question_id!r}")
    checked = questions.check_answer(question, value)
    if checked is None:
        raise ValueError(f"no answer for {question_id!r}")
    return checked


# --- the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A posted form: the questions it asked (``page``), those asked on earlier forms, and
    the answers it gives, by question id (empty answers left out)."""

    page: tuple[str, ...]
    earlier: tuple[str, ...]
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def asked(self) -> tuple[str, ...]:
        return self.earlier + self.page


def read_form(survey_questions: Sequence[Question], form: Mapping[str, list[str]]) -> Entry:
    """The answers of a posted page, typed as their questions take them. ``InvalidInput``
    names the field whose value no question of the page takes. A page rendered before
    reminders asked several questions posts ``feedback`` alone: the comment."""
    by_id = {q.id: q for q in survey_questions}
    if "page" not in form and "feedback" in form:
        form = {
            **form,
            "page": [COMMENT_QUESTION],
            f"answers[{COMMENT_QUESTION}]": form["feedback"],
        }
    page = _ids(form, "page", by_id)
    answers = {}
    for qid in page:
        value = _typed(by_id[qid], form.get(f"answers[{qid}]", []))
        if not unanswered(value):
            answers[qid] = value
    return Entry(page, _ids(form, "asked", by_id), answers)


def _ids(form: Mapping[str, list[str]], key: str, by_id: Mapping[str, Question]) -> tuple[str, ...]:
    ids = " ".join(form.get(key, [])).split()
    unknown = [qid for qid in ids if qid not in by_id]
    if unknown:
        raise InvalidInput(key, f"the survey has no question {unknown[0]!r}")
    return tuple(dict.fromkeys(ids))


def _typed(question: Question, posted: list[str]) -> Any:
    """A posted value as the question takes it (a number, a choice id, a list, a text)."""
    name = f"answers[{question.id}]"
    if question.type == questions.MULTIPLE_CHOICE:
        value: Any = posted
    else:
        value = posted[-1].strip() if posted else ""
        if value and question.values is not None:
            value = int(value) if value.isdigit() else value
    if unanswered(value):
        return None
    try:
        return questions.check_answer(question, value)
    except ValueError as error:
        raise InvalidInput(name, str(error)) from None
