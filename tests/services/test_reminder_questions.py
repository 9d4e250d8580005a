"""Reminders of surveys that ask another question first (issue #18, docs/email.md): the email
asks the first question (a link per value of a scale or smiley, per choice of a single choice,
else a button), a click records it, and the page asks the questions shown for the answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from django.core import signing
from django.template.loader import render_to_string
from django.utils import timezone

from satismeter_app.models import Display, Reminder, Response, Survey
from satismeter_app.services import reminders
from tests.services.smtp_harness import Collector, running_smtp

pytestmark = pytest.mark.django_db

REASON = {
    "id": "reason",
    "type": "single-choice",
    "required": True,
    "texts": {
        "en": {"label": "What should we improve?"},
        "de": {"label": "Was sollen wir verbessern?"},
        "ar": {"label": "ما الذي يجب أن نحسنه؟"},
    },
    "choices": [
        {"id": "price", "texts": {"en": "Price", "de": "Preis", "ar": "السعر"}},
        {"id": "speed", "texts": {"en": "Speed", "de": "Tempo", "ar": "السرعة"}},
        {"id": "docs", "texts": {"en": "Documentation", "de": "Dokumentation", "ar": "التوثيق"}},
    ],
}
CHOICE_FIRST = [
    REASON,
    {"id": "SM_rating", "type": "scale", "metric": "nps", "required": True},
    {
        "id": "slow",
        "type": "long-text",
        "texts": {"en": {"label": "What feels slow?"}, "de": {"label": "Was ist langsam?"}},
        "condition": {"question": "reason", "values": ["speed"]},
    },
    {
        "id": "SM_comment",
        "type": "long-text",
        "condition": {"question": "SM_rating", "values": ["detractor"]},
    },
]
TOPICS = {
    "id": "topics",
    "type": "multiple-choice",
    "texts": {"en": {"label": "Which features do you use?"}},
    "choices": [
        {"id": "reports", "texts": {"en": "Reports"}},
        {"id": "alerts", "texts": {"en": "Alerts"}},
    ],
}
MULTIPLE_FIRST = [TOPICS, {"id": "more", "type": "long-text", "texts": {"en": {"label": "More?"}}}]


@pytest.fixture
def smtp(settings) -> Iterator[Collector]:
    with running_smtp(settings, Collector()) as collector:
        yield collector


@pytest.fixture
def remind(project, make_survey, make_end_user):
    """Sends the reminder of a survey asking ``questions`` to a user of ``language``."""

    def send(questions: list[dict[str, Any]], language: str = "en") -> Reminder:
        survey = make_survey(
            project, questions=questions, reminders_enabled=True, min_tenure_days=0
        )
        user = make_end_user(project, email=f"{language}@example.com", language=language)
        when = timezone.now() - timedelta(days=10)
        Display.objects.create(project=project, survey=survey, user=user, created=when)
        assert reminders.send_all().sent == 1
        return Reminder.objects.get(survey=survey)

    return send


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def _answers(response: Response) -> dict[str, Any]:
    """The answers to the questions other than the rating and the comment, by id."""
    return {a["id"]: a["value"] for a in response.answers}


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _links(html: str) -> list[tuple[str, str]]:
    """(path, text) of each answer link of an HTML part, in order."""
    found = re.findall(r'<a href="([^"]+/email/r/[^"]+)"[^>]*>([^<]*)</a>', html)
    return [(_path(href.replace("&amp;", "&")), text) for href, text in found]


def _form(page: Any) -> dict[str, str]:
    """The hidden fields of a landing page's form."""
    html = page.content.decode()
    return dict(re.findall(r'<input type="hidden" name="(auth|page|asked)" value="([^"]*)"', html))


# --- the email ---------------------------------------------------------------------------------


def test_a_single_choice_first_survey_emails_a_link_per_choice_in_the_users_language(remind, smtp):
    reminder = remind(CHOICE_FIRST, "de")
    message = smtp.messages[0]
    text, html = _parts(message)

    assert message["Subject"] == "Was sollen wir verbessern?"
    assert "Was sollen wir verbessern?" in html and "Was sollen wir verbessern?" in text
    assert [t for _, t in _links(html)] == ["Preis", "Tempo", "Dokumentation"]
    in_text = re.findall(r"^(\w+): (http\S+/email/r/\S+)$", text, re.M)
    assert [t for t, _ in in_text] == ["Preis", "Tempo", "Dokumentation"]
    for path, choice in zip([p for p, _ in _links(html)], ["price", "speed", "docs"], strict=True):
        token = path.split("/email/r/")[1].rstrip("/")
        assert reminders.open_link(token, "score") == (reminder, reminders.Click("reason", choice))
    assert "Wie wahrscheinlich" not in html  # the rating comes on the page
    assert html.count("/email/u/") == 1 and html.count("/email/h/") == 1


def test_a_multiple_choice_first_survey_emails_one_button_to_the_page(remind, smtp):
    remind(MULTIPLE_FIRST)
    text, html = _parts(smtp.messages[0])
    assert _links(html) == [(_links(html)[0][0], "Answer the survey")]
    assert "Which features do you use?" in html
    assert "Reports" not in html  # the choices are on the page
    assert re.search(r"^Answer the survey: http\S+/email/r/", text, re.M)


