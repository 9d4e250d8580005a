"""A survey that asks the rating first (every survey from before questions, and the default)
gets the very email it got before: subject, text and HTML, byte for byte, compared with what
the templates rendered before a reminder could ask other questions
(``golden/reminder_sm_rating.json``; ``SATISMETER_WRITE_GOLDEN=1`` rewrites it after an
intended change of the templates)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core import signing

from satismeter_app.models import Reminder, Survey
from satismeter_app.services import reminders

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "reminder_sm_rating.json"
CASES = [  # (survey, language)
    ("nps", "en"),
    ("nps", "ar"),
    ("nps", "de"),
    ("nps", "pt-BR"),
    ("csat", "en"),
    ("csat", "fr"),
]


def _surveys(project, make_survey) -> dict[str, Survey]:
    return {
        "nps": make_survey(project, reminders_enabled=True, design={"serviceName": "Acme Cloud"}),
        "csat": make_survey(
            project,
            type="csat",
            reminders_enabled=True,
            reminder_sender_name="Acme Team",
            reminder_sender_email="team@acme.test",
            texts={"en": {"INTRO": 'Tom & Jerry\'s <b>"tool"</b>', "OUTRO": "Bye"}},
        ),
    }


def _rendered(project, make_survey, make_end_user) -> dict[str, dict[str, str]]:
    surveys = _surveys(project, make_survey)
    composer = reminders.Composer()
    out = {}
    for number, (name, language) in enumerate(CASES, start=1):
        reminder = Reminder.objects.create(
            pk=90000 + number,
            project=project,
            survey=surveys[name],
            user=make_end_user(project),
            period=0,
            email=f"r{number}@example.com",
            language=language,
            nonce=f"nonce{number}",
        )
        message = composer.compose(reminder)
        out[f"{name}-{language}"] = {
            "subject": message.subject,
            "from": message.from_email,
            "text": message.body,
            "html": message.alternatives[0][0],
            "unsubscribe": message.extra_headers["List-Unsubscribe"],
        }
    return out


def test_a_rating_first_survey_gets_the_email_it_got_before(
    project, make_survey, make_end_user, monkeypatch
):
    monkeypatch.setattr(signing.time, "time", lambda: 1_700_000_000)  # the same signatures
    rendered = _rendered(project, make_survey, make_end_user)
    if os.environ.get("SATISMETER_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(rendered, indent=1, ensure_ascii=False) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert rendered.keys() == golden.keys()
    for case, parts in rendered.items():
        assert parts == golden[case], case
