"""One writer per fund for the market: the matcher.

``market.place_order`` only accepts an order (checks it, reserves what it needs and appends
``order_placed``); a fund's matcher then puts the fund's new orders on its ``OrderBook`` in the
order they were accepted, and writes the batch's trades and cancels in one transaction
(``process``). Which orders are new is read from the database, not from a message: every order
whose ``sequence`` is past the fund's ``MatcherCheckpoint`` — so a lost or repeated message
changes nothing, and a batch that did not commit is simply done again.

Two ways to run it (``MARKET_MATCHER``):

- ``inline`` (the embedded default, no Redis): the request that places or cancels an order runs
  the fund's batch itself, in its own transaction, with a book loaded for the prices it needs.
- ``stream``: ``manage.py run_matcher`` processes. Requests add a message to the fund's Redis
  Stream after they commit (``XADD``: a wake-up for a placement, the order id for a cancel); each
  matcher reads them through the consumer group ``matchers`` (``XREADGROUP``), acknowledges them
  after its batch commits (``XACK``), and takes over what a dead matcher had read but not
  acknowledged (``XAUTOCLAIM``). A fund is owned by one matcher at a time through a lease in
  Redis (``SET NX PX``, renewed every loop); taking a fund over raises the checkpoint's
  ``epoch``, which every batch checks under the row lock, so a matcher that lost its lease cannot
  write. The book stays in memory between batches and is rebuilt from the database on takeover.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from config.db import atomic_with_retry

from . import checks, circuit, eventstore, metrics
from .checks import market_rules
from .domain import events, rules
from .domain.orderbook import BUY, SELL, BookOrder, OrderBook
from .eventstore import NewEvent
from .models import Fund, Holding, Investor, Market, MatcherCheckpoint, Order

logger = logging.getLogger(__name__)

GROUP = "matchers"
SWEEP_SECONDS = 1.0  # a fund with no message is still looked at this often (a lost XADD)
# What a batch reads of each new order.
ORDER_VALUES = (
    *("id", "investor_id", "side", "price", "remaining", "cash_reserved", "status"),
    *("sequence", "placed_at"),
)
PRICE, SEQUENCE = ORDER_VALUES.index("price"), ORDER_VALUES.index("sequence")


class LeaseLost(Exception):
    """Another matcher took the fund over (its epoch is newer than ours)."""


def stream_key(fund_id: int) -> str:
    return f"okcow:market:{fund_id}"


def lease_key(fund_id: int) -> str:
    return f"okcow:matcher-lease:{fund_id}"


# --- one fund's book, as a matcher keeps it -------------------------------------------------------


@dataclass
class FundBook:
    """The resting orders of one fund (those up to the checkpoint) and what each buy still
    reserves; levels are read from the database the first time a batch needs their price."""

    fund_id: int
    book: OrderBook = field(default_factory=OrderBook)
    reserved: dict[int, int] = field(default_factory=dict)  # buy order id → cash still reserved
    loaded: set[int] = field(default_factory=set)  # prices whose levels are on the book
    batches: int | None = None  # the checkpoint's count of batches this book reflects
    busy: bool = False  # its last batch was full: more is waiting
    deferred: set[int] = field(
        default_factory=set
    )  # cancels of orders its last batch had not reached
    swept: float = 0.0  # when the matcher last looked for its orders without being told of any

    def reset(self) -> None:
        """Forget everything: the next batch reads the book from the database again."""
        self.book, self.reserved, self.loaded, self.batches = OrderBook(), {}, set(), None

    def load(self, prices: set[int], *, upto: int) -> None:
        missing = prices - self.loaded
        if not missing:
            return
        resting = Order.objects.filter(
            fund_id=self.fund_id,
            status=Order.Status.OPEN,
            price__in=missing,
            sequence__lte=upto,
        ).order_by("sequence")
        rest, reserved = self.book.rest, self.reserved
        for pk, investor, side, price, remaining, cash in resting.values_list(
            "id", "investor_id", "side", "price", "remaining", "cash_reserved"
        ):
            rest(BookOrder(pk, investor, side, price, remaining))
            if side == BUY:
                reserved[pk] = cash
        self.loaded |= missing


# --- one batch ------------------------------------------------------------------------------------


def process(
    fund_book: FundBook, *, cancels=(), epoch: int | None = None, at: dt.datetime | None = None
) -> int:
    """Match the fund's new orders and apply ``cancels`` (order ids), in one transaction; returns
    how many orders and cancels it handled. With ``epoch``, refuses (``LeaseLost``) when the
    fund's checkpoint has moved on to another matcher's epoch. A batch that fails leaves
    ``fund_book`` empty, to be read again. A trade happens at the moment its taker was accepted;
    a cancel at ``at`` (now by default)."""
    try:
        return _process(fund_book, cancels, epoch, at)
    except BaseException:
        fund_book.reset()  # it may hold what did not commit
        raise


def _process(fund_book: FundBook, cancels, epoch: int | None, at: dt.datetime | None) -> int:
    moment = at or timezone.now()
    with transaction.atomic():
        checkpoint = _checkpoint(fund_book.fund_id)
        if epoch is not None and checkpoint.epoch != epoch:
            raise LeaseLost(fund_book.fund_id)
        if fund_book.batches != checkpoint.batches:
            fund_book.reset()  # another writer moved the book since (or it was never read)
        new = list(
            Order.objects.filter(fund_id=fund_book.fund_id, sequence__gt=checkpoint.last_sequence)
            .order_by("sequence")
            .values_list(*ORDER_VALUES)[: settings.MATCHER_BATCH]
        )
        if new and circuit.halted_until(moment):
            # While trading is halted nothing matches: orders accepted before the halt wait for
            # its end (cancels of orders on the book still apply).
            new = []
        upto = new[-1][SEQUENCE] if new else checkpoint.last_sequence
        asked = Order.objects.filter(pk__in=set(cancels), fund_id=fund_book.fund_id)
        asked = list(asked.values("id", "price", "sequence"))
        cancelled = [o for o in asked if o["sequence"] <= upto]
        # An order past this batch is not on the book yet: its cancel waits for a later batch.
        fund_book.deferred = {o["id"] for o in asked if o["sequence"] > upto}
        prices = {o[PRICE] for o in new} | {o["price"] for o in cancelled}
        fund_book.load(prices, upto=checkpoint.last_sequence)
        fills = []  # (fill, the moment its taker was accepted)
        place, reserved = fund_book.book.place, fund_book.reserved
        for pk, investor, side, price, remaining, cash, status, _, placed_at in new:
            if status != Order.Status.OPEN:
                continue
            if side == BUY:
                reserved[pk] = cash
            taker = BookOrder(pk, investor, side, price, remaining)
            fills += [(fill, placed_at) for fill in place(taker)]
        batch = _trades(fund_book, fills)
        for order_id in (o["id"] for o in cancelled):
            if (resting := fund_book.book.cancel(order_id)) is not None:
                batch.append(_cancel(fund_book, resting, moment))
        if batch:
            eventstore.append(*batch)
            metrics.traded([placed_at for _, placed_at in fills])
        if new or batch:
            checkpoint.last_sequence = upto
            checkpoint.batches += 1
            checkpoint.save(update_fields=["last_sequence", "batches"])
        fund_book.batches = checkpoint.batches
        fund_book.busy = len(new) == settings.MATCHER_BATCH
        return len(new) + len(cancelled)


def _waiting(fund_ids) -> set[int]:
    """Which of these funds have orders past their checkpoint: two queries for a sweep of them
    all. Every fund's newest order is read, with no filter on the fund: MariaDB then jumps
    through the orders' (fund, sequence) index, one step per fund ("using index for group-by"),
    where ``fund_id IN (…)`` would make it pick the book's index and read every order."""
    wanted = set(fund_ids)
    newest = Order.objects.values_list("fund_id").annotate(last=Max("sequence")).order_by()
    done = dict(
        MatcherCheckpoint.objects.filter(fund_id__in=wanted).values_list("fund_id", "last_sequence")
    )
    return {f for f, last in newest if f in wanted and last > done.get(f, 0)}


