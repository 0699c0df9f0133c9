"""The projection tables, each mapped once to its part of the reducer's ``State``.

A ``Table`` says which ``State`` attribute a model holds, which columns form its key and how each
entry's values become columns and back. That one mapping serves all three uses:

- ``prepare(events)`` then ``Pending.apply(events)``: inline, in the command's transaction. The
  events are first applied to a zero state (``domain.state.touched``) to learn which rows they
  touch; those rows are read with ``SELECT … FOR UPDATE`` into a ``State`` (before the event store
  takes the sequence), the numbered events are applied to it by the reducer itself, and the rows
  that changed are written back — one read and one multi-row upsert per table, for a whole batch.
- ``write(state)``: a rebuild writes every table from a replay.
- ``read()``: the audit reads every table back into a ``State`` and compares the ``comparable``
  form of both.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Context, Decimal
from functools import cached_property
from operator import itemgetter

from django.db import connection

from config.db import delete_rows, insert_rows, load_rows, pipelined, raw_rows, select_rows
from config.scale import bulk_load

from .domain.state import State, touched
from .models import (
    CircuitBreaker,
    Copyright,
    FeeAccount,
    Fund,
    Holding,
    Investor,
    Market,
    MatcherCheckpoint,
    McpiValue,
    Order,
    Royalty,
    Trade,
)

PLAIN, MOMENT, DAY, DECIMAL, BOOL = "plain", "moment", "day", "decimal", "bool"


def _to_column(kind: str, value):
    if value is None or kind in (PLAIN, BOOL):
        return value
    if kind == MOMENT:
        return datetime.fromisoformat(value)
    if kind == DAY:
        return date.fromisoformat(value)
    return Decimal(value)


def _to_state(kind: str, value):
    if value is None or kind == PLAIN:
        return value
    if kind == BOOL:
        return bool(value)
    if kind in (MOMENT, DAY):
        return value.isoformat()
    return str(value)


def _from_db(kind: str, field):
    """A function from a column's value as the driver hands it back (``config.db.select_rows``)
    to what the ORM would have made of it (then ``_to_state``): an SQLite decimal (a float) a
    Decimal of the field's places. (A MariaDB boolean, 0 or 1, is made a bool by ``_to_state``.)"""
    if kind == DECIMAL:
        places, context = Decimal(1).scaleb(-field.decimal_places), Context(prec=15)

        def decimal(v):
            if v is None or isinstance(v, Decimal):
                return v
            return context.create_decimal_from_float(float(v)).quantize(places)

        return decimal
    return None


