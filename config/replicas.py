"""Read replicas: which replica a request reads, and read-your-writes.

A request that changed something (a POST, or any statement that writes) leaves the primary's GTID
position in a signed cookie. The person's next requests read a replica only once it has applied
that position (``MASTER_GTID_WAIT``); until then they read the primary. Everyone else reads a
replica in rotation: one that answers, replicates and lags at most ``DATABASE_REPLICA_MAX_LAG``
seconds, checked by each process at most every ``DATABASE_REPLICA_CHECK_SECONDS``. A replica that
fails a check is out of rotation until a later check passes. ``DATABASE_READ_YOUR_WRITES=pin``
reads the primary for ``DATABASE_PIN_SECONDS`` after a write instead (docs/operations.md measures
both). Outside a request (commands, the matchers) everything reads the primary: jobs decide on
what they read.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connections
from prometheus_client import Counter

logger = logging.getLogger(__name__)

COOKIE = "okcow_rw"
_SALT = "okcow.replicas.read-your-writes"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_READ_STATEMENTS = ("SELECT", "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "PRAGMA")

ROUTED = Counter(
    "okcow_db_read_route",
    "Requests by the database their reads went to, and why",
    ["to", "why"],
)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


# --- each replica's health, as this process last saw it ---------------------------------------


@dataclass
class Health:
    alias: str
    state: str = "unknown"  # ok | lagging | stopped | down | unknown
    lag: int | None = None
    error: str = ""
    checked: float = 0.0  # time.monotonic()

    @property
    def in_rotation(self) -> bool:
        return self.state == "ok"

    def report(self) -> dict:
        found = {"status": self.state, "in_rotation": self.in_rotation, "lag_seconds": self.lag}
        if self.error:
            found["error"] = self.error
        return found


_health: dict[str, Health] = {}
_health_lock = threading.Lock()


def health(alias: str, *, fresh: bool = False) -> Health:
    """The replica's health, checked again when the last check is older than
    ``DATABASE_REPLICA_CHECK_SECONDS`` (or ``fresh``). One thread checks; the others use the last
    answer meanwhile."""
    known = _health.setdefault(alias, Health(alias))
    due = fresh or time.monotonic() - known.checked >= settings.DATABASE_REPLICA_CHECK_SECONDS
    if due and _health_lock.acquire(blocking=fresh):
        try:
            _health[alias] = known = check(alias)
        finally:
            _health_lock.release()
    return known


def mark_down(alias: str, error: Exception) -> None:
    """A query on the replica failed: out of rotation until the next check passes."""
    _health[alias] = Health(alias, "down", error=type(error).__name__, checked=time.monotonic())
    logger.warning("replica %s out of rotation: %s", alias, error)


def check(alias: str) -> Health:
    """Ask the replica how it replicates (needs the SLAVE MONITOR privilege on MariaDB)."""
    now = time.monotonic()
    connection = connections[alias]
    try:
        if connection.vendor != "mysql":  # a test double of a replica (SQLite): always current
            return Health(alias, "ok", lag=0, checked=now)
        with connection.cursor() as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            columns = [c[0] for c in cursor.description or ()]
            row = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("replica %s is down: %s", alias, error)
        _close_quietly(connection)
        return Health(alias, "down", error=type(error).__name__, checked=now)
    if row is None:
        return Health(alias, "stopped", error="not replicating", checked=now)
    status = dict(zip(columns, row, strict=False))
    lag = status.get("Seconds_Behind_Master")
    running = status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes"
    if not running or lag is None:
        error = status.get("Last_SQL_Error") or status.get("Last_IO_Error") or "not running"
        return Health(alias, "stopped", error=str(error)[:200], checked=now)
    lag = int(lag)
    if lag > settings.DATABASE_REPLICA_MAX_LAG:
        return Health(alias, "lagging", lag=lag, checked=now)
    return Health(alias, "ok", lag=lag, checked=now)


def _close_quietly(connection) -> None:
    with suppress(DatabaseError):
        connection.close()


# --- the request's choice ------------------------------------------------------------------------


@dataclass
class Reads:
    """Where this request reads, decided at its first read."""

    written: str = ""  # the GTID position (or, pinning, the time) of the person's last write
    alias: str | None = None
    why: str = ""
    caught_up: bool = False  # the replica has applied ``written``: the cookie can go
    wrote: bool = False  # this request wrote (on the primary)
    tried: set[str] = field(default_factory=set)

    def choose(self) -> str:
        if self.alias is None:
            self.alias, self.why = self._choose()
            ROUTED.labels("primary" if self.alias == "default" else "replica", self.why).inc()
        return self.alias

    def _choose(self) -> tuple[str, str]:
        healthy = [a for a in replica_aliases() if a not in self.tried and health(a).in_rotation]
        if not healthy:
            return "default", "no_replica_in_rotation"
        alias = random.choice(healthy)
        if not self.written:
            return alias, "fresh"
        position, _, written_at = self.written.partition("@")
        pinning = settings.DATABASE_READ_YOUR_WRITES == "pin" or position in ("", "-")
        if pinning or not uses_gtids(alias):
            if time.time() - float(written_at or 0) < settings.DATABASE_PIN_SECONDS:
                return "default", "own_write"
            self.caught_up = True
            return alias, "pin_expired"
        try:
            applied = has_applied(alias, position)
        except DatabaseError as error:
            mark_down(alias, error)
            return "default", "replica_failed"
        if applied:
            self.caught_up = True
            return alias, "caught_up"
        return "default", "own_write"

    def replica_failed(self) -> None:
        """A read on the chosen replica failed: the rest of the request reads elsewhere."""
        if self.alias and self.alias != "default":
            self.tried.add(self.alias)
        self.alias = None


def uses_gtids(alias: str) -> bool:
    return connections[alias].vendor == "mysql"


def has_applied(alias: str, position: str) -> bool:
    """Whether the replica has applied the GTID ``position`` (waiting for it up to
    ``DATABASE_REPLICA_WAIT_SECONDS``)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT MASTER_GTID_WAIT(%s, %s)", [position, settings.DATABASE_REPLICA_WAIT_SECONDS]
        )
        (result,) = cursor.fetchone()
    return result == 0


