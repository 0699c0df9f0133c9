"""Replaying the event log: time travel, rebuilding the projections, and the audit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from . import ledger
from .models import (
    CircuitBreaker,
    Copyright,
    Event,
    FeeAccount,
    Fund,
    Holding,
    Investor,
    LedgerSequence,
    Market,
    McpiValue,
    Order,
    Royalty,
    Trade,
)


def replay(*, until: datetime | None = None) -> ledger.State:
    """The state after every event (in sequence order) that occurred at or before ``until``."""
    state = ledger.State()
    events = Event.objects.order_by("sequence")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    for event in events.iterator(chunk_size=2000):
        state.apply(event.type, event.payload)
    return state


def live_state(*, investor_id: int | None = None) -> ledger.State:
    """The live projection tables read into the same shape as a replay; with ``investor_id``, only
    what that investor's portfolio needs (their account, holdings, those funds and copyrights)."""
    state = ledger.State()
    investors, holdings = Investor.objects.all(), Holding.objects.all()
    funds, copyrights = Fund.objects.all(), Copyright.objects.all()
    if investor_id is not None:
        investors = investors.filter(pk=investor_id)
        holdings = holdings.filter(investor_id=investor_id)
        fund_ids = list(holdings.values_list("fund_id", flat=True))
        funds, copyrights = funds.filter(pk__in=fund_ids), copyrights.filter(fund_id__in=fund_ids)
    for i in investors:
        state.investors[i.pk] = {
            "user_id": i.user_id,
            "available": i.cash_available,
            "reserved": i.cash_reserved,
        }
    for f in funds:
        state.funds[f.pk] = {
            "name": f.name,
            "base_price": f.base_price,
            "cash": f.cash,
            "shares": f.shares_outstanding,
            "pending": f.royalties_pending,
            "created_at": f.created_at.isoformat(),
        }
    for h in holdings:
        state.holdings[(h.investor_id, h.fund_id)] = {
            "held": h.held,
            "reserved": h.reserved,
            "cost_basis": h.cost_basis,
        }
    for c in copyrights:
        state.copyrights[c.pk] = {
            "fund_id": c.fund_id,
            "code": c.code,
            "price": c.price,
            "mcpi": str(c.mcpi_at_acquisition),
        }
    for m in McpiValue.objects.all():
        state.mcpi[m.at.isoformat()] = m.value
    for r in Royalty.objects.all() if investor_id is None else ():
        state.royalties[r.pk] = {
            "fund_id": r.fund_id,
            "amount": r.amount,
            "recorded_at": r.recorded_at.isoformat(),
            "distributed": r.distributed,
        }
    fee = FeeAccount.objects.first()
    state.fee = fee.balance if fee else 0
    if investor_id is None:
        _live_market(state)
    else:
        for m in Market.objects.filter(fund_id__in=fund_ids):
            state.markets[m.fund_id] = {
                "last_price": m.last_price,
                "previous_close": m.previous_close,
                "day": m.day.isoformat() if m.day else None,
                "day_value": m.day_value,
            }
    return state


def _live_market(state: ledger.State) -> None:
    for o in Order.objects.all():
        state.orders[o.pk] = {
            "fund_id": o.fund_id,
            "investor_id": o.investor_id,
            "side": o.side,
            "price": o.price,
            "quantity": o.quantity,
            "remaining": o.remaining,
            "cash_reserved": o.cash_reserved,
            "status": o.status,
            "sequence": o.sequence,
        }
    for t in Trade.objects.all():
        state.trades[t.pk] = {
            "fund_id": t.fund_id,
            "buy_order_id": t.buy_order_id,
            "sell_order_id": t.sell_order_id,
            "price": t.price,
            "quantity": t.quantity,
            "buyer_fee": t.buyer_fee,
            "seller_fee": t.seller_fee,
        }
    for m in Market.objects.all():
        state.markets[m.fund_id] = {
            "last_price": m.last_price,
            "previous_close": m.previous_close,
            "day": m.day.isoformat() if m.day else None,
            "day_value": m.day_value,
        }
    breaker = CircuitBreaker.objects.filter(pk=1).first()
    if breaker and breaker.day:
        state.breaker = {
            "day": breaker.day.isoformat(),
            "levels_fired": breaker.levels_fired,
            "halted_until": breaker.halted_until.isoformat() if breaker.halted_until else None,
        }


def _normal(state: ledger.State) -> dict:
    """A comparable form: holdings of all zeros are the same as no holding row."""
    copyrights = {
        k: {
            "fund_id": v["fund_id"],
            "code": v["code"],
            "price": v["price"],
            "mcpi": Decimal(v["mcpi"]),
        }
        for k, v in state.copyrights.items()
    }
    funds = {
        k: {**v, "created_at": datetime.fromisoformat(v["created_at"])}
        for k, v in state.funds.items()
    }
    royalties = {
        k: {**v, "recorded_at": datetime.fromisoformat(v["recorded_at"])}
        for k, v in state.royalties.items()
    }
    return {
        "investors": state.investors,
        "funds": funds,
        "holdings": {k: v for k, v in state.holdings.items() if any(v.values())},
        "copyrights": copyrights,
        "mcpi": {datetime.fromisoformat(k): Decimal(v) for k, v in state.mcpi.items()},
        "royalties": royalties,
        "fee": state.fee,
        "orders": state.orders,
        "trades": state.trades,
        "markets": {k: v for k, v in state.markets.items() if any(v.values())},
        "breaker": {
            "state": {
                **state.breaker,
                "halted_until": datetime.fromisoformat(state.breaker["halted_until"])
                if state.breaker.get("halted_until")
                else None,
            }
            if state.breaker
            else None
        },
    }


