"""The admin: every page loads, each staff member sees only their projects, keys stay secret."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import models
from django.test import Client
from django.urls import reverse

from satismeter_app.models import (
    ApiKey,
    Delivery,
    Display,
    EndUser,
    Integration,
    Membership,
    Project,
    Response,
    Survey,
    Tag,
    Unsubscribe,
    UserEvent,
)

MODELS = [
    Project,
    ApiKey,
    Membership,
    EndUser,
    Survey,
    UserEvent,
    Display,
    Response,
    Unsubscribe,
    Delivery,
    Integration,
    Tag,
]
KEY_PATTERN = re.compile(r"sk_[A-Za-z0-9]+\.[A-Za-z0-9]{32}")


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:satismeter_app_{model._meta.model_name}_{view}", args=args)


def form_data(client: Client, url: str) -> dict[str, Any]:
    """What the browser would post back unchanged from the admin form at ``url``."""
    context = client.get(url).context
    bound_fields = list(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        bound_fields += list(inline.formset.management_form)
    return {bf.html_name: bf.value() for bf in bound_fields if bf.value() is not None}


def result_pks(client: Client, model: type[models.Model]) -> set[int]:
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def message_texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # Each test creates several staff users; the real hasher would spend seconds on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# One project's worth of everything ------------------------------------------------------


@pytest.fixture
def populate(
    make_end_user: Callable[..., EndUser],
    make_survey: Callable[..., Survey],
    make_response: Callable[..., Response],
    make_staff: Callable[..., Any],
) -> Callable[[Project, str], dict[str, models.Model]]:
    """One object of every model in ``project``, named after ``tag``."""

    def make(project: Project, tag: str) -> dict[str, models.Model]:
        survey = make_survey(project, name=f"{tag} NPS")
        user = make_end_user(project, user_id=f"{tag}-user", email=f"{tag}@example.com")
        response = make_response(survey, user=user, rating=9, feedback=f"{tag} feedback")
        response_tag = Tag.objects.create(project=project, name=f"{tag}-tag")
        response.tags.add(response_tag)
        api_key, _ = ApiKey.issue(project, f"{tag} key")
        colleague = make_staff(project, username=f"{tag}-staff")
        return {
            "project": project,
            "apikey": api_key,
            "membership": Membership.objects.get(user=colleague),
            "enduser": user,
            "survey": survey,
            "userevent": UserEvent.objects.create(project=project, user=user, name=f"{tag}-event"),
            "display": Display.objects.create(project=project, survey=survey, user=user),
            "response": response,
            "tag": response_tag,
            "unsubscribe": Unsubscribe.objects.create(
                project=project, email=f"{tag}-out@example.com", source=Unsubscribe.Source.API
            ),
            "integration": Integration.objects.create(
                project=project,
                survey=survey,
                kind=Integration.Kind.WEBHOOK,
                name=f"{tag} hook",
                secret=f"{tag}-integration-secret",
            ),
            "delivery": Delivery.objects.create(
                project=project,
                response=response,
                destination="webhook",
                event="completed",
                payload={"secret": f"{tag}-payload"},
                message_id=f"{tag}-message",
            ),
        }

    return make


@pytest.fixture
def acme(project: Project, populate: Callable[..., dict[str, models.Model]]) -> dict:
    return populate(project, "acme")


@pytest.fixture
def globex(make_project: Callable[..., Project], populate: Callable[..., dict]) -> dict:
    return populate(make_project(name="Globex"), "globex")


@pytest.fixture
def superuser_client(client: Client, make_staff: Callable[..., Any]) -> Client:
    client.force_login(make_staff(superuser=True))
    return client


@pytest.fixture
def acme_member(make_staff: Callable[..., Any], acme: dict) -> Any:
    return make_staff(acme["project"])


@pytest.fixture
def member_client(client: Client, acme_member: Any, globex: dict) -> Client:
    """Logged in as a plain member of Acme, while Globex's data exists too."""
    client.force_login(acme_member)
    return client


