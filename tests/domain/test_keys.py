import hashlib
import hmac

import pytest

from satismeter_app import keys
from satismeter_app.models import ApiKey, Project


def test_user_hash_is_hex_hmac_sha256_of_the_user_id() -> None:
    expected = hmac.new(b"s3cret", b"user-42", hashlib.sha256).hexdigest()
    assert keys.user_hash("user-42", "s3cret") == expected


@pytest.mark.django_db
def test_projects_get_distinct_write_keys_and_secrets() -> None:
    a, b = Project.objects.create(name="A"), Project.objects.create(name="B")
    assert len(a.write_key) == 24
    assert a.write_key != b.write_key
    assert a.verification_secret != b.verification_secret


@pytest.mark.django_db
def test_api_key_is_shown_once_and_stored_only_as_a_hash(project: Project) -> None:
    api_key, clear = ApiKey.issue(project, "export")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert clear.startswith(stored.prefix + ".")
    assert clear not in {stored.hashed_key, stored.prefix, stored.name}
    assert ApiKey.authenticate(clear) == stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("a" if k[-1] != "a" else "b"),  # wrong secret, right prefix
        lambda k: k.replace(".", ""),  # not our format
        lambda k: "",
        lambda k: k.split(".")[0],  # the visible prefix alone
    ],
)
def test_wrong_keys_do_not_authenticate(project: Project, mangle) -> None:
    _, clear = ApiKey.issue(project)
    assert ApiKey.authenticate(mangle(clear)) is None


@pytest.mark.django_db
def test_revoked_keys_do_not_authenticate(project: Project) -> None:
    from django.utils import timezone

    api_key, clear = ApiKey.issue(project)
    api_key.revoked = timezone.now()
    api_key.save()
    assert ApiKey.authenticate(clear) is None
