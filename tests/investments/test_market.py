"""Every market rule: matching at one price, time priority, partial fills, fees, price limits,
ticks, the circuit breaker, cancels, the daily close, and bad input."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from investments import checks, circuit, market, projections, replay, services
from investments.checks import LedgerError
from investments.models import (
    CircuitBreaker,
    Event,
    FeeAccount,
    Holding,
    Investor,
    Market,
    Order,
    Trade,
)
from tests.factories import StaffFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund():
    return fund_with_copyright(base_price=10_000)


def holder(fund, shares=10, cash=1_000_000):
    user = investor_with_cash(cash)
    services.subscribe(user=user, fund_id=fund.pk, amount=shares * fund.base_price)
    return user


def buy(user, fund, price, qty, **kw):
    return market.place_order(
        user=user, fund_id=fund.pk, side="buy", price=price, quantity=qty, **kw
    )


def sell(user, fund, price, qty, **kw):
    return market.place_order(
        user=user, fund_id=fund.pk, side="sell", price=price, quantity=qty, **kw
    )


def cash(user):
    return Investor.objects.get(user=user)


def shares(user, fund):
    return Holding.objects.filter(investor__user=user, fund=fund).first()


def test_different_prices_do_not_trade(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_000, 5)
    buy(buyer, fund, 10_100, 5)
    assert Trade.objects.count() == 0
    assert Order.objects.filter(status="open").count() == 2
    assert_invariants()


def test_equal_prices_trade_with_fees_to_the_fee_account(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    before = cash(seller).cash_available
    sell(seller, fund, 10_000, 4)
    order = buy(buyer, fund, 10_000, 4)
    assert order.status == "filled"
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.buyer_fee, trade.seller_fee) == (10_000, 4, 400, 400)
    assert cash(seller).cash_available == before + 40_000 - 400
    assert cash(buyer).cash_available == 1_000_000 - 40_400
    assert cash(buyer).cash_reserved == 0
    assert shares(buyer, fund).held == 4
    assert shares(buyer, fund).cost_basis == 40_400
    assert shares(seller, fund).held + shares(seller, fund).reserved == 6
    assert FeeAccount.objects.get().balance == 800
    m = Market.objects.get(fund=fund)
    assert m.last_price == 10_000 and m.day_value == 80_000
    assert_invariants()


def test_time_priority_at_one_price(fund):
    first, second = holder(fund), holder(fund)
    buyer = investor_with_cash(1_000_000)
    early = sell(first, fund, 10_000, 3)
    late = sell(second, fund, 10_000, 3)
    buy(buyer, fund, 10_000, 4)
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.status == "filled"
    assert late.remaining == 2 and late.status == "open"
    assert list(Trade.objects.order_by("id").values_list("sell_order_id", "quantity")) == [
        (early.pk, 3),
        (late.pk, 1),
    ]
    assert_invariants()


def test_partial_fill_stays_on_the_book_and_releases_fee_at_the_end(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    order = buy(buyer, fund, 10_100, 3)  # reserves 30,300 + 303
    assert cash(buyer).cash_reserved == 30_603
    sell(seller, fund, 10_100, 1)  # 10,100 + fee 101
    order.refresh_from_db()
    assert order.remaining == 2 and order.status == "open"
    assert cash(buyer).cash_reserved == 30_603 - 10_201
    sell(seller, fund, 10_100, 2)  # 20,200 + fee 202: nothing left reserved
    order.refresh_from_db()
    assert order.status == "filled"
    assert cash(buyer).cash_reserved == 0
    assert cash(buyer).cash_available == 1_000_000 - 30_603
    assert_invariants()


def row_of(order: Order) -> dict:
    return {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}


def test_an_order_is_answered_as_its_row_stands_after_matching(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)

    def answered_as_stored(answered: Order) -> Order:
        assert not answered._state.adding
        assert row_of(answered) == row_of(Order.objects.get(pk=answered.pk))
        return answered

    resting = answered_as_stored(buy(buyer, fund, 10_100, 3))
    taker = answered_as_stored(sell(seller, fund, 10_100, 1))  # fills at once, the buy partly
    assert (taker.status, taker.remaining) == ("filled", 0)
    cancelled = answered_as_stored(market.cancel_order(user=buyer, order_id=resting.pk))
    assert (cancelled.status, cancelled.remaining, cancelled.cash_reserved) == ("cancelled", 2, 0)


def test_fee_is_truncated(fund, settings):
    settings.MARKET_FEE_RATE = "0.0015"
    assert checks.market_rules().fee(10_100) == 15  # 15.15
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_100, 1)
    buy(buyer, fund, 10_100, 1)
    trade = Trade.objects.get()
    assert trade.buyer_fee == trade.seller_fee == 15
    assert_invariants()


def test_price_limit_edges(fund):
    buyer = investor_with_cash(10_000_000)
    assert checks.market_rules().price_range(10_000) == (7_000, 13_000)
    buy(buyer, fund, 7_000, 1)
    buy(buyer, fund, 13_000, 1)
    for price in (6_900, 13_100):
        with pytest.raises(LedgerError, match="between ₩7,000 and ₩13,000"):
            buy(buyer, fund, price, 1)
    assert Order.objects.count() == 2


def test_close_market_moves_the_limit(fund):
    seller, buyer = holder(fund), investor_with_cash(10_000_000)
    sell(seller, fund, 12_000, 1)
    buy(buyer, fund, 12_000, 1)
    assert market.close_market() == 1
    assert Market.objects.get(fund=fund).previous_close == 12_000
    assert checks.market_rules().price_range(12_000) == (8_400, 15_600)
    buy(buyer, fund, 15_600, 1)
    with pytest.raises(LedgerError):
        buy(buyer, fund, 15_700, 1)
    call_command("close_market")
    assert_invariants()


def test_tick_and_bad_input(fund):
    seller = holder(fund, shares=2, cash=50_000)
    other = investor_with_cash(1_000)
    cases = [
        ({"side": "buy", "price": 10_050, "quantity": 1}, "price"),
        ({"side": "buy", "price": 10_000, "quantity": 0}, "quantity"),
        ({"side": "buy", "price": 10_000, "quantity": -3}, "quantity"),
        ({"side": "buy", "price": -100, "quantity": 1}, "price"),
        ({"side": "buy", "price": "x", "quantity": 1}, "price"),
        ({"side": "hold", "price": 10_000, "quantity": 1}, "side"),
        ({"side": "sell", "price": 10_000, "quantity": 3}, "quantity"),
        ({"side": "buy", "price": 10_000, "quantity": 5}, "quantity"),
    ]
    for kwargs, field in cases:
        with pytest.raises(LedgerError) as error:
            market.place_order(user=seller, fund_id=fund.pk, **kwargs)
        assert error.value.field == field
    with pytest.raises(LedgerError):
        market.place_order(user=other, fund_id=999, side="buy", price=100, quantity=1)
    assert Order.objects.count() == 0
    assert_invariants()


def test_cancel_releases_and_only_your_own(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    mine = buy(buyer, fund, 9_000, 2)
    theirs = sell(seller, fund, 11_000, 3)
    assert shares(seller, fund).reserved == 3
    with pytest.raises(LedgerError, match="no such order"):
        market.cancel_order(user=buyer, order_id=theirs.pk)
    with pytest.raises(LedgerError):
        market.cancel_order(user=buyer, order_id="abc")
    theirs.refresh_from_db()
    assert theirs.status == "open"
    market.cancel_order(user=buyer, order_id=mine.pk)
    market.cancel_order(user=seller, order_id=theirs.pk)
    assert cash(buyer).cash_available == 1_000_000 and cash(buyer).cash_reserved == 0
    assert shares(seller, fund).reserved == 0 and shares(seller, fund).held == 10
    with pytest.raises(LedgerError, match="no longer open"):
        market.cancel_order(user=buyer, order_id=mine.pk)
    assert_invariants()


# --- the circuit breaker ------------------------------------------------------------------------


@pytest.fixture
def today():
    """Noon today, with yesterday's MCPI close at 100."""
    staff = StaffFactory()
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    services.record_mcpi(actor=staff, at=noon - dt.timedelta(days=1), value="100")
    return staff, noon


