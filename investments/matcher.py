"""One writer per fund for the market: the matcher.

A request never decides an order itself. It checks what needs no data (side, whole numbers, the
tick, that the fund exists), hands the fund's matcher a ``Command`` and waits for the answer
(``send``). The matcher takes commands in batches and decides each in turn against the rows it
has locked and the fund's ``OrderBook`` in memory — refused (the reason and its form field),
accepted and matched, or cancelled — then writes the whole batch (``order_placed``,
``trade_executed``, ``order_cancelled``) with one ``eventstore.append`` in one transaction: one
commit and one turn of the ledger sequence for many orders. Only then does it answer.

Two ways to run it (``MARKET_MATCHER``):

- ``inline`` (the embedded default, no Redis): the request decides a batch of its one command
  itself, in its own transaction; the fund's ``MatcherCheckpoint`` row, locked, keeps them one at
  a time.
- ``stream``: ``manage.py run_matcher`` processes. A request adds its command to the fund's Redis
  Stream (``XADD``) and waits on a reply list (``BLPOP``). Each matcher reads commands through the
  consumer group ``matchers`` (``XREADGROUP``), answers and acknowledges them in one Redis
  transaction (``LPUSH`` + ``XACK``) after its batch commits, and takes over what a dead matcher
  had read but not acknowledged (``XAUTOCLAIM``). Every command carries an idempotency key, stored
  on its event: a command whose batch committed but was never acknowledged (a ``kill -9`` between
  the two) is answered from the log when it comes again, not applied twice. A fund is owned by one
  matcher at a time through a lease in Redis (``SET NX PX``, renewed every loop); taking a fund
  over raises the checkpoint's ``epoch``, which every batch checks under the row lock, so a
  matcher that lost its lease cannot write. The book stays in memory between batches and is read
  again from the database on takeover, or when another writer moved it (each batch gives the
  checkpoint a new random ``version``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from redis import exceptions as redis_errors

from config.db import atomic_with_retry, select_rows

from . import checks, circuit, eventstore, formatting, metrics, projections
from .checks import LedgerError, market_rules
from .domain import events, rules
from .domain.orderbook import BUY, SELL, BookOrder, Fill, OrderBook, other_side
from .eventstore import NewEvent
from .models import Fund, MatcherCheckpoint, Order

logger = logging.getLogger(__name__)

GROUP = "matchers"
PLACE, CANCEL = "place", "cancel"
REPLY_SECONDS = 60  # an answer nobody took is dropped after this


# Redis is away (down, failing over, or a demoted primary that only reads): wait and try again.
REDIS_UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
)


class LeaseLost(Exception):
    """Another matcher took the fund over (its epoch is newer than ours)."""


class Unconfirmed(LedgerError):
    """The matcher did not answer in time: the command waits in its stream and is decided when
    the fund's matcher (or the one that takes it over) gets to it."""


def stream_key(fund_id: int) -> str:
    return f"okcow:market:{fund_id}"


def lease_key(fund_id: int) -> str:
    return f"okcow:matcher-lease:{fund_id}"


# --- what a request hands the matcher, and what it hears back -------------------------------------


@dataclass(frozen=True)
class Command:
    """An order to place or an order to cancel. ``key`` makes it once-only: the form's
    idempotency key, or one the request made."""

    kind: str  # PLACE or CANCEL
    fund_id: int
    user_id: int
    key: str
    side: str = ""
    price: int = 0  # a cancel's too: the level its order rests at
    quantity: int = 0
    order_id: int = 0  # a cancel's order
    at: dt.datetime | None = None  # when it happens (the demo, tests); None: when decided
    sent: float = 0.0  # time.time() when the request sent it (accept-to-trade latency)
    reply: str = ""  # the Redis list its answer goes to (streams)
    language: str = ""  # the sender's language: a refusal is written in it, not the matcher's

    def fields(self) -> dict[str, str]:
        """The command as a stream message: one JSON field."""
        values = dataclasses.asdict(self)
        values["at"] = self.at.isoformat() if self.at else None
        return {"command": orjson.dumps(values)}

    @classmethod
    def read(cls, message: dict) -> Command | None:
        """The command a stream message holds; None for one that holds none (it is skipped)."""
        try:
            values = orjson.loads(message[b"command"])
            at = values.pop("at")
            return cls(**values, at=dt.datetime.fromisoformat(at) if at else None)
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Outcome:
    """A command's answer: the order it placed or cancelled, or why it was refused. ``order``:
    that order's row as the batch left it (``projections.ORDERS``' State entry), so the request
    need not read it back; None for an answer taken from the log (a copy of a row, not part of
    the answer: two answers that differ only in it are equal)."""

    order_id: int | None = None
    error: str = ""
    field: str | None = None
    order: dict | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def refused(cls, error: LedgerError) -> Outcome:
        return cls(error=error.message, field=error.field)


