"""Replaying the event log: time travel, rebuilding the projections, and the audit."""

from __future__ import annotations

import operator
from datetime import date, datetime
from decimal import Decimal
from functools import reduce

from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from config.db import delete_rows, insert_rows
from config.scale import bulk_load

from .domain.state import State
from .models import (
    CircuitBreaker,
    Copyright,
    Event,
    FeeAccount,
    Fund,
    FundPosting,
    Holding,
    Investor,
    LedgerSequence,
    Market,
    McpiValue,
    Order,
    Posting,
    Royalty,
    Trade,
)


def replay(*, until: datetime | None = None) -> State:
    """The state after every event (in sequence order) that occurred at or before ``until``."""
    events = Event.objects.order_by("sequence")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    return replay_events(events.values_list("type", "payload").iterator(chunk_size=BATCH))


def live_state(*, investor_id: int | None = None) -> State:
    """The live projection tables read into the same shape as a replay; with ``investor_id``, only
    what that investor's portfolio needs (their account, holdings, those funds and copyrights)."""
    state = State()
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
    mcpi = McpiValue.objects.all()
    if investor_id is not None:  # a portfolio values at the latest index only
        mcpi = mcpi.filter(at__lte=timezone.now()).order_by("-at")[:1]
    for m in mcpi:
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


def portfolio_state(*, investor_id: int, until: datetime) -> State:
    """What one investor's portfolio needs at a past moment, read from the postings: the sums of
    their cash and holdings' postings up to ``until``, and for the funds they held then, the
    funds' sums, the copyrights owned, the MCPI then and the last trade price then. Equal to
    ``replay(until=...)`` for those figures, in a handful of indexed queries at any log size."""
    state = State()
    upto = Posting.objects.filter(occurred_at__lte=until).order_by()
    cash = upto.filter(investor_id=investor_id, fund_id=None).aggregate(
        a=Sum("available", default=0), r=Sum("reserved", default=0)
    )
    state.investors[investor_id] = {"user_id": None, "available": cash["a"], "reserved": cash["r"]}
    held = (
        upto.filter(investor_id=investor_id, fund_id__isnull=False)
        .values("fund_id")
        .annotate(h=Sum("held"), r=Sum("held_reserved"), c=Sum("cost_basis"))
    )
    for row in held:
        if row["h"] or row["r"] or row["c"]:
            state.holdings[(investor_id, row["fund_id"])] = {
                "held": row["h"],
                "reserved": row["r"],
                "cost_basis": row["c"],
            }
    fund_ids = [fund_id for _, fund_id in state.holdings]
    totals = {
        row["fund_id"]: row
        for row in FundPosting.objects.filter(occurred_at__lte=until, fund_id__in=fund_ids)
        .values("fund_id")
        .annotate(c=Sum("cash"), s=Sum("shares"), p=Sum("pending"))
        .order_by()
    }
    for fund in Fund.objects.filter(pk__in=fund_ids):
        row = totals.get(fund.pk, {"c": 0, "s": 0, "p": 0})
        state.funds[fund.pk] = {
            "name": fund.name,
            "base_price": fund.base_price,
            "cash": row["c"],
            "shares": row["s"],
            "pending": row["p"],
            "created_at": fund.created_at.isoformat(),
        }
        state.market(fund.pk)["last_price"] = None
    for fund_id, price in _last_prices(fund_ids, until).items():
        state.market(fund_id)["last_price"] = price
    for c in Copyright.objects.filter(fund_id__in=fund_ids, acquired_at__lte=until):
        state.copyrights[c.pk] = {
            "fund_id": c.fund_id,
            "price": c.price,
            "mcpi": str(c.mcpi_at_acquisition),
        }
    mcpi = McpiValue.objects.filter(at__lte=until).order_by("-at").first()
    if mcpi is not None:
        state.mcpi[mcpi.at.isoformat()] = mcpi.value
    return state


def _last_prices(fund_ids: list[int], until: datetime) -> dict[int, int]:
    """Each fund's last trade price at ``until``. The latest moment per fund first, which the
    (fund, executed_at) index answers by jumping to one entry per fund; "newest trade at or before
    T" as one ORDER BY … LIMIT 1 per fund lets MariaDB walk back from the newest trade instead,
    through tens of thousands of a busy fund's rows."""
    latest = (
        Trade.objects.filter(fund_id__in=fund_ids, executed_at__lte=until)
        .values_list("fund_id")
        .annotate(at=Max("executed_at"))
        .order_by()
    )
    moments = [Q(fund_id=fund_id, executed_at=at) for fund_id, at in latest]
    if not moments:
        return {}
    # Trades of one fund at the same moment: the highest id is the last (ascending order, so the
    # dict keeps it).
    trades = Trade.objects.filter(reduce(operator.or_, moments)).order_by("id")
    return dict(trades.values_list("fund_id", "price"))


