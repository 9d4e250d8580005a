"""The survey form without JSON: what each editor posts is stored as the same JSON as before,
a refused row is named and marked, the preview takes unsaved edits, and the audience estimate
is a staff-only, project-scoped JSON endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from satismeter_app.models import EndUser, Project, Survey

STORED = {
    "texts": {"en": {"FOLLOWUP": "Why?"}, "de": {"FOLLOWUP": "Warum?", "THANKS": "Danke!"}},
    "design": {
        "skin": "panel",
        "position": "tl",
        "colors": {"primary": "rgb(10, 20, 30)", "background": "#fff"},
        "showNumbers": True,
        "poweredBy": False,
        "serviceName": "Acme Cloud",
        "ctaText": "Review us",
        "ctaUrl": "https://example.com/review",
        "ctaFor": ["promoter"],
    },
    "trait_conditions": [
        {"trait": "plan", "type": "text", "op": "in", "value": ["pro", "business, inc"]},
        {"trait": "seats", "type": "number", "op": "between", "value": [2, 10.5]},
        {"trait": "beta", "type": "boolean", "op": "is", "value": False},
        {"trait": "signup", "type": "date", "op": "within_days", "value": 30},
        {"trait": "renews", "type": "date", "op": "before", "value": "2030-01-01"},
        {"trait": "email", "op": "exists"},
    ],
    "url_rules": [
        {"op": "starts_with", "value": "/app"},
        {"op": "regex", "value": "/admin/.*", "exclude": True},
    ],
    "device_types": ["desktop", "mobile"],
}


class _FormReader(HTMLParser):
    """What a browser posts from one form of a page: enabled controls, checked boxes, the
    selected options; nothing inside a <template>, nothing that belongs to another form."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.template = form_id, False, 0
        self.data: list[tuple[str, str]] = []
        self.select: dict[str, Any] | None = None
        self.textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        self.template += tag == "template"
        if not self.inside or self.template or "disabled" in a or a.get("form"):
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            box = a.get("type") in ("checkbox", "radio")
            if not box or "checked" in a:
                self.data.append((a["name"], a.get("value", "on" if box else "")))
        elif tag == "select" and a.get("name"):
            self.select = {"name": a["name"], "chosen": [], "first": None}
        elif tag == "option" and self.select is not None:
            if self.select["first"] is None:  # a browser posts the first option, even ""
                self.select["first"] = a.get("value", "")
            if "selected" in a:
                self.select["chosen"].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea = {"name": a["name"], "text": ""}

    def handle_endtag(self, tag: str) -> None:
        self.template -= tag == "template"
        if tag == "form":
            self.inside = False
        if tag == "select" and self.select is not None:
            first = self.select["first"]
            chosen = self.select["chosen"] or ([] if first is None else [first])
            self.data += [(self.select["name"], value) for value in chosen]
            self.select = None
        if tag == "textarea" and self.textarea is not None:
            self.data.append((self.textarea["name"], self.textarea["text"].lstrip("\n")))
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea["text"] += data


def posted(page: str, **changes: Any) -> dict[str, Any]:
    """The survey form as the browser would post it, with ``changes`` (None removes)."""
    reader = _FormReader("survey_form")
    reader.feed(page)
    data: dict[str, Any] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    data = {name: values if len(values) > 1 else values[0] for name, values in data.items()}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def staff_client(client: Client, make_staff: Callable[..., Any], project: Project) -> Client:
    client.force_login(make_staff(project))
    return client


@pytest.fixture
def stored(project: Project, make_survey: Callable[..., Survey]) -> Survey:
    return make_survey(project, name="Stored", **json.loads(json.dumps(STORED)))


def change_url(survey: Survey) -> str:
    return reverse("admin:satismeter_app_survey_change", args=[survey.pk])


def test_saving_the_form_unchanged_keeps_every_json_field_as_it_was(
    staff_client: Client, stored: Survey
) -> None:
    page = staff_client.get(change_url(stored)).content.decode()

    response = staff_client.post(change_url(stored), posted(page, _continue="1"))

    assert response.status_code == 302, re.findall(
        r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S
    )
    stored.refresh_from_db()
    for field, value in STORED.items():
        assert getattr(stored, field) == value, field


def test_no_json_box_is_left_on_the_form(staff_client: Client, stored: Survey) -> None:
    page = staff_client.get(change_url(stored)).content.decode()

    assert "<textarea" not in page
    assert 'value="business, inc"' not in page  # a list is shown as comma-separated values
    assert 'value="pro, &quot;business, inc&quot;"' in page