def test_each_circuit_breaker_level_once_a_day(fund, today):
    staff, noon = today
    buyer = investor_with_cash(1_000_000)
    services.record_mcpi(actor=staff, at=noon, value="93")  # -7%: nothing
    assert circuit.halted_until(noon) is None
    services.record_mcpi(actor=staff, at=noon + dt.timedelta(minutes=1), value="92")  # -8%
    until = circuit.halted_until(noon + dt.timedelta(minutes=2))
    assert until == noon + dt.timedelta(minutes=21)
    with pytest.raises(LedgerError, match="halted"):
        buy(buyer, fund, 10_000, 1, at=noon + dt.timedelta(minutes=5))
    later = noon + dt.timedelta(minutes=30)
    buy(buyer, fund, 10_000, 1, at=later)  # the halt ended: a resumption event, then the order
    # Level 1 again the same day: no new halt.
    services.record_mcpi(actor=staff, at=later + dt.timedelta(minutes=1), value="91")
    assert circuit.halted_until(later + dt.timedelta(minutes=2)) is None
    # Level 2: another 20 minutes.
    at2 = later + dt.timedelta(minutes=3)
    services.record_mcpi(actor=staff, at=at2, value="85")
    assert circuit.halted_until(at2) == at2 + dt.timedelta(minutes=20)
    at3 = at2 + dt.timedelta(minutes=30)
    services.record_mcpi(actor=staff, at=at3, value="84.9")  # level 2 again: no halt
    assert circuit.halted_until(at3) is None
    # Level 3: closed for the rest of the day.
    services.record_mcpi(actor=staff, at=at3 + dt.timedelta(minutes=1), value="80")
    end = circuit.halted_until(at3 + dt.timedelta(minutes=2))
    assert timezone.localtime(end).hour == 0 and end > at3
    assert CircuitBreaker.objects.get().levels_fired == 3
    assert_invariants()


