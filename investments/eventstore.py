"""The event store: the ledger's one append-only log, and its only writer.

``append`` writes a batch of events atomically, in the caller's transaction: it locks the
projection rows the batch changes (``projections.prepare``), takes the batch's numbers in the
gap-free global ``sequence`` (one statement on the single ``LedgerSequence`` row, which stays locked
to commit, so sequence order is commit order) and in each stream's ``version``, fills in the ids an
event takes from its own number (``domain.events.numbered``), checks each payload against its type,
inserts the events and their postings in multi-row statements and writes the projection rows.

The sequence is the last lock a command takes, and the one it holds for the shortest time: a
command first locks the rows it decides on — the person's investor row first, then funds, holdings,
orders, the market — and ``append`` locks whatever else the batch changes before taking the
sequence. Only a command that must read the ledger as it stands at its own place in the sequence (a
royalty's holders of record, the next id of a fund) takes it earlier, with ``lock()``, after its
own rows. An idempotency key is bound to the person and the action that made it (``existing``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from config.db import insert_rows, moment_values, pipelined, select_rows

from . import metrics, projections
from .checks import LedgerError
from .domain import events
from .domain.state import postings
from .models import Event, FundPosting, FundPostingMonth, LedgerSequence, Posting


@dataclass(frozen=True)
class NewEvent:
    type: str
    stream: str
    payload: dict
    actor_id: int | None = None  # the person who made it (None: the system)
    at: datetime | None = None
    idempotency_key: str | None = None


def lock() -> int:
    """Take the ledger sequence now, until the transaction ends, and return its last number: every
    event numbered before is then committed and none can come in between."""
    return _allocate(0)


def _allocate(count: int) -> int:
    """Move the sequence on by ``count``; returns the last number taken. One statement, which
    locks the row to commit (MariaDB hands the new value back through ``LAST_INSERT_ID``)."""
    table = connection.ops.quote_name(LedgerSequence._meta.db_table)
    with connection.cursor() as cursor:
        for _ in range(2):
            if connection.vendor == "mysql":
                cursor.execute(
                    f"UPDATE {table} SET last = LAST_INSERT_ID(last + %s) WHERE id = 1",  # noqa: S608
                    [count],
                )
                if cursor.rowcount:
                    return cursor.lastrowid
            else:
                cursor.execute(
                    f"UPDATE {table} SET last = last + %s WHERE id = 1 RETURNING last",  # noqa: S608
                    [count],
                )
                if (row := cursor.fetchone()) is not None:
                    return row[0]
            try:  # a new database: the row's first use
                with transaction.atomic():
                    LedgerSequence.objects.create(pk=1, last=0)
            except IntegrityError:
                pass
    raise AssertionError("the ledger sequence row cannot be written")


def existing(idempotency_key: str | None, *, actor: User, type_: str) -> Event | None:
    """The event an earlier submit of this form made, if any. A key is bound to the person and
    the action it was made for: used by someone else, or on another form, it is refused."""
    if not idempotency_key:
        return None
    done = earlier([idempotency_key]).get(idempotency_key)
    if done is not None:
        bound(done, actor_id=actor.pk, type_=type_)
    return done


def earlier(keys) -> dict[str, Event]:
    """The events already made with these idempotency keys, by key (one query)."""
    keys = [key for key in keys if key]
    fields = ("id", *EVENT_COLUMNS)
    rows = select_rows(Event, fields, where={"idempotency_key": keys}) if keys else ()
    found = {}
    for row in rows:
        values = dict(zip(fields, row, strict=True))
        values["payload"] = orjson.loads(values["payload"])
        found[values["idempotency_key"]] = Event(**values)
    return found


def bound(done: Event, *, actor_id: int, type_: str) -> None:
    """Refuse a repeated key that was made for someone else or for another action."""
    if done.actor_id != actor_id or done.type != type_:
        raise LedgerError("This form was already used. Reload the page and try again.")


def once[T](
    idempotency_key: str | None, *, actor: User, type_: str, command: Callable[[], T]
) -> tuple[T | None, Event | None]:
    """Run ``command`` (a whole transaction that appends a ``type_`` event with this key) once per
    form: returns ``(its result, None)``, or ``(None, the earlier event)`` when this form was sent
    before. The key's unique index decides, so the earlier event is looked up only when the command
    fails — its key already taken, or refused because the first submit used what it needed."""
    try:
        return command(), None
    except (LedgerError, IntegrityError):
        done = existing(idempotency_key, actor=actor, type_=type_)
        if done is None:
            raise
        return None, done


def prepare(*batch: NewEvent, locked: projections.Locked | None = None) -> projections.Pending:
    """Lock the projection rows ``batch`` will change (``projections.prepare``; those the caller
    has ``locked`` already are not read again) and hand them over before appending, for a caller
    whose payloads need what those rows hold: the matcher's trades take each seller's cost basis
    from them. Pass the result to ``append`` with the same batch."""
    return projections.prepare([(new.type, new.payload) for new in batch], locked)


def append(
    *batch: NewEvent, prepared: projections.Pending | None = None, with_ids: bool = True
) -> list[Event]:
    """Append ``batch`` as the next events of the ledger, project it and store its postings; returns
    the events as stored (numbered, their ids filled in unless ``with_ids`` is False: a caller
    that needs only their sequences and payloads saves the statement that reads the ids).
    ``prepared``: its rows, from ``prepare`` (the rows an event touches do not depend on the
    amounts in it)."""
    for new in batch:
        events.check(new.type, new.payload)
    pending = prepared or prepare(*batch)
    last = _allocate(len(batch))
    versions = {stream: _last_version(stream) for stream in {new.stream for new in batch}}
    now, first = timezone.now(), last - len(batch) + 1
    rows = []  # EVENT_COLUMNS
    for sequence, new in enumerate(batch, start=first):
        versions[new.stream] = versions.get(new.stream, 0) + 1
        payload = events.numbered(new.type, new.payload, sequence, first)
        version, at, key = versions[new.stream], new.at or now, new.idempotency_key or None
        rows.append((sequence, new.stream, version, new.type, payload, at, new.actor_id, key))
    with pipelined():  # the postings and projection rows are built while the events are written
        store(rows)
        pending.apply([(row[3], row[4]) for row in rows])
    # Made from the columns in field order (the id first, unknown yet): a batch of thousands
    # is made in less than half the time it takes with keywords.
    stored = [Event(None, *row) for row in rows]
    if with_ids:
        ids = dict(_row_ids(first, last))
        for event in stored:
            event.pk = ids[event.sequence]
    metrics.record(stored)
    return stored


def _row_ids(first: int, last: int) -> list[tuple[int, int]]:
    """``(sequence, id)`` of the events numbered ``first`` to ``last``: read after they are
    written, not returned by their INSERT, so that the INSERT need not be waited for."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sequence, id FROM {table} WHERE sequence BETWEEN %s AND %s",  # noqa: S608
            [first, last],
        )
        return cursor.fetchall()


