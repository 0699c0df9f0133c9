"""The postings: each event's changes to each balance, as deltas, kept beside the log for time
travel (a balance at a moment is the sum of its postings up to it: ``replay``) and "my history".

They are worked out from the log (``domain.state.postings``), so they need not be written in the
transaction of the command that made the event. ``PostingWatermark`` says how far they are: every
event up to it has its postings, none after it has. Who writes them (``LEDGER_POSTINGS``):

- ``follower`` (the default with Redis): nothing on a command's path. ``manage.py run_postings``
  follows the log and writes the postings of the events after the watermark a batch per
  transaction, moving the watermark with them — the matcher's batch commits its events and the
  live tables only.
- ``inline`` (the embedded default: no process beside the server): ``eventstore.append`` writes a
  batch's postings itself, after any the follower left, under the ledger sequence.

A reader sums the postings up to the watermark and adds those of the events after it, worked out
from the log as the follower will write them (``settled`` and ``tail``): the same answer as if every
posting were written, and so equal to a full replay, however far behind the follower is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connection,
    transaction,
)

from config.db import insert_rows, moment_values, raw_rows

from . import metrics
from .domain.state import postings
from .models import Event, FundPosting, FundPostingMonth, Posting, PostingWatermark

HOLDER_AMOUNTS = ("available", "reserved", "held", "held_reserved", "cost_basis")
POSTING_COLUMNS = ("sequence", "occurred_at", "investor_id", "fund_id", *HOLDER_AMOUNTS)
FUND_AMOUNTS = ("cash", "shares", "pending")
FUND_POSTING_COLUMNS = ("sequence", "occurred_at", "fund_id", *FUND_AMOUNTS)

logger = logging.getLogger(__name__)

FOLLOW_BATCH = 5_000  # events a follower's transaction writes the postings of, at most
IDLE_SECONDS = 0.05  # how often an idle follower looks for new events
SETTLE_ATTEMPTS = 50


@dataclass
class Moved:
    """Postings as rows: ``holders`` in ``POSTING_COLUMNS``, ``funds`` in ``FUND_POSTING_COLUMNS``
    (``occurred_at`` an aware moment)."""

    holders: list[tuple]
    funds: list[tuple]


def derive(events: Iterable[tuple]) -> Moved:
    """The postings of ``(sequence, type, payload, occurred at)`` events."""
    holders, funds = [], []
    for sequence, type_, payload, at in events:
        moved = postings(type_, payload)
        for r in moved.holders:
            amounts = (r.get(f, 0) for f in HOLDER_AMOUNTS)
            holders.append((sequence, at, r["investor_id"], r.get("fund_id"), *amounts))
        for r in moved.funds:
            funds.append((sequence, at, r["fund_id"], *(r[f] for f in FUND_AMOUNTS)))
    return Moved(holders, funds)


def record(events: list[tuple]) -> None:
    """Write the postings of ``(sequence, type, payload, occurred at)`` events — the next after
    the watermark, in sequence order — and move the watermark past them, in the caller's
    transaction: multi-row INSERTs, and each fund's months added to."""
    if not events:
        return
    moved = derive(events)
    adapt, adapted = moment_values(), {}  # a batch's events share a few moments

    def moment(at):
        value = adapted.get(at)
        return value if value is not None else adapted.setdefault(at, adapt(at))

    insert_rows(
        Posting, POSTING_COLUMNS, ((s, moment(at), *rest) for s, at, *rest in moved.holders)
    )
    insert_rows(
        FundPosting, FUND_POSTING_COLUMNS, ((s, moment(at), *rest) for s, at, *rest in moved.funds)
    )
    insert_rows(
        FundPostingMonth,
        ("fund_id", "month", *FUND_AMOUNTS),
        [
            (fund_id, connection.ops.adapt_datefield_value(month), *amounts)
            for (fund_id, month), amounts in sorted(
                sum_months((fund_id, at, *rest) for _, at, fund_id, *rest in moved.funds).items()
            )
        ],
        add=FUND_AMOUNTS,
    )
    if not PostingWatermark.objects.filter(pk=1).update(sequence=events[-1][0]):
        PostingWatermark.objects.create(pk=1, sequence=events[-1][0])  # its first use


def inline(events: list[tuple]) -> None:
    """The postings of a batch ``eventstore.append`` has just stored (``LEDGER_POSTINGS =
    "inline"``), after those of any events before it the watermark has not reached: in the
    batch's transaction, which holds the ledger sequence, so nothing comes in between."""
    posted = _locked()
    first = events[0][0]
    record([*(after(posted, before=first) if posted < first - 1 else ()), *events])


def follow(*, limit: int = FOLLOW_BATCH) -> int:
    """One step of the follower: the postings of up to ``limit`` events after the watermark, in
    one transaction; returns how many events. Another follower at work (its watermark locked)
    is left to it: 0."""
    with transaction.atomic():
        posted = _locked(skip_locked=True)
        if posted is None:
            return 0
        events = after(posted, limit=limit)
        record(events)
    return len(events)


