"""The outbox: Delivery rows leave through their destinations, at least once, and retried.

A row's life::

    pending ──claimed──▶ sending ──2xx──▶ delivered
                            ├── 429, 5xx, no answer, within the retry window ──▶ pending, later
                            └── any other 4xx, a message that can never go, or
                                a failure past the retry window ──▶ dead
    sending, its worker gone ──(the claim times out)──▶ claimed again

Services write rows in the transaction that causes them (:func:`schedule` then enqueues one
task per integration when it commits); the periodic :func:`sweep` enqueues every integration
that has rows due, which catches whatever the broker lost or never got. A task runs
:func:`send_due`: it claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (so that any
number of workers share the work and none takes a row another holds), sends them outside any
transaction, and records the outcome and an attempt row per delivery.

While a row is ``sending``, ``next_attempt_at`` is when its claim runs out. A worker killed
mid-send leaves the row there, and the first task after that time sends it again, with the
same message id: receivers (Segment, webhook consumers) drop repeats by that id.

Staff's replies to respondents go through the same rows, claims, retries and sweep: a reply's
row has no integration and the destination ``"reply"`` (destinations/mail.py), and its queue
is named by ``None`` where an integration's is named by its id (:func:`schedule_replies`,
:func:`send_due_replies`). Before a reply goes out its recipient is asked again whether they
may be emailed: an address unsubscribed or erased since the reply was written gets nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, cast

import orjson
from django.db import connections, transaction
from django.db.models import F, Field, Model, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from .conf import app_settings
from .destinations import destination_for
from .destinations.base import Destination, Outcome
from .destinations.mail import REPLY, ReplyDestination
from .exceptions import DeliveryError, MessageRejected, SatismeterConfigurationError
from .models import Delivery, DeliveryAttempt, Integration, Response, Unsubscribe
from .tally import Tally

logger = logging.getLogger(__name__)

ACTIVE = (Delivery.State.PENDING, Delivery.State.SENDING)
# A task stops after this many claims and leaves the rest to the next task or the sweep, so
# that one busy integration does not hold a worker forever.
MAX_CLAIMS_PER_RUN = 50


# --- writing rows -------------------------------------------------------------------------------


def integrations_for(project_id: int, survey_id: int) -> list[Integration]:
    """The enabled integrations a survey's events go to: the survey's own integrations of a
    kind replace the project-wide ones of that kind."""
    candidates = list(
        Integration.objects.filter(project_id=project_id, enabled=True).filter(
            Q(survey__isnull=True) | Q(survey_id=survey_id)
        )
    )
    own_kinds = {i.kind for i in candidates if i.survey_id is not None}
    return [i for i in candidates if i.survey_id is not None or i.kind not in own_kinds]


def schedule(integration_ids: Iterable[int | None]) -> None:
    """Once the current transaction commits, enqueue a send for each integration."""
    ids = sorted({pk for pk in integration_ids if pk is not None})
    if ids:
        transaction.on_commit(partial(enqueue, ids))


# Sent once a transaction that wrote rows commits, with the integrations that have rows to
# send. tasks.py (the layer above) listens and enqueues one Celery task per integration, so
# that this module never imports the interfaces that call it.
deliveries_due = Signal()
# The same for the replies' queue, which has no integration.
replies_due = Signal()


def schedule_replies() -> None:
    """Once the current transaction commits, enqueue a send of the replies due."""
    transaction.on_commit(enqueue_replies)


def enqueue_replies() -> None:
    replies_due.send(sender=Delivery)


def write(
    project_id: int,
    survey_id: int,
    events: list[tuple[str, str, dict[str, Any]]],
    *,
    response: Response | None,
) -> None:
    """Write one Delivery per event and interested integration, in the caller's transaction;
    they are sent once it commits. ``events`` are ``(event, source, payload)``: ``source``
    names what caused the event, so that its message id is the same on every retry."""
    if not events:
        return
    integrations = integrations_for(project_id, survey_id)
    rows = Delivery.objects.bulk_create(
        Delivery(
            project_id=project_id,
            response=response,
            integration=integration,
            destination=integration.kind,
            event=event,
            payload=payload,
            message_id=message_id(source, integration.pk),
        )
        for event, source, payload in events
        for integration in integrations
        if integration.wants(event, payload)
    )
    schedule(row.integration_id for row in rows)


def message_id(source: str, integration_id: int) -> str:
    """A stable UUID per (cause, integration): receivers drop repeats by it."""
    digest = hashlib.sha256(f"{source}:{integration_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def enqueue(integration_ids: Sequence[int]) -> None:
    """Ask the workers to send (through :data:`deliveries_due`)."""
    deliveries_due.send(sender=Delivery, integration_ids=list(integration_ids))


def send_test_message(integration: Integration) -> Delivery:
    """A made-up completed response for one integration, through the outbox like any other."""
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.create(
            project_id=integration.project_id,
            integration=integration,
            destination=integration.kind,
            event="test",
            payload=test_payload(integration.project_id, now),
            message_id=str(uuid.uuid4()),
        )
        schedule([integration.pk])
    return delivery


def test_payload(project_id: int, now: datetime) -> dict[str, Any]:
    when = now.isoformat().replace("+00:00", "Z")
    user: dict[str, Any] = {
        "id": "test",
        "userId": "satismeter-test-user",
        "anonymousId": None,
        "name": "Test User",
        "email": None,
        "createdAt": None,
        "deleted": False,
        "traits": {},
        "groups": {},
    }
    response = {
        "id": "test",
        "project": str(project_id),
        "campaign": "test",
        "created": when,
        "rating": 10,
        "feedback": "This is a test message from django-satismeter.",
        "answers": [],
        "category": "promoter",
        "score": 100,
        "dismissed": False,
        "pending": False,
        "completed": True,
        "method": "In-app",
        "language": "en",
        "referrer": None,
        "device": {},
        "user": user,
    }
    campaign = {"id": "test", "name": "Test message"}
    return {
        "event": "test",
        "timestamp": when,
        "response": response,
        "traits": {},
        "campaign": campaign,
    }


def retry_now(deliveries: QuerySet[Delivery]) -> int:
    """Make pending and dead rows due now, with a fresh retry window, and enqueue them."""
    now = timezone.now()
    rows = deliveries.filter(state__in=[Delivery.State.PENDING, Delivery.State.DEAD])
    integration_ids = set(rows.values_list("integration_id", flat=True))
    window = timedelta(seconds=app_settings.DELIVERY_RETRY_WINDOW)
    count = rows.update(state=Delivery.State.PENDING, next_attempt_at=now, retry_until=now + window)
    schedule(integration_ids)
    if None in integration_ids:
        schedule_replies()
    return count


# --- sending ------------------------------------------------------------------------------------


@dataclass
class RunReport(Tally):
    """What one :func:`send_due` did, for logs and tests."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    def add(self, rows: Sequence[Delivery]) -> None:
        self.claimed += len(rows)
        for row in rows:
            if row.state == Delivery.State.DELIVERED:
                self.delivered += 1
            elif row.state == Delivery.State.DEAD:
                self.dead += 1
            else:
                self.retrying += 1