# --- one fund's book, as a matcher keeps it -------------------------------------------------------


@dataclass
class FundBook:
    """The resting orders of one fund and what each buy still reserves. A batch reads the levels
    it needs the first time it needs them; a matcher with nothing else to do reads the rest
    (``warm``), so its batches seldom wait for a deep level.

    While the book reflects the checkpoint's version nobody else writes its orders or its market
    stream (``market.close_market`` moves the version too), so it also keeps their order rows as
    the database holds them and the stream's last version: a batch reads neither again."""

    fund_id: int
    book: OrderBook = field(default_factory=OrderBook)
    reserved: dict[int, int] = field(default_factory=dict)  # buy order id → cash still reserved
    rows: dict[int, tuple | dict] = field(default_factory=dict)  # order id → its row, as stored
    loaded: set[int] = field(default_factory=set)  # prices whose levels are on the book
    whole: bool = False  # every level is on the book
    version: int | None = None  # the checkpoint's version this book reflects
    stream_version: int | None = None  # the market stream's last version, once known
    base_price: int | None = None  # the fund's (fixed when it is made), once read

    def reset(self) -> None:
        """Forget everything: the next batch reads the book from the database again."""
        self.book, self.reserved, self.rows, self.loaded = OrderBook(), {}, {}, set()
        self.whole, self.version, self.stream_version, self.base_price = False, None, None, None

    def load(self, prices: set[int] | None) -> None:
        """Put the levels at ``prices`` (None: all of them) on the book, unless they are."""
        if self.whole:
            return
        where = {"fund_id": self.fund_id, "status": Order.Status.OPEN}
        if prices is None:
            resting = projections.ORDERS.raw(where)
        elif missing := prices - self.loaded:
            resting = projections.ORDERS.raw({**where, "price": missing})
        else:
            return
        rest, reserved, rows, loaded = self.book.rest, self.reserved, self.rows, self.loaded
        names = ("id", "investor_id", "side", "price", "remaining", "cash_reserved", "sequence")
        pk, investor, side, price, remaining, cash, sequence = map(ORDER_COLUMNS.index, names)
        for row in sorted(resting, key=itemgetter(sequence)):  # time priority
            if row[price] in loaded:
                continue  # on the book already (the whole book is read)
            rest(BookOrder(row[pk], row[investor], row[side], row[price], row[remaining]))
            if row[side] == BUY:
                reserved[row[pk]] = row[cash]
            rows[row[pk]] = row
        if prices is None:
            self.whole = True
        else:
            self.loaded |= missing

    def stored(self, order_id: int) -> dict | None:
        """A resting order's State entry as the database holds it (made from its row the first
        time a batch needs it)."""
        row = self.rows.get(order_id)
        if isinstance(row, tuple):
            row = self.rows[order_id] = projections.ORDERS.entry_of(row)[1]
        return row

    def warm(self) -> None:
        """Read every level now, in one snapshot with the checkpoint's version (a book another
        writer moved is read again whole)."""
        with transaction.atomic():
            rows = MatcherCheckpoint.objects.filter(fund_id=self.fund_id)
            version = next(iter(rows.values_list("version", flat=True)), None)
            if version != self.version:
                self.reset()
            self.load(None)
            self.version = version


# --- one batch ------------------------------------------------------------------------------------


def process(
    fund_book: FundBook,
    commands=(),
    *,
    epoch: int | None = None,
    now: dt.datetime | None = None,
) -> list[Outcome]:
    """Decide ``commands`` in order and write all they do in one transaction; returns their
    outcomes. With ``epoch``, refuses (``LeaseLost``) when the fund's checkpoint has moved on to
    another matcher's epoch. A batch that fails leaves ``fund_book`` empty, to be read again."""
    try:
        with transaction.atomic(savepoint=False):  # the caller's own transaction
            new = secrets.randbits(62) if commands else None
            # The common case, one statement: the book is the checkpoint's, still at our epoch.
            if new is None or not _move_version(fund_book, epoch=epoch, to=new):
                current, version = _checkpoint(fund_book.fund_id)
                if epoch is not None and current != epoch:
                    raise LeaseLost(fund_book.fund_id)
                if fund_book.version != version:
                    fund_book.reset()  # another writer moved the book (or it was never read)
                if new is not None:
                    _set_version(fund_book.fund_id, new)
                new = version if new is None else new
            outcomes = _Batch(fund_book, now or timezone.now()).decide(list(commands))
            fund_book.version = new
            return outcomes
    except BaseException:
        fund_book.reset()  # it may hold what did not commit
        raise