def test_rows_are_stored_in_the_shape_the_clients_read(
    staff_client: Client, project: Project, make_survey: Callable[..., Survey]
) -> None:
    survey = make_survey(project)
    page = staff_client.get(change_url(survey)).content.decode()
    rows = {
        "trait_conditions-0-trait": " plan ",
        "trait_conditions-0-type": "text",
        "trait_conditions-0-op": "in",
        "trait_conditions-0-value": "pro, business,, ",
        "trait_conditions-7-trait": "seats",
        "trait_conditions-7-type": "number",
        "trait_conditions-7-op": "gt",
        "trait_conditions-7-value": "5",
        "trait_conditions-9-trait": "beta",
        "trait_conditions-9-type": "boolean",
        "trait_conditions-9-op": "is",
        "trait_conditions-9-flag": "true",
        "trait_conditions-12-trait": "email",
        "trait_conditions-12-type": "text",
        "trait_conditions-12-op": "missing",
        "url_rules-3-op": "equals",
        "url_rules-3-value": "/pricing",
        "url_rules-3-exclude": "1",
        "device_types": ["tablet"],
    }

    response = staff_client.post(change_url(survey), posted(page, **rows))

    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.trait_conditions == [
        {"trait": "plan", "type": "text", "op": "in", "value": ["pro", "business"]},
        {"trait": "seats", "type": "number", "op": "gt", "value": 5},
        {"trait": "beta", "type": "boolean", "op": "is", "value": True},
        {"trait": "email", "op": "missing"},
    ]
    assert survey.url_rules == [{"op": "equals", "value": "/pricing", "exclude": True}]
    assert survey.device_types == ["tablet"]