def _checkpoint(fund_id: int) -> MatcherCheckpoint:
    checkpoint = MatcherCheckpoint.objects.select_for_update().filter(fund_id=fund_id).first()
    if checkpoint is None:
        MatcherCheckpoint.objects.get_or_create(fund_id=fund_id)
        checkpoint = MatcherCheckpoint.objects.select_for_update().get(fund_id=fund_id)
    return checkpoint


def _trades(fund_book: FundBook, fills) -> list[NewEvent]:
    """The fills as trade events, their money from ``rules.trade_terms`` with the sellers'
    holdings (read under lock) and the buys' reservations moved fill by fill."""
    if not fills:
        return []
    fund_id = fund_book.fund_id
    fund = Fund.objects.get(pk=fund_id)
    market = Market.objects.filter(fund_id=fund_id).first()
    r = market_rules()
    low, high = checks.todays_prices(market, fund)
    # The ledger's lock order: investors, then their holdings (the sellers' cost basis).
    people = {f.buyer_id for f, _ in fills} | {f.seller_id for f, _ in fills}
    list(Investor.objects.select_for_update().filter(pk__in=people).values_list("pk"))
    holdings = Holding.objects.select_for_update().filter(
        fund_id=fund_id, investor_id__in={f.seller_id for f, _ in fills}
    )
    sellers = {
        investor: [basis, shares]
        for investor, basis, shares in holdings.values_list(
            "investor_id", "cost_basis", F("held") + F("reserved")
        )
    }
    batch = []
    for fill, moment in fills:
        day, at = timezone.localdate(moment).isoformat(), moment.isoformat()
        seller = sellers[fill.seller_id]
        terms = rules.trade_terms(
            r,
            price=fill.price,
            quantity=fill.quantity,
            buy_remaining=fill.buy_remaining,
            buy_reserved=fund_book.reserved[fill.buy_order_id],
            seller_basis=seller[0],
            seller_shares=seller[1],
        )
        fund_book.reserved[fill.buy_order_id] -= terms.spent + terms.refund
        if fill.quantity == fill.buy_remaining:  # the buy is filled: nothing left reserved
            del fund_book.reserved[fill.buy_order_id]
        seller[0] -= terms.cost_released
        seller[1] -= fill.quantity
        payload = events.trade_executed(
            fill, terms, trade_id=None, fund_id=fund_id, low=low, high=high, day=day, at=at
        )
        stream = events.market_stream(fund_id)
        batch.append(NewEvent(events.TRADE_EXECUTED, stream, payload, at=moment))
    return batch