def send_due(integration_id: int) -> RunReport:
    """Claim and send the integration's due rows, one claim after another, until none is left.

    Two at a time: the :class:`Courier`'s thread builds and posts a claim while this thread
    claims the next one and records the one before, so that the database and the destination
    work at the same time. A worker holds at most two claims: the one on its way and the next,
    whose requests wait for those of the first."""
    report = RunReport()
    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is None:
        return report  # disabled: its rows wait; deleted: the sweep marks them dead
    destination = destination_for(integration)
    courier = Courier(destination)
    try:
        for rows in claims(integration_id, destination.claim_size):
            courier.take(rows)
            for sent, outcomes in courier.arrived(keep=1):
                report.add(record(sent, outcomes))
        for sent, outcomes in courier.arrived():
            report.add(record(sent, outcomes))
    finally:
        courier.close()
        destination.close()
    return report


def send_due_replies() -> RunReport:
    """Claim and send the replies due, claim after claim, in this thread (a reply is one
    email; there are few). A recipient who may no longer be emailed gets nothing: the row
    dies with the reason."""
    report = RunReport()
    destination = ReplyDestination()
    for rows in claims(None, destination.claim_size):
        refused = refused_recipients(rows)
        outcomes = {
            row.pk: Outcome.failure(row, MessageRejected(refused[row.pk]))
            for row in rows
            if row.pk in refused
        }
        outcomes.update(outcomes_of(destination, [r for r in rows if r.pk not in refused]))
        report.add(record(rows, outcomes))
    return report


