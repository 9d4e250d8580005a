"""Working a response (services/work.py): the rules the admin and the management API share."""

from datetime import timedelta

import pytest
from django.utils import timezone

from satismeter_app.exceptions import InvalidInput
from satismeter_app.models import Membership, Response, ResponseNote, Tag
from satismeter_app.services import work

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(survey, make_response) -> Response:
    return make_response(survey, rating=3, feedback="Too expensive")


@pytest.fixture
def price(project) -> Tag:
    return Tag.objects.create(project=project, name="price", color="#c62828")


def test_status_assignee_and_tags_are_set_together(answered, price, make_staff, project):
    colleague = make_staff(project)
    work.update(answered, status="closed", assignee=colleague, tags=[price])
    answered.refresh_from_db()
    assert (answered.status, answered.assignee) == ("closed", colleague)
    assert list(answered.tags.all()) == [price]


def test_working_a_response_leaves_what_the_user_sent_and_its_time(answered, price):
    updated = answered.updated
    work.update(answered, status="closed", tags=[price])
    answered.refresh_from_db()
    assert answered.updated == updated and answered.feedback == "Too expensive"


def test_another_projects_tag_is_refused_and_nothing_changes(answered, make_project, make_staff):
    other = Tag.objects.create(project=make_project(name="Globex"), name="price")
    with pytest.raises(InvalidInput, match="another project"):
        work.update(answered, status="closed", tags=[other])
    answered.refresh_from_db()
    assert answered.status == "open" and not answered.tags.exists()


def test_the_assignee_must_see_the_project(answered, project, make_project, make_staff):
    outsider = make_staff(make_project(name="Globex"))
    with pytest.raises(InvalidInput, match="not a member"):
        work.update(answered, assignee=outsider)
    superuser = make_staff(superuser=True)
    project_admin = make_staff()
    Membership.objects.create(user=project_admin, project=project, role=Membership.Role.ADMIN)
    for allowed in (superuser, project_admin, None):
        work.update(answered, assignee=allowed)
        answered.refresh_from_db()
        assert answered.assignee == allowed


def test_an_inactive_or_non_staff_member_is_no_assignee(answered, project, make_staff):
    former = make_staff(project, is_active=False)
    with pytest.raises(InvalidInput):
        work.update(answered, assignee=former)


def test_an_unknown_status_is_refused(answered):
    with pytest.raises(InvalidInput, match="status"):
        work.update(answered, status="done")


def test_a_note_keeps_its_author_and_time_and_blank_notes_are_refused(answered, make_staff):
    author = make_staff()
    note = work.add_note(answered, author, "  Called them back.  ")
    assert (note.author, note.text) == (author, "Called them back.")
    assert timezone.now() - note.created < timedelta(minutes=1)
    with pytest.raises(InvalidInput):
        work.add_note(answered, author, "   ")
    with pytest.raises(InvalidInput):
        work.add_note(answered, author, "x" * (work.NOTE_MAX_CHARACTERS + 1))


def test_the_timeline_is_oldest_first_with_notes_after_the_answer(
    survey, make_response, make_staff
):
    answered = make_response(survey, rating=3, created=timezone.now() - timedelta(hours=2))
    author = make_staff(first_name="Ana", last_name="Lopez")
    later = ResponseNote.objects.create(
        response=answered, author=author, text="second", created=timezone.now()
    )
    earlier = ResponseNote.objects.create(
        response=answered, author=None, text="first", created=timezone.now() - timedelta(hours=1)
    )
    entries = work.timeline(answered)
    assert [e.kind for e in entries] == ["received", "completed", "note", "note"]
    notes = [e for e in entries if e.kind == "note"]
    assert [n.text for n in notes] == [earlier.text, later.text]
    assert notes[1].author == author
    assert [e.when for e in entries] == sorted(e.when for e in entries)


def test_narrowed_by_status_tags_and_assignee(survey, make_response, project, price, make_staff):
    colleague = make_staff(project)
    fast = Tag.objects.create(project=project, name="fast")
    both, only_price, untouched = (make_response(survey, rating=r) for r in (1, 2, 3))
    work.update(both, tags=[price, fast], status="closed", assignee=colleague)
    work.update(only_price, tags=[price])
    everything = Response.objects.all()
    assert set(work.narrowed(everything, tags=["price"])) == {both, only_price}
    assert set(work.narrowed(everything, tags=[price, fast])) == {both}
    assert set(work.narrowed(everything, status="open")) == {only_price, untouched}
    assert set(work.narrowed(everything, assignee=colleague)) == {both}
    assert set(work.narrowed(everything, assignee=work.NOBODY)) == {only_price, untouched}


def test_a_tag_name_narrows_within_each_responses_own_project(
    survey, make_response, make_project, make_survey, price
):
    mine = make_response(survey, rating=5)
    theirs = make_response(make_survey(make_project(name="Globex")), rating=5)
    other_price = Tag.objects.create(project=theirs.project, name="price")
    theirs.tags.add(other_price)
    mine.tags.add(price)
    assert list(work.narrowed(Response.objects.filter(project=survey.project), tags=["price"])) == [
        mine
    ]


def test_work_of_a_page_in_one_query(survey, make_response, price, django_assert_num_queries):
    rows = [make_response(survey, rating=r) for r in range(5)]
    rows[0].tags.add(price, Tag.objects.create(project=survey.project, name="a-first"))
    with django_assert_num_queries(1):
        found = work.work_of([r.pk for r in rows])
    assert found[rows[0].pk] == {"status": "open", "tags": ["a-first", "price"]}
    assert found[rows[1].pk] == {"status": "open", "tags": []}


def test_tags_named_refuses_an_unknown_name(project, price):
    assert work.tags_named(project.pk, ["price", "price"]) == [price]
    with pytest.raises(InvalidInput, match="no tag named 'speed'"):
        work.tags_named(project.pk, ["speed"])
