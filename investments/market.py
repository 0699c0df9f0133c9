"""The market: limit orders, matched-price trading (다자간상대매매), fees, the daily price limit,
the MCPI circuit breaker and the daily close.

Every command runs in one retried transaction and locks in the ledger's order: the ledger sequence
row, then the fund's ``Market`` row (serialising its book), then investors. Each effect is an event
appended through ``services._append`` and projected inline by ``project`` below; the in-memory twin
is ``State`` (``_on_order_placed`` and friends).

Settings (all optional): ``MARKET_TICK`` (100), ``MARKET_FEE_RATE`` (Decimal "0.01" per side),
``MARKET_PRICE_LIMIT`` (Decimal "0.30"), ``MARKET_CIRCUIT_BREAKER`` (list of (fall %, minutes);
minutes None closes the market for the day; default [(8, 20), (15, 20), (20, None)]).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import User
from config.db import atomic_with_retry
from config.locks import exclusive

from .domain import events, rules
from .domain.orderbook import BUY, BookOrder, OrderBook, other_side
from .models import (
    CircuitBreaker,
    Event,
    FeeAccount,
    Fund,
    Holding,
    Investor,
    Market,
    McpiValue,
    Order,
    Trade,
)
from .services import MAX_AMOUNT, LedgerError, _append, _existing, _lock_sequence, _writer


def market_rules() -> rules.MarketRules:
    """The market's rules with this site's settings."""
    return rules.MarketRules(
        tick=settings.MARKET_TICK,
        fee_rate=Decimal(str(settings.MARKET_FEE_RATE)),
        limit_rate=Decimal(str(settings.MARKET_PRICE_LIMIT)),
        breaker=tuple((fall, minutes) for fall, minutes in settings.MARKET_CIRCUIT_BREAKER),
    )


def reference_price(market: Market | None, fund: Fund) -> int:
    return rules.reference_price(market.previous_close if market else None, fund.base_price)


# --- the circuit breaker --------------------------------------------------------------------------


def _breaker() -> CircuitBreaker:
    breaker = CircuitBreaker.objects.select_for_update().filter(pk=1).first()
    return breaker or CircuitBreaker.objects.create(pk=1)


def halted_until(moment: dt.datetime | None = None) -> dt.datetime | None:
    """When the current halt ends, or None when trading is open (read-only)."""
    moment = moment or timezone.now()
    breaker = CircuitBreaker.objects.filter(pk=1).first()
    if breaker and breaker.halted_until and breaker.halted_until > moment:
        return breaker.halted_until
    return None


def _resume_if_due(sequence, moment: dt.datetime) -> CircuitBreaker:
    breaker = _breaker()
    if breaker.halted_until and breaker.halted_until <= moment:
        _append(
            sequence=sequence,
            type_=events.MARKET_RESUMED,
            stream=events.CIRCUIT_STREAM,
            payload={"at": moment.isoformat(), "halted_until": breaker.halted_until.isoformat()},
            actor=None,
            at=moment,
        )
        breaker.refresh_from_db()
    return breaker


def previous_mcpi_close(moment: dt.datetime) -> Decimal | None:
    start = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    row = McpiValue.objects.filter(at__lt=start).order_by("-at").first()
    return row.value if row else None


def check_circuit(*, sequence, at: dt.datetime, value: Decimal) -> None:
    """Called when an MCPI value is recorded (inside its transaction): fire the highest level the
    fall reaches that has not fired today."""
    previous = previous_mcpi_close(at)
    breaker = _resume_if_due(sequence, at)
    if not previous:
        return
    fall = rules.fall_percent(previous, value)
    day = timezone.localdate(at)
    r = market_rules()
    level = r.breaker_level(fall, breaker.levels_fired if breaker.day == day else 0)
    if not level:
        return
    until = r.halt_end(level, timezone.localtime(at))
    _append(
        sequence=sequence,
        type_=events.MARKET_HALTED,
        stream=events.CIRCUIT_STREAM,
        payload={
            "level": level,
            "day": day.isoformat(),
            "fall": str(fall.quantize(Decimal("0.01"))),
            "at": at.isoformat(),
            "until": until.isoformat(),
        },
        actor=None,
        at=at,
    )


# --- input checks ---------------------------------------------------------------------------------


def _whole(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError("Enter a whole number.", field=field)
    if value <= 0:
        raise LedgerError("Enter a number greater than zero.", field=field)
    if value > MAX_AMOUNT:
        raise LedgerError("That number is too large.", field=field)
    return value


def _market(fund_id) -> tuple[Fund, Market]:
    fund = Fund.objects.filter(pk=fund_id).first() if isinstance(fund_id, int) else None
    if fund is None:
        raise LedgerError("No such fund.", field="fund")
    market = Market.objects.select_for_update().filter(fund=fund).first()
    if market is None:  # the fund's first market command
        Market.objects.get_or_create(fund=fund)
        market = Market.objects.select_for_update().get(fund=fund)
    return fund, market


def _investor(user: User) -> Investor:
    investor = Investor.objects.select_for_update().filter(user=user).first()
    if investor is None:
        raise LedgerError("Open an investor account first.")
    return investor


# --- commands -------------------------------------------------------------------------------------


@atomic_with_retry
def place_order(
    *,
    user: User,
    fund_id: int,
    side: str,
    price: int,
    quantity: int,
    at=None,
    idempotency_key: str | None = None,
) -> Order:
    """Place a limit order, reserve what it needs, and match it against the book. A repeated
    ``idempotency_key`` (a double submit) returns the first order and changes nothing."""
    _writer(user)
    if side not in Order.Side.values:
        raise LedgerError("Choose buy or sell.", field="side")
    price = _whole(price, "price")
    quantity = _whole(quantity, "quantity")
    r = market_rules()
    if not r.on_tick(price):
        raise LedgerError(f"Prices go in steps of {r.tick:,}.", field="price")
    moment = at or timezone.now()
    sequence = _lock_sequence()
    done = _existing(idempotency_key, actor=user, type_=events.ORDER_PLACED)
    if done is not None:
        return Order.objects.get(pk=done.payload["order_id"])
    fund, market = _market(fund_id)
    breaker = _resume_if_due(sequence, moment)
    if breaker.halted_until and breaker.halted_until > moment:
        raise LedgerError(
            f"Trading is halted until {timezone.localtime(breaker.halted_until):%H:%M}; "
            "you can still cancel orders."
        )
    low, high = r.price_range(reference_price(market, fund))
    if not low <= price <= high:
        raise LedgerError(f"Today's prices must be between {low:,} and {high:,}.", field="price")
    investor = _investor(user)
    if (
        Order.objects.filter(investor=investor, fund=fund, status=Order.Status.OPEN, price=price)
        .exclude(side=side)
        .exists()
    ):
        # No self-trades: they would move nothing but fees and fake a price and a volume.
        raise LedgerError(
            "You have an open order on the other side at this price; cancel it first.",
            field="price",
        )
    payload = {
        "order_id": None,
        "investor_id": investor.pk,
        "fund_id": fund.pk,
        "side": side,
        "price": price,
        "quantity": quantity,
        "cash_reserved": 0,
        "placed_at": moment.isoformat(),
    }
    if side == BUY:
        need = r.buy_reservation(price, quantity)
        if need > investor.cash_available:
            raise LedgerError(
                f"This order needs {need:,} with the fee; you have {investor.cash_available:,}.",
                field="quantity",
            )
        payload["cash_reserved"] = need
    else:
        holding = Holding.objects.select_for_update().filter(investor=investor, fund=fund).first()
        held = holding.held if holding else 0
        if quantity > held:
            raise LedgerError(f"You have {held:,} shares free to sell.", field="quantity")
    last = Order.objects.order_by("-pk").values_list("pk", flat=True).first()
    payload["order_id"] = (last or 0) + 1
    payload["sequence"] = sequence.last + 1
    _append(
        sequence=sequence,
        type_=events.ORDER_PLACED,
        stream=events.market_stream(fund.pk),
        payload=payload,
        actor=user,
        at=moment,
        idempotency_key=idempotency_key,
    )
    order = Order.objects.get(pk=payload["order_id"])
    _match(sequence, fund, order, moment, low, high)
    order.refresh_from_db()
    return order


def _match(sequence, fund, order, moment, low, high) -> None:
    """Trade the new order against the resting orders at exactly its price, oldest first: as many
    as its quantity can reach are put on an ``OrderBook``, which gives the fills."""
    book, orders = OrderBook(), {order.pk: order}
    reach = order.remaining
    resting = Order.objects.filter(
        fund=fund, status=Order.Status.OPEN, side=other_side(order.side), price=order.price
    ).order_by("sequence")
    for counter in resting.iterator(chunk_size=20):  # a deep level is read only as far as fills
        if reach <= 0:
            break
        book.rest(_book_order(counter))
        orders[counter.pk] = counter
        reach -= counter.remaining
    r = market_rules()
    day, at = timezone.localdate(moment).isoformat(), moment.isoformat()
    for fill in book.place(_book_order(order)):
        buy = orders[fill.buy_order_id]
        seller = Holding.objects.get(investor_id=fill.seller_id, fund=fund)
        terms = rules.trade_terms(
            r,
            price=fill.price,
            quantity=fill.quantity,
            buy_remaining=fill.buy_remaining,
            buy_reserved=buy.cash_reserved,
            seller_basis=seller.cost_basis,
            seller_shares=seller.held + seller.reserved,
        )
        last = Trade.objects.order_by("-pk").values_list("pk", flat=True).first()
        payload = events.trade_executed(
            fill,
            terms,
            trade_id=(last or 0) + 1,
            fund_id=fund.pk,
            low=low,
            high=high,
            day=day,
            at=at,
        )
        _append(
            sequence=sequence,
            type_=events.TRADE_EXECUTED,
            stream=events.market_stream(fund.pk),
            payload=payload,
            actor=None,
            at=moment,
        )
        buy.cash_reserved -= terms.spent + terms.refund  # what the projection just wrote


def _book_order(order: Order) -> BookOrder:
    return BookOrder(order.pk, order.investor_id, order.side, order.price, order.remaining)


@atomic_with_retry
def cancel_order(*, user: User, order_id, at=None) -> Order:
    """Cancel your own open order and release what it still holds (allowed during a halt)."""
    _writer(user)
    moment = at or timezone.now()
    sequence = _lock_sequence()
    mine = Investor.objects.filter(user=user).first()
    order = (
        Order.objects.filter(pk=order_id, investor=mine).first()
        if isinstance(order_id, int) and mine
        else None
    )
    if order is None:
        raise LedgerError("You have no such order.", field="order")
    _market(order.fund_id)
    _resume_if_due(sequence, moment)
    _investor(user)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.OPEN:
        raise LedgerError("This order is no longer open.", field="order")
    _append(
        sequence=sequence,
        type_=events.ORDER_CANCELLED,
        stream=events.market_stream(order.fund_id),
        payload={
            "order_id": order.pk,
            "investor_id": order.investor_id,
            "fund_id": order.fund_id,
            "side": order.side,
            "cash_released": order.cash_reserved,
            "shares_released": order.remaining if order.side == Order.Side.SELL else 0,
        },
        actor=user,
        at=moment,
    )
    order.refresh_from_db()
    return order


@atomic_with_retry
def _close_fund(*, fund_id: int, at: dt.datetime) -> bool:
    sequence = _lock_sequence()
    fund, market = _market(fund_id)
    day = timezone.localdate(at)
    stream = events.market_stream(fund.pk)
    if Event.objects.filter(stream=stream, type=events.MARKET_CLOSED, payload__day=day.isoformat()):
        return False  # this day is closed already: running the job again changes nothing
    close = market.last_price or reference_price(market, fund)
    _append(
        sequence=sequence,
        type_=events.MARKET_CLOSED,
        stream=stream,
        payload={"fund_id": fund.pk, "day": day.isoformat(), "close": close},
        actor=None,
        at=at,
    )
    return True


def close_market(*, at: dt.datetime | None = None) -> int:
    """Fix every fund's close for the day (the next day's price-limit reference). Held under a
    shared-cache lock so running it on several servers at once closes each fund once."""
    moment = at or timezone.now()
    done = 0
    with exclusive("investments:close-market", timeout=600):
        for fund_id in Fund.objects.order_by("pk").values_list("pk", flat=True):
            done += _close_fund(fund_id=fund_id, at=moment)
    return done


# --- projection -----------------------------------------------------------------------------------


def project(event) -> None:
    """The DB twin of ``State``'s market handlers."""
    p, t = event.payload, event.type
    if t == events.ORDER_PLACED:
        Order.objects.create(
            pk=p["order_id"],
            fund_id=p["fund_id"],
            investor_id=p["investor_id"],
            side=p["side"],
            price=p["price"],
            quantity=p["quantity"],
            remaining=p["quantity"],
            cash_reserved=p["cash_reserved"],
            placed_at=dt.datetime.fromisoformat(p["placed_at"]),
            sequence=p["sequence"],
        )
        if p["side"] == "buy":
            Investor.objects.filter(pk=p["investor_id"]).update(
                cash_available=F("cash_available") - p["cash_reserved"],
                cash_reserved=F("cash_reserved") + p["cash_reserved"],
            )
        else:
            Holding.objects.filter(investor_id=p["investor_id"], fund_id=p["fund_id"]).update(
                held=F("held") - p["quantity"], reserved=F("reserved") + p["quantity"]
            )
    elif t == events.TRADE_EXECUTED:
        q = p["quantity"]
        value = p["price"] * q
        # SET order matters: MariaDB evaluates assignments left to right on the updated row, so
        # whatever reads a column comes before the assignment to it (SQLite reads the old row).
        filled = Case(When(remaining=q, then=Value(Order.Status.FILLED)), default=F("status"))
        Order.objects.filter(pk=p["buy_order_id"]).update(
            status=filled,
            remaining=F("remaining") - q,
            cash_reserved=F("cash_reserved") - p["spent"] - p["refund"],
        )
        Order.objects.filter(pk=p["sell_order_id"]).update(
            status=filled, remaining=F("remaining") - q
        )
        Investor.objects.filter(pk=p["buyer_id"]).update(
            cash_reserved=F("cash_reserved") - p["spent"] - p["refund"],
            cash_available=F("cash_available") + p["refund"],
        )
        Investor.objects.filter(pk=p["seller_id"]).update(
            cash_available=F("cash_available") + value - p["seller_fee"]
        )
        Holding.objects.filter(investor_id=p["seller_id"], fund_id=p["fund_id"]).update(
            reserved=F("reserved") - q, cost_basis=F("cost_basis") - p["cost_released"]
        )
        bought = Holding.objects.filter(investor_id=p["buyer_id"], fund_id=p["fund_id"])
        if not bought.update(held=F("held") + q, cost_basis=F("cost_basis") + p["spent"]):
            Holding.objects.create(
                investor_id=p["buyer_id"], fund_id=p["fund_id"], held=q, cost_basis=p["spent"]
            )
        fees = p["buyer_fee"] + p["seller_fee"]
        if not FeeAccount.objects.update(balance=F("balance") + fees):
            FeeAccount.objects.create(balance=fees)
        Trade.objects.create(
            pk=p["trade_id"],
            fund_id=p["fund_id"],
            buy_order_id=p["buy_order_id"],
            sell_order_id=p["sell_order_id"],
            buyer_id=p["buyer_id"],
            seller_id=p["seller_id"],
            price=p["price"],
            quantity=q,
            buyer_fee=p["buyer_fee"],
            seller_fee=p["seller_fee"],
            executed_at=dt.datetime.fromisoformat(p["at"]),
        )
        day = dt.date.fromisoformat(p["day"])
        Market.objects.filter(fund_id=p["fund_id"]).update(  # day_value first: see above
            day_value=Case(When(day=day, then=F("day_value")), default=Value(0)) + 2 * value,
            day=day,
            last_price=p["price"],
        )
    elif t == events.ORDER_CANCELLED:
        Order.objects.filter(pk=p["order_id"]).update(
            status=Order.Status.CANCELLED, cash_reserved=0
        )
        if p["side"] == "buy":
            Investor.objects.filter(pk=p["investor_id"]).update(
                cash_available=F("cash_available") + p["cash_released"],
                cash_reserved=F("cash_reserved") - p["cash_released"],
            )
        else:
            Holding.objects.filter(investor_id=p["investor_id"], fund_id=p["fund_id"]).update(
                held=F("held") + p["shares_released"], reserved=F("reserved") - p["shares_released"]
            )
    elif t == events.MARKET_HALTED:
        CircuitBreaker.objects.update_or_create(
            pk=1,
            defaults={
                "day": dt.date.fromisoformat(p["day"]),
                "levels_fired": p["level"],
                "halted_until": dt.datetime.fromisoformat(p["until"]),
            },
        )
    elif t == events.MARKET_RESUMED:
        CircuitBreaker.objects.filter(pk=1).update(halted_until=None)
    elif t == events.MARKET_CLOSED:
        market, _ = Market.objects.get_or_create(fund_id=p["fund_id"])
        market.previous_close = p["close"]
        market.save(update_fields=["previous_close"])