def refused_recipients(rows: Sequence[Delivery]) -> dict[int, str]:
    """The reply rows whose recipient may not be emailed now, with the reason
    (:meth:`EndUser.mail_refusal`, and the list for the address the row goes to)."""
    found = Delivery.objects.filter(pk__in=[row.pk for row in rows]).select_related(
        "response__user"
    )
    users = {d.pk: d.response.user for d in found if d.response is not None}
    refusals = {pk: user.mail_refusal() for pk, user in users.items()}
    refused = {}
    for row in rows:
        reason = refusals.get(row.pk, "The response was deleted.")
        address = str((row.payload or {}).get("to", ""))
        if reason is None and Unsubscribe.covers(row.project_id, address):
            reason = "The address is on the project's unsubscribe list."
        if reason is not None:
            refused[row.pk] = f"Not sent. {reason}"
    return refused


def send_all_due() -> RunReport:
    """Send everything due now, in this process: for tests and the shell, not for production."""
    report = RunReport()
    for integration_id in due_integrations(timezone.now()):
        report += send_due(integration_id)
    report += send_due_replies()
    return report


def claims(integration_id: int | None, size: int) -> Iterator[list[Delivery]]:
    """Claim after claim, until one comes back short (nothing more is due) or the task has
    made :data:`MAX_CLAIMS_PER_RUN`."""
    for _round in range(MAX_CLAIMS_PER_RUN):
        rows = claim(integration_id, size)
        if rows:
            yield rows
        if len(rows) < size:
            return