def test_a_big_fall_fires_the_highest_level_and_cancels_are_allowed(fund, today):
    staff, noon = today
    buyer = investor_with_cash(1_000_000)
    order = buy(buyer, fund, 10_000, 1, at=noon - dt.timedelta(minutes=1))
    services.record_mcpi(actor=staff, at=noon, value="84")  # -16% straight away: level 2
    assert CircuitBreaker.objects.get().levels_fired == 2
    market.cancel_order(user=buyer, order_id=order.pk, at=noon + dt.timedelta(minutes=1))
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert cash(buyer).cash_reserved == 0
    assert_invariants()


def test_next_day_levels_reset(fund, today):
    staff, noon = today
    services.record_mcpi(actor=staff, at=noon, value="92")
    assert CircuitBreaker.objects.get().levels_fired == 1
    tomorrow = noon + dt.timedelta(days=1)
    services.record_mcpi(actor=staff, at=tomorrow, value="84")  # -8.7% vs 92
    assert circuit.halted_until(tomorrow) == tomorrow + dt.timedelta(minutes=20)
    assert_invariants()


def test_rebuild_gives_back_the_market(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_000, 4)
    buy(buyer, fund, 10_000, 2)
    buy(buyer, fund, 9_000, 2)
    call_command("rebuild_projections")
    call_command("audit")
    assert_invariants()


def test_a_rebuild_loads_the_wiped_market_tables_whole(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_000, 4)
    buy(buyer, fund, 10_000, 2)
    buy(buyer, fund, 9_000, 2)
    before = projections.comparable(replay.live_state())
    rows = Trade.objects.count() + Order.objects.count() + Holding.objects.count()
    Trade.objects.all().delete()
    Order.objects.all().delete()
    Holding.objects.all().delete()
    assert replay.audit()

    with transaction.atomic():  # each empty table loaded whole (config.db.load_rows)
        assert projections.write(replay.replay()) == rows

    assert replay.audit() == []
    assert projections.comparable(replay.live_state()) == before