@dataclass
class _Fill:
    """A fill as the batch made it: its cash is known, the seller's cost basis not yet read."""

    fill: Fill
    money: rules.FillMoney
    at: dt.datetime
    accepted: dt.datetime  # when its taker's request was sent


class _Batch:
    """The decisions of one batch. The commanders' investor rows and holdings are locked first
    (the ledger's order), then each command is decided against them as the batch has changed them
    so far — an order against the cash and shares left after the orders before it, with what its
    fills bring in — and against the book, which the batch moves as it goes. New orders take
    placeholder ids (``events.placeholder``) until the event store numbers them."""

    def __init__(self, fund_book: FundBook, now: dt.datetime):
        self.fund_book, self.book, self.now = fund_book, fund_book.book, now
        self.fund_id = fund_book.fund_id
        self.stream = events.market_stream(self.fund_id)
        self.rules = market_rules()
        self.steps: list[NewEvent | _Fill] = []  # the batch's events, in order

    def decide(self, commands: list[Command]) -> list[Outcome]:
        if not commands:
            return []
        done = eventstore.earlier(c.key for c in commands)
        self._lock([c for c in commands if c.key not in done])
        outcomes, applied = [], {}
        for c in commands:
            with _in_language_of(c):
                outcome = self._decide(c, done, applied)
            outcomes.append(outcome)
        if not self.steps:
            return outcomes
        ids, orders = self._write()
        answered = []
        for o in outcomes:  # (made whole: dataclasses.replace takes twice as long)
            order_id = ids.get(o.order_id, o.order_id)
            answered.append(Outcome(order_id, o.error, o.field, orders.get(order_id)))
        return answered

    def _decide(self, c: Command, done: dict, applied: dict) -> Outcome:
        if c.key in applied:  # the same form twice in one batch: what the first one did
            return applied[c.key]
        if c.key in done:
            return _repeated(c, done[c.key])
        try:
            outcome = self._place(c) if c.kind == PLACE else self._cancel(c)
        except LedgerError as error:
            return Outcome.refused(error)  # a refusal leaves its key free
        applied[c.key] = outcome
        return outcome

    def _lock(self, commands: list[Command]) -> None:
        """Lock, into ``locked``, the investor rows and the holdings of the fund of the
        commanders and of those their orders may trade with (the book says who): the event store
        takes them from there instead of reading them again. The book's levels are read first:
        under the checkpoint nobody else moves them."""
        self.locked = projections.Locked()
        self.fund_book.load({c.price for c in commands})
        demand: Counter[tuple[str, int]] = Counter()
        for c in commands:
            if c.kind == PLACE:
                demand[(c.side, c.price)] += c.quantity
        makers = {
            maker.investor_id
            for (side, price), quantity in demand.items()
            for maker in self.book.makers(side, price, quantity)
        }
        found = _lock_investors(self.locked, {c.user_id for c in commands}, makers)
        self.investors = {row["user_id"]: pk for pk, row in found.items()}
        self.cash = {pk: row["available"] for pk, row in found.items()}
        holdings = projections.lock(
            self.locked, projections.HOLDINGS, [(pk, self.fund_id) for pk in sorted(self.cash)]
        )
        self.shares = {investor: row["held"] for (investor, _), row in holdings.items()}
        self.halted_until = None
        placing = [c.at or self.now for c in commands if c.kind == PLACE]
        if placing:
            self.low, self.high = self._todays_prices()
            self.halted_until = circuit.halt_at(min(placing))

    def _todays_prices(self) -> tuple[int, int]:
        """Today's price range (``checks.todays_prices``), from the fund's market row, which the
        batch's trades change: locked here, so the event store need not read it again."""
        fund = self.fund_id
        market = projections.lock(self.locked, projections.MARKETS, [fund]).get(fund)
        if market is None:  # the fund's first order: its market row made
            checks.fund_market(fund)
            market = projections.lock(self.locked, projections.MARKETS, [fund])[fund]
        if self.fund_book.base_price is None:
            ((self.fund_book.base_price,),) = select_rows(Fund, ["base_price"], where={"id": fund})
        reference = rules.reference_price(market["previous_close"], self.fund_book.base_price)
        return market_rules().price_range(reference)

    def _place(self, c: Command) -> Outcome:
        investor = self.investors.get(c.user_id)
        if investor is None:
            raise LedgerError(gettext("Open an investor account first."))
        moment = c.at or self.now
        if self.halted_until and self.halted_until > moment:
            raise LedgerError(
                gettext("Trading is halted until %(until)s; you can still cancel orders.")
                % {"until": f"{timezone.localtime(self.halted_until):%H:%M}"}
            )
        if not self.low <= c.price <= self.high:
            raise LedgerError(
                gettext("Today's prices must be between %(low)s and %(high)s.")
                % {"low": formatting.won(self.low), "high": formatting.won(self.high)},
                field="price",
            )
        if self.book.has(investor, other_side(c.side), c.price):
            # No self-trades: they would move nothing but fees and fake a price and a volume.
            raise LedgerError(
                gettext("You have an open order on the other side at this price; cancel it first."),
                field="price",
            )
        need = 0
        if c.side == BUY:
            need = self.rules.buy_reservation(c.price, c.quantity)
            if need > self.cash[investor]:
                raise LedgerError(
                    gettext("This order needs %(need)s with the fee; you have %(cash)s.")
                    % {"need": formatting.won(need), "cash": formatting.won(self.cash[investor])},
                    field="quantity",
                )
            self.cash[investor] -= need
        else:
            held = self.shares.get(investor, 0)
            if c.quantity > held:
                raise LedgerError(
                    gettext("You have %(held)s free to sell.") % {"held": formatting.shares(held)},
                    field="quantity",
                )
            self.shares[investor] = held - c.quantity
        order_id = events.placeholder(len(self.steps))
        payload = {
            "order_id": None,  # the event's sequence (events.NUMBERED)
            "investor_id": investor,
            "fund_id": self.fund_id,
            "side": c.side,
            "price": c.price,
            "quantity": c.quantity,
            "cash_reserved": need,
            "placed_at": moment.isoformat(),
            "sequence": None,
        }
        self.steps.append(
            NewEvent(
                events.ORDER_PLACED,
                self.stream,
                payload,
                at=moment,
                idempotency_key=c.key,
                actor_id=c.user_id,
            )
        )
        if c.side == BUY:
            self.fund_book.reserved[order_id] = need
        # Accepted when the request sent it (or at the moment it was given).
        accepted = c.at or (dt.datetime.fromtimestamp(c.sent, dt.UTC) if c.sent else moment)
        for fill in self.book.place(BookOrder(order_id, investor, c.side, c.price, c.quantity)):
            self._fill(fill, moment, accepted)
        return Outcome(order_id=order_id)

    def _fill(self, fill: Fill, moment: dt.datetime, accepted: dt.datetime) -> None:
        """Move the buy's reservation, and credit what the fill brings a commander of this batch
        (the seller's proceeds, the buyer's refund and shares) for the commands after it."""
        reserved = self.fund_book.reserved
        before = reserved[fill.buy_order_id]
        money = rules.fill_money(
            self.rules,
            price=fill.price,
            quantity=fill.quantity,
            buy_remaining=fill.buy_remaining,
            buy_reserved=before,
        )
        if fill.quantity == fill.buy_remaining:  # the buy is filled: nothing left reserved
            del reserved[fill.buy_order_id]
        else:
            reserved[fill.buy_order_id] = before - money.spent
        if fill.seller_id in self.cash:
            self.cash[fill.seller_id] += fill.price * fill.quantity - money.seller_fee
        if fill.buyer_id in self.cash:
            self.cash[fill.buyer_id] += money.refund
            self.shares[fill.buyer_id] = self.shares.get(fill.buyer_id, 0) + fill.quantity
        self.steps.append(_Fill(fill, money, moment, accepted))

    def _cancel(self, c: Command) -> Outcome:
        investor = self.investors.get(c.user_id)
        resting = self.book.get(c.order_id)
        if resting is None or resting.investor_id != investor:
            raise LedgerError(gettext("This order is no longer open."), field="order")
        self.book.cancel(c.order_id)
        released = self.fund_book.reserved.pop(c.order_id, 0)
        if resting.side == BUY:
            self.cash[investor] += released
        else:
            self.shares[investor] = self.shares.get(investor, 0) + resting.remaining
        payload = {
            "order_id": c.order_id,
            "investor_id": investor,
            "fund_id": self.fund_id,
            "side": resting.side,
            "cash_released": released,
            "shares_released": resting.remaining if resting.side == SELL else 0,
        }
        self.steps.append(
            NewEvent(
                events.ORDER_CANCELLED,
                self.stream,
                payload,
                at=c.at or self.now,
                idempotency_key=c.key,
                actor_id=c.user_id,
            )
        )
        return Outcome(order_id=c.order_id)

    def _write(self) -> tuple[dict[int, int], dict[int, dict]]:
        """Append the batch's events, the trades' cost released worked out from the sellers'
        holdings as the event store locks them; give the book's new orders their ids. Returns
        each placeholder's id, and the order rows as the batch left them, by id."""
        fund_book = self.fund_book
        batch = [self._trade(s) if isinstance(s, _Fill) else s for s in self.steps]
        resting = {  # the book's orders the batch fills or cancels, as stored
            pk: fund_book.stored(pk)
            for new in batch
            for pk in _orders_moved(new)
            if pk in fund_book.rows
        }
        projections.known(self.locked, projections.ORDERS, resting)
        pending = eventstore.prepare(*batch, locked=self.locked)
        self._cost_released(batch, pending.state.holdings)
        versions = (
            {} if fund_book.stream_version is None else {self.stream: fund_book.stream_version}
        )
        stored = eventstore.append_rows(*batch, prepared=pending, versions=versions)
        ids = {
            events.placeholder(index): payload["order_id"]
            for index, (_, _, _, type_, payload, *_) in enumerate(stored)
            if type_ == events.ORDER_PLACED
        }
        self.book.renumber(ids)
        reserved = fund_book.reserved
        for old in ids.keys() & reserved.keys():
            reserved[ids[old]] = reserved.pop(old)
        orders = pending.state.orders
        for pk, row in orders.items():  # kept as written, while open
            if row["status"] == Order.Status.OPEN:
                fund_book.rows[pk] = row
            else:
                fund_book.rows.pop(pk, None)
        fund_book.stream_version = max(row[2] for row in stored if row[1] == self.stream)
        if accepted := [s.accepted for s in self.steps if isinstance(s, _Fill)]:
            metrics.traded(accepted)
        return ids, orders

    def _trade(self, step: _Fill) -> NewEvent:
        """A fill's event; its cost released is filled in once the holdings are locked."""
        terms = rules.TradeTerms(**vars(step.money), cost_released=0)
        payload = events.trade_executed(
            step.fill,
            terms,
            trade_id=None,
            fund_id=self.fund_id,
            low=self.low,
            high=self.high,
            day=timezone.localdate(step.at).isoformat(),
            at=step.at.isoformat(),
        )
        return NewEvent(events.TRADE_EXECUTED, self.stream, payload, at=step.at)

    def _cost_released(self, batch: list[NewEvent], holdings: dict) -> None:
        """Each trade's cost released (``rules.cost_released``), from the seller's holding as
        the batch's trades before it have left it: ``[cost basis, shares held and reserved]``."""
        moving: dict[int, list[int]] = {}

        def holding(investor: int) -> list[int]:
            if investor not in moving:
                row = holdings.get((investor, self.fund_id))
                shares = row["held"] + row["reserved"] if row else 0
                moving[investor] = [row["cost_basis"] if row else 0, shares]
            return moving[investor]

        for new in batch:
            if new.type != events.TRADE_EXECUTED:
                continue
            p = new.payload
            seller, buyer = holding(p["seller_id"]), holding(p["buyer_id"])
            p["cost_released"] = rules.cost_released(
                cost_basis=seller[0], shares_held=seller[1], shares_leaving=p["quantity"]
            )
            seller[0] -= p["cost_released"]
            seller[1] -= p["quantity"]
            buyer[0] += p["spent"]
            buyer[1] += p["quantity"]