def _last_version(stream: str) -> int:
    """The stream's last version (0: none yet). One MAX per stream (a batch has one to three):
    with an equality MariaDB reads the last entry of the (stream, version) index; grouped over
    ``stream IN (…)`` it would read them all."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(version) FROM {table} WHERE stream = %s", [stream])  # noqa: S608
        return cursor.fetchone()[0] or 0


# Event's fields after its id, in the model's order (``append`` makes events from them by position)
EVENT_COLUMNS = ("sequence", "stream", "version", "type", "payload", "occurred_at", "actor_id")
EVENT_COLUMNS += ("idempotency_key",)
HOLDER_AMOUNTS = ("available", "reserved", "held", "held_reserved", "cost_basis")
POSTING_COLUMNS = ("sequence", "occurred_at", "investor_id", "fund_id", *HOLDER_AMOUNTS)
FUND_AMOUNTS = ("cash", "shares", "pending")
FUND_POSTING_COLUMNS = ("sequence", "occurred_at", "fund_id", *FUND_AMOUNTS)


def dump(payload: dict) -> str:
    """A payload as the log stores it: compact JSON, text as it is (``orjson``, several times
    faster than ``json``; keys that are not strings become strings, as ``json`` makes them)."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


def store(rows) -> None:
    """Insert numbered events — ``EVENT_COLUMNS`` tuples, payloads as dicts — and their postings
    (each event's changes to each balance, as deltas, for time travel): multi-row INSERTs, in the
    caller's transaction, the events' first (in a ``pipelined`` block the postings are worked
    out while the events are written). ``append`` and the seeder both write through here."""
    adapt, adapted = moment_values(), {}  # a batch's events share a few moments
    rows = [
        (*row[:6], adapted.get(row[5]) or adapted.setdefault(row[5], adapt(row[5])), *row[6:])
        for row in rows
    ]
    insert_rows(
        Event,
        EVENT_COLUMNS,
        (
            (sequence, stream, version, type_, dump(payload), at, actor_id, key)
            for sequence, stream, version, type_, payload, _, at, actor_id, key in rows
        ),
    )
    holders, funds, moved_funds = [], [], []
    for sequence, _, _, type_, payload, moment, at, _, _ in rows:
        moved = postings(type_, payload)
        for r in moved.holders:
            amounts = (r.get(f, 0) for f in HOLDER_AMOUNTS)
            holders.append((sequence, at, r["investor_id"], r.get("fund_id"), *amounts))
        for r in moved.funds:
            amounts = tuple(r[f] for f in FUND_AMOUNTS)
            funds.append((sequence, at, r["fund_id"], *amounts))
            moved_funds.append((r["fund_id"], moment, *amounts))
    insert_rows(Posting, POSTING_COLUMNS, holders)
    insert_rows(FundPosting, FUND_POSTING_COLUMNS, funds)
    insert_rows(
        FundPostingMonth,
        ("fund_id", "month", *FUND_AMOUNTS),
        [
            (fund_id, connection.ops.adapt_datefield_value(month), *amounts)
            for (fund_id, month), amounts in sorted(sum_months(moved_funds).items())
        ],
        add=FUND_AMOUNTS,
    )


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month in UTC: the key of ``FundPostingMonth``."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def sum_months(rows) -> dict[tuple[int, date], list[int]]:
    """Fund postings ``(fund id, moment, cash, shares, pending)`` summed per fund and month."""
    months: dict[tuple[int, date], list[int]] = {}
    for fund_id, moment, *amounts in rows:
        month = months.setdefault((fund_id, month_of(moment)), [0, 0, 0])
        month[:] = map(sum, zip(month, amounts, strict=True))
    return months


def read_stream(stream: str, *, after_version: int = 0):
    """A stream's events in version order."""
    return Event.objects.filter(stream=stream, version__gt=after_version).order_by("version")


def read_after(sequence: int, *, limit: int = 1_000) -> list[Event]:
    """The events after ``sequence``, in sequence order (a projector or a replica catching up)."""
    return list(Event.objects.filter(sequence__gt=sequence).order_by("sequence")[:limit])