_reads: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("okcow_reads", default=None)


def current() -> Reads | None:
    return _reads.get()


def _flag_writes(reads: Reads):
    def wrapper(execute, sql, params, many, context):
        if not reads.wrote and not sql.lstrip()[:9].upper().startswith(_READ_STATEMENTS):
            reads.wrote = True
        return execute(sql, params, many, context)

    return wrapper


class ReadYourWritesMiddleware:
    """Outermost of the database's users (before sessions): reads the person's last write from
    the cookie, lets the router choose, and after the response — the session saved — records the
    primary's GTID position when the request wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_aliases():
            return self.get_response(request)
        written = request.get_signed_cookie(COOKIE, default="", salt=_SALT, max_age=_max_age())
        reads = Reads(written=written or "")
        request.reads = reads
        token = _reads.set(reads)
        try:
            with connections["default"].execute_wrapper(_flag_writes(reads)):
                response = self.get_response(request)
        finally:
            _reads.reset(token)
        if reads.wrote or request.method not in _SAFE_METHODS:
            # A POST answered by another process (the market's matcher) wrote too: its commit
            # came before the answer, so the primary's position now includes it.
            if position := _primary_position():
                response.set_signed_cookie(
                    COOKIE,
                    f"{position}@{time.time():.3f}",
                    salt=_SALT,
                    max_age=_max_age(),
                    httponly=True,
                    samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
        elif written and reads.caught_up:
            response.delete_cookie(COOKIE, samesite="Lax")
        return response

    def process_exception(self, request, exception):
        """A GET whose replica failed under it is answered again from the primary (once)."""
        reads = getattr(request, "reads", None)
        if (
            reads is None
            or request.method not in _SAFE_METHODS
            or not isinstance(exception, DatabaseError)
            or reads.alias in (None, "default")
            or request.resolver_match is None
        ):
            return None
        mark_down(reads.alias, exception)
        _close_quietly(connections[reads.alias])
        reads.replica_failed()
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)


def _max_age() -> int:
    # Longer than a replica may lag in rotation: by then reads of a later replica see the write.
    return max(60, 4 * settings.DATABASE_REPLICA_MAX_LAG, 2 * settings.DATABASE_PIN_SECONDS)


def _primary_position() -> str:
    primary = connections["default"]
    try:
        if primary.vendor != "mysql":
            return "-"  # no GTIDs: pinning by time alone
        with primary.cursor() as cursor:
            cursor.execute("SELECT @@gtid_binlog_pos")
            (position,) = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("could not read the primary's GTID position: %s", error)
        return ""
    return position or "-"


def report() -> dict:
    """Every replica's state for /readyz (checked now)."""
    return {alias: health(alias, fresh=True).report() for alias in replica_aliases()}