def _orders_moved(new: NewEvent) -> tuple[int, ...]:
    """The orders an event of the batch fills or cancels."""
    if new.type == events.TRADE_EXECUTED:
        return new.payload["buy_order_id"], new.payload["sell_order_id"]
    if new.type == events.ORDER_CANCELLED:
        return (new.payload["order_id"],)
    return ()


def _lock_investors(locked: projections.Locked, users: set[int], others: set[int]) -> dict:
    """Lock the investor rows of ``users`` (people) and ``others`` (investor ids): by id, in one
    statement, for the people whose investor this process has seen before; by person for the
    rest, and for anyone whose row that id no longer is. Returns the State entries locked."""
    seen = {_investor_of[user] for user in users if user in _investor_of}
    found = projections.lock(locked, projections.INVESTORS, seen | others)
    if unseen := users - {row["user_id"] for row in found.values()}:
        found |= projections.lock(locked, projections.INVESTORS, user_id=unseen)
    for pk, row in found.items():
        _investor_of[row["user_id"]] = pk
    return found


ORDER_COLUMNS = projections.ORDERS.names  # a resting order's row, as ``FundBook.load`` reads it

# A person's investor id, once a batch has locked it: people who order again are locked by id.
_investor_of: dict[int, int] = {}


def _in_language_of(c: Command):
    """A refusal reads in the language of the person who sent the command."""
    return translation.override(c.language) if c.language else contextlib.nullcontext()