@pytest.fixture
def acme_admin_client(make_staff: Callable[..., Any], acme: dict) -> Client:
    """A second browser, logged in as an admin of Acme."""
    user = make_staff()
    Membership.objects.create(user=user, project=acme["project"], role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


# Superusers ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_can_open_every_changelist_and_change_page(
    superuser_client: Client, acme: dict, model: type[models.Model]
) -> None:
    obj = acme[model._meta.model_name]
    assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
    assert superuser_client.get(admin_url(model, "change", obj.pk)).status_code == 200


# What the customer's product recorded: staff read it and never add or change it here.
PRODUCT_DATA = [EndUser, UserEvent, Display, Response]


@pytest.mark.parametrize(
    "model",
    [m for m in MODELS if m is not Delivery and m not in PRODUCT_DATA],
    ids=lambda m: m.__name__,
)
def test_superuser_can_open_every_add_page(
    superuser_client: Client, model: type[models.Model]
) -> None:
    assert superuser_client.get(admin_url(model, "add")).status_code == 200


def test_outbox_is_read_only_even_for_superusers(superuser_client: Client, acme: dict) -> None:
    delivery = acme["delivery"]
    assert superuser_client.get(admin_url(Delivery, "add")).status_code == 403

    page = superuser_client.get(admin_url(Delivery, "change", delivery.pk))

    assert "acme-payload" in page.content.decode()
    assert 'name="payload"' not in page.content.decode()
    assert 'name="message_id"' not in page.content.decode()


# Tenancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [m for m in MODELS if m is not Membership], ids=lambda m: m.__name__
)
def test_member_lists_only_their_projects_objects(
    member_client: Client, acme: dict, globex: dict, model: type[models.Model]
) -> None:
    name = model._meta.model_name

    assert result_pks(member_client, model) == {acme[name].pk}
    # Not even in the list filters: another customer's name is confidential too.
    page = member_client.get(admin_url(model, "changelist")).content.decode()
    assert "Globex" not in page


@pytest.mark.parametrize("model", [EndUser, Survey, Response, Delivery, ApiKey, Project, Tag])
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_member_cannot_open_other_projects_objects(
    member_client: Client, globex: dict, model: type[models.Model], view: str
) -> None:
    obj = globex[model._meta.model_name]

    response = member_client.get(admin_url(model, view, obj.pk))
    missing = member_client.get(admin_url(model, view, 10**9))

    # Exactly Django's answer for an object that does not exist (a redirect to the index, or
    # 403 where the user could not delete it anyway), so nothing tells them it exists.
    assert response.status_code in (302, 403)
    assert response.status_code == missing.status_code
    assert response.get("Location") == missing.get("Location")


def test_user_picker_popup_offers_only_their_projects_users(
    member_client: Client, acme: dict
) -> None:
    page = member_client.get(admin_url(EndUser, "changelist"), {"_popup": "1", "_to_field": "id"})

    assert {user.pk for user in page.context["cl"].result_list} == {acme["enduser"].pk}


def test_member_cannot_delete_other_projects_objects(member_client: Client, globex: dict) -> None:
    survey = globex["survey"]

    member_client.post(admin_url(Survey, "delete", survey.pk), {"post": "yes"})
    member_client.post(
        admin_url(Survey, "changelist"),
        {"action": "delete_selected", "_selected_action": [survey.pk], "post": "yes"},
    )

    assert Survey.objects.filter(pk=survey.pk).exists()


def test_member_can_add_a_survey_to_their_project_only(
    member_client: Client, acme: dict, globex: dict
) -> None:
    url = admin_url(Survey, "add")
    data = form_data(member_client, url)
    offered = member_client.get(url).context["adminform"].form.fields["project"].queryset

    rejected = member_client.post(url, {**data, "project": globex["project"].pk, "name": "Sneaky"})
    accepted = member_client.post(url, {**data, "project": acme["project"].pk, "name": "Fine"})

    assert list(offered) == [acme["project"]]
    assert rejected.status_code == 200
    assert "project" in rejected.context["adminform"].form.errors
    assert not Survey.objects.filter(name="Sneaky").exists()
    assert accepted.status_code == 302
    assert Survey.objects.get(name="Fine").project == acme["project"]


