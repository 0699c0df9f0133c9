"""Database helpers: retrying whole transactions on MariaDB deadlocks and lock-wait timeouts
(SQLite: busy), bounding how long a statement may run, and inserting, reading and deleting many
rows at once."""

import collections
import functools
import itertools
import logging
import random
import select
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# MariaDB: 1213 deadlock found, 1205 lock wait timeout exceeded.
RETRYABLE_MYSQL_CODES = frozenset({1205, 1213})
# MariaDB: 1969 query execution was interrupted (max_statement_time exceeded).
STATEMENT_TIMEOUT_CODE = 1969


class StatementTimeout(Exception):
    """A statement ran past the limit of ``statement_time_limit`` and was stopped."""


def is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(error)


def atomic_with_retry(func=None, *, attempts: int = 5):
    """Run ``func`` in its own transaction, retrying it whole when the database asks us to.

    Only the outermost transaction can be retried: inside another atomic block ``func`` runs in a
    savepoint, so a failure leaves nothing of its work, and the error goes up to whoever owns the
    transaction.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                with transaction.atomic():
                    return fn(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return fn(*args, **kwargs)
                except OperationalError as error:
                    if attempt == attempts or not is_retryable(error):
                        raise
                    logger.warning(
                        "retrying %s after %s (attempt %d)", fn.__qualname__, error, attempt
                    )
                    time.sleep(random.uniform(0.005, 0.02) * attempt)
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate


@contextmanager
def statement_time_limit(seconds: float) -> Iterator[None]:
    """On MariaDB, stop any statement of this block that runs longer than ``seconds`` and raise
    ``StatementTimeout`` (for reads whose cost a visitor's input decides, like a search for a word
    in every post). Elsewhere nothing is limited."""
    if connection.vendor != "mysql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION max_statement_time = %s", [seconds])
    try:
        yield
    except OperationalError as error:
        if error.args and error.args[0] == STATEMENT_TIMEOUT_CODE:
            raise StatementTimeout(str(error)) from error
        raise
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION max_statement_time = DEFAULT")


def insert_rows(
    model,
    fields: Sequence[str],
    rows: Iterable[tuple],
    *,
    update: Sequence[str] = (),
    add: Sequence[str] = (),
    returning: Sequence[str] = (),
    batch: int = 5_000,
    into: str | None = None,
) -> int | list[tuple]:
    """Insert plain tuples (in ``fields`` order) into ``model``'s table, one multi-row INSERT per
    batch; returns the count. For the few places that write hundreds of thousands of rows at once
    (rebuilding projections, seeding): the ORM's ``bulk_create`` spends most of that time turning
    model instances back into values. Values go to the driver as they are, so a moment must be
    naive in the connection's time zone (as ``raw_rows`` reads it back) or passed through
    ``connection.ops.adapt_datetimefield_value`` first.

    With ``update``, a row whose key (the primary key or the table's one unique key among
    ``fields``) is already there gets those columns set instead; a row that already holds the
    same values is left untouched, which costs the database next to nothing. With ``add``, those
    columns of a row already there grow by the values given (running totals).

    With ``returning`` (columns; MariaDB 10.5+ and SQLite 3.35+), returns those columns of every
    row inserted instead of the count (in no promised order). With ``into``, the rows go to that
    table (of the same columns) instead of the model's."""
    ops = connection.ops
    table = ops.quote_name(into or model._meta.db_table)
    column = {f: ops.quote_name(model._meta.get_field(f).column) for f in (*fields, *update, *add)}
    columns = ", ".join(column[f] for f in fields)
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - names from our models
    tail = ""
    given = "VALUES({})" if connection.vendor == "mysql" else "excluded.{}"
    changes = [f"{column[f]} = {given.format(column[f])}" for f in update]
    changes += [f"{column[f]} = {column[f]} + {given.format(column[f])}" for f in add]
    if changes and connection.vendor == "mysql":
        tail = " ON DUPLICATE KEY UPDATE " + ", ".join(changes)
    elif changes:
        tail = " ON CONFLICT DO UPDATE SET " + ", ".join(changes)
    if returning:
        tail += " RETURNING " + ", ".join(ops.quote_name(c) for c in returning)
    count, returned = 0, []
    it = iter(rows)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            # mysqlclient's executemany escapes each value through a generic Python path (most of a
            # million-row rebuild's time); whole numbers, the bulk of these rows, need none.
            literal = connection.connection.literal
            encoding = connection.connection.encoding
            # The short strings of these rows repeat (event types, streams, sides, statuses): each
            # is quoted once. So are moments in a row (a batch's rows share one).
            short: dict[str, str] = {}
            last: list = [None, ""]  # the last moment quoted, and its quoted form

            def value(v) -> str:
                kind = type(v)
                if kind is int:
                    return str(v)
                if v is None:
                    return "NULL"
                if kind is datetime and v.tzinfo is None:
                    if v != last[0]:  # digits and separators only: nothing to escape
                        last[:] = v, f"'{v}'"
                    return last[1]
                if kind is str and len(v) <= 24:
                    if (quoted := short.get(v)) is None:
                        quoted = short[v] = literal(v).decode(encoding)
                    return quoted
                return literal(v).decode(encoding)

            # A whole-number column that cannot be NULL is written by ``%`` in C; only the others
            # go through ``value``, a Python call each (the rows' values are built twice as fast).
            whole = [_whole_number(model._meta.get_field(f)) for f in fields]
            row_format = "(" + ",".join("%d" if w else "%s" for w in whole) + ")"
            others = [i for i, w in enumerate(whole) if not w]

            def line(row) -> str:
                if others:
                    row = list(row)
                    for i in others:
                        row[i] = value(row[i])
                return row_format % tuple(row)

            while chunk := list(itertools.islice(it, batch)):
                values = ",".join(map(line, chunk))
                if returning:
                    cursor.execute(head + values + tail)
                else:
                    send_or_execute(cursor, head + values + tail)
                count += len(chunk)
                if returning:
                    returned += cursor.fetchall()
            return returned if returning else count
        marks = f"({', '.join(['%s'] * len(fields))})"
        while chunk := list(itertools.islice(it, batch)):
            if returning:  # one statement for the chunk, to fetch what it returns
                cursor.execute(head + ",".join([marks] * len(chunk)) + tail, sum(chunk, ()))
                returned += cursor.fetchall()
            else:
                cursor.executemany(head + marks + tail, chunk)
            count += len(chunk)
    return returned if returning else count


