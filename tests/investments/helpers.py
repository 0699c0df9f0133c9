"""Invariant checks shared by the investments tests (SPEC §6)."""

from django.db.models import Sum

from investments import replay
from investments.models import Event, FeeAccount, Fund, Holding, Investor


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
    # 4. Nothing negative.
    assert not Investor.objects.filter(cash_available__lt=0).exists()
    assert not Fund.objects.filter(cash__lt=0).exists()
    assert not Holding.objects.filter(held__lt=0).exists()
    # 6. No gaps, and a replay gives exactly the projections.
    assert replay.audit() == []
