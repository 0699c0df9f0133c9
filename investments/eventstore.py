"""The event store: the ledger's one append-only log, and its only writer.

``append`` writes a batch of events atomically, in the caller's transaction: it checks each
payload against its type (``domain.events.check``), numbers the batch in the gap-free global
``sequence`` and in each stream's ``version``, inserts the events in one statement, projects them
(``projections.project``: one read and one upsert per table for the whole batch) and stores their
postings. Sequence numbers come from the single ``LedgerSequence`` row, locked by ``lock()`` and
held to commit, so their order is commit order. An idempotency key is bound to the person and the
action that made it (``existing``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from config.db import insert_rows

from . import metrics, projections
from .checks import LedgerError
from .domain import events
from .domain.state import postings
from .models import Event, FundPosting, LedgerSequence, Posting


@dataclass(frozen=True)
class NewEvent:
    type: str
    stream: str
    payload: dict
    actor: User | None = None
    at: datetime | None = None
    idempotency_key: str | None = None


def lock() -> LedgerSequence:
    """The ledger sequence row, locked until the transaction ends."""
    try:
        return LedgerSequence.objects.select_for_update().get(pk=1)
    except LedgerSequence.DoesNotExist:
        try:
            with transaction.atomic():
                LedgerSequence.objects.create(pk=1, last=0)
        except IntegrityError:
            pass
        return LedgerSequence.objects.select_for_update().get(pk=1)


def existing(idempotency_key: str | None, *, actor: User, type_: str) -> Event | None:
    """The event an earlier submit of this form made, if any. A key is bound to the person and
    the action it was made for: used by someone else, or on another form, it is refused."""
    if not idempotency_key:
        return None
    done = Event.objects.filter(idempotency_key=idempotency_key).first()
    if done is not None and (done.actor_id != actor.pk or done.type != type_):
        raise LedgerError("This form was already used. Reload the page and try again.")
    return done


def append(sequence: LedgerSequence, *batch: NewEvent) -> list[Event]:
    """Append ``batch`` (under ``lock()``), project it and store its postings."""
    for new in batch:
        events.check(new.type, new.payload)
    streams = {new.stream for new in batch}
    versions = dict(
        Event.objects.filter(stream__in=streams)
        .values_list("stream")
        .annotate(last=Max("version"))
        .order_by()
    )
    now = timezone.now()
    stored = []
    for new in batch:
        sequence.last += 1
        versions[new.stream] = versions.get(new.stream, 0) + 1
        stored.append(
            Event(
                sequence=sequence.last,
                stream=new.stream,
                version=versions[new.stream],
                type=new.type,
                payload=new.payload,
                occurred_at=new.at or now,
                actor=new.actor,
                idempotency_key=new.idempotency_key or None,
            )
        )
    sequence.save(update_fields=["last"])
    store(tuple(getattr(e, column) for column in EVENT_COLUMNS) for e in stored)
    projections.project([(e.type, e.payload) for e in stored])
    stored = list(
        Event.objects.filter(sequence__gt=sequence.last - len(stored)).order_by("sequence")
    )
    for event in stored:
        metrics.record(event)
    return stored


EVENT_COLUMNS = ("sequence", "stream", "version", "type", "payload", "occurred_at", "actor_id")
EVENT_COLUMNS += ("idempotency_key",)
HOLDER_AMOUNTS = ("available", "reserved", "held", "held_reserved", "cost_basis")
POSTING_COLUMNS = ("sequence", "occurred_at", "investor_id", "fund_id", *HOLDER_AMOUNTS)
FUND_POSTING_COLUMNS = ("sequence", "occurred_at", "fund_id", "cash", "shares", "pending")


def store(rows) -> None:
    """Insert numbered events — ``EVENT_COLUMNS`` tuples, payloads as dicts — and their postings
    (each event's changes to each balance, as deltas, for time travel): multi-row INSERTs, in the
    caller's transaction. ``append`` and the seeder both write through here."""
    adapt = connection.ops.adapt_datetimefield_value
    events, holders, funds = [], [], []
    for sequence, stream, version, type_, payload, at, actor_id, key in rows:
        at = adapt(at)
        events.append((sequence, stream, version, type_, json.dumps(payload), at, actor_id, key))
        moved = postings(type_, payload)
        for r in moved.holders:
            amounts = (r.get(f, 0) for f in HOLDER_AMOUNTS)
            holders.append((sequence, at, r["investor_id"], r.get("fund_id"), *amounts))
        for r in moved.funds:
            funds.append((sequence, at, r["fund_id"], r["cash"], r["shares"], r["pending"]))
    insert_rows(Event, EVENT_COLUMNS, events)
    insert_rows(Posting, POSTING_COLUMNS, holders)
    insert_rows(FundPosting, FUND_POSTING_COLUMNS, funds)


def read_stream(stream: str, *, after_version: int = 0):
    """A stream's events in version order."""
    return Event.objects.filter(stream=stream, version__gt=after_version).order_by("version")


def read_after(sequence: int, *, limit: int = 1_000) -> list[Event]:
    """The events after ``sequence``, in sequence order (a projector or a replica catching up)."""
    return list(Event.objects.filter(sequence__gt=sequence).order_by("sequence")[:limit])