@dataclass(frozen=True)
class Table:
    model: type
    attr: str  # the State attribute
    key: tuple[str, ...]  # the model fields that form the State key
    columns: tuple[tuple[str, str, str], ...]  # (State value key, model field, kind)
    key_kind: str = PLAIN
    scalar: bool = False  # the State value is the one column itself (MCPI values)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for _, field, _ in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        """The key and value fields, in the order ``prepare`` reads them."""
        return (*self.key, *self.fields)

    def row(self, key, value) -> dict:
        """The model fields of one State entry."""
        keys = key if len(self.key) > 1 else (key,)
        row = {field: _to_column(self.key_kind, k) for field, k in zip(self.key, keys, strict=True)}
        if self.scalar:
            ((_, field, kind),) = self.columns
            row[field] = _to_column(kind, value)
        else:
            for name, field, kind in self.columns:
                row[field] = _to_column(kind, value[name])
        return row

    def select(self, where: dict, *, lock: bool = False) -> list[tuple]:
        """The State entries ``(key, value)`` of the rows ``where`` (field → value, or values it
        is among: ``config.db.select_rows``); with ``lock``, locked (``SELECT … FOR UPDATE``)."""
        return [self.entry_of(row) for row in self.raw(where, lock=lock)]

    def raw(self, where: dict, *, lock: bool = False) -> Sequence[tuple]:
        """The rows ``where`` as the driver hands them back (``names`` order), for a caller that
        needs few of many rows as State entries (``entry_of``, when it needs one)."""
        return select_rows(self.model, self.names, where=where, lock=lock, order_by=self.key)

    def entry_of(self, row: tuple):
        """The State entry ``(key, value)`` of a ``raw`` row."""
        converters = self._converters
        if converters:
            row = list(row)
            for i, conversion in converters:
                row[i] = conversion(row[i])
        return self.entry(dict(zip(self.names, row, strict=True)))

    @cached_property
    def _converters(self) -> list[tuple[int, Callable]]:
        kinds = [self.key_kind] * len(self.key) + [kind for _, _, kind in self.columns]
        fields = [self.model._meta.get_field(name) for name in self.names]
        return [
            (i, conversion)
            for i, (kind, field) in enumerate(zip(kinds, fields, strict=True))
            if (conversion := _from_db(kind, field))
        ]

    def entry(self, values: dict):
        """The State key and value of one row (``values``: model field → value)."""
        keys = tuple(_to_state(self.key_kind, values[field]) for field in self.key)
        key = keys if len(keys) > 1 else keys[0]
        if self.scalar:
            ((_, field, _),) = self.columns
            return key, Decimal(values[field])
        return key, {name: _to_state(kind, values[field]) for name, field, kind in self.columns}

    def where(self, keys) -> dict:
        """The rows of ``keys``, for ``locked`` — for a key of two columns, the rows whose columns
        are each among the keys' (a superset the caller narrows: one IN per column is far
        cheaper than an OR of thousands of pairs)."""
        keys = list(keys)
        if len(self.key) == 1:
            adapt = connection.ops.adapt_datetimefield_value if self.key_kind == MOMENT else None
            values = [_to_column(self.key_kind, k) for k in keys]
            return {self.key[0]: [adapt(v) for v in values] if adapt else values}
        columns = zip(*keys, strict=True)
        return {f: set(values) for f, values in zip(self.key, columns, strict=True)}


def col(name: str, field: str | None = None, kind: str = PLAIN) -> tuple[str, str, str]:
    """A State value key and the model field holding it (same name unless given)."""
    return (name, field or name, kind)


