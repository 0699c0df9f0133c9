"""The pure domain (``investments/domain``), driven directly: no Django, no database.

Hypothesis state machines place and cancel orders on an ``OrderBook`` beside a naive model of the
book, and run a small market through the reducer, checking the ledger's invariants after every
step."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from investments.domain import events, rules
from investments.domain.orderbook import BUY, SELL, BookOrder, OrderBook, other_side
from investments.domain.state import State, postings

MACHINE = hsettings(max_examples=40, stateful_step_count=40, deadline=None)
PRICES = st.sampled_from([900, 1_000, 1_100])


def test_the_domain_imports_neither_django_nor_a_database():
    code = (
        "import sys, investments.domain.events, investments.domain.rules, "
        "investments.domain.orderbook, investments.domain.state; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'MySQLdb', 'sqlite3', 'redis'}); print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- rules ------------------------------------------------------------------------------------


def test_rounding_favours_the_fund():
    nav = rules.nav_per_share(fund_value=Decimal(10), shares=3, base_price=1)
    assert nav == Decimal("3.3333")
    assert rules.shares_for(10, nav) == 3 and rules.cost_of(3, nav) == 10
    assert rules.proceeds_of(3, nav) == 9
    assert rules.nav_per_share(fund_value=Decimal(0), shares=0, base_price=10_000) == 10_000


def test_fees_price_range_tick_and_reservation():
    r = rules.MarketRules(tick=100, fee_rate=Decimal("0.01"), limit_rate=Decimal("0.30"))
    assert r.fee(10_100) == 101 and r.fee(99) == 0 and r.fee(1_550) == 15
    assert r.price_range(10_000) == (7_000, 13_000)
    assert r.price_range(100) == (100, 100)  # never below one tick
    assert r.on_tick(1_200) and not r.on_tick(1_250)
    assert r.buy_reservation(1_000, 3) == 3_030


def test_breaker_levels_fire_once_each_and_end_as_configured():
    r = rules.MarketRules()
    assert r.breaker_level(Decimal("7.99"), 0) == 0
    assert r.breaker_level(Decimal(8), 0) == 1
    assert r.breaker_level(Decimal(9), 1) == 0  # level 1 fired already today
    assert r.breaker_level(Decimal(21), 1) == 3
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert r.halt_end(1, noon) == noon + timedelta(minutes=20)
    assert r.halt_end(3, noon) == datetime(2026, 12, 3, tzinfo=UTC)
    assert rules.fall_percent(Decimal(1_000), Decimal(900)) == 10


@given(
    cost_basis=st.integers(0, 10**12),
    held=st.integers(1, 10**6),
    data=st.data(),
)
def test_cost_released_is_proportional_and_all_of_it_with_the_last_share(cost_basis, held, data):
    leaving = data.draw(st.integers(1, held))
    released = rules.cost_released(cost_basis=cost_basis, shares_held=held, shares_leaving=leaving)
    assert 0 <= released <= cost_basis
    assert released == (cost_basis if leaving == held else cost_basis * leaving // held)


@given(
    amount=st.integers(1, 10**12),
    holders=st.dictionaries(st.text("123456789", min_size=1), st.integers(0, 10**6)),
)
def test_royalty_allocation_pays_pro_rata_and_keeps_the_rest(amount, holders):
    allocations, remainder = rules.royalty_allocation(amount, holders)
    assert sum(allocations.values()) + remainder == amount and remainder >= 0
    total = sum(holders.values())
    for investor, paid in allocations.items():
        assert paid == amount * holders[investor] // total > 0
    if not total:
        assert allocations == {} and remainder == amount


def test_the_last_fill_of_a_buy_refunds_what_its_reservation_no_longer_needs():
    r = rules.MarketRules(fee_rate=Decimal("0.015"))
    reserved = r.buy_reservation(1_100, 2)  # 2,200 + 33
    first = rules.trade_terms(
        r,
        price=1_100,
        quantity=1,
        buy_remaining=2,
        buy_reserved=reserved,
        seller_basis=900,
        seller_shares=3,
    )
    assert (first.spent, first.refund, first.cost_released) == (1_116, 0, 300)
    last = rules.trade_terms(
        r,
        price=1_100,
        quantity=1,
        buy_remaining=1,
        buy_reserved=reserved - first.spent,
        seller_basis=600,
        seller_shares=2,
    )
    assert (last.spent, last.refund) == (1_116, 1)  # 16 + 16 in fees, not 33


# --- the order book against a naive model ------------------------------------------------------


class BookMachine(RuleBasedStateMachine):
    """Every order either rests, fills or is cancelled; a level never holds both sides; a fill
    is at the order's price with the oldest resting order first."""

    def __init__(self):
        super().__init__()
        self.book = OrderBook()
        self.model: list[dict] = []  # resting orders in arrival order
        self.next_id = 1
        self.placed = self.filled = self.cancelled = 0

    @rule(
        side=st.sampled_from([BUY, SELL]),
        price=PRICES,
        quantity=st.integers(1, 5),
        investor=st.integers(1, 3),
    )
    def place(self, side, price, quantity, investor):
        order_id, self.next_id = self.next_id, self.next_id + 1
        expected = []
        left = quantity
        for resting in self.model:
            if left and resting["side"] == other_side(side) and resting["price"] == price:
                q = min(left, resting["remaining"])
                expected.append((resting["order_id"], q))
                resting["remaining"] -= q
                left -= q
        self.model = [o for o in self.model if o["remaining"]]
        if left:
            self.model.append(
                {
                    "order_id": order_id,
                    "side": side,
                    "price": price,
                    "remaining": left,
                    "investor_id": investor,
                }
            )
        met = [o.order_id for o in self.book.makers(side, price, quantity)]
        fills = self.book.place(BookOrder(order_id, investor, side, price, quantity))
        maker = "sell_order_id" if side == BUY else "buy_order_id"
        assert [(getattr(f, maker), f.quantity) for f in fills] == expected
        assert met == [order for order, _ in expected]  # who it meets, known before placing
        assert all(f.price == price for f in fills)
        self.placed += quantity
        self.filled += sum(f.quantity for f in fills)

    @precondition(lambda self: self.next_id > 1)
    @rule(data=st.data())
    def cancel(self, data):
        order_id = data.draw(st.integers(1, self.next_id - 1))
        resting = next((o for o in self.model if o["order_id"] == order_id), None)
        cancelled = self.book.cancel(order_id)
        assert (cancelled is None) == (resting is None)
        if resting:
            assert cancelled.remaining == resting["remaining"]
            self.model.remove(resting)
            self.cancelled += resting["remaining"]

    @invariant()
    def book_equals_model(self):
        mine = sorted((o.order_id, o.remaining) for o in self.book.orders())
        assert mine == sorted((o["order_id"], o["remaining"]) for o in self.model)
        assert len(self.book) == len(self.model)

    @invariant()
    def quantity_is_kept(self):
        resting = sum(o["remaining"] for o in self.model)
        assert self.placed == resting + self.cancelled + 2 * self.filled

    @invariant()
    def no_level_holds_both_sides(self):
        for price in (900, 1_000, 1_100):
            assert not (self.book.depth(BUY, price) and self.book.depth(SELL, price))
        for o in self.model:
            assert self.book.has(o["investor_id"], o["side"], o["price"])


