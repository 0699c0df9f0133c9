"""Invariant checks shared by the investments tests (SPEC §6)."""

from datetime import datetime

from django.db.models import Sum

from investments import checks, replay
from investments.models import Event, FeeAccount, Fund, Holding, Investor, Order


def _sum(events, type_, key):
    return sum(e.payload[key] for e in events if e.type == type_)


def assert_invariants():
    events = list(Event.objects.all())
    # 1. Cash is conserved (acquisitions pay cash out to the copyright's seller).
    inside = (
        (Investor.objects.aggregate(s=Sum("cash_available"))["s"] or 0)
        + (Investor.objects.aggregate(s=Sum("cash_reserved"))["s"] or 0)
        + (Fund.objects.aggregate(s=Sum("cash"))["s"] or 0)
        + (Fund.objects.aggregate(s=Sum("royalties_pending"))["s"] or 0)
        + sum(f.balance for f in FeeAccount.objects.all())
    )
    outside = (
        _sum(events, "cash_deposited", "amount")
        - _sum(events, "cash_withdrawn", "amount")
        + _sum(events, "royalty_received", "amount")
        - _sum(events, "copyright_acquired", "price")
    )
    assert inside == outside
    # 2. Shares per fund.
    for fund in Fund.objects.all():
        held = Holding.objects.filter(fund=fund).aggregate(h=Sum("held"), r=Sum("reserved"))
        issued = sum(
            e.payload["shares"]
            for e in events
            if e.type == "shares_subscribed" and e.payload["fund_id"] == fund.pk
        )
        redeemed = sum(
            e.payload["shares"]
            for e in events
            if e.type == "shares_redeemed" and e.payload["fund_id"] == fund.pk
        )
        assert (held["h"] or 0) + (held["r"] or 0) == fund.shares_outstanding
        assert fund.shares_outstanding == issued - redeemed
    # 3. Reserved cash and shares are exactly what the open orders still need.
    for investor in Investor.objects.all():
        buys = Order.objects.filter(investor=investor, side="buy", status="open")
        assert investor.cash_reserved == sum(o.cash_reserved for o in buys)
        for o in buys:
            need = o.price * o.remaining
            assert o.cash_reserved >= need + checks.market_rules().fee(need)
    assert not Order.objects.exclude(status="open").exclude(cash_reserved=0).exists()
    for holding in Holding.objects.all():
        sells = Order.objects.filter(
            investor=holding.investor, fund=holding.fund, side="sell", status="open"
        )
        assert holding.reserved == sum(o.remaining for o in sells)
    # 5. Every trade: one price on both sides, on the tick, inside the limit, not in a halt.
    halts = [
        (datetime.fromisoformat(e.payload["at"]), datetime.fromisoformat(e.payload["until"]))
        for e in events
        if e.type == "market_halted"
    ]
    for e in events:
        if e.type != "trade_executed":
            continue
        p = e.payload
        assert p["buy_price"] == p["sell_price"] == p["price"]
        assert p["price"] % checks.market_rules().tick == 0
        assert p["low"] <= p["price"] <= p["high"]
        assert not any(start <= e.occurred_at < end for start, end in halts)
    # 4. Nothing negative.
    assert not Investor.objects.filter(cash_available__lt=0).exists()
    assert not Fund.objects.filter(cash__lt=0).exists()
    assert not Holding.objects.filter(held__lt=0).exists()
    assert not Holding.objects.filter(reserved__lt=0).exists()
    assert not Investor.objects.filter(cash_reserved__lt=0).exists()
    assert not Order.objects.filter(remaining__lt=0).exists()
    # 6. No gaps, and a replay gives exactly the projections.
    assert replay.audit() == []