def _cancel(fund_book: FundBook, order: BookOrder, at: dt.datetime) -> NewEvent:
    payload = {
        "order_id": order.order_id,
        "investor_id": order.investor_id,
        "fund_id": fund_book.fund_id,
        "side": order.side,
        "cash_released": fund_book.reserved.pop(order.order_id, 0),
        "shares_released": order.remaining if order.side == SELL else 0,
    }
    return NewEvent(events.ORDER_CANCELLED, events.market_stream(fund_book.fund_id), payload, at=at)


# --- what a request does after accepting an order or a cancel ---------------------------------


_local = threading.local()


@contextlib.contextmanager
def inline():
    """Match inline in this thread whatever ``MARKET_MATCHER`` says (the demo data, loaded before
    any matcher runs, is matched as it is placed)."""
    _local.inline = True
    try:
        yield
    finally:
        _local.inline = False


def submitted(fund_id: int, *, cancel: int | None = None, at: dt.datetime | None = None) -> bool:
    """Hand the fund's new work to its matcher: inline, run the batch now (its own transaction,
    after the request's) and return True; with streams, add a message once the request's
    transaction commits and return False (the matcher has not run yet)."""
    if settings.MARKET_MATCHER == "inline" or getattr(_local, "inline", False):
        atomic_with_retry(process)(FundBook(fund_id), cancels=[cancel] if cancel else (), at=at)
        return True
    message = {"cancel": str(cancel)} if cancel else {"placed": "1"}
    transaction.on_commit(lambda: _xadd(fund_id, message))
    return False