def run(stop: threading.Event | None = None, *, idle_exit: bool = False) -> None:
    """The follower (``manage.py run_postings``): write the postings of new events as they come,
    until ``stop`` (or, with ``idle_exit``, until every event has its postings). The database
    going away (a failover) pauses it; what it wrote is committed with its watermark, so it
    goes on where it stopped."""
    stop = stop or threading.Event()
    pause = 0.0
    while not stop.is_set():
        try:
            moved = follow()
            if not moved:
                posted, last = _positions()
        except DatabaseError as error:
            pause = min(max(pause * 2, 0.1), 2.0)
            logger.warning(
                "postings follower: database unavailable (%s), again in %.1f s", error, pause
            )
            close_old_connections()
            stop.wait(pause)
            continue
        pause = 0.0
        metrics.POSTINGS_WRITTEN.inc(moved)
        if moved:
            continue
        metrics.POSTINGS_BEHIND.set(max(last - posted, 0))
        if idle_exit and posted >= last:
            break
        stop.wait(IDLE_SECONDS)


def catch_up() -> None:
    """Write every posting the log lacks, waiting for a follower at work to commit first (the
    audit, tests)."""
    while True:
        with transaction.atomic():
            events = after(_locked(), limit=FOLLOW_BATCH)
            record(events)
        if len(events) < FOLLOW_BATCH:
            return


def after(posted: int, *, before: int | None = None, limit: int | None = None, until=None):
    """The events after ``posted`` (and before ``before``; that occurred at or before ``until``)
    as ``(sequence, type, payload, occurred at)``, in sequence order: what their postings are
    worked out from."""
    events = Event.objects.using(DEFAULT_DB_ALIAS).filter(sequence__gt=posted).order_by("sequence")
    if before is not None:
        events = events.filter(sequence__lt=before)
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    if limit is not None:
        events = events[:limit]
    rows = raw_rows(events.values_list("sequence", "type", "payload", "occurred_at"))
    if not rows:
        return []
    payloads = orjson.loads("[" + ",".join([row[2] for row in rows]) + "]")
    zone = connection.timezone
    return [
        (sequence, type_, payload, at.replace(tzinfo=zone))
        for (sequence, type_, _, at), payload in zip(rows, payloads, strict=True)
    ]


def watermark() -> int:
    """The last event whose postings are written (0: none)."""
    rows = PostingWatermark.objects.using(DEFAULT_DB_ALIAS).filter(pk=1)
    rows = rows.values_list("sequence", flat=True)
    return next(iter(rows), 0)


def _positions() -> tuple[int, int]:
    """The watermark and the log's last event, in one statement."""
    mark = connection.ops.quote_name(PostingWatermark._meta.db_table)
    log = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT sequence FROM {mark} WHERE id = 1), (SELECT MAX(sequence) FROM {log})"  # noqa: S608
        )
        posted, last = cursor.fetchone()
    return posted or 0, last or 0


def _locked(*, skip_locked: bool = False) -> int | None:
    """The watermark, locked to the transaction's end (made on first use); None when another
    transaction holds it and ``skip_locked``."""
    for _ in range(2):
        rows = PostingWatermark.objects.select_for_update(skip_locked=skip_locked).filter(pk=1)
        for sequence in rows.values_list("sequence", flat=True):
            return sequence
        if skip_locked and PostingWatermark.objects.filter(pk=1).exists():
            return None
        try:
            with transaction.atomic():
                PostingWatermark.objects.create(pk=1, sequence=0)
        except IntegrityError:
            pass
    raise AssertionError("the postings watermark row cannot be written")


def settled[T](read: Callable[[], T], *, until: datetime | None = None) -> tuple[T, Moved]:
    """Run ``read`` (statements over the postings tables) so that it reads exactly the postings
    up to the watermark, and return its result with the postings it lacks: those of the events
    after the watermark (that occurred at or before ``until``), worked out from the log.

    ``read`` is one statement, so it reads one moment's postings: those of every event up to some
    watermark at least as far as the one read before it (the follower commits them in sequence
    order). When that one is the log's end, nothing is left to add (the common case: one
    statement more than ``read``). Otherwise the watermark is read again after ``read``: a
    follower's commit in between moves it, and ``read`` runs again; unmoved, ``read`` read exactly
    the postings up to it. Everything here reads the primary, where the follower writes (a replica
    chosen per statement could be another one each time): ``read`` must too."""
    for _ in range(SETTLE_ATTEMPTS):
        posted, last = _positions()
        result = read()
        if posted >= last:
            return result, Moved([], [])
        if watermark() == posted:
            return result, derive(after(posted, until=until))
    raise RuntimeError("the postings watermark kept moving while they were read")


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