def _whole_number(field) -> bool:
    """Whether ``field`` (or the key a relation points to) is a whole number that is never NULL
    (an automatic key may be given as NULL: the database numbers the row)."""
    if isinstance(field, models.AutoField):
        return False
    target = field.target_field if field.is_relation else field
    return isinstance(target, models.IntegerField) and not field.null


def moment_values() -> Callable[[datetime], object]:
    """A function from an aware moment to what ``insert_rows`` takes for it: on MariaDB a naive
    datetime in the connection's time zone, which it writes without escaping; elsewhere what
    Django adapts it to."""
    if connection.vendor != "mysql":
        return connection.ops.adapt_datetimefield_value
    zone = connection.timezone
    return lambda moment: moment.astimezone(zone).replace(tzinfo=None)


def load_rows(model, fields: Sequence[str], rows: Iterable[tuple]) -> int:
    """``insert_rows`` into ``model``'s table, known to be empty, in the caller's transaction;
    returns the count. On MariaDB under ``bulk_load`` the rows go first to a temporary table
    without indexes (MyISAM: no undo log, the cheapest to fill), then into the empty table in one
    ``INSERT … SELECT``. InnoDB loads a statement into an empty table (unique and foreign-key
    checks off) by sorting each index's entries and building it bottom up, but only the first
    statement into it; every statement after that adds its rows to each index one entry at a
    time, which took most of the time of loading half a million orders. Inside ``pipelined``
    every statement here is sent without waiting: Python goes on to the next table's rows while
    MariaDB loads this one. (The database user needs the CREATE TEMPORARY TABLES privilege.)"""
    if connection.vendor != "mysql":
        return insert_rows(model, fields, rows)
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    staging = ops.quote_name(f"okcow_load_{model._meta.db_table}")
    columns = ", ".join(ops.quote_name(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        # CREATE / DROP TEMPORARY TABLE commit nothing: the caller's transaction goes on.
        for sql in (
            f"DROP TEMPORARY TABLE IF EXISTS {staging}",
            f"CREATE TEMPORARY TABLE {staging} ENGINE=MyISAM "  # noqa: S608 - our own names
            f"SELECT {columns} FROM {table} WHERE 0",
        ):
            send_or_execute(cursor, sql)
        count = insert_rows(model, fields, rows, into=staging)
        if count:
            send_or_execute(
                cursor,
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}",  # noqa: S608
            )
        send_or_execute(cursor, f"DROP TEMPORARY TABLE {staging}")
    return count


@contextmanager
def pipelined() -> Iterator[None]:
    """On MariaDB, let the block's ``insert_rows`` (those returning nothing) and ``load_rows``
    send each statement without waiting for its answer: Python builds the next rows while the
    server writes these. One statement is on the wire at a time; while it runs, the next ones
    wait in order in a queue (``_InFlight``), so a long statement (a whole table loaded) does not
    hold Python up. Everything sent is answered just before the connection's next statement
    (any, through Django) or at the end of the block, in the caller's transaction; an error of a
    statement sent so surfaces there, as the same Django exception, and what was queued after it
    is never sent. Elsewhere (SQLite) statements run as before."""
    if connection.vendor != "mysql" or getattr(connection, "okcow_pipeline", None):
        yield
        return
    connection.ensure_connection()
    flight = _InFlight(connection.connection)
    connection.okcow_pipeline = flight.send
    try:
        with connection.execute_wrapper(flight):
            yield
    except BaseException:
        flight.drop()
        raise
    finally:
        connection.okcow_pipeline = None
        flight.wait()


def send_or_execute(cursor, sql: str) -> None:
    """Run a statement that returns nothing: sent without waiting inside ``pipelined``."""
    send = getattr(connection, "okcow_pipeline", None)
    if send is not None:
        send(sql)
    else:
        cursor.execute(sql)


class _InFlight:
    """The statements a ``pipelined`` block has sent and not yet heard back from: the one on the
    wire, and those queued behind it (at most ``QUEUED`` bytes before ``send`` waits)."""

    QUEUED = 64 * 1024**2

    def __init__(self, raw):
        self.raw, self.waiting = raw, False
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0  # bytes

    def send(self, sql: str) -> None:
        data = sql.encode(self.raw.encoding)
        self.queue.append(data)
        self.queued += len(data)
        self._flow(self.QUEUED)

    def wait(self) -> None:
        self._flow(-1)

    def drop(self) -> None:
        """Forget what is queued (the transaction is failing); the statement on the wire is
        still answered, so the connection stays in step."""
        self.queue.clear()
        self.queued = 0

    def _flow(self, most: int) -> None:
        """Read each answer and send the next statement, until the queue is empty or, with at
        most ``most`` bytes queued, the statement on the wire has not answered yet."""
        while self.waiting or self.queue:
            if self.waiting:
                if self.queued <= most and not self._answered():
                    return
                self.waiting = False
                try:
                    with connection.wrap_database_errors:
                        self.raw.read_query_result()
                except BaseException:
                    self.drop()
                    raise
            if self.queue:
                data = self.queue.popleft()
                self.queued -= len(data)
                with connection.wrap_database_errors:
                    self.raw.send_query(data)
                self.waiting = True

    def _answered(self) -> bool:
        """Whether the server's answer to the statement on the wire has begun to arrive."""
        return bool(select.select([self.raw.fileno()], [], [], 0)[0])

    def __call__(self, execute, sql, params, many, context):
        self.wait()
        return execute(sql, params, many, context)


def select_rows(
    model,
    fields: Sequence[str],
    *,
    where: dict[str, object],
    lock: bool = False,
    order_by: Sequence[str] = (),
) -> Sequence[tuple]:
    """``model``'s rows whose ``where`` fields equal the value given (a list, set or tuple: are
    among its values), their ``fields`` as plain tuples of what the driver hands back, moments
    made aware as the ORM makes them; with ``lock``, ``SELECT … FOR UPDATE``. For the statements
    of a hot transaction (a matcher's batch, a command's projection rows): the ORM spends ~0.4 ms
    of Python compiling a small SELECT, more than the database takes to answer it."""
    ops = connection.ops
    moments = [
        i
        for i, f in enumerate(fields)
        if model._meta.get_field(f).get_internal_type() == "DateTimeField"
    ]

    def name(field: str) -> str:
        return ops.quote_name(model._meta.get_field(field).column)

    conditions, params = [], []
    for field, value in where.items():
        if isinstance(value, (list, set, tuple, frozenset)):
            if not value:
                return []
            conditions.append(f"{name(field)} IN ({', '.join(['%s'] * len(value))})")
            params += value
        else:
            conditions.append(f"{name(field)} = %s")
            params.append(value)
    sql = (
        f"SELECT {', '.join(map(name, fields))} FROM {ops.quote_name(model._meta.db_table)}"  # noqa: S608
        f" WHERE {' AND '.join(conditions) or '1 = 1'}"
    )
    if order_by:
        sql += f" ORDER BY {', '.join(map(name, order_by))}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor, _moments_parsed_in_c():
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not (moments and rows and settings.USE_TZ):
        return rows
    zone = connection.timezone

    def aware(row: tuple) -> tuple:
        row = list(row)
        for i in moments:
            if row[i] is not None:
                row[i] = timezone.make_aware(row[i], zone)
        return tuple(row)

    return [aware(row) for row in rows]


def raw_rows(queryset) -> Sequence[tuple]:
    """The rows of a ``values_list`` queryset as plain tuples, as the driver hands them back: no
    ORM converters (a JSON column comes as its text, a moment as a naive datetime in the
    connection's time zone, on MariaDB and SQLite alike). For reading hundreds of thousands of
    rows at once, where the ORM spends more time converting each value than the database takes
    to send it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor, _moments_parsed_in_c():
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def _moments_parsed_in_c() -> Iterator[None]:
    """On MariaDB, have the driver parse DATETIME columns with ``datetime.fromisoformat`` (C)
    instead of its own Python parser, which takes most of the time of reading a million
    moments; the same naive datetimes come out. The driver picks each column's converter when
    a statement's result arrives, so the swap holds for the statements of this block only."""
    if connection.vendor != "mysql":
        yield
        return
    from MySQLdb.constants import FIELD_TYPE

    converters = connection.connection.converter
    before = converters[FIELD_TYPE.DATETIME]
    converters[FIELD_TYPE.DATETIME] = datetime.fromisoformat
    try:
        yield
    finally:
        converters[FIELD_TYPE.DATETIME] = before


def delete_rows(model, pks: Iterable, *, batch: int = 5_000) -> int:
    """Delete ``model``'s rows with these primary keys, without the ORM's per-row collection of
    related objects (the caller has dealt with what points at them); returns the count."""
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    pk = ops.quote_name(model._meta.pk.column)
    count = 0
    it = iter(pks)
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(it, batch)):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({marks})", chunk)  # noqa: S608
            count += len(chunk)
    return count