def _repeated(c: Command, done) -> Outcome:
    """A command whose key is already in the log: the first one's answer (or a refusal when the
    key was made for someone else or another action)."""
    try:
        eventstore.bound(
            done,
            actor_id=c.user_id,
            type_=events.ORDER_PLACED if c.kind == PLACE else events.ORDER_CANCELLED,
        )
    except LedgerError as error:
        return Outcome.refused(error)
    return Outcome(order_id=done.payload["order_id"])


def _checkpoint(fund_id: int) -> tuple[int, int]:
    """The fund's checkpoint row, locked: its (epoch, version)."""
    fields = ("epoch", "version")
    for row in select_rows(MatcherCheckpoint, fields, where={"fund_id": fund_id}, lock=True):
        return row
    MatcherCheckpoint.objects.get_or_create(fund_id=fund_id)
    return select_rows(MatcherCheckpoint, fields, where={"fund_id": fund_id}, lock=True)[0]


def _move_version(fund_book: FundBook, *, epoch: int | None, to: int) -> bool:
    """Give the fund's checkpoint version ``to`` if it still holds the book's version (and,
    given, ``epoch``): True when it did, the row then locked as ``_checkpoint`` locks it."""
    if fund_book.version is None:
        return False
    table = connection.ops.quote_name(MatcherCheckpoint._meta.db_table)
    sql = f"UPDATE {table} SET version = %s WHERE fund_id = %s AND version = %s"  # noqa: S608
    params = [to, fund_book.fund_id, fund_book.version]
    if epoch is not None:
        sql, params = sql + " AND epoch = %s", [*params, epoch]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def moved(fund_id: int) -> None:
    """Give the fund's checkpoint a new version, in the caller's transaction, locking it to the
    commit: for a writer of the fund's market stream other than its matcher (the daily close),
    after which a batch reads the fund's book and stream again."""
    _set_version(fund_id, secrets.randbits(62))