TestBook = BookMachine.TestCase
TestBook.settings = MACHINE


# --- the reducer, driven like the services drive it ---------------------------------------------


AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
MARKET = rules.MarketRules(fee_rate=Decimal("0.015"))  # fees that round: refunds happen


class LedgerMachine(RuleBasedStateMachine):
    """A small ledger run only through the domain: each rule checks like the service, makes the
    event the service would, and applies it. After every step the invariants of SPEC §6 hold and
    the postings sum to the state."""

    def __init__(self):
        super().__init__()
        self.state = State()
        self.book = OrderBook()
        self.log: list[tuple[str, dict]] = []
        self.orders = self.deposited = self.withdrawn = 0

    def emit(self, type_, payload):
        events.check(type_, payload)
        self.state.apply(type_, payload)
        self.log.append((type_, payload))

    @initialize()
    def open(self):
        self.emit(
            events.FUND_CREATED,
            {"fund_id": 1, "name": "F", "base_price": 1_000, "created_at": events.moment(AT)},
        )
        for investor in (1, 2, 3):
            self.emit(events.INVESTOR_REGISTERED, {"investor_id": investor, "user_id": investor})

    @rule(investor=st.integers(1, 3), amount=st.integers(1, 100_000))
    def deposit(self, investor, amount):
        self.emit(events.CASH_DEPOSITED, {"investor_id": investor, "amount": amount})
        self.deposited += amount

    @rule(investor=st.integers(1, 3), data=st.data())
    def withdraw(self, investor, data):
        available = self.state.investors[investor]["available"]
        if available:
            amount = data.draw(st.integers(1, available))
            self.emit(events.CASH_WITHDRAWN, {"investor_id": investor, "amount": amount})
            self.withdrawn += amount

    def nav(self):
        fund = self.state.funds[1]
        return rules.nav_per_share(
            fund_value=Decimal(fund["cash"]), shares=fund["shares"], base_price=fund["base_price"]
        )

    @rule(investor=st.integers(1, 3), amount=st.integers(1, 50_000))
    def subscribe(self, investor, amount):
        nav = self.nav()
        amount = min(amount, self.state.investors[investor]["available"])
        shares = rules.shares_for(amount, nav)
        if shares:
            self.emit(
                events.SHARES_SUBSCRIBED,
                {
                    "investor_id": investor,
                    "fund_id": 1,
                    "amount": amount,
                    "shares": shares,
                    "cost": rules.cost_of(shares, nav),
                    "nav": events.decimal(nav),
                },
            )

    @rule(investor=st.integers(1, 3), data=st.data())
    def redeem(self, investor, data):
        holding = self.state.holdings.get((investor, 1))
        if not holding or not holding["held"]:
            return
        shares = data.draw(st.integers(1, holding["held"]))
        nav = self.nav()
        proceeds = rules.proceeds_of(shares, nav)
        if proceeds > self.state.funds[1]["cash"]:
            return
        self.emit(
            events.SHARES_REDEEMED,
            {
                "investor_id": investor,
                "fund_id": 1,
                "shares": shares,
                "proceeds": proceeds,
                "nav": events.decimal(nav),
                "cost_released": rules.cost_released(
                    cost_basis=holding["cost_basis"],
                    shares_held=holding["held"] + holding["reserved"],
                    shares_leaving=shares,
                ),
            },
        )

    @rule(
        investor=st.integers(1, 3),
        side=st.sampled_from([BUY, SELL]),
        price=PRICES,
        quantity=st.integers(1, 4),
    )
    def order(self, investor, side, price, quantity):
        if self.book.has(investor, other_side(side), price):
            return  # no self-trades
        need = MARKET.buy_reservation(price, quantity) if side == BUY else 0
        if side == BUY and need > self.state.investors[investor]["available"]:
            return
        if side == SELL and quantity > self.state.holding(investor, 1)["held"]:
            return
        self.orders += 1
        order_id = self.orders
        self.emit(
            events.ORDER_PLACED,
            {
                "order_id": order_id,
                "investor_id": investor,
                "fund_id": 1,
                "side": side,
                "price": price,
                "quantity": quantity,
                "cash_reserved": need,
                "placed_at": events.moment(AT),
                "sequence": len(self.log) + 1,
            },
        )
        for fill in self.book.place(BookOrder(order_id, investor, side, price, quantity)):
            seller = self.state.holdings[(fill.seller_id, 1)]
            terms = rules.trade_terms(
                MARKET,
                price=price,
                quantity=fill.quantity,
                buy_remaining=fill.buy_remaining,
                buy_reserved=self.state.orders[fill.buy_order_id]["cash_reserved"],
                seller_basis=seller["cost_basis"],
                seller_shares=seller["held"] + seller["reserved"],
            )
            self.emit(
                events.TRADE_EXECUTED,
                events.trade_executed(
                    fill,
                    terms,
                    trade_id=len(self.state.trades) + 1,
                    fund_id=1,
                    low=100,
                    high=10_000,
                    day="2026-12-02",
                    at=events.moment(AT),
                ),
            )

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def cancel(self, data):
        order_id = data.draw(st.integers(1, self.orders))
        if self.book.cancel(order_id) is None:
            return
        order = self.state.orders[order_id]
        self.emit(
            events.ORDER_CANCELLED,
            {
                "order_id": order_id,
                "investor_id": order["investor_id"],
                "fund_id": 1,
                "side": order["side"],
                "cash_released": order["cash_reserved"],
                "shares_released": order["remaining"] if order["side"] == SELL else 0,
            },
        )

    @invariant()
    def cash_is_kept(self):
        people = sum(i["available"] + i["reserved"] for i in self.state.investors.values())
        fund = self.state.funds.get(1, {"cash": 0})["cash"]
        assert people + fund + self.state.fee == self.deposited - self.withdrawn

    @invariant()
    def nothing_is_negative(self):
        for i in self.state.investors.values():
            assert i["available"] >= 0 and i["reserved"] >= 0
        for h in self.state.holdings.values():
            assert h["held"] >= 0 and h["reserved"] >= 0 and h["cost_basis"] >= 0

    @invariant()
    def reservations_match_the_open_orders(self):
        open_ = [o for o in self.state.orders.values() if o["status"] == "open"]
        for investor, account in self.state.investors.items():
            buys = [o for o in open_ if o["investor_id"] == investor and o["side"] == BUY]
            assert account["reserved"] == sum(o["cash_reserved"] for o in buys)
            sells = [o for o in open_ if o["investor_id"] == investor and o["side"] == SELL]
            assert self.state.holding(investor, 1)["reserved"] == sum(o["remaining"] for o in sells)
        assert sorted(o.order_id for o in self.book.orders()) == sorted(
            order_id for order_id, o in self.state.orders.items() if o["status"] == "open"
        )

    @invariant()
    def shares_are_kept(self):
        held = sum(h["held"] + h["reserved"] for h in self.state.holdings.values())
        assert held == self.state.funds.get(1, {"shares": 0})["shares"]

    @invariant()
    def postings_sum_to_the_state(self):
        cash: dict[int, list[int]] = {}
        held: dict[tuple, list[int]] = {}
        for type_, payload in self.log:
            for row in postings(type_, payload).holders:
                total = cash.setdefault(row["investor_id"], [0, 0])
                total[0] += row.get("available", 0)
                total[1] += row.get("reserved", 0)
                if "fund_id" in row:
                    total = held.setdefault((row["investor_id"], row["fund_id"]), [0, 0, 0])
                    total[0] += row["held"]
                    total[1] += row["held_reserved"]
                    total[2] += row["cost_basis"]
        for investor, account in self.state.investors.items():
            assert cash.get(investor, [0, 0]) == [account["available"], account["reserved"]]
        for key, h in self.state.holdings.items():
            assert held.get(key, [0, 0, 0]) == [h["held"], h["reserved"], h["cost_basis"]]


TestLedger = LedgerMachine.TestCase
TestLedger.settings = MACHINE


def test_an_event_with_missing_or_extra_fields_is_refused():
    with pytest.raises(events.InvalidEvent):
        events.check(events.CASH_DEPOSITED, {"investor_id": 1})
    with pytest.raises(events.InvalidEvent):
        events.check(events.CASH_DEPOSITED, {"investor_id": 1, "amount": 1, "x": 2})
    with pytest.raises(events.InvalidEvent):
        events.check("cash_printed", {})
    events.check(events.CASH_DEPOSITED, {"investor_id": 1, "amount": 1})