def claim(integration_id: int | None, size: int, now: datetime | None = None) -> list[Delivery]:
    """Take up to ``size`` due rows for this worker until the claim timeout: the oldest due,
    returned in the order they were written. ``None``: the replies' queue.

    One statement, ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``:
    concurrent claims take disjoint rows without waiting for each other, and only ids are
    sorted (sorting whole rows of a long queue, payloads and all, would spill to disk). On
    SQLite (the demo, one worker) the database's single writer serializes claims instead.
    """
    now = now or timezone.now()
    until = now + timedelta(seconds=app_settings.DELIVERY_CLAIM_TIMEOUT)
    due = Delivery.objects.filter(
        queue(integration_id), state__in=ACTIVE, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    picked, params = due.values("pk")[:size].query.sql_with_params()
    connection = connections[due.db]
    if connection.features.has_select_for_update_skip_locked:
        picked += " " + connection.ops.for_update_sql(skip_locked=True)
    names = [field.name for field in Delivery._meta.concrete_fields]
    table, columns = _columns(Delivery, ["state", "next_attempt_at", "id", *names], connection)
    state, next_attempt_at, pk, *returned = columns
    statement = (
        f"UPDATE {table} SET {state} = %s, {next_attempt_at} = %s "  # noqa: S608
        f"WHERE {pk} IN ({picked}) RETURNING {', '.join(returned)}"
    )
    sending = [Delivery.State.SENDING, connection.ops.adapt_datetimefield_value(until)]
    rows = claimed_rows(connection, statement, [*sending, *params])
    return sorted(rows, key=lambda row: row.pk)


def queue(integration_id: int | None) -> Q:
    """The rows of one integration, or (``None``) the replies, which have none."""
    if integration_id is None:
        return Q(integration__isnull=True, destination=REPLY)
    return Q(integration_id=integration_id)


PAYLOAD_AT = [field.name for field in Delivery._meta.concrete_fields].index("payload")
DELIVERY_ATTNAMES = [field.attname for field in Delivery._meta.concrete_fields]


def claimed_rows(connection: Any, statement: str, params: list[Any]) -> list[Delivery]:
    """The rows a claim returned, every concrete field in order. On PostgreSQL straight from
    the cursor, which hands over times as datetimes and the payload as JSON text: the same
    rows as ``raw()``'s, without its converters called per row and field."""
    if connection.vendor != "postgresql":
        return list(Delivery.objects.raw(statement, params))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()
    rows = []
    for values in fetched:
        values = list(values)
        values[PAYLOAD_AT] = json.loads(values[PAYLOAD_AT])
        rows.append(Delivery.from_db(connection.alias, DELIVERY_ATTNAMES, values))
    return rows


class Courier:
    """Builds and posts a task's claims in a thread of its own, one claim after another in the
    order it took them: a claim's rows go in the order they were written, claim after claim.
    The database stays with the task's thread; destinations only build and post."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="satismeter-courier")
        self.on_the_way: deque[tuple[list[Delivery], Future[dict[int, Outcome]]]] = deque()

    def take(self, rows: list[Delivery]) -> None:
        self.on_the_way.append((rows, self.thread.submit(self.outcomes, rows)))

    def arrived(self, keep: int = 0) -> Iterator[tuple[list[Delivery], dict[int, Outcome]]]:
        """The claims taken, oldest first, with their outcomes once their requests are done;
        all but the last ``keep``, which stay on their way."""
        while len(self.on_the_way) > keep:
            rows, outcomes = self.on_the_way.popleft()
            yield rows, outcomes.result()

    def outcomes(self, rows: list[Delivery]) -> dict[int, Outcome]:
        try:
            return outcomes_of(self.destination, rows)
        finally:
            connections.close_all()  # only if a destination of the host's own used one

    def close(self) -> None:
        """Let the claim being sent end; drop those not started (the task failed: their rows
        stay claimed, and are sent again once the claim runs out)."""
        self.thread.shutdown(wait=True, cancel_futures=True)


def outcomes_of(destination: Destination, rows: list[Delivery]) -> dict[int, Outcome]:
    """An outcome for every row, whatever the destination raised."""
    try:
        outcomes = destination.deliver(rows)
    except SatismeterConfigurationError as exc:
        # Retried: a write key or package added within the retry window still sends them.
        error = DeliveryError(f"The integration cannot send: {exc}")
        outcomes = [Outcome.failure(row, error) for row in rows]
    by_id = {outcome.delivery_id: outcome for outcome in outcomes}
    lost = DeliveryError("The destination reported nothing for this delivery.")
    return {row.pk: by_id.get(row.pk) or Outcome.failure(row, lost) for row in rows}


def record(rows: list[Delivery], outcomes: dict[int, Outcome]) -> list[Delivery]:
    """Write each row's new state and an attempt per row, all at once; returns the rows this
    worker still held. An attempt is timed by the request that carried its row; a row for
    which nothing was sent is logged at the time it was judged, with no duration.

    A row whose claim ran out and was taken by another worker meanwhile is left to that
    worker (its attempt is still logged, since the request was made); a row deleted meanwhile
    (admin) has nothing to log. Every row is judged first, as if still held: the database
    tells which are.
    """
    now, jitter = timezone.now(), random.random()  # noqa: S311 - jitter, not a secret
    claimed_until = {row.pk: row.next_attempt_at for row in rows}
    if_held = [judge(row, outcomes[row.pk], now, jitter) for row in rows]
    if_lost = [lost_claim_attempt(row, outcomes[row.pk]) for row in rows]
    if connections[Delivery.objects.db].vendor == "postgresql":
        held = save_in_one_statement(rows, claimed_until, if_held, if_lost)
    else:
        held = save_in_transaction(rows, claimed_until, if_held, if_lost)
    return [row for row in rows if row.pk in held]


class Attempt(NamedTuple):
    """The values of one DeliveryAttempt row, written as they are: a model instance per
    attempt would cost more than the rest of the recording."""

    delivery_id: int
    started: datetime
    duration_ms: int
    status_code: int | None
    outcome: str
    error: str


# The columns of one recording on PostgreSQL and their types: each row's claim and new state,
# its attempt if the row was still held, and its attempt if another worker had taken it over.
RECORD_COLUMNS = (
    ("id", "bigint"),
    ("claimed_until", "timestamptz"),
    ("state", "text"),
    ("next_attempt_at", "timestamptz"),
    ("last_error", "text"),
    ("last_status", "integer"),
    ("delivered_at", "timestamptz"),
    ("started", "timestamptz"),
    ("duration_ms", "integer"),
    ("status_code", "integer"),
    ("verdict", "text"),
    ("error", "text"),
    ("verdict_if_lost", "text"),
    ("error_if_lost", "text"),
)


def save_in_one_statement(
    rows: list[Delivery],
    claimed_until: dict[int, datetime],
    if_held: list[Attempt],
    if_lost: list[Attempt],
) -> set[int]:
    """PostgreSQL: one statement, one round trip, whatever the number of rows (see
    :func:`record_statement`). The values go as one JSON array of rows, written by orjson:
    psycopg would write arrays into the statement in Python, element by element, and a
    recording has thousands of values."""
    values = [
        [
            *(row.pk, claimed_until[row.pk], row.state, row.next_attempt_at, row.last_error),
            *(row.last_status, row.delivered_at, *held[1:], lost.outcome, lost.error),
        ]
        for row, held, lost in zip(rows, if_held, if_lost, strict=True)
    ]
    connection = connections[Delivery.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(record_statement(connection), [orjson.dumps(values).decode()])
        return {pk for (pk,) in cursor.fetchall()}


def record_statement(connection: Any) -> str:
    """Locks the claim's rows (``FOR UPDATE``: no other worker's claim or recording and no
    deletion gets in between), saves the outcomes of those whose ``next_attempt_at`` is
    still this claim's, logs an attempt for every row still there, and returns the ids
    saved. The rows are found by their primary key (``= ANY(ARRAY(…))``), whatever the
    planner guesses of the JSON."""
    names = ["id", "state", "attempts", "next_attempt_at", "last_error", "last_status"]
    delivery, (pk, state, attempts, next_at, error, status, delivered_at) = _columns(
        Delivery, [*names, "delivered_at"], connection
    )
    log_names = ["delivery", "started", "duration_ms", "status_code", "outcome", "error"]
    log, log_columns = _columns(DeliveryAttempt, log_names, connection)
    fields = ", ".join(
        f"(r->>{n})::{kind} AS {name}" for n, (name, kind) in enumerate(RECORD_COLUMNS)
    )
    return f"""
        WITH o AS (SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS r),
        claimed AS MATERIALIZED (
            SELECT d.{pk} AS id, d.{next_at} = o.claimed_until AS held
            FROM {delivery} d JOIN o ON o.id = d.{pk}
            WHERE d.{pk} = ANY(ARRAY(SELECT id FROM o)) ORDER BY d.{pk} FOR UPDATE OF d
        ),
        saved AS (
            UPDATE {delivery} d SET {state} = o.state, {attempts} = d.{attempts} + 1,
                {next_at} = o.next_attempt_at, {error} = o.last_error,
                {status} = o.last_status, {delivered_at} = o.delivered_at
            FROM o JOIN claimed c ON c.id = o.id AND c.held WHERE d.{pk} = o.id
            RETURNING d.{pk}
        ),
        logged AS (
            INSERT INTO {log} ({", ".join(log_columns)})
            SELECT o.id, o.started, o.duration_ms, o.status_code,
                CASE WHEN c.held THEN o.verdict ELSE o.verdict_if_lost END,
                CASE WHEN c.held THEN o.error ELSE o.error_if_lost END
            FROM o JOIN claimed c ON c.id = o.id
        )
        SELECT * FROM saved"""  # noqa: S608 - identifiers from the models, values as parameters


def save_in_transaction(
    rows: list[Delivery],
    claimed_until: dict[int, datetime],
    if_held: list[Attempt],
    if_lost: list[Attempt],
) -> set[int]:
    """Other databases (SQLite, the demo): in one transaction, the rows locked and compared
    with their claim, one UPDATE per distinct outcome, the attempts in as few INSERTs as
    the database takes."""
    with transaction.atomic():
        current = dict(
            Delivery.objects.select_for_update()
            .filter(pk__in=list(claimed_until))
            .values_list("pk", "next_attempt_at")
        )
        held = {pk for pk, at in current.items() if at == claimed_until[pk]}
        save_outcomes([row for row in rows if row.pk in held])
        pairs = zip(if_held, if_lost, strict=True)
        log_attempts(
            [h if h.delivery_id in held else lost for h, lost in pairs if h.delivery_id in current]
        )
    return held


def save_outcomes(rows: list[Delivery]) -> None:
    """One UPDATE per distinct outcome: a claim's rows mostly share one (a batch succeeds or
    fails as a whole), and Django's bulk_update would build a CASE per row and column."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in rows:
        key = (row.state, row.next_attempt_at, row.last_error, row.last_status, row.delivered_at)
        groups[key].append(row.pk)
    for (state, next_attempt_at, error, status, delivered_at), pks in groups.items():
        Delivery.objects.filter(pk__in=pks).update(
            state=state,
            attempts=F("attempts") + 1,
            next_attempt_at=next_attempt_at,
            last_error=error,
            last_status=status,
            delivered_at=delivered_at,
        )