def _set_version(fund_id: int, version: int) -> None:
    table = connection.ops.quote_name(MatcherCheckpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET version = %s WHERE fund_id = %s", [version, fund_id])  # noqa: S608


# --- a request's side: hand the matcher a command, wait for its answer ---------------------------


_local = threading.local()
# Inline, each process keeps the books it built (a deep price level is read once, not per order);
# the checkpoint's version tells a batch when another process or a rollback made one stale.
_inline_books: dict[int, FundBook] = {}
_inline_lock = threading.Lock()


@contextlib.contextmanager
def inline():
    """Decide commands inline in this thread whatever ``MARKET_MATCHER`` says (the demo data,
    loaded before any matcher runs)."""
    _local.inline = True
    try:
        yield
    finally:
        _local.inline = False


def send(command: Command) -> Outcome:
    """Have ``command`` decided and return the answer: inline, as a batch of one, now; with
    streams, by the fund's matcher, waiting up to ``MATCHER_REPLY_SECONDS`` for it (then
    ``Unconfirmed``: the command stays queued)."""
    if settings.MARKET_MATCHER == "inline" or getattr(_local, "inline", False):
        with _inline_lock:  # one batch at a time in this process: they share the books
            fund_book = _inline_books.setdefault(command.fund_id, FundBook(command.fund_id))
            (outcome,) = atomic_with_retry(process)(fund_book, [command])
        return outcome
    reply = f"okcow:market-reply:{uuid.uuid4().hex}"
    client = redis()
    try:
        enqueue(dataclasses.replace(command, reply=reply), client)
    except Exception as error:  # not sent: nothing will happen
        logger.exception("the matcher of fund %s could not be reached", command.fund_id)
        raise LedgerError(
            gettext("The market cannot take orders right now; try again shortly.")
        ) from error
    deadline = time.monotonic() + settings.MATCHER_REPLY_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            # Short waits: each stays inside the Redis client's socket timeout.
            if answer := client.blpop([reply], timeout=min(left, 0.3)):
                return Outcome(**orjson.loads(answer[1]))
    except Exception:  # sent, the answer lost (Redis failing over): the command is queued
        logger.warning("the answer of fund %s's matcher was lost", command.fund_id, exc_info=True)
    raise Unconfirmed(
        gettext(
            "Sent to the market, not confirmed yet: it shows in your orders once the market has it."
        )
    )


def enqueue(command: Command, client=None) -> None:
    """Add ``command`` to its fund's stream (no answer awaited: the bench and tests fill queues
    with it). With ``REDIS_WAIT_REPLICAS`` (Sentinel), also wait up to ``REDIS_WAIT_MS`` until
    that many replicas have it: a primary that dies now cannot take it along."""
    client = client or redis()
    if not settings.REDIS_WAIT_REPLICAS:
        client.xadd(stream_key(command.fund_id), command.fields())
        return
    pipe = client.pipeline(transaction=False)
    pipe.xadd(stream_key(command.fund_id), command.fields())
    pipe.execute_command("WAIT", settings.REDIS_WAIT_REPLICAS, settings.REDIS_WAIT_MS)
    _, replicas = pipe.execute()
    if replicas < settings.REDIS_WAIT_REPLICAS:
        metrics.UNREPLICATED.inc()


def redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


# --- the matcher process ------------------------------------------------------------------------

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class Matcher:
    """``manage.py run_matcher``: owns every fund it can lease and matches them in a loop."""

    def __init__(self, *, name: str | None = None, lease_seconds: float | None = None):
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.lease_ms = int((lease_seconds or settings.MATCHER_LEASE_SECONDS) * 1000)
        self.owned: dict[int, tuple[int, FundBook]] = {}  # fund id → (epoch, book)
        self.claim_due = self.lease_due = 0.0
        self.funds: set[int] = set()
        self.backlog: dict[int, list] = {}  # fund id → messages claimed on taking it over
        self.busy = False  # the last read was full: more is waiting
        self.redis = redis()
        self.renew = self.redis.register_script(_RENEW)

    def run(self, stop: threading.Event | None = None, *, idle_exit: bool = False) -> None:
        """Match until ``stop``. Redis going away (a failover: Sentinel names the new primary to
        the next connection) pauses the loop, never ends it; what was read and not acknowledged
        is claimed again, and what was decided is answered from the log, not applied twice."""
        stop = stop or threading.Event()
        logger.info("matcher %s started", self.name)
        pause = 0.0
        while not stop.is_set():
            try:
                funds = self.lease()
                worked = self.step()
            except REDIS_UNAVAILABLE as error:
                pause = min(max(pause * 2, 0.1), 2.0)
                logger.warning(
                    "matcher %s: Redis unavailable (%s), again in %.1f s", self.name, error, pause
                )
                self.lease_due = self.claim_due = 0.0  # renew and claim first thing
                stop.wait(pause)
                continue
            pause = 0.0
            if idle_exit and not worked and funds and funds <= self.owned.keys():
                break  # every fund is ours and none has anything left
        with contextlib.suppress(REDIS_UNAVAILABLE):
            self.release()

    def lease(self) -> set[int]:
        """Every third of a lease period: renew our leases and take every fund nobody holds.
        Returns every fund's id (as last read)."""
        now = time.monotonic()
        if now < self.lease_due:
            return self.funds
        self.lease_due = now + self.lease_ms / 3000
        pipe = self.redis.pipeline(transaction=False)  # every renewal in one round trip
        for fund_id in self.owned:
            self.renew(keys=[lease_key(fund_id)], args=[self.name, self.lease_ms], client=pipe)
        for fund_id, renewed in zip(list(self.owned), pipe.execute(), strict=True):
            if not renewed:
                logger.warning("matcher %s lost fund %s", self.name, fund_id)
                del self.owned[fund_id]
        self.funds = set(Fund.objects.values_list("pk", flat=True))
        for fund_id in sorted(self.funds - self.owned.keys()):
            if self.redis.set(lease_key(fund_id), self.name, nx=True, px=self.lease_ms):
                self.take(fund_id)
        if others := sorted(self.funds - self.owned.keys()):
            # Come back the moment the first of the others' leases runs out: a dead matcher's
            # funds are taken over within the lease time of its last renewal.
            pipe = self.redis.pipeline(transaction=False)
            for fund_id in others:
                pipe.pttl(lease_key(fund_id))
            left = [ms for ms in pipe.execute() if ms != -1]  # -1: no expiry (not a lease)
            if left:
                self.lease_due = min(self.lease_due, now + max(min(left), 0) / 1000 + 0.005)
        return self.funds

    def take(self, fund_id: int) -> None:
        with transaction.atomic():
            epoch = _checkpoint(fund_id)[0] + 1
            MatcherCheckpoint.objects.filter(fund_id=fund_id).update(epoch=epoch)
        try:
            self.redis.xgroup_create(stream_key(fund_id), GROUP, id="0", mkstream=True)
        except Exception as error:  # BUSYGROUP: the group exists
            if "BUSYGROUP" not in str(error):
                raise
        self.owned[fund_id] = (epoch, FundBook(fund_id))
        # What its last owner read and did not acknowledge comes first; its epoch is fenced off.
        self.backlog[fund_id] = self._claim(fund_id, idle_ms=0)
        logger.info("matcher %s took fund %s (epoch %s)", self.name, fund_id, epoch)

    def step(self) -> bool:
        """A batch (or several, of ``MATCHER_BATCH`` each) for every fund owned with commands
        waiting; True when any was decided. A batch that fails leaves its messages pending: they
        are claimed again after a lease period."""
        if not self.owned:
            time.sleep(self.lease_ms / 5000)
            return False
        worked = False
        for fund_id, messages in self._messages().items():
            if fund_id not in self.owned:
                continue
            epoch, fund_book = self.owned[fund_id]
            for chunk in itertools.batched(messages, settings.MATCHER_BATCH, strict=False):
                commands = [c for _, message in chunk if (c := Command.read(message))]
                try:
                    outcomes = atomic_with_retry(process)(fund_book, commands, epoch=epoch)
                except LeaseLost:
                    logger.warning("matcher %s: fund %s was taken over", self.name, fund_id)
                    del self.owned[fund_id]
                    break
                except Exception:  # the book was reset: the next batch reads it again
                    logger.exception("matcher %s: batch of fund %s failed", self.name, fund_id)
                    break
                self._answer(fund_id, [i for i, _ in chunk], zip(commands, outcomes, strict=True))
                worked = True
        if not worked:  # nothing to do: read one more book whole
            cold = next((b for _, b in self.owned.values() if not b.whole), None)
            if cold is not None:
                cold.warm()
        return worked

    def _answer(self, fund_id: int, ids, answers) -> None:
        """Answer the batch's commands and acknowledge its messages: one Redis transaction, after
        the batch committed."""
        pipe = self.redis.pipeline(transaction=True)
        for command, outcome in answers:
            if command.reply:
                pipe.lpush(command.reply, orjson.dumps(outcome))  # a dataclass, as it is
                pipe.expire(command.reply, REPLY_SECONDS)
        pipe.xack(stream_key(fund_id), GROUP, *ids)
        pipe.execute()

    def _claim(self, fund_id: int, *, idle_ms: int) -> list:
        """The fund's messages read by a matcher (a dead one, or this one in a batch that failed)
        and not acknowledged for ``idle_ms``, now ours."""
        claimed, cursor = [], "0-0"
        while True:
            cursor, messages, *_ = self.redis.xautoclaim(
                stream_key(fund_id), GROUP, self.name, min_idle_time=idle_ms, start_id=cursor
            )
            claimed += messages
            if cursor in (b"0-0", "0-0"):
                return claimed

    def _tidy(self, fund_id: int) -> None:
        """Drop what the fund's stream no longer needs: the entries every matcher is done with
        (those before the oldest one still pending, or before the last one delivered) and the
        consumers of matchers gone with nothing pending. Once a lease period, and on release."""
        key = stream_key(fund_id)
        (group,) = [g for g in self.redis.xinfo_groups(key) if g["name"] == GROUP.encode()]
        pending = self.redis.xpending(key, GROUP)
        self.redis.xtrim(
            key,
            minid=pending["min"] if pending["pending"] else group["last-delivered-id"],
            approximate=False,
        )
        for consumer in self.redis.xinfo_consumers(key, GROUP):
            gone = consumer["name"] != self.name.encode() and consumer["idle"] > self.lease_ms
            if gone and not consumer["pending"]:
                self.redis.xgroup_delconsumer(key, GROUP, consumer["name"])

    def _messages(self) -> dict[int, list]:
        """What the funds' streams hold for us: a fund's backlog from its last owner, what stayed
        unacknowledged (looked for once a lease period), then new messages — waiting up to 100 ms
        for them unless there is work already."""
        found: dict[int, list] = {f: m for f, m in self.backlog.items() if f in self.owned}
        self.backlog.clear()
        now = time.monotonic()
        if now >= self.claim_due:
            self.claim_due = now + self.lease_ms / 1000
            for fund_id in self.owned:
                if claimed := self._claim(fund_id, idle_ms=self.lease_ms):
                    found.setdefault(fund_id, []).extend(claimed)
                self._tidy(fund_id)
        streams = {stream_key(fund_id): ">" for fund_id in self.owned}
        count = settings.MATCHER_BATCH
        read = self.redis.xreadgroup(
            GROUP, self.name, streams, count=count, block=None if self.busy or found else 100
        )
        self.busy = False
        for key, messages in read or ():
            fund_id = int(key.decode().rsplit(":", 1)[1])
            found.setdefault(fund_id, []).extend(messages)
            self.busy = self.busy or len(messages) == count  # more is waiting
        return found

    def release(self) -> None:
        for fund_id in list(self.owned):
            self._tidy(fund_id)
            if self.redis.get(lease_key(fund_id)) == self.name.encode():
                self.redis.delete(lease_key(fund_id))
        self.owned.clear()
