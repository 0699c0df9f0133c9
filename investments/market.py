"""The market's commands: placing and cancelling limit orders, and the daily close.

A request checks here only what needs no data (side, whole numbers, the tick, that the fund
exists); the fund's matcher decides the rest — the daily price limit, a halt, cash or shares, no
self-trades — in its batch, against the rows it locks and the book, and matches (``matcher.py``:
a command's whole path). The rules are ``domain.rules``'.

Settings (all optional): ``MARKET_TICK`` (100), ``MARKET_FEE_RATE`` (Decimal "0.01" per side),
``MARKET_PRICE_LIMIT`` (Decimal "0.30"), ``MARKET_CIRCUIT_BREAKER`` (list of (fall %, minutes);
minutes None closes the market for the day; default [(8, 20), (15, 20), (20, None)]).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from config.db import atomic_with_retry, select_rows
from config.locks import exclusive

from . import checks, eventstore, matcher, projections
from .checks import LedgerError, market_rules
from .domain import events
from .eventstore import NewEvent
from .formatting import won
from .matcher import CANCEL, PLACE, Command
from .models import Event, Fund, Investor, Order


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
    """Place a limit order: refused with the reason (``LedgerError``), or accepted, what it needs
    reserved and matched; returned as it stands after matching. A repeated ``idempotency_key`` (a
    double submit) returns the first order and changes nothing. ``matcher.Unconfirmed``: sent, but
    its matcher has not answered in time."""
    checks.writer(user)
    if side not in Order.Side.values:
        raise LedgerError(gettext("Choose buy or sell."), field="side")
    price = checks.whole(price, field="price")
    quantity = checks.whole(quantity, field="quantity")
    r = market_rules()
    if not r.on_tick(price):
        raise LedgerError(
            gettext("Prices go in steps of %(tick)s.") % {"tick": won(r.tick)}, field="price"
        )
    if not isinstance(fund_id, int) or not select_rows(Fund, ["id"], where={"id": fund_id}):
        raise LedgerError(gettext("No such fund."), field="fund")
    command = Command(
        PLACE,
        fund_id,
        user.pk,
        idempotency_key or uuid.uuid4().hex,
        side=side,
        price=price,
        quantity=quantity,
        at=at,
        sent=time.time(),
        language=translation.get_language() or "",
    )
    return _answered(matcher.send(command))


def cancel_order(*, user: User, order_id, at=None) -> Order:
    """Cancel your own open order and release what it still holds (allowed during a halt)."""
    checks.writer(user)
    mine = Investor.objects.filter(user=user).first()
    order = (
        Order.objects.filter(pk=order_id, investor=mine).first()
        if isinstance(order_id, int) and mine
        else None
    )
    if order is None:
        raise LedgerError(gettext("You have no such order."), field="order")
    if order.status != Order.Status.OPEN:
        raise LedgerError(gettext("This order is no longer open."), field="order")
    command = Command(
        CANCEL,
        order.fund_id,
        user.pk,
        uuid.uuid4().hex,
        price=order.price,
        order_id=order.pk,
        at=at,
        sent=time.time(),
        language=translation.get_language() or "",
    )
    return _answered(matcher.send(command))


def _answered(outcome: matcher.Outcome) -> Order:
    if outcome.error:
        raise LedgerError(outcome.error, field=outcome.field)
    fields = [f.attname for f in Order._meta.concrete_fields]
    if outcome.order is not None:  # the row as the matcher's batch wrote it
        written = projections.ORDERS.row(outcome.order_id, outcome.order)
        row = [written[f] for f in fields]
    else:
        (row,) = select_rows(Order, fields, where={"id": outcome.order_id})
    return Order.from_db(connection.alias, fields, row)


@atomic_with_retry
def _close_fund(*, fund_id: int, at: dt.datetime) -> bool:
    matcher.moved(fund_id)  # first, as a batch locks it: the matcher reads its stream again
    fund, market = checks.fund_market(fund_id, lock=True)
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
