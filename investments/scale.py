"""Seeding a large ledger for the benchmark (`manage.py seed_scale`).

Going through the services one command at a time would take hours at a million events, so a
deterministic simulation plays two years of a busy market instead: it makes each event with the
payload the service would have written (same checks, same rounding, same matching rule), applies it
to ``State`` as it goes, and at the end the events are bulk inserted and the projections
written from that state. ``manage.py audit`` passes right after.

Resumable: the simulation depends only on the sizes, the people and its start moment (the first
event's time), so a second run replays it, checks that what is stored is its own prefix, and
inserts only the rest.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.scale import Sizes, bulk_load, chunked, progress

from . import checks, eventstore, postings, projections
from .domain import events, rules
from .domain.orderbook import BUY, SELL, BookOrder, OrderBook, other_side
from .domain.state import State
from .models import Event, Investor, LedgerSequence

DAYS = 730
BASE_PRICE = 10_000
GENRES = ["K-Pop", "발라드", "Indie Rock", "트로트", "Hip-hop", "OST", "Jazz", "EDM", "R&B", "Folk"]
WORDS = ["Spring", "밤", "Neon", "Seoul", "바다", "Moon", "Love", "River", "Dream", "Star"]
ACTIONS = ["deposit", "withdraw", "subscribe", "redeem", "order", "cancel"]
WEIGHTS = [5, 2, 12, 3, 70, 8]


class LedgerNotEmpty(Exception):
    """The database holds events that this seeding did not write."""


class Simulation:
    """Two years of a market, as events. ``events`` holds (type, stream, version, payload, at,
    actor_id) in sequence order; ``state`` is the replay of them."""

    def __init__(self, sizes: Sizes, users: list[int], start: dt.datetime):
        self.sizes = sizes
        self.users = users[: sizes.investors]
        self.start = start
        self.rng = random.Random(20261122)
        self.state = State()
        self.events: list[tuple] = []
        self.versions: dict[str, int] = defaultdict(int)
        self.now = start
        self.mcpi = Decimal("1000.0000")
        self.fund_copyrights: dict[int, list[dict]] = defaultdict(list)
        self.holders: dict[int, set[int]] = defaultdict(set)  # fund -> investors holding it
        self.books: dict[int, OrderBook] = defaultdict(OrderBook)
        self.open_orders: list[int] = []  # may hold closed ones: skipped when picked
        self.rules = checks.market_rules()
        self.investors: list[int] = []
        self.funds: list[int] = []
        self.royalties_due: list[int] = []
        self.royalty_holders: dict[int, dict[str, int]] = {}
        self.step = dt.timedelta(minutes=1)

    # --- the log ----------------------------------------------------------------------------

    def emit(self, type_: str, stream: str, payload: dict, actor: int | None = None) -> None:
        self.state.apply(type_, payload)
        self.versions[stream] += 1
        self.events.append((type_, stream, self.versions[stream], payload, self.now, actor))

    @property
    def sequence(self) -> int:
        return len(self.events)

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> None:
        target = self.sizes.events
        bar = progress(target, "ledger events (simulated)")
        for day in range(DAYS):
            day_start = self.start + dt.timedelta(days=day)
            left = max(target - self.sequence, 0)
            budget = left // (DAYS - day)
            # Spread the day's events over its hours; leave the last minutes for the close.
            self.step = dt.timedelta(seconds=80_000 / max(budget, 1))
            self.now = day_start + dt.timedelta(minutes=1)
            before = self.sequence
            self.open_day(day)
            while self.sequence - before < budget:
                self.act()
                self.now += self.step
            self.now = day_start + dt.timedelta(hours=23, minutes=50)
            self.close_day()
            bar.update(self.sequence - before)
        bar.close()

    def open_day(self, day: int) -> None:
        if day:
            move = Decimal(str(round(self.rng.gauss(0.0004, 0.01), 4)))
            self.mcpi = max(self.mcpi * (1 + max(move, Decimal("-0.05"))), Decimal(100))
        self.mcpi = self.mcpi.quantize(Decimal("0.0001"))
        self.emit("mcpi_recorded", "mcpi", {"at": self.now.isoformat(), "value": str(self.mcpi)})
        while len(self.funds) < self.sizes.funds and len(self.funds) * 60 <= day * self.sizes.funds:
            self.create_fund()
        # Investors join over the first 400 days, each with a first deposit.
        while len(self.investors) < len(self.users) and len(self.investors) * 400 <= day * len(
            self.users
        ):
            self.register()
        for fund_id in self.funds:
            self.maybe_acquire(fund_id)
            if self.fund_copyrights[fund_id] and self.rng.random() < 1 / 90:
                self.receive_royalty(fund_id)
        for royalty_id in self.royalties_due:
            self.distribute(royalty_id)
        self.royalties_due = []

    def close_day(self) -> None:
        day = timezone.localdate(self.now).isoformat()
        for fund_id in self.funds:
            close = self.state.market(fund_id)["last_price"] or self.reference(fund_id)
            self.emit(
                "market_closed",
                f"market-{fund_id}",
                {"fund_id": fund_id, "day": day, "close": close},
            )

    def act(self) -> None:
        if not self.investors:
            self.now += self.step
            self.register()
            return
        action = self.rng.choices(ACTIONS, WEIGHTS)[0]
        investor = self.rng.choice(self.investors)
        getattr(self, action)(investor)

    # --- people and cash --------------------------------------------------------------------

    def user_of(self, investor: int) -> int:
        return self.state.investors[investor]["user_id"]

    def register(self) -> None:
        investor = len(self.investors) + 1
        user = self.users[investor - 1]
        self.emit(
            "investor_registered",
            f"investor-{investor}",
            {"investor_id": investor, "user_id": user},
            user,
        )
        self.investors.append(investor)
        self.deposit(investor, amount=self.rng.randrange(2_000_000, 30_000_000, 10_000))

    def deposit(self, investor: int, amount: int | None = None) -> None:
        amount = amount or self.rng.randrange(100_000, 5_000_000, 1_000)
        payload = {"investor_id": investor, "amount": amount}
        self.emit("cash_deposited", f"investor-{investor}", payload, self.user_of(investor))

    def withdraw(self, investor: int) -> None:
        available = self.state.investors[investor]["available"]
        if available < 4:
            return
        payload = {"investor_id": investor, "amount": self.rng.randint(1, available // 4)}
        self.emit("cash_withdrawn", f"investor-{investor}", payload, self.user_of(investor))

    # --- funds ------------------------------------------------------------------------------

    def create_fund(self) -> None:
        fund_id = len(self.funds) + 1
        genre = GENRES[(fund_id - 1) % len(GENRES)]
        payload = {
            "fund_id": fund_id,
            "name": f"{genre} Royalty Fund {fund_id:02d}",
            "base_price": BASE_PRICE,
            "created_at": self.now.isoformat(),
        }
        self.emit("fund_created", f"fund-{fund_id}", payload)
        self.funds.append(fund_id)

    def maybe_acquire(self, fund_id: int) -> None:
        cash = self.state.funds[fund_id]["cash"]
        owned = self.fund_copyrights[fund_id]
        if len(owned) >= 6 or cash < 50_000_000:
            return
        copyright_id = len(self.state.copyrights) + 1
        payload = {
            "fund_id": fund_id,
            "copyright_id": copyright_id,
            "code": f"SC-{copyright_id:05d}",
            "registration_number": f"C-{2010 + copyright_id % 15}-{copyright_id:06d}",
            "music_id": f"M{300000 + copyright_id}",
            "title": f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)}",
            "artist": f"{self.rng.choice(WORDS)} Band",
            "price": cash * self.rng.randint(30, 60) // 100,
            "acquired_at": self.now.isoformat(),
            "mcpi": str(self.mcpi),
        }
        self.emit("copyright_acquired", f"fund-{fund_id}", payload)
        owned.append(payload)

    def nav(self, fund_id: int) -> Decimal:
        fund = self.state.funds[fund_id]
        owned = [(c["price"], c["mcpi"]) for c in self.fund_copyrights[fund_id]]
        return rules.nav_per_share(
            fund_value=rules.fund_value(fund["cash"], owned, self.mcpi),
            shares=fund["shares"],
            base_price=fund["base_price"],
        )

    def subscribe(self, investor: int) -> None:
        available = self.state.investors[investor]["available"]
        fund_id = self.rng.choice(self.funds)
        amount = min(available, self.rng.randrange(100_000, 3_000_000, 1_000))
        nav = self.nav(fund_id)
        shares = rules.shares_for(amount, nav) if amount > 0 and nav > 0 else 0
        if shares == 0:
            return
        payload = {
            "investor_id": investor,
            "fund_id": fund_id,
            "amount": amount,
            "shares": shares,
            "cost": rules.cost_of(shares, nav),
            "nav": str(nav),
        }
        self.emit("shares_subscribed", f"investor-{investor}", payload, self.user_of(investor))
        self.holders[fund_id].add(investor)

    def redeem(self, investor: int) -> None:
        fund_id = self.rng.choice(self.funds)
        holding = self.state.holdings.get((investor, fund_id))
        if not holding or holding["held"] == 0:
            return
        shares = self.rng.randint(1, holding["held"])
        nav = self.nav(fund_id)
        proceeds = rules.proceeds_of(shares, nav)
        if proceeds > self.state.funds[fund_id]["cash"]:
            return
        payload = {
            "investor_id": investor,
            "fund_id": fund_id,
            "shares": shares,
            "proceeds": proceeds,
            "nav": str(nav),
            "cost_released": rules.cost_released(
                cost_basis=holding["cost_basis"],
                shares_held=holding["held"] + holding["reserved"],
                shares_leaving=shares,
            ),
        }
        self.emit("shares_redeemed", f"investor-{investor}", payload, self.user_of(investor))

    def receive_royalty(self, fund_id: int) -> None:
        royalty_id = len(self.state.royalties) + 1
        holders = {}
        for investor in sorted(self.holders[fund_id]):
            h = self.state.holdings[(investor, fund_id)]
            if h["held"] + h["reserved"] > 0:
                holders[str(investor)] = h["held"] + h["reserved"]
        payload = {
            "royalty_id": royalty_id,
            "fund_id": fund_id,
            "amount": self.rng.randrange(1_000_000, 20_000_000, 1_000),
            "recorded_at": self.now.isoformat(),
            "holders": holders,
        }
        self.emit("royalty_received", f"fund-{fund_id}", payload)
        self.royalties_due.append(royalty_id)
        self.royalty_holders[royalty_id] = holders

    def distribute(self, royalty_id: int) -> None:
        """Pro rata to the holders of record (``rules.royalty_allocation``), the rest stays."""
        royalty = self.state.royalties[royalty_id]
        stream = f"fund-{royalty['fund_id']}"
        holders = self.royalty_holders.pop(royalty_id)
        allocations, remainder = rules.royalty_allocation(royalty["amount"], holders)
        payload = {
            "royalty_id": royalty_id,
            "fund_id": royalty["fund_id"],
            "amount": royalty["amount"],
            "allocations": allocations,
            "remainder": remainder,
        }
        self.emit("royalty_distributed", stream, payload)

    # --- the market (as market.place_order, matcher.process, market.cancel_order) ---------------

    def reference(self, fund_id: int) -> int:
        return self.state.market(fund_id)["previous_close"] or BASE_PRICE

    def pick_fund(self) -> int:
        # Fund 1 is the hot one: a fifth of all orders.
        if self.rng.random() < 0.2:
            return self.funds[0]
        return self.rng.choice(self.funds)

    def order(self, investor: int) -> None:
        fund_id = self.pick_fund()
        r, book = self.rules, self.books[fund_id]
        low, high = r.price_range(self.reference(fund_id))
        price = self.reference(fund_id) + r.tick * self.rng.choice([-2, -1, -1, 0, 0, 0, 1, 1, 2])
        price = min(max(price, low), high)
        holding = self.state.holdings.get((investor, fund_id))
        side = SELL if holding and holding["held"] and self.rng.random() < 0.5 else BUY
        if book.has(investor, other_side(side), price):
            return  # no self-trades: the service refuses this order
        if side == BUY:
            quantity = self.rng.randint(1, 30)
            need = r.buy_reservation(price, quantity)
            if need > self.state.investors[investor]["available"]:
                return
        else:
            quantity = self.rng.randint(1, holding["held"])
            need = 0
        order_id = len(self.state.orders) + 1
        payload = {
            "order_id": order_id,
            "investor_id": investor,
            "fund_id": fund_id,
            "side": side,
            "price": price,
            "quantity": quantity,
            "cash_reserved": need,
            "placed_at": self.now.isoformat(),
            "sequence": self.sequence + 1,
        }
        stream = events.market_stream(fund_id)
        self.emit(events.ORDER_PLACED, stream, payload, self.user_of(investor))
        day, at = timezone.localdate(self.now).isoformat(), self.now.isoformat()
        for fill in book.place(BookOrder(order_id, investor, side, price, quantity)):
            seller = self.state.holdings[(fill.seller_id, fund_id)]
            terms = rules.trade_terms(
                r,
                price=price,
                quantity=fill.quantity,
                buy_remaining=fill.buy_remaining,
                buy_reserved=self.state.orders[fill.buy_order_id]["cash_reserved"],
                seller_basis=seller["cost_basis"],
                seller_shares=seller["held"] + seller["reserved"],
            )
            trade_id = len(self.state.trades) + 1
            payload = events.trade_executed(
                fill, terms, trade_id=trade_id, fund_id=fund_id, low=low, high=high, day=day, at=at
            )
            self.emit(events.TRADE_EXECUTED, stream, payload)
            self.holders[fund_id].add(fill.buyer_id)
        if order_id in book:
            self.open_orders.append(order_id)

    def cancel(self, investor: int) -> None:
        """Cancel a random open order (on behalf of its owner)."""
        while self.open_orders:
            i = self.rng.randrange(len(self.open_orders))
            order_id = self.open_orders[i]
            self.open_orders[i] = self.open_orders[-1]
            self.open_orders.pop()
            order = self.state.orders[order_id]
            if self.books[order["fund_id"]].cancel(order_id) is not None:
                break
        else:
            return
        payload = {
            "order_id": order_id,
            "investor_id": order["investor_id"],
            "fund_id": order["fund_id"],
            "side": order["side"],
            "cash_released": order["cash_reserved"],
            "shares_released": order["remaining"] if order["side"] == SELL else 0,
        }
        self.emit(
            events.ORDER_CANCELLED,
            events.market_stream(order["fund_id"]),
            payload,
            self.user_of(order["investor_id"]),
        )


# --- storing it -----------------------------------------------------------------------------------


def _start_of_run() -> dt.datetime:
    """Local midnight two years ago: the simulated days end yesterday."""
    first_day = timezone.localdate() - dt.timedelta(days=DAYS)
    return timezone.make_aware(dt.datetime.combine(first_day, dt.time()))


def seed(sizes: Sizes, users: list[int]) -> None:
    """Write ``sizes.events`` ledger events and their projections; see the module docstring."""
    first = Event.objects.order_by("sequence").first()
    start = first.occurred_at - dt.timedelta(minutes=1) if first else _start_of_run()
    start = timezone.localtime(start)
    have = Event.objects.count()
    if have >= sizes.events and Investor.objects.exists():
        return
    sim = Simulation(sizes, users, start)
    sim.run()
    if have:
        stored = Event.objects.get(sequence=have)
        mine = sim.events[have - 1] if have <= len(sim.events) else None
        if mine is None or (stored.type, stored.stream, stored.payload) != (
            mine[0],
            mine[1],
            mine[3],
        ):
            raise LedgerNotEmpty(
                "The ledger holds events that seed_scale did not write; "
                "seed into an empty database."
            )
    _insert_events(sim.events, have)
    with transaction.atomic():
        projections.write(sim.state)


def _insert_events(events: list[tuple], have: int) -> None:
    """Store events ``have + 1``… with their postings, a chunk per transaction."""
    bar = progress(len(events), "ledger events (stored)", initial=have)
    for chunk in chunked(enumerate(events[have:], start=have + 1), 5_000):
        with transaction.atomic(), bulk_load():
            eventstore.store(
                (sequence, stream, version, type_, payload, at, actor, None)
                for sequence, (type_, stream, version, payload, at, actor) in chunk
            )
            postings.record(
                [
                    (sequence, type_, payload, at)
                    for sequence, (type_, _, _, payload, at, _) in chunk
                ]
            )
        bar.update(len(chunk))
    bar.close()
    LedgerSequence.objects.update_or_create(pk=1, defaults={"last": len(events)})