def test_a_project_admin_cannot_attach_another_projects_survey(
    acme_admin_client: Client, acme: dict, globex: dict
) -> None:
    url = admin_url(Integration, "add")
    data = {
        **form_data(acme_admin_client, url),
        "project": acme["project"].pk,
        "survey": globex["survey"].pk,
        "kind": Integration.Kind.WEBHOOK,
        "name": "Sneaky hook",
    }

    page = acme_admin_client.post(url, data)

    assert "survey" in page.context["adminform"].form.errors
    assert not Integration.objects.filter(name="Sneaky hook").exists()


def test_forms_reject_a_survey_of_another_project_for_superusers_too(
    superuser_client: Client, acme: dict, globex: dict
) -> None:
    url = admin_url(Integration, "add")
    data = {
        **form_data(superuser_client, url),
        "project": acme["project"].pk,
        "survey": globex["survey"].pk,
        "kind": Integration.Kind.WEBHOOK,
        "name": "Crossed hook",
    }

    page = superuser_client.post(url, data)

    assert "survey" in page.context["adminform"].form.errors
    assert not Integration.objects.filter(name="Crossed hook").exists()


def test_staff_without_membership_sees_nothing(
    client: Client, make_staff: Callable[..., Any], acme: dict
) -> None:
    client.force_login(make_staff())

    assert "satismeter_app" not in client.get(reverse("admin:index")).content.decode()
    assert client.get(admin_url(Survey, "changelist")).status_code == 403


def test_only_superusers_create_projects_and_manage_memberships(
    member_client: Client, acme_admin_client: Client
) -> None:
    assert member_client.get(admin_url(Project, "add")).status_code == 403
    assert member_client.get(admin_url(Membership, "changelist")).status_code == 403
    assert acme_admin_client.get(admin_url(Project, "add")).status_code == 403
    assert acme_admin_client.get(admin_url(Membership, "changelist")).status_code == 200
    assert acme_admin_client.get(admin_url(Membership, "add")).status_code == 403


def test_only_project_admins_change_project_settings(
    member_client: Client, acme_admin_client: Client, acme: dict
) -> None:
    url = admin_url(Project, "change", acme["project"].pk)
    data = {**form_data(acme_admin_client, url), "name": "Acme Corp"}

    assert member_client.post(url, {**data, "name": "Hijacked"}).status_code == 403
    assert acme_admin_client.post(url, data).status_code == 302
    assert Project.objects.get(pk=acme["project"].pk).name == "Acme Corp"


# Secrets ---------------------------------------------------------------------------------


def test_new_api_key_is_shown_once_and_stored_hashed(acme_admin_client: Client, acme: dict) -> None:
    project = acme["project"]

    page = acme_admin_client.post(
        admin_url(ApiKey, "add"), {"project": project.pk, "name": "CI"}, follow=True
    )

    [key] = KEY_PATTERN.findall(page.content.decode())  # in the success message, nowhere else
    api_key = ApiKey.authenticate(key)
    assert api_key is not None and api_key.name == "CI" and api_key.project == project
    assert key not in api_key.hashed_key
    for url in (admin_url(ApiKey, "changelist"), admin_url(ApiKey, "change", api_key.pk)):
        shown_later = acme_admin_client.get(url).content.decode()
        assert key not in shown_later
        assert api_key.prefix in shown_later


def test_plain_members_cannot_issue_keys(member_client: Client, acme: dict) -> None:
    url = admin_url(ApiKey, "add")

    assert member_client.post(url, {"project": acme["project"].pk}).status_code == 403
    assert ApiKey.objects.filter(project=acme["project"]).count() == 1


