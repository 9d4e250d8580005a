"""A project's unsubscribe list: the addresses that get no survey email.

Addresses compare case-insensitively (the table's unique constraint is on ``Lower(email)``).
``EndUser.unsubscribed`` is kept in step with the list for the users who have the address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from ..exceptions import InvalidInput
from ..models import EndUser, Unsubscribe

CHUNK = 500  # ids or addresses per IN (...) list
MAX_EMAIL_LENGTH = 254

T = TypeVar("T")


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def emails(project_id: int) -> list[str]:
    rows = Unsubscribe.objects.filter(project_id=project_id).order_by("created", "pk")
    return list(rows.values_list("email", flat=True))


def clean_emails(values: Sequence[object]) -> dict[str, str]:
    """Valid addresses by their lower-case form, the first spelling kept; raises InvalidInput."""
    cleaned: dict[str, str] = {}
    for index, value in enumerate(values):
        if not isinstance(value, str) or len(value.strip()) > MAX_EMAIL_LENGTH:
            raise InvalidInput(f"emails[{index}]", "must be an email address")
        address = value.strip()
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(f"emails[{index}]", f"{address!r} is not an email address") from None
        cleaned.setdefault(address.lower(), address)
    return cleaned


@transaction.atomic
def replace(project_id: int, addresses: Sequence[object]) -> list[str]:
    """Make the list exactly ``addresses`` (SatisMeter's PATCH semantics)."""
    wanted = clean_emails(addresses)
    rows = Unsubscribe.objects.filter(project_id=project_id)
    current = {email.lower(): pk for pk, email in rows.values_list("pk", "email")}
    gone = [pk for lower, pk in current.items() if lower not in wanted]
    for chunk in _chunks(gone):
        Unsubscribe.objects.filter(pk__in=chunk).delete()
    Unsubscribe.objects.bulk_create(
        Unsubscribe(project_id=project_id, email=address, source=Unsubscribe.Source.API)
        for lower, address in wanted.items()
        if lower not in current
    )
    _mark_users(project_id, set(wanted))
    return emails(project_id)


def _mark_users(project_id: int, lowered: set[str]) -> None:
    users = EndUser.objects.filter(project_id=project_id).annotate(email_lower=Lower("email"))
    for chunk in _chunks(sorted(lowered)):
        users.filter(email_lower__in=chunk, unsubscribed=False).update(unsubscribed=True)
    flagged = users.filter(unsubscribed=True).values_list("pk", "email_lower")
    no_longer = [pk for pk, email in flagged if email not in lowered]
    for ids in _chunks(no_longer):
        EndUser.objects.filter(pk__in=ids).update(unsubscribed=False)


def add(project_id: int, address: str, source: str = Unsubscribe.Source.LINK) -> None:
    """Put one address on the list (idempotent) and flag the users who have it."""
    with transaction.atomic():
        rows = Unsubscribe.objects.filter(project_id=project_id, email__iexact=address)
        if not rows.exists():
            try:
                with transaction.atomic():
                    Unsubscribe.objects.create(project_id=project_id, email=address, source=source)
            except IntegrityError:
                pass  # added by a concurrent request: the list has it either way
        users = EndUser.objects.filter(project_id=project_id, email__iexact=address)
        users.filter(unsubscribed=False).update(unsubscribed=True)