def test_a_refused_row_is_named_and_marked_and_nothing_is_saved(
    staff_client: Client, stored: Survey
) -> None:
    page = staff_client.get(change_url(stored)).content.decode()

    response = staff_client.post(
        change_url(stored), posted(page, **{"trait_conditions-1-value": "two"})
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Condition 2: between needs [low, high] with low ≤ high." in html
    marked = re.findall(
        r'<li class="sm-row sm-condition sm-row-error"[^>]*aria-label="([^"]+)"', html
    )
    assert marked == ["Condition 2"]
    # The marked row's inputs point at the message, which is on the page.
    assert 'aria-describedby="id_trait_conditions_error"' in html
    assert 'id="id_trait_conditions_error"' in html
    assert 'value="two"' in html  # what was typed is shown again, to be corrected
    stored.refresh_from_db()
    assert stored.trait_conditions == STORED["trait_conditions"]


def test_a_bad_page_rule_is_named(staff_client: Client, stored: Survey) -> None:
    page = staff_client.get(change_url(stored)).content.decode()

    html = staff_client.post(
        change_url(stored), posted(page, **{"url_rules-1-value": "(unclosed"})
    ).content.decode()

    assert "Page rule 2: invalid regular expression" in html


def test_texts_store_only_what_was_written_in_each_language(
    staff_client: Client, stored: Survey
) -> None:
    page = staff_client.get(change_url(stored)).content.decode()
    assert 'name="texts-en-FOLLOWUP"' in page  # the project's default language is shown
    assert 'placeholder="What is the most important reason for your score?"' in page
    edits = {
        "texts-en-FOLLOWUP": "  ",  # emptied: the built-in text again
        "texts-en-SUBMIT": "Go",
    }

    staff_client.post(change_url(stored), posted(page, **edits))

    stored.refresh_from_db()
    assert stored.texts == {"en": {"SUBMIT": "Go"}, "de": STORED["texts"]["de"]}


def test_the_language_on_screen_is_read_with_the_others_from_the_hidden_input(
    staff_client: Client, stored: Survey
) -> None:
    page = staff_client.get(change_url(stored)).content.decode()
    others = json.dumps({"en": {"FOLLOWUP": "Why?"}})
    switched = {
        "texts-language": "de",
        "texts-others": others,
        "texts-en-FOLLOWUP": None,
        "texts-de-FOLLOWUP": "Wieso?",
    }

    staff_client.post(change_url(stored), posted(page, **switched))

    stored.refresh_from_db()
    assert stored.texts == {"en": {"FOLLOWUP": "Why?"}, "de": {"FOLLOWUP": "Wieso?"}}


def test_design_inputs_make_the_design_json(
    staff_client: Client, project: Project, make_survey: Callable[..., Survey]
) -> None:
    survey = make_survey(project)
    page = staff_client.get(change_url(survey)).content.decode()
    design = {
        "design-skin": "bar",
        "design-primary": "#123456",
        "design-requireFeedback": "on",
        "design-poweredBy": None,  # unticked
        "design-ctaFor": ["passive", "promoter"],
    }

    staff_client.post(change_url(survey), posted(page, **design))

    survey.refresh_from_db()
    assert survey.design == {
        "skin": "bar",
        "colors": {"primary": "#123456"},
        "requireFeedback": True,
        "poweredBy": False,
        "ctaFor": ["promoter", "passive"],
    }


def test_a_bad_colour_is_named(staff_client: Client, stored: Survey) -> None:
    page = staff_client.get(change_url(stored)).content.decode()

    html = staff_client.post(
        change_url(stored), posted(page, **{"design-foreground": "url(x)"})
    ).content.decode()

    assert "Text colour: Use a CSS colour" in html
    stored.refresh_from_db()
    assert stored.design == STORED["design"]


# The preview --------------------------------------------------------------------------------


def preview_options(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script id="sm-preview-options" type="application/json">(.*?)</script>', html
    )
    assert match
    return json.loads(match.group(1))


def test_the_preview_takes_unsaved_texts_and_design(staff_client: Client, stored: Survey) -> None:
    page = staff_client.get(change_url(stored)).content.decode()
    url = reverse("admin:satismeter_app_survey_preview", args=[stored.pk])
    edits = {"texts-en-HOW_LIKELY": "Rate {{service_name}}!", "design-skin": "dialog"}

    html = staff_client.post(url, posted(page, language="en", **edits)).content.decode()

    options = preview_options(html)
    assert options["traits"]["translation"]["HOW_LIKELY"] == "Rate Acme Cloud!"
    assert options["traits"]["translation"]["FOLLOWUP"] == "Why?"
    assert options["design"]["skin"] == "dialog"
    assert options["design"]["colors"] == STORED["design"]["colors"]
    assert options["design"]["showNumbers"] is True
    stored.refresh_from_db()
    assert stored.design == STORED["design"]  # nothing saved


def test_the_preview_shows_the_saved_texts_while_the_edited_ones_are_refused(
    staff_client: Client, stored: Survey
) -> None:
    page = staff_client.get(change_url(stored)).content.decode()
    url = reverse("admin:satismeter_app_survey_preview", args=[stored.pk])

    html = staff_client.post(url, posted(page, **{"design-primary": "nope("})).content.decode()

    assert "Not previewed until fixed: Design" in html
    assert preview_options(html)["design"]["colors"] == STORED["design"]["colors"]


# The audience estimate --------------------------------------------------------------------


@pytest.fixture
def users(project: Project, make_end_user: Callable[..., EndUser]) -> None:
    long_ago = timezone.now() - timedelta(days=90)
    for plan in ("pro", "free", "free"):
        make_end_user(project, first_seen=long_ago, traits={"plan": plan})
    make_end_user(project, first_seen=timezone.now() - timedelta(days=27))


def estimate(client: Client, survey: Survey, **changes: Any) -> Any:
    page = client.get(change_url(survey)).content.decode()
    url = reverse("admin:satismeter_app_survey_audience", args=[survey.pk])
    return client.post(url, posted(page, **changes))


def test_the_estimate_counts_the_unsaved_rules(
    staff_client: Client, project: Project, make_survey: Callable[..., Survey], users: None
) -> None:
    survey = make_survey(project, state=Survey.State.DRAFT)

    saved = estimate(staff_client, survey).json()
    narrowed = estimate(
        staff_client,
        survey,
        **{
            "trait_conditions-0-trait": "plan",
            "trait_conditions-0-type": "text",
            "trait_conditions-0-op": "equals",
            "trait_conditions-0-value": "pro",
        },
    ).json()

    assert saved["text"] == (
        "Would be shown to 3 of 4 identified users now; 1 more become due in the next 7 days."
    )
    assert "Counted as if the survey were active." in saved["note"]
    assert {"name": "plan", "type": "text"} in saved["traits"]
    assert (narrowed["shownNow"], narrowed["dueSoon"], narrowed["population"]) == (1, 0, 4)
    survey.refresh_from_db()
    assert survey.trait_conditions == []


def test_the_estimate_names_the_row_it_cannot_count(
    staff_client: Client, stored: Survey, users: None
) -> None:
    response = estimate(staff_client, stored, **{"trait_conditions-2-trait": ""})

    assert response.status_code == 400
    assert response.json()["errors"]["trait_conditions"] == ["Condition 3 needs a trait name."]
    assert response.json()["rows"] == {"trait_conditions": 3}


def test_the_estimate_is_for_staff_of_the_project_only(
    client: Client,
    make_staff: Callable[..., Any],
    make_project: Callable[..., Project],
    stored: Survey,
) -> None:
    url = reverse("admin:satismeter_app_survey_audience", args=[stored.pk])
    new_url = reverse("admin:satismeter_app_survey_audience_new")
    stranger = make_staff(make_project(name="Globex"))

    anonymous = client.post(url)
    client.force_login(stranger)
    other_project = client.post(url)
    adding_to_it = client.post(new_url, {"project": stored.project_id, "name": "x"})

    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert other_project.status_code == 404
    assert adding_to_it.status_code == 400
    assert "project" in adding_to_it.json()["errors"]
    assert client.get(url).status_code == 405


def test_a_new_survey_is_counted_once_its_project_is_chosen(
    staff_client: Client, project: Project, users: None
) -> None:
    page = staff_client.get(reverse("admin:satismeter_app_survey_add")).content.decode()
    url = reverse("admin:satismeter_app_survey_audience_new")

    without = staff_client.post(url, posted(page, project=""))
    chosen = staff_client.post(url, posted(page, project=str(project.pk)))

    assert without.status_code == 400
    assert chosen.json()["population"] == 4