def _xadd(fund_id: int, message: dict) -> None:
    try:
        redis().xadd(stream_key(fund_id), message)
    except Exception:  # the order is accepted; the matcher's sweep finds it without the message
        logger.exception("could not notify the matcher of fund %s", fund_id)


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
        self.redis = redis()
        self.renew = self.redis.register_script(_RENEW)

    def run(self, stop: threading.Event | None = None, *, idle_exit: bool = False) -> None:
        stop = stop or threading.Event()
        logger.info("matcher %s started", self.name)
        while not stop.is_set():
            funds = self.lease()
            worked = self.step()
            if idle_exit and not worked and funds and funds <= self.owned.keys():
                break  # every fund is ours and none has anything left
        self.release()

    def lease(self) -> set[int]:
        """Every third of a lease period: renew our leases and take every fund nobody holds.
        Returns every fund's id (as last read)."""
        now = time.monotonic()
        if now < self.lease_due:
            return self.funds
        self.lease_due = now + self.lease_ms / 3000
        for fund_id in list(self.owned):
            if not self.renew(keys=[lease_key(fund_id)], args=[self.name, self.lease_ms]):
                logger.warning("matcher %s lost fund %s", self.name, fund_id)
                del self.owned[fund_id]
        self.funds = set(Fund.objects.values_list("pk", flat=True))
        for fund_id in sorted(self.funds - self.owned.keys()):
            if self.redis.set(lease_key(fund_id), self.name, nx=True, px=self.lease_ms):
                self.take(fund_id)
        return self.funds

    def take(self, fund_id: int) -> None:
        with transaction.atomic():
            checkpoint = _checkpoint(fund_id)
            checkpoint.epoch += 1
            checkpoint.save(update_fields=["epoch"])
        try:
            self.redis.xgroup_create(stream_key(fund_id), GROUP, id="0", mkstream=True)
        except Exception as error:  # BUSYGROUP: the group exists
            if "BUSYGROUP" not in str(error):
                raise
        self.owned[fund_id] = (checkpoint.epoch, FundBook(fund_id))
        self.claim_due = 0.0  # claim what its last owner left unacknowledged
        logger.info("matcher %s took fund %s (epoch %s)", self.name, fund_id, checkpoint.epoch)

    def step(self) -> bool:
        """One batch for each fund owned that has work (a message, a full last batch, or a sweep
        due); True when anything was done."""
        if not self.owned:
            time.sleep(self.lease_ms / 5000)
            return False
        messages = self._messages()
        worked, now = False, time.monotonic()
        due = [
            fund_id
            for fund_id, (_, fund_book) in self.owned.items()
            if now - fund_book.swept >= SWEEP_SECONDS
        ]
        waiting = _waiting(due) if due else set()
        for fund_id in due:
            self.owned[fund_id][1].swept = now
        for fund_id, (epoch, fund_book) in list(self.owned.items()):
            mine = messages.get(fund_id, [])
            cancels = [int(m[b"cancel"]) for _, m in mine if m.get(b"cancel", b"").isdigit()]
            cancels += fund_book.deferred
            if not (mine or cancels or fund_book.busy or fund_id in waiting):
                continue
            try:
                done = atomic_with_retry(process)(fund_book, cancels=cancels, epoch=epoch)
            except LeaseLost:
                logger.warning("matcher %s: fund %s was taken over", self.name, fund_id)
                del self.owned[fund_id]
                continue
            except Exception:  # the book was reset: the next step reads it again
                logger.exception("matcher %s: batch of fund %s failed", self.name, fund_id)
                continue
            # A deferred cancel's message stays pending: XAUTOCLAIM brings it back later.
            waiting = {str(order_id).encode() for order_id in fund_book.deferred}
            done_with = [i for i, m in mine if m.get(b"cancel") not in waiting]
            if done_with:
                self.redis.xack(stream_key(fund_id), GROUP, *done_with)
            worked = worked or bool(done)
        return worked

    def _messages(self) -> dict[int, list]:
        """What the funds' streams hold for us: what a dead matcher read but did not acknowledge
        (looked for once a lease period), then new messages — waiting up to 100 ms for them
        unless a fund has more to do already."""
        found: dict[int, list] = {}
        now = time.monotonic()
        if now >= self.claim_due:
            self.claim_due = now + self.lease_ms / 1000
            for fund_id in self.owned:
                _, claimed, *_ = self.redis.xautoclaim(
                    stream_key(fund_id), GROUP, self.name, min_idle_time=self.lease_ms, count=1_000
                )
                if claimed:
                    found.setdefault(fund_id, []).extend(claimed)
        busy = any(fund_book.busy for _, fund_book in self.owned.values())
        streams = {stream_key(fund_id): ">" for fund_id in self.owned}
        read = self.redis.xreadgroup(
            GROUP, self.name, streams, count=1_000, block=None if busy or found else 100
        )
        for key, messages in read or ():
            fund_id = int(key.decode().rsplit(":", 1)[1])
            found.setdefault(fund_id, []).extend(messages)
        return found

    def release(self) -> None:
        for fund_id in list(self.owned):
            if self.redis.get(lease_key(fund_id)) == self.name.encode():
                self.redis.delete(lease_key(fund_id))
        self.owned.clear()