@pytest.mark.parametrize(
    ("first", "texts"),
    [
        ({"id": "csat", "type": "scale", "metric": "csat"}, ["1", "2", "3", "4", "5"]),
        ({"id": "effort", "type": "scale", "metric": "ces"}, [str(n) for n in range(1, 8)]),
        ({"id": "mood", "type": "smiley"}, ["😠", "🙁", "😐", "🙂", "😍"]),
    ],
)
def test_a_scale_or_smiley_first_survey_emails_a_link_per_value(remind, mailoutbox, first, texts):
    labelled = {**first, "texts": {"en": {"label": "How did we do?", "low": "Bad", "high": "Good"}}}
    remind([labelled, {"id": "SM_comment", "type": "long-text"}])
    html = mailoutbox[0].alternatives[0][0]
    assert [t for _, t in _links(html)] == texts
    assert "How did we do?" in html
    assert ">Bad</td>" in html and ">Good</td>" in html


def test_an_arabic_email_runs_right_to_left(remind, mailoutbox):
    remind(CHOICE_FIRST, "ar")
    html = mailoutbox[0].alternatives[0][0]
    assert 'dir="rtl"' in html and "text-align:right" in html
    assert [t for _, t in _links(html)] == ["السعر", "السرعة", "التوثيق"]


def test_the_survey_may_word_the_subject_itself(project, make_survey, make_end_user, mailoutbox):
    survey = make_survey(
        project,
        questions=CHOICE_FIRST,
        texts={"en": {"SUBJECT": "Two minutes for Acme?"}},
        reminders_enabled=True,
        min_tenure_days=0,
    )
    user = make_end_user(project, email="s@example.com")
    Display.objects.create(
        project=project, survey=survey, user=user, created=timezone.now() - timedelta(days=9)
    )
    reminders.send_all()
    assert mailoutbox[0].subject == "Two minutes for Acme?"


# --- the click and the page --------------------------------------------------------------------


def test_a_choice_click_stores_it_and_the_page_asks_the_questions_it_shows(remind, smtp, client):
    remind(CHOICE_FIRST, "de")
    speed = _links(_parts(smtp.messages[0])[1])[1][0]

    page = client.get(speed)

    assert page.status_code == 200
    response = Response.objects.get()
    assert _answers(response) == {"reason": "speed"}
    assert (response.method, response.language, response.rating) == ("Email", "de", None)
    html = page.content.decode()
    assert 'lang="de"' in html
    assert html.count('name="answers[SM_rating]"') == 11
    assert "Was ist langsam?" in html  # shown: the reason is speed
    assert "answers[SM_comment]" not in html  # shown for a detractor: not known yet
    assert _form(page)["page"] == "SM_rating slow" and _form(page)["asked"] == "reason"


def test_the_page_saves_the_answers_asks_what_they_show_then_completes(remind, smtp, client):
    remind(CHOICE_FIRST)
    speed = _links(_parts(smtp.messages[0])[1])[1][0]
    form = _form(client.get(speed))

    second = client.post(speed, {**form, "answers[SM_rating]": "3", "answers[slow]": "Reports"})

    assert second.status_code == 200
    assert "What disappointed you, and how can we improve?" in second.content.decode()
    assert _form(second)["page"] == "SM_comment"
    response = Response.objects.get()
    assert (response.rating, response.completed) == (3, False)
    done = client.post(speed, {**_form(second), "answers[SM_comment]": "Too slow"})
    assert "Thank you for your feedback!" in done.content.decode()
    response.refresh_from_db()
    assert (response.rating, response.feedback, response.completed) == (3, "Too slow", True)
    assert _answers(response) == {"reason": "speed", "slow": "Reports"}


def test_a_required_question_left_empty_comes_back(remind, smtp, client):
    remind(CHOICE_FIRST)
    price = _links(_parts(smtp.messages[0])[1])[0][0]
    form = _form(client.get(price))

    again = client.post(price, form)

    assert again.status_code == 400
    assert 'class="question missing" id="question-SM_rating"' in again.content.decode()
    assert Response.objects.get().rating is None


def test_a_value_no_question_takes_is_refused_by_name(remind, smtp, client):
    remind(CHOICE_FIRST)
    price = _links(_parts(smtp.messages[0])[1])[0][0]
    form = _form(client.get(price))

    refused = client.post(price, {**form, "answers[SM_rating]": "11"})

    assert refused.status_code == 400
    assert "answers[SM_rating]: must be a whole number from 0 to 10" in refused.content.decode()