def _live_market(state: State) -> None:
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
            "placed_at": o.placed_at.isoformat(),
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
            "buyer_id": t.buyer_id,
            "seller_id": t.seller_id,
            "executed_at": t.executed_at.isoformat(),
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


def _normal(state: State) -> dict:
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
        "orders": {
            k: {**v, "placed_at": datetime.fromisoformat(v["placed_at"])}
            for k, v in state.orders.items()
        },
        "trades": {
            k: {**v, "executed_at": datetime.fromisoformat(v["executed_at"])}
            for k, v in state.trades.items()
        },
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


def differences(expected: State, actual: State) -> list[str]:
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


def posting_differences() -> list[str]:
    """The postings, summed, must equal the live balances (and so the replay)."""
    lines = []
    sums = Posting.objects.values("investor_id", "fund_id").order_by()
    cash = sums.filter(fund_id=None).annotate(a=Sum("available"), r=Sum("reserved"))
    summed = {row["investor_id"]: (row["a"], row["r"]) for row in cash}
    for i in Investor.objects.all():
        if summed.pop(i.pk, (0, 0)) != (i.cash_available, i.cash_reserved):
            lines.append(f"postings of investor {i.pk} do not add up to its cash")
    lines += [f"postings for unknown investor {k}" for k, v in summed.items() if any(v)]
    held = sums.filter(fund_id__isnull=False).annotate(
        h=Sum("held"), r=Sum("held_reserved"), c=Sum("cost_basis")
    )
    summed = {(row["investor_id"], row["fund_id"]): (row["h"], row["r"], row["c"]) for row in held}
    for h in Holding.objects.all():
        if summed.pop((h.investor_id, h.fund_id), (0, 0, 0)) != (h.held, h.reserved, h.cost_basis):
            lines.append(f"postings of holding {h.investor_id}/{h.fund_id} do not add up")
    lines += [f"postings for unknown holding {k}" for k, v in summed.items() if any(v)]
    funds = (
        FundPosting.objects.values("fund_id")
        .annotate(c=Sum("cash"), s=Sum("shares"), p=Sum("pending"))
        .order_by()
    )
    summed = {row["fund_id"]: (row["c"], row["s"], row["p"]) for row in funds}
    for f in Fund.objects.all():
        if summed.pop(f.pk, (0, 0, 0)) != (f.cash, f.shares_outstanding, f.royalties_pending):
            lines.append(f"postings of fund {f.pk} do not add up")
    lines += [f"postings for unknown fund {k}" for k, v in summed.items() if any(v)]
    return lines


def audit() -> list[str]:
    return sequence_gaps() + differences(replay(), live_state()) + posting_differences()


def replay_events(events, state: State | None = None) -> State:
    """Apply ``(type, payload)`` pairs, in order, to ``state`` (a new one by default)."""
    state = state or State()
    for type_, payload in events:
        state.apply(type_, payload)
    return state


@transaction.atomic
def rebuild() -> State:
    """Throw the projections away and write them again from the log."""
    LedgerSequence.objects.select_for_update().filter(pk=1).first()
    state = replay()
    write_projections(state)
    return state


# Written again whole: few rows each. Children before parents.
REPLACED = (Market, CircuitBreaker, Copyright, Royalty, McpiValue, Fund, Investor, FeeAccount)
# Reconciled in place (almost every row of a big log): upserted, then the rows the log does not
# have are deleted. Rows that are already right cost the database a lookup, not a rewrite.
RECONCILED = (Trade, Order, Holding)
BATCH = 5_000
# The keys of ``State.orders`` / ``.trades`` values, which are also the model fields.
ORDER_FIELDS = (
    "fund_id",
    "investor_id",
    "side",
    "price",
    "quantity",
    "remaining",
    "cash_reserved",
    "status",
    "sequence",
    "placed_at",
)
TRADE_FIELDS = (
    "fund_id",
    "buy_order_id",
    "sell_order_id",
    "price",
    "quantity",
    "buyer_fee",
    "seller_fee",
    "buyer_id",
    "seller_id",
    "executed_at",
)