def test_revoked_keys_stop_working(acme_admin_client: Client, acme: dict, globex: dict) -> None:
    api_key, key = ApiKey.issue(acme["project"], "old")
    assert ApiKey.authenticate(key) == api_key

    page = acme_admin_client.post(
        admin_url(ApiKey, "changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk, globex["apikey"].pk]},
    )

    assert message_texts(page) == ["1 API key was revoked."]
    assert ApiKey.authenticate(key) is None
    assert ApiKey.objects.get(pk=globex["apikey"].pk).revoked is None


def test_verification_secret_is_never_shown_in_full(superuser_client: Client, acme: dict) -> None:
    secret = acme["project"].verification_secret

    page = superuser_client.get(admin_url(Project, "change", acme["project"].pk)).content.decode()

    assert f"{secret[:4]}…" in page
    assert secret not in page
    assert acme["project"].write_key in page


def test_rotating_the_verification_secret_shows_the_new_one_once(
    acme_admin_client: Client, acme: dict
) -> None:
    project = acme["project"]
    old_secret = project.verification_secret

    page = acme_admin_client.post(
        admin_url(Project, "changelist"),
        {"action": "rotate_verification_secret", "_selected_action": [project.pk]},
    )

    project.refresh_from_db()
    assert project.verification_secret != old_secret
    assert any(project.verification_secret in text for text in message_texts(page))


def test_integration_secret_is_write_only(acme_admin_client: Client, acme: dict) -> None:
    integration = acme["integration"]
    url = admin_url(Integration, "change", integration.pk)

    page = acme_admin_client.get(url).content.decode()
    kept = acme_admin_client.post(url, {**form_data(acme_admin_client, url), "secret": ""})
    integration.refresh_from_db()
    kept_secret = integration.secret
    acme_admin_client.post(url, {**form_data(acme_admin_client, url), "secret": "s3cr3t-new"})
    integration.refresh_from_db()

    assert "acme-integration-secret" not in page
    assert "acme…" in page
    assert kept.status_code == 302 and kept_secret == "acme-integration-secret"
    assert integration.secret == "s3cr3t-new"


def test_plain_members_only_look_at_integrations(member_client: Client, acme: dict) -> None:
    url = admin_url(Integration, "change", acme["integration"].pk)

    assert member_client.get(url).status_code == 200
    assert member_client.post(url, {"name": "mine now"}).status_code == 403
    assert member_client.get(admin_url(Integration, "add")).status_code == 403


# Surveys, outbox, unsubscribes -----------------------------------------------------------


def test_survey_form_has_sections_with_help_texts(superuser_client: Client) -> None:
    page = superuser_client.get(admin_url(Survey, "add")).content.decode()

    for section in ("General", "Texts &amp; design", "Targeting", "Reminders"):
        assert section in page
    assert str(Survey._meta.get_field("sample_percent").help_text) in page


def test_survey_form_rejects_malformed_rules(superuser_client: Client, acme: dict) -> None:
    url = admin_url(Survey, "add")
    data = {
        **form_data(superuser_client, url),
        "project": acme["project"].pk,
        "name": "Broken",
        "trait_conditions-0-trait": "plan",
        "trait_conditions-0-type": "text",
        "trait_conditions-0-op": "gt",
    }

    page = superuser_client.post(url, data)

    assert "trait_conditions" in page.context["adminform"].form.errors
    assert not Survey.objects.filter(name="Broken").exists()


def test_member_pauses_their_surveys_with_an_action(
    member_client: Client, acme: dict, globex: dict
) -> None:
    page = member_client.post(
        admin_url(Survey, "changelist"),
        {"action": "make_paused", "_selected_action": [acme["survey"].pk, globex["survey"].pk]},
    )

    assert message_texts(page) == ["1 survey is now Paused."]
    assert Survey.objects.get(pk=acme["survey"].pk).state == Survey.State.PAUSED
    assert Survey.objects.get(pk=globex["survey"].pk).state == Survey.State.ACTIVE


def test_retry_makes_a_dead_delivery_due_again(member_client: Client, acme: dict) -> None:
    delivery = acme["delivery"]
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DEAD, attempts=8)

    member_client.post(
        admin_url(Delivery, "changelist"), {"action": "retry", "_selected_action": [delivery.pk]}
    )

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 8  # the history stays; only the row is due again


def test_unsubscribes_added_in_the_admin_are_marked_so(member_client: Client, acme: dict) -> None:
    page = member_client.post(
        admin_url(Unsubscribe, "add"), {"project": acme["project"].pk, "email": "x@example.com"}
    )

    assert page.status_code == 302
    assert Unsubscribe.objects.get(email="x@example.com").source == Unsubscribe.Source.ADMIN