def test_the_button_opens_the_first_questions_and_saves_them(remind, smtp, client):
    remind(MULTIPLE_FIRST)
    button = _links(_parts(smtp.messages[0])[1])[0][0]

    page = client.get(button)

    assert not Response.objects.exists()  # opening the page answers nothing
    html = page.content.decode()
    assert 'type="checkbox" name="answers[topics]" value="reports"' in html
    assert "More?" in html and "auth" not in _form(page)
    empty = client.post(button, _form(page))
    assert empty.status_code == 400 and not Response.objects.exists()  # the emailed question
    assert 'class="question missing" id="question-topics"' in empty.content.decode()
    assert 'aria-hidden="true"> *</span>' in empty.content.decode()
    done = client.post(
        button, {**_form(page), "answers[topics]": ["reports", "alerts"], "answers[more]": "No"}
    )
    assert "Thank you for your feedback!" in done.content.decode()
    response = Response.objects.get()
    assert _answers(response) == {"topics": ["reports", "alerts"], "more": "No"}
    assert (response.method, response.completed) == ("Email", True)
    assert "already answered" in client.get(button).content.decode()


def test_a_second_click_changes_nothing(remind, smtp, client):
    remind(CHOICE_FIRST)
    links = _links(_parts(smtp.messages[0])[1])
    client.get(links[0][0])
    again = client.get(links[2][0])
    assert "already answered" in again.content.decode()
    assert _answers(Response.objects.get()) == {"reason": "price"}


def test_a_choice_removed_since_the_email_records_nothing(remind, smtp, client):
    reminder = remind(CHOICE_FIRST)
    docs = _links(_parts(smtp.messages[0])[1])[2][0]
    survey = Survey.objects.get(pk=reminder.survey_id)
    survey.questions = [{**REASON, "choices": REASON["choices"][:2]}, *CHOICE_FIRST[1:]]
    survey.save()
    assert client.get(docs).status_code == 404
    assert not Response.objects.exists()


def test_after_the_honeypot_a_choice_click_asks_to_confirm(remind, smtp, client):
    remind(CHOICE_FIRST)
    html = _parts(smtp.messages[0])[1]
    honeypot = _path(re.search(r'href="([^"]+/email/h/[^"]+)"', html).group(1))
    speed = _links(html)[1][0]
    client.get(honeypot)

    confirm = client.get(speed)

    assert "What should we improve?" in confirm.content.decode()
    assert ">Speed<" in confirm.content.decode()
    assert not Response.objects.exists()
    client.post(speed, {"confirm": "1"})
    assert _answers(Response.objects.get()) == {"reason": "speed"}


def test_no_reminder_after_answering_a_choice_first_survey_in_the_app(
    project, make_survey, make_end_user, make_response
):
    survey = make_survey(project, questions=CHOICE_FIRST, reminders_enabled=True, min_tenure_days=0)
    user = make_end_user(project, email="answered@example.com")
    when = timezone.now() - timedelta(days=10)
    Display.objects.create(project=project, survey=survey, user=user, created=when)
    assert [c.email for c in reminders.select(survey, timezone.now())] == ["answered@example.com"]
    make_response(survey, user=user, answers=[{"id": "reason", "value": "docs"}])
    assert list(reminders.select(survey, timezone.now())) == []


# --- rendered once per survey and language -----------------------------------------------------


def test_a_choice_email_is_rendered_once_and_filled_with_each_recipients_links(
    project, make_survey, make_end_user, monkeypatch
):
    tricky = {
        **REASON,
        "choices": [*REASON["choices"], {"id": "tj", "texts": {"en": "Tom & Jerry"}}],
    }
    survey = make_survey(project, questions=[tricky, *CHOICE_FIRST[1:]], reminders_enabled=True)
    monkeypatch.setattr(signing.time, "time", lambda: 1_700_000_000)  # the same signatures
    made = [
        Reminder.objects.create(
            project=project,
            survey=survey,
            user=make_end_user(project),
            period=0,
            email=f"r{i}@example.com",
            language="en",
            nonce=f"n{i}",
        )
        for i in range(3)
    ]
    rendered = []
    real = reminders.render_to_string
    monkeypatch.setattr(
        reminders, "render_to_string", lambda *a, **k: rendered.append(a[0]) or real(*a, **k)
    )
    composer = reminders.Composer()

    messages = [composer.compose(reminder) for reminder in made]

    assert len(rendered) == 3  # subject, text and HTML, once for the three
    monkeypatch.setattr(reminders, "render_to_string", real)
    for reminder, message in zip(made, messages, strict=True):
        context = reminders.template_context(survey, "en", partial(reminders.link, reminder))
        name = "satismeter_app/email/reminder"
        assert message.body == render_to_string(f"{name}_message.txt", context)
        assert message.alternatives[0][0] == render_to_string(f"{name}_message.html", context)
        assert ">Tom &amp; Jerry</a>" in message.alternatives[0][0]
        assert "Tom & Jerry: http" in message.body


@pytest.mark.parametrize(
    "first",
    [{"id": "mood", "type": "smiley"}, {"id": "effort", "type": "scale", "metric": "ces"}],
)
def test_a_value_link_records_its_value(remind, mailoutbox, client, first):
    remind([first, {"id": "SM_comment", "type": "long-text"}])
    four = _links(mailoutbox[0].alternatives[0][0])[3][0]
    page = client.get(four)
    assert page.status_code == 200
    assert "What is the most important reason for your score?" in page.content.decode()
    assert _answers(Response.objects.get()) == {first["id"]: 4}