def cols(*names: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(col(name) for name in names)


INVESTORS = Table(
    Investor,
    "investors",
    ("id",),
    (col("user_id"), col("available", "cash_available"), col("reserved", "cash_reserved")),
)
FUNDS = Table(
    Fund,
    "funds",
    ("id",),
    (
        *cols("name", "base_price", "cash"),
        col("shares", "shares_outstanding"),
        col("pending", "royalties_pending"),
        col("created_at", kind=MOMENT),
    ),
)
COPYRIGHTS = Table(
    Copyright,
    "copyrights",
    ("id",),
    (
        *cols("fund_id", "code", "registration_number", "music_id", "title", "artist", "price"),
        col("acquired_at", kind=MOMENT),
        col("mcpi", "mcpi_at_acquisition", DECIMAL),
    ),
)
MCPI = Table(McpiValue, "mcpi", ("at",), (col("value", kind=DECIMAL),), MOMENT, scalar=True)
ROYALTIES = Table(
    Royalty,
    "royalties",
    ("id",),
    (*cols("fund_id", "amount"), col("recorded_at", kind=MOMENT), col("distributed", kind=BOOL)),
)
HOLDINGS = Table(
    Holding, "holdings", ("investor_id", "fund_id"), cols("held", "reserved", "cost_basis")
)
ORDERS = Table(
    Order,
    "orders",
    ("id",),
    (
        *cols("fund_id", "investor_id", "side", "price", "quantity", "remaining"),
        *cols("cash_reserved", "status", "sequence"),
        col("placed_at", kind=MOMENT),
    ),
)
TRADES = Table(
    Trade,
    "trades",
    ("id",),
    (
        *cols("fund_id", "buy_order_id", "sell_order_id", "price", "quantity"),
        *cols("buyer_fee", "seller_fee", "buyer_id", "seller_id"),
        col("executed_at", kind=MOMENT),
    ),
)
MARKETS = Table(
    Market,
    "markets",
    ("fund_id",),
    (*cols("last_price", "previous_close"), col("day", kind=DAY), col("day_value")),
)
# Parents before children (the order rows are inserted in).
TABLES = (INVESTORS, FUNDS, COPYRIGHTS, MCPI, ROYALTIES, HOLDINGS, ORDERS, TRADES, MARKETS)
BREAKER_COLUMNS = (("day", DAY), ("levels_fired", PLAIN), ("halted_until", MOMENT))


# --- inline: the rows a batch of events touches --------------------------------------------------


@dataclass
class Locked:
    """Projection rows a command has read and locked already (``lock``), to hand to ``prepare``:
    ``read`` holds, per State attribute, every key asked for, found or not."""

    state: State = field(default_factory=State)
    read: dict[str, set] = field(default_factory=dict)


def lock(locked: Locked, table: Table, keys=None, **where) -> dict:
    """Read and lock into ``locked`` the rows of ``table`` with these ``keys`` (or, given
    ``where``, those whose fields are among the values given); returns the State entries read."""
    if keys is not None:
        keys = set(keys)
        read = table.select(table.where(keys), lock=True) if keys else ()
        entries = {k: v for k, v in read if k in keys}
    else:
        entries = dict(table.select(where, lock=True))
    getattr(locked.state, table.attr).update(entries)
    locked.read.setdefault(table.attr, set()).update(keys if keys is not None else entries)
    return entries


def known(locked: Locked, table: Table, entries: dict) -> None:
    """Hand ``locked`` State entries of ``table`` that the caller holds as the database has them,
    under a lock of its own (the matcher's resting orders, under its fund's checkpoint): they are
    not read again. Copied: the batch changes its own."""
    getattr(locked.state, table.attr).update({k: dict(v) for k, v in entries.items()})
    locked.read.setdefault(table.attr, set()).update(entries)


def prepare(events: list[tuple[str, dict]], locked: Locked | None = None) -> Pending:
    """Read and lock (``SELECT … FOR UPDATE``) the projection rows ``(type, payload)`` events
    change, in the caller's transaction, besides those ``locked`` holds: what ``Pending.apply``
    then changes. An id the events take from their sequence (None until numbered, or a reference
    to an order placed earlier in the batch: ``events.placeholder``) is a new row, which nobody
    else can hold."""
    zero = touched(events)
    locked = locked or Locked()
    state, before = locked.state, {}
    for table in TABLES:
        done = locked.read.get(table.attr, set())
        read = {key for key in getattr(zero, table.attr).read if not _unnumbered(key)} - done
        if read:
            lock(locked, table, read)
        if read or done:
            before[table.attr] = {
                k: dict(v) if isinstance(v, dict) else v
                for k, v in getattr(state, table.attr).items()
            }
    # The fee account is not read: the state starts it at zero and ``apply`` adds what the batch
    # moved to the row, so the one row every trade of every fund touches is locked only from
    # that statement to the commit.
    state.fee = 0
    breaker = None
    if zero.breaker:
        breaker = CircuitBreaker.objects.select_for_update().filter(pk=1).first()
        state.breaker = _breaker_entry(breaker) if breaker else {}
    return Pending(state, before, breaker=bool(zero.breaker))


def _unnumbered(key) -> bool:
    return key is None or (isinstance(key, int) and key < 0)


@dataclass
class Pending:
    """The rows a batch will change, as they were read (``before``) and as the reducer changes them
    (``state``)."""

    state: State
    before: dict
    breaker: bool

    def apply(self, events: list[tuple[str, dict]]) -> None:
        """Apply the numbered events to the rows read and write back those that changed."""
        state = self.state
        for type_, payload in events:
            state.apply(type_, payload)
        for table in TABLES:
            entries, old = getattr(state, table.attr), self.before.get(table.attr, {})
            changed = [k for k, v in entries.items() if v != old.get(k)]
            if changed:
                _upsert(table, ((k, entries[k]) for k in changed))
        if state.fee and not _add_fee(state.fee):
            FeeAccount.objects.create(balance=state.fee)  # the first fee ever
        if self.breaker:
            CircuitBreaker.objects.update_or_create(pk=1, defaults=_breaker_row(state.breaker))


def _add_fee(amount: int) -> int:
    """Add ``amount`` to the fee account's balance; returns the rows changed (0: no row yet)."""
    table = connection.ops.quote_name(FeeAccount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance = balance + %s", [amount])  # noqa: S608
        return cursor.rowcount


def _upsert(table: Table, entries) -> None:
    """Insert ``(key, value)`` entries, or update the rows already there: one multi-row
    statement per 5,000 (``config.db.insert_rows``)."""
    values = _db_values(table)
    _write(table, (values(key, value) for key, value in entries))


def _write(table: Table, rows) -> None:
    """Insert ``_db_values`` rows, or update the rows already there."""
    insert_rows(table.model, table.names, rows, update=table.fields)


def _db_values(table: Table):
    """A function from a State entry to its row as a plain tuple in ``Table.names`` order, in the
    one form the driver both takes on a write and hands back on a read (``config.db.raw_rows``):
    moments as naive datetimes in the connection's time zone (what Django stores), days as
    dates, decimals as ``Decimal``. So a rebuild compares its replay with the tables row by row
    and writes only the rows that differ. No dict per row: a rebuild makes a million."""
    zone = connection.timezone
    convert = {
        MOMENT: lambda v: datetime.fromisoformat(v).astimezone(zone).replace(tzinfo=None),
        DAY: date.fromisoformat,
        DECIMAL: Decimal,
    }
    several = len(table.key) > 1
    names = [name for name, _, _ in table.columns]
    kinds = [table.key_kind] * len(table.key) + [kind for _, _, kind in table.columns]
    # (position in the row, conversion) of the columns that need one.
    converted = [(i, convert[kind]) for i, kind in enumerate(kinds) if kind in convert]
    get = itemgetter(*names) if len(names) > 1 else lambda value: (value[names[0]],)
    if table.scalar:
        get = lambda value: (value,)  # noqa: E731 - the entry is the one column

    def values(key, value) -> tuple:
        row = [*key, *get(value)] if several else [key, *get(value)]
        for i, conversion in converted:
            if row[i] is not None:
                row[i] = conversion(row[i])
        return tuple(row)

    return values


def _breaker_entry(breaker: CircuitBreaker) -> dict:
    return {name: _to_state(kind, getattr(breaker, name)) for name, kind in BREAKER_COLUMNS}


def _breaker_row(entry: dict) -> dict:
    return {name: _to_column(kind, entry.get(name)) for name, kind in BREAKER_COLUMNS}


# --- whole tables: the audit reads them, a rebuild writes them -----------------------------------


def read(state: State | None = None, *, only: dict | None = None) -> State:
    """The projection tables as a ``State``; ``only`` maps a table's attr to the rows wanted (a
    ``config.db.select_rows`` condition: field → value, or values it is among) when just some
    are (one investor's portfolio: the other tables are not read)."""
    state = state or State()
    for table in TABLES:
        entries = getattr(state, table.attr)
        if only is not None:
            if table.attr in only:
                entries.update(table.select(only[table.attr]))
            continue
        rows = table.model.objects.all()
        for values in rows.values(*table.key, *table.fields).iterator(chunk_size=BATCH):
            key, value = table.entry(values)
            entries[key] = value
    if only is None:
        fee = FeeAccount.objects.first()
        state.fee = fee.balance if fee else 0
        breaker = CircuitBreaker.objects.filter(pk=1).first()
        if breaker is not None and breaker.day:
            state.breaker = _breaker_entry(breaker)
    return state


def comparable(state: State) -> dict:
    """Every table's rows as model values keyed by their key columns, for comparing two states
    (a moment is the same instant whatever its offset): holdings of all zeros and markets with
    nothing yet are the same as no row."""
    tables = {}
    for table in TABLES:
        entries = getattr(state, table.attr).items()
        if table in (HOLDINGS, MARKETS):
            entries = [(k, v) for k, v in entries if any(v.values())]
        rows = [table.row(key, value) for key, value in entries]
        tables[table.attr] = {tuple(row[f] for f in table.key): row for row in rows}
    tables["fee"] = {"balance": state.fee}
    tables["breaker"] = {1: _breaker_row(state.breaker)} if state.breaker else {}
    return tables


BATCH = 5_000
# Written again whole: few rows each. Reconciled in place (almost every row of a big log): read
# and compared with the replay, then only the rows that differ written and the rows the log
# does not have deleted.
RECONCILED = (HOLDINGS, ORDERS, TRADES)


def write(state: State) -> int:
    """Make every projection row equal ``state``, in the caller's transaction; returns how many
    rows of the reconciled tables it wrote or deleted (none when they were right already).

    Rows known to be new (the small tables after their DELETE, the reconciled tables' missing
    rows) are plain INSERTs with MariaDB's per-row unique and foreign-key checks off (the rows
    come from the reducer, right by construction; parents are written again under children that
    stay); a reconciled table found empty (wiped) is loaded whole (``load_rows``). The rows that
    changed are upserted afterwards, with the unique checks on: they are how an upsert finds its
    row."""
    mended, stale, gone = 0, {}, {}
    new = {}  # a reconciled table's rows to insert, and how: all of them at once when it is empty
    # Pipelined: the next rows are converted while MariaDB inserts these. The reconciled tables
    # are read first: a read waits for every statement sent before it.
    with bulk_load(), pipelined(), connection.cursor() as cursor:
        for table in RECONCILED:
            entries = getattr(state, table.attr)
            stale[table], rows, missing, gone[table] = _differences(table, entries)
            mended += len(stale[table]) + missing + len(gone[table])
            empty = missing == len(entries) and not gone[table]  # no row read at all
            new[table] = (load_rows if empty else insert_rows), rows
        for model in (CircuitBreaker, FeeAccount, *(t.model for t in reversed(TABLES))):
            if not any(t.model is model for t in RECONCILED):
                # One DELETE per table: the ORM's delete() would first read every row to check
                # relations.
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
        for table in TABLES:
            if table in new:
                insert, rows = new[table]
            else:
                entries = getattr(state, table.attr)
                insert, rows = insert_rows, map(_db_values(table), entries.keys(), entries.values())
            insert(table.model, table.names, rows)
    with bulk_load(unique_checks=True):
        for table in RECONCILED:
            _write(table, stale[table])
        for table in reversed(RECONCILED):
            delete_rows(table.model, gone[table])
        if state.fee:
            FeeAccount.objects.create(balance=state.fee)
        if state.breaker:
            CircuitBreaker.objects.create(pk=1, **_breaker_row(state.breaker))
    # Every order book built from the rows before — a matcher's in memory, a market page's in
    # the cache — is stale now: a new version says so.
    MatcherCheckpoint.objects.update(version=secrets.randbits(62))
    return mended


def _differences(table: Table, entries: dict) -> tuple[list[tuple], Iterable[tuple], int, list]:
    """The rows of ``entries`` the table holds otherwise and those it lacks (``_db_values``
    rows) with their count, and the primary keys of its rows that ``entries`` lack. The table is
    read as plain tuples in that same form, so a row already right costs one comparison of two
    tuples, not a write. (The reconciled tables' keys are plain ids, the same in the ``State``
    and in the table.) An empty table lacks every entry: they are handed over unconverted, to be
    converted batch by batch while MariaDB inserts the batch before (``pipelined``)."""
    values = _db_values(table)
    rows = raw_rows(table.model.objects.order_by().values_list("pk", *table.names))
    if not rows:
        return [], map(values, entries.keys(), entries.values()), len(entries), []
    wanted = dict(zip(entries.keys(), map(values, entries.keys(), entries.values()), strict=True))
    key_of = itemgetter(*range(1, 1 + len(table.key)))  # of a row read with its pk first
    stale, gone = [], []
    for row in rows:
        want = wanted.pop(key_of(row), None)
        if want is None:
            gone.append(row[0])
        elif want != row[1:]:
            stale.append(want)
    return stale, list(wanted.values()), len(wanted), gone