HOLDING_AMOUNTS = ("held", "reserved", "cost_basis")


def _delete_missing(model, key: tuple[str, ...], keep) -> None:
    """Delete ``model``'s rows whose ``key`` (one field: its value; more: a tuple) is not in
    ``keep``."""
    keep = set(keep)
    rows = model.objects.values_list("pk", *key).order_by().iterator(chunk_size=BATCH)
    if key == ("pk",):
        delete_rows(model, (pk for pk, _ in rows if pk not in keep))
    else:
        delete_rows(model, (pk for pk, *values in rows if tuple(values) not in keep))


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def write_projections(state: State) -> None:
    """Make every projection row equal ``state``, in the caller's transaction. On MariaDB the
    per-row foreign-key checks are off meanwhile (the rows come from the reducer, right by
    construction; parents are written again under children that stay)."""
    with bulk_load(unique_checks=True):
        _write_projections(state)


def _write_projections(state: State) -> None:
    with connection.cursor() as cursor:
        for model in REPLACED:
            # One DELETE per table: the ORM's delete() would first read every row to check
            # relations.
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
    insert_rows(
        Investor,
        ("id", "user_id", "cash_available", "cash_reserved"),
        ((k, v["user_id"], v["available"], v["reserved"]) for k, v in state.investors.items()),
    )
    Fund.objects.bulk_create(
        (
            Fund(
                pk=k,
                name=v["name"],
                base_price=v["base_price"],
                cash=v["cash"],
                shares_outstanding=v["shares"],
                royalties_pending=v["pending"],
                created_at=_iso(v["created_at"]),
            )
            for k, v in state.funds.items()
        ),
    )
    insert_rows(
        Holding,
        ("investor_id", "fund_id", *HOLDING_AMOUNTS),
        ((i, f, *(v[a] for a in HOLDING_AMOUNTS)) for (i, f), v in state.holdings.items()),
        update=HOLDING_AMOUNTS,
    )
    Copyright.objects.bulk_create(
        (
            Copyright(
                pk=k,
                fund_id=v["fund_id"],
                code=v["code"],
                registration_number=v["registration_number"],
                music_id=v["music_id"],
                title=v["title"],
                artist=v["artist"],
                price=v["price"],
                acquired_at=_iso(v["acquired_at"]),
                mcpi_at_acquisition=Decimal(v["mcpi"]),
            )
            for k, v in state.copyrights.items()
        ),
    )
    McpiValue.objects.bulk_create(McpiValue(at=_iso(k), value=v) for k, v in state.mcpi.items())
    Royalty.objects.bulk_create(
        (
            Royalty(
                pk=k,
                fund_id=v["fund_id"],
                amount=v["amount"],
                recorded_at=_iso(v["recorded_at"]),
                distributed=v["distributed"],
            )
            for k, v in state.royalties.items()
        ),
    )
    if state.fee:
        FeeAccount.objects.create(balance=state.fee)
    adapt = connection.ops.adapt_datetimefield_value
    insert_rows(
        Order,
        ("id", *ORDER_FIELDS),
        (
            (k, *(v[f] for f in ORDER_FIELDS[:-1]), adapt(_iso(v["placed_at"])))
            for k, v in state.orders.items()
        ),
        update=ORDER_FIELDS,
    )
    insert_rows(
        Trade,
        ("id", *TRADE_FIELDS),
        (
            (k, *(v[f] for f in TRADE_FIELDS[:-1]), adapt(_iso(v["executed_at"])))
            for k, v in state.trades.items()
        ),
        update=TRADE_FIELDS,
    )
    _delete_missing(Trade, ("pk",), state.trades.keys())
    _delete_missing(Order, ("pk",), state.orders.keys())
    _delete_missing(Holding, ("investor_id", "fund_id"), state.holdings.keys())
    Market.objects.bulk_create(
        (
            Market(
                fund_id=k,
                last_price=v["last_price"],
                previous_close=v["previous_close"],
                day=date.fromisoformat(v["day"]) if v["day"] else None,
                day_value=v["day_value"],
            )
            for k, v in state.markets.items()
        ),
    )
    if state.breaker:
        CircuitBreaker.objects.create(
            pk=1,
            day=date.fromisoformat(state.breaker["day"]),
            levels_fired=state.breaker["levels_fired"],
            halted_until=_iso(state.breaker["halted_until"])
            if state.breaker["halted_until"]
            else None,
        )