# Performance -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", "member"])
def test_response_changelist_queries_do_not_grow_with_rows(
    client: Client,
    make_staff: Callable[..., Any],
    make_survey: Callable[..., Survey],
    make_response: Callable[..., Response],
    project: Project,
    django_assert_max_num_queries: Any,
    who: str,
) -> None:
    survey = make_survey(project)
    for rating in range(30):
        make_response(survey, rating=rating % 11, feedback="ok")
    client.force_login(make_staff(project, superuser=who == "superuser"))

    # 11, then one each for the tag chips (a prefetch), the assignee and the tag filters.
    with django_assert_max_num_queries(14):
        page = client.get(admin_url(Response, "changelist"))

    assert len(page.context["cl"].result_list) == 30


def test_user_page_explains_each_survey_decision(client, make_project, make_survey, make_end_user):
    from django.contrib.auth import get_user_model

    project = make_project()
    make_survey(project, name="Onboarding NPS", min_tenure_days=0)
    make_survey(project, name="Veterans NPS", min_tenure_days=400)
    user = make_end_user(project, user_id="explain-me")
    admin_user = get_user_model().objects.create_superuser("root-explain", "r@example.com", "pw")
    client.force_login(admin_user)
    page = client.get(f"/admin/satismeter_app/enduser/{user.pk}/change/").content.decode()
    assert "Onboarding NPS" in page and "Veterans NPS" in page
    assert "<code>eligible</code>" in page
    assert "<code>tenure</code>" in page


def test_survey_page_lists_where_its_feedback_goes(client, make_project, make_survey):
    from django.contrib.auth import get_user_model

    project = make_project()
    survey = make_survey(project, name="Onboarding NPS")
    other = make_survey(project, name="Other")
    Integration.objects.create(project=project, kind="slack", name="Team channel")
    Integration.objects.create(project=project, survey=other, kind="webhook", name="Other hook")
    admin_user = get_user_model().objects.create_superuser("root-int", "r@example.com", "pw")
    client.force_login(admin_user)
    page = client.get(f"/admin/satismeter_app/survey/{survey.pk}/change/").content.decode()
    assert "Team channel" in page
    assert "Other hook" not in page  # another survey's own integration
    assert f"?project={project.pk}&amp;survey={survey.pk}" in page


def test_bad_design_is_refused_with_a_message_that_says_why(client, make_project, make_survey):
    from django.contrib.auth import get_user_model

    project = make_project()
    survey = make_survey(project)
    admin_user = get_user_model().objects.create_superuser("root-design", "d@example.com", "pw")
    client.force_login(admin_user)
    url = f"/admin/satismeter_app/survey/{survey.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "project": project.pk,
            "name": survey.name,
            "design-skin": "popup",
        }
    )
    page = client.post(url, data).content.decode()
    assert "Skin: Select a valid choice. popup is not one of the available choices." in page
    survey.refresh_from_db()
    assert survey.design == {}


@pytest.mark.parametrize(
    ("category", "ratings"),
    [("promoter", {9, 10}), ("passive", {7, 8}), ("detractor", {0, 6}), ("grumpy", set())],
)
def test_the_response_list_filters_by_category(
    superuser_client: Client, acme: dict, make_response: Callable[..., Response], category, ratings
) -> None:
    survey = acme["survey"]
    for rating in (0, 6, 7, 8, 10):
        make_response(survey, rating=rating)
    page = superuser_client.get(admin_url(Response, "changelist"), {"category": category})
    assert {response.rating for response in page.context["cl"].result_list} == ratings


def test_survey_page_says_when_feedback_goes_nowhere(
    superuser_client: Client, project: Project, make_survey: Callable[..., Survey]
) -> None:
    survey = make_survey(project, name="Quiet NPS")
    page = superuser_client.get(admin_url(Survey, "change", survey.pk), HTTP_ACCEPT_LANGUAGE="de")
    body = page.content.decode()
    assert "Keine: Das Feedback bleibt hier." in body
    assert f"?project={project.pk}&amp;survey={survey.pk}" in body


def test_user_page_escapes_survey_names(superuser_client: Client, acme: dict, make_survey):
    make_survey(acme["project"], name="<b>Bold</b> NPS")
    user = acme["enduser"]
    page = superuser_client.get(admin_url(EndUser, "change", user.pk), HTTP_ACCEPT_LANGUAGE="de")
    body = page.content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; NPS" in body and "<b>Bold</b>" not in body
    assert "<th>Grund</th>" in body  # the table's headings follow the staff language