def differences(expected: ledger.State, actual: ledger.State) -> list[str]:
    """Lines describing every difference between a replay (expected) and the live tables."""
    a, b = _normal(expected), _normal(actual)
    lines = []
    for table in a:
        left, right = a[table], b[table]
        if table == "fee":
            if left != right:
                lines.append(f"fee: replay {left} != live {right}")
            continue
        for key in sorted(set(left) | set(right), key=str):
            if left.get(key) != right.get(key):
                lines.append(f"{table}[{key}]: replay {left.get(key)} != live {right.get(key)}")
    return lines


def sequence_gaps() -> list[str]:
    """Invariant 6: global sequence 1..n and per-stream versions 1..n with no gaps."""
    lines = []
    sequences = list(Event.objects.order_by("sequence").values_list("sequence", flat=True))
    if sequences != list(range(1, len(sequences) + 1)):
        lines.append("global sequence has gaps")
    versions: dict[str, list[int]] = {}
    for stream, version in Event.objects.order_by("stream", "version").values_list(
        "stream", "version"
    ):
        versions.setdefault(stream, []).append(version)
    for stream, numbers in versions.items():
        if numbers != list(range(1, len(numbers) + 1)):
            lines.append(f"stream {stream} has gaps")
    return lines


def audit() -> list[str]:
    return sequence_gaps() + differences(replay(), live_state())


@transaction.atomic
def rebuild() -> ledger.State:
    """Throw the projections away and write them again from the log."""
    LedgerSequence.objects.select_for_update().filter(pk=1).first()
    state = replay()
    Trade.objects.all().delete()
    Order.objects.all().delete()
    Market.objects.all().delete()
    CircuitBreaker.objects.all().delete()
    Holding.objects.all().delete()
    Copyright.objects.all().delete()
    Royalty.objects.all().delete()
    McpiValue.objects.all().delete()
    Fund.objects.all().delete()
    Investor.objects.all().delete()
    FeeAccount.objects.all().delete()
    Investor.objects.bulk_create(
        Investor(
            pk=k, user_id=v["user_id"], cash_available=v["available"], cash_reserved=v["reserved"]
        )
        for k, v in state.investors.items()
    )
    Fund.objects.bulk_create(
        Fund(
            pk=k,
            name=v["name"],
            base_price=v["base_price"],
            cash=v["cash"],
            shares_outstanding=v["shares"],
            royalties_pending=v["pending"],
            created_at=datetime.fromisoformat(v["created_at"]),
        )
        for k, v in state.funds.items()
    )
    Holding.objects.bulk_create(
        Holding(investor_id=i, fund_id=f, **v) for (i, f), v in state.holdings.items()
    )
    Copyright.objects.bulk_create(
        Copyright(
            pk=k,
            fund_id=v["fund_id"],
            code=v["code"],
            registration_number=v["registration_number"],
            music_id=v["music_id"],
            title=v["title"],
            artist=v["artist"],
            price=v["price"],
            acquired_at=datetime.fromisoformat(v["acquired_at"]),
            mcpi_at_acquisition=Decimal(v["mcpi"]),
        )
        for k, v in state.copyrights.items()
    )
    McpiValue.objects.bulk_create(
        McpiValue(at=datetime.fromisoformat(k), value=v) for k, v in state.mcpi.items()
    )
    Royalty.objects.bulk_create(
        Royalty(
            pk=k,
            fund_id=v["fund_id"],
            amount=v["amount"],
            recorded_at=datetime.fromisoformat(v["recorded_at"]),
            distributed=v["distributed"],
        )
        for k, v in state.royalties.items()
    )
    if state.fee:
        FeeAccount.objects.create(balance=state.fee)
    _rebuild_market(state)
    return state


def _rebuild_market(state: ledger.State) -> None:
    placed = {
        e.payload["order_id"]: e.occurred_at for e in Event.objects.filter(type="order_placed")
    }
    Order.objects.bulk_create(
        Order(pk=k, placed_at=placed[k], **v) for k, v in state.orders.items()
    )
    for k, v in state.trades.items():
        done = Event.objects.get(type="trade_executed", payload__trade_id=k)
        Trade.objects.create(
            pk=k,
            buyer_id=done.payload["buyer_id"],
            seller_id=done.payload["seller_id"],
            executed_at=done.occurred_at,
            **v,
        )
    Market.objects.bulk_create(
        Market(
            fund_id=k,
            last_price=v["last_price"],
            previous_close=v["previous_close"],
            day=date.fromisoformat(v["day"]) if v["day"] else None,
            day_value=v["day_value"],
        )
        for k, v in state.markets.items()
    )
    if state.breaker:
        CircuitBreaker.objects.create(
            pk=1,
            day=date.fromisoformat(state.breaker["day"]),
            levels_fired=state.breaker["levels_fired"],
            halted_until=datetime.fromisoformat(state.breaker["halted_until"])
            if state.breaker["halted_until"]
            else None,
        )
