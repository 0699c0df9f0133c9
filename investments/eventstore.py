"""The event store: the ledger's one append-only log, and its only writer.

``append`` writes a batch of events atomically, in the caller's transaction: it locks the
projection rows the batch changes (``projections.prepare``), takes the batch's numbers in the
gap-free global ``sequence`` (one statement on the single ``LedgerSequence`` row, which stays locked
to commit, so sequence order is commit order) and in each stream's ``version``, fills in the ids an
event takes from its own number (``domain.events.numbered``), checks each payload against its type,
inserts the events in multi-row statements and writes the projection rows. Their postings (time
travel's index) are written behind the log by a follower, or here with ``LEDGER_POSTINGS =
"inline"`` (``postings``).

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
from datetime import datetime

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from config.db import insert_rows, moment_values, pipelined, select_rows

from . import metrics, postings, projections
from .checks import LedgerError
from .domain import events
from .models import Event, LedgerSequence


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


def append(*batch: NewEvent, prepared: projections.Pending | None = None) -> list[Event]:
    """Append ``batch`` as the next events of the ledger and project it (``append_rows``);
    returns the events as stored, numbered and with their ids."""
    rows = append_rows(*batch, prepared=prepared)
    if not rows:
        return []
    ids = dict(_row_ids(rows[0][0], rows[-1][0]))
    # Made from the columns in field order: a batch of thousands is made in less than half the
    # time it takes with keywords.
    return [Event(ids[row[0]], *row) for row in rows]


def append_rows(
    *batch: NewEvent,
    prepared: projections.Pending | None = None,
    versions: dict[str, int] | None = None,
) -> list[tuple]:
    """Append ``batch`` as the next events of the ledger and project it (its postings too, when
    they are written inline: ``postings``); returns the events as stored, as ``EVENT_COLUMNS``
    tuples (no ids, no model instances: what the matcher needs of a batch of thousands).
    ``prepared``: its rows, from ``prepare`` (the rows an event touches do not depend on the
    amounts in it). ``versions``: the last version of a stream whose writers the caller holds off
    (the matcher, under its fund's checkpoint), not read again; a wrong one breaks the
    ``(stream, version)`` unique index, and the batch with it."""
    for new in batch:
        events.check(new.type, new.payload)
    pending = prepared or prepare(*batch)
    last = _allocate(len(batch))
    last_versions = {
        stream: versions[stream] if versions and stream in versions else _last_version(stream)
        for stream in {new.stream for new in batch}
    }
    now, first = timezone.now(), last - len(batch) + 1
    rows = []  # EVENT_COLUMNS
    for sequence, new in enumerate(batch, start=first):
        last_versions[new.stream] += 1
        payload = events.numbered(new.type, new.payload, sequence, first)
        version, at, key = last_versions[new.stream], new.at or now, new.idempotency_key or None
        rows.append((sequence, new.stream, version, new.type, payload, at, new.actor_id, key))
    with pipelined():  # the projection rows are built while the events are written
        store(rows)
        pending.apply([(row[3], row[4]) for row in rows])
        if settings.LEDGER_POSTINGS == "inline":
            postings.inline([(row[0], row[3], row[4], row[5]) for row in rows])
    metrics.record([(row[3], row[4]) for row in rows])
    return rows


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


def dump(payload: dict) -> str:
    """A payload as the log stores it: compact JSON, text as it is (``orjson``, several times
    faster than ``json``; keys that are not strings become strings, as ``json`` makes them)."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


def store(rows) -> None:
    """Insert numbered events — ``EVENT_COLUMNS`` tuples, payloads as dicts — in one multi-row
    INSERT per 5,000, in the caller's transaction. ``append`` and the seeder both write through
    here (their postings: ``postings``)."""
    adapt, adapted = moment_values(), {}  # a batch's events share a few moments
    insert_rows(
        Event,
        EVENT_COLUMNS,
        (
            (
                sequence,
                stream,
                version,
                type_,
                dump(payload),
                adapted.get(at) or adapted.setdefault(at, adapt(at)),
                actor_id,
                key,
            )
            for sequence, stream, version, type_, payload, at, actor_id, key in rows
        ),
    )


def read_stream(stream: str, *, after_version: int = 0):
    """A stream's events in version order."""
    return Event.objects.filter(stream=stream, version__gt=after_version).order_by("version")


def read_after(sequence: int, *, limit: int = 1_000) -> list[Event]:
    """The events after ``sequence``, in sequence order (a projector or a replica catching up)."""
    return list(Event.objects.filter(sequence__gt=sequence).order_by("sequence")[:limit])
