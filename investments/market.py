"""The market's commands: accepting limit orders (tick, the daily price limit, a halt, cash or
shares, no self-trades), cancels and the daily close. Matching (다자간상대매매) is the fund's
matcher's (``matcher.py``); the rules are ``domain.rules``'.

Every command runs in one retried transaction and locks in the ledger's order: the person's
investor row, then their holding (or, closing, the fund's ``Market`` row); ``eventstore.append``
takes the ledger sequence last and projects the event. The market and breaker rows are only read
by orders: the matcher checks a halt again before it matches.

Settings (all optional): ``MARKET_TICK`` (100), ``MARKET_FEE_RATE`` (Decimal "0.01" per side),
``MARKET_PRICE_LIMIT`` (Decimal "0.30"), ``MARKET_CIRCUIT_BREAKER`` (list of (fall %, minutes);
minutes None closes the market for the day; default [(8, 20), (15, 20), (20, None)]).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from config.db import atomic_with_retry
from config.locks import exclusive

from . import checks, eventstore, matcher, projections
from .checks import LedgerError, market_rules
from .circuit import resume_if_due
from .domain import events
from .domain.orderbook import BUY
from .eventstore import NewEvent
from .models import (
    Event,
    Fund,
    Holding,
    Investor,
    Market,
    Order,
)

# --- input checks ---------------------------------------------------------------------------------


def _market(fund_id, *, lock: bool = False) -> tuple[Fund, Market]:
    """The fund and its ``Market`` row (with ``lock``, locked; only a close changes it)."""
    if not isinstance(fund_id, int):
        raise LedgerError("No such fund.", field="fund")
    # Locked (a close), the fund is read apart: MariaDB would lock its row too.
    rows = Market.objects.select_for_update() if lock else Market.objects.select_related("fund")
    market = rows.filter(fund_id=fund_id).first()
    if market is None:  # the fund's first market command
        fund = Fund.objects.filter(pk=fund_id).first()
        if fund is None:
            raise LedgerError("No such fund.", field="fund")
        Market.objects.get_or_create(fund=fund)
        market = rows.get(fund=fund)
    return market.fund, market


def _investor(user: User) -> Investor:
    investor = Investor.objects.select_for_update().filter(user=user).first()
    if investor is None:
        raise LedgerError("Open an investor account first.")
    return investor


# --- commands -------------------------------------------------------------------------------------


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
    """Accept a limit order: check it, reserve what it needs and append ``order_placed``; then
    hand it to the fund's matcher (``matcher.submitted``: matched at once when inline, within its
    next batch with streams). A repeated ``idempotency_key`` (a double submit) returns the first
    order and changes nothing."""
    moment = at or timezone.now()
    order, done = eventstore.once(
        idempotency_key,
        actor=user,
        type_=events.ORDER_PLACED,
        command=lambda: _accept(
            user=user,
            fund_id=fund_id,
            side=side,
            price=price,
            quantity=quantity,
            moment=moment,
            idempotency_key=idempotency_key,
        ),
    )
    if done is not None:
        return Order.objects.get(pk=done.payload["order_id"])
    if matcher.submitted(fund_id, at=moment):
        order.refresh_from_db()  # matched inline
    return order


@atomic_with_retry
def _accept(*, user: User, fund_id, side, price, quantity, moment, idempotency_key) -> Order:
    """The order as accepted (not yet matched)."""
    checks.writer(user)
    if side not in Order.Side.values:
        raise LedgerError("Choose buy or sell.", field="side")
    price = checks.whole(price, field="price")
    quantity = checks.whole(quantity, field="quantity")
    r = market_rules()
    if not r.on_tick(price):
        raise LedgerError(f"Prices go in steps of {r.tick:,}.", field="price")
    investor = _investor(user)
    fund, market = _market(fund_id)
    breaker = resume_if_due(moment)
    if breaker.halted_until and breaker.halted_until > moment:
        raise LedgerError(
            f"Trading is halted until {timezone.localtime(breaker.halted_until):%H:%M}; "
            "you can still cancel orders."
        )
    low, high = checks.todays_prices(market, fund)
    if not low <= price <= high:
        raise LedgerError(f"Today's prices must be between {low:,} and {high:,}.", field="price")
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
        "order_id": None,  # the event's sequence (events.NUMBERED)
        "investor_id": investor.pk,
        "fund_id": fund.pk,
        "side": side,
        "price": price,
        "quantity": quantity,
        "cash_reserved": 0,
        "placed_at": moment.isoformat(),
        "sequence": None,
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
    (event,) = eventstore.append(
        NewEvent(
            events.ORDER_PLACED,
            events.market_stream(fund.pk),
            payload,
            actor=user,
            at=moment,
            idempotency_key=idempotency_key,
        )
    )
    return projections.placed_order(event.payload)


def cancel_order(*, user: User, order_id, at=None) -> Order:
    """Cancel your own open order and release what it still holds (allowed during a halt). The
    fund's matcher applies it (at once when inline; with streams, within its next batch: the
    order returned may still be open)."""
    checks.writer(user)
    moment = at or timezone.now()
    mine = Investor.objects.filter(user=user).first()
    order = (
        Order.objects.filter(pk=order_id, investor=mine).first()
        if isinstance(order_id, int) and mine
        else None
    )
    if order is None:
        raise LedgerError("You have no such order.", field="order")
    if order.status != Order.Status.OPEN:
        raise LedgerError("This order is no longer open.", field="order")
    matcher.submitted(order.fund_id, cancel=order.pk, at=moment)
    order.refresh_from_db()
    return order


@atomic_with_retry
def _close_fund(*, fund_id: int, at: dt.datetime) -> bool:
    fund, market = _market(fund_id, lock=True)
    day = timezone.localdate(at)
    stream = events.market_stream(fund.pk)
    if Event.objects.filter(stream=stream, type=events.MARKET_CLOSED, payload__day=day.isoformat()):
        return False  # this day is closed already: running the job again changes nothing
    close = market.last_price or checks.reference_price(market, fund)
    eventstore.append(
        NewEvent(
            events.MARKET_CLOSED,
            stream,
            {"fund_id": fund.pk, "day": day.isoformat(), "close": close},
            at=at,
        ),
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