def log_attempts(log: list[Attempt]) -> None:
    """The attempts in as few INSERTs as the database allows (SQLite: 999 parameters a
    statement): ``bulk_create`` would prepare every field of every row through its model
    field, and these are plain values."""
    if not log:
        return
    connection = connections[DeliveryAttempt.objects.db]
    names = ["delivery", "started", "duration_ms", "status_code", "outcome", "error"]
    stamp = connection.ops.adapt_datetimefield_value
    values = [(a.delivery_id, stamp(a.started), *a[2:]) for a in log]
    table, columns = _columns(DeliveryAttempt, names, connection)
    insert = f"INSERT INTO {table} ({', '.join(columns)})"
    size = connection.ops.bulk_batch_size(names, values) or len(values)
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(f"{insert} VALUES {rows}", [v for entry in chunk for v in entry])


def _columns(model: type[Model], names: list[str], connection: Any) -> tuple[str, list[str]]:
    """The quoted table and column names of a model's fields, for the raw statements here:
    only identifiers from the model go into SQL, the values go as parameters."""
    meta, quote = model._meta, connection.ops.quote_name
    return quote(meta.db_table), [quote(cast(Field, meta.get_field(n)).column) for n in names]


def judge(row: Delivery, outcome: Outcome, now: datetime, jitter: float | None = None) -> Attempt:
    """Apply an outcome to a row: delivered, retried later, or dead. Returns its attempt.

    ``jitter`` (0–1) is drawn once per claim: rows that failed together retry together, and
    so travel in one batch again, while the claims of different workers spread out."""
    row.attempts += 1
    row.last_status = outcome.status_code
    row.last_error = outcome.error
    if outcome.delivered:
        row.state, row.delivered_at = Delivery.State.DELIVERED, now
        return attempt_of(row.pk, outcome, DeliveryAttempt.Outcome.DELIVERED, row.last_error)
    deadline = retry_deadline(row)
    if outcome.retryable and now < deadline:
        delay = retry_delay(row.attempts, outcome.retry_after, jitter)
        row.state = Delivery.State.PENDING
        row.next_attempt_at = min(now + timedelta(seconds=delay), deadline)
        return attempt_of(row.pk, outcome, DeliveryAttempt.Outcome.RETRY, row.last_error)
    if outcome.retryable:
        row.last_error = f"{outcome.error} — gave up: the retry window is over."
    row.state = Delivery.State.DEAD
    return attempt_of(row.pk, outcome, DeliveryAttempt.Outcome.DEAD, row.last_error)