def test_rebuild_mends_changed_missing_and_stray_market_rows_in_place(fund):
    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_000, 4)
    buy(buyer, fund, 10_000, 2)
    resting = buy(buyer, fund, 9_000, 2)
    trade = Trade.objects.get()
    kept = {o.pk: (o.remaining, o.status) for o in Order.objects.all()}
    # Rows read back compare equal to the replay's (moments included): nothing to write.
    assert projections.write(replay.replay()) == 0
    holding = Holding.objects.get(investor__user=seller)
    Order.objects.filter(pk=resting.pk).update(remaining=1, status="filled")  # changed
    Trade.objects.all().delete()  # missing
    stray = Order.objects.create(
        fund=fund,
        investor=holding.investor,
        side="sell",
        price=100,
        quantity=1,
        remaining=1,
        cash_reserved=0,
        placed_at=timezone.now(),
        sequence=10**6,
    )  # a row the log never had
    Holding.objects.filter(pk=holding.pk).update(held=0)
    assert len(replay.audit()) >= 4

    with transaction.atomic():
        # The changed order and holding, the missing trade, the stray order: nothing else.
        assert projections.write(replay.replay()) == 4

    assert replay.audit() == []
    assert projections.write(replay.replay()) == 0
    assert {o.pk: (o.remaining, o.status) for o in Order.objects.all()} == kept
    assert not Order.objects.filter(pk=stray.pk).exists()
    assert Trade.objects.get().pk == trade.pk
    assert Holding.objects.get(investor__user=seller).pk == holding.pk  # updated, not replaced
    assert_invariants()


def test_close_market_refuses_while_another_server_holds_the_lock(fund):
    from django.core.management import CommandError

    from config.locks import exclusive

    with (
        exclusive("investments:close-market"),
        pytest.raises(CommandError, match="Another server"),
    ):
        call_command("close_market")
    assert not Market.objects.filter(previous_close__isnull=False).exists()


def test_an_order_never_trades_with_its_owners_opposite_order(fund):
    trader = holder(fund, shares=10, cash=1_000_000)
    sell(trader, fund, 10_000, 2)
    with pytest.raises(LedgerError, match="other side at this price"):
        buy(trader, fund, 10_000, 1)
    buy(trader, fund, 9_900, 1)  # another price is fine: it does not cross
    assert not Trade.objects.exists()
    assert_invariants()


def test_closing_the_same_day_twice_changes_nothing(fund):
    seller, buyer = holder(fund), investor_with_cash(10_000_000)
    sell(seller, fund, 12_000, 1)
    buy(buyer, fund, 12_000, 1)
    assert market.close_market() == 1
    assert market.close_market() == 0
    assert Event.objects.filter(type="market_closed").count() == 1
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert market.close_market(at=tomorrow) == 1
    assert_invariants()


def test_a_trade_is_timed_from_its_takers_acceptance_to_its_commit(
    fund, django_capture_on_commit_callbacks
):
    from prometheus_client import REGISTRY

    def timed(le=None):
        name = "okcow_market_accept_to_trade_seconds"
        if le is None:
            return REGISTRY.get_sample_value(f"{name}_count") or 0
        return REGISTRY.get_sample_value(f"{name}_bucket", {"le": le}) or 0

    seller, buyer = holder(fund), investor_with_cash(1_000_000)
    sell(seller, fund, 10_000, 2)
    before = timed(), timed("2.0"), timed("5.0")
    accepted = timezone.now() - dt.timedelta(seconds=3)  # the taker accepted three seconds ago
    with django_capture_on_commit_callbacks(execute=True):
        buy(buyer, fund, 10_000, 2, at=accepted)
    assert Trade.objects.count() == 1
    assert (timed(), timed("2.0"), timed("5.0")) == (before[0] + 1, before[1], before[2] + 1)