def attempt_of(delivery_id: int, outcome: Outcome, verdict: str, error: str) -> Attempt:
    started = outcome.started or timezone.now()
    return Attempt(
        delivery_id, started, outcome.duration_ms or 0, outcome.status_code, verdict, error
    )


def lost_claim_attempt(row: Delivery, outcome: Outcome) -> Attempt:
    """The attempt of a row another worker took over while this one sent it."""
    verdict = DeliveryAttempt.Outcome.RETRY
    if outcome.delivered:
        verdict = DeliveryAttempt.Outcome.DELIVERED
    note = "The claim ran out before this worker finished; another worker has the row."
    return attempt_of(row.pk, outcome, verdict, f"{outcome.error} {note}".strip())


def retry_deadline(row: Delivery) -> datetime:
    window = timedelta(seconds=app_settings.DELIVERY_RETRY_WINDOW)
    return row.retry_until or row.created + window


def retry_delay(
    attempts: int, retry_after: float | None = None, jitter: float | None = None
) -> float:
    """Seconds to wait after ``attempts`` failures: exponential, with "equal jitter" (half
    fixed, half random, so that retries spread out but never come at once), and never less
    than the destination's Retry-After. ``jitter`` is the random part, 0–1."""
    base = app_settings.DELIVERY_RETRY_BASE_DELAY
    ceiling = min(app_settings.DELIVERY_RETRY_MAX_DELAY, base * 2 ** max(attempts - 1, 0))
    if jitter is None:
        jitter = random.random()  # noqa: S311 - jitter, not a secret
    delay = ceiling / 2 + ceiling / 2 * jitter
    return max(delay, retry_after or 0.0)


# --- the sweep ----------------------------------------------------------------------------------


def due_integrations(now: datetime) -> list[int]:
    rows = Delivery.objects.filter(
        state__in=ACTIVE, next_attempt_at__lte=now, integration__enabled=True
    )
    return sorted(set(rows.order_by().values_list("integration_id", flat=True).distinct()))


def sweep(now: datetime | None = None) -> list[int]:
    """Enqueue a send for every integration with rows due (new, to retry, or stuck in a dead
    worker's claim). Runs periodically (Celery beat)."""
    now = now or timezone.now()
    orphans = Delivery.objects.filter(integration__isnull=True, state__in=ACTIVE)
    orphans = orphans.exclude(destination=REPLY)
    orphans.update(state=Delivery.State.DEAD, last_error="The integration was deleted.")
    integration_ids = due_integrations(now)
    enqueue(integration_ids)
    if replies_are_due(now):
        enqueue_replies()
    return integration_ids


def replies_are_due(now: datetime) -> bool:
    return Delivery.objects.filter(queue(None), state__in=ACTIVE, next_attempt_at__lte=now).exists()
