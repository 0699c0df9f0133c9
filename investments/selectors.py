"""Read queries for the investments pages. Portfolios and fund figures are computed from a
``ledger.State`` — the live projections or a replay up to a past moment — by the same code, so the
past page shows exactly what the live page showed then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from . import ledger, replay, services
from .models import Event, Fund, Holding, Investor, McpiValue


@dataclass
class HoldingRow:
    fund_id: int
    fund_name: str
    shares: int
    average_cost: Decimal
    nav: Decimal
    valuation: int
    cost_basis: int
    gain: int
    gain_percent: Decimal | None
    price: Decimal | int | None = None  # the last trade price, or the NAV before any trade


@dataclass
class Portfolio:
    moment: datetime
    available: int
    reserved: int
    holdings: list[HoldingRow]
    valuation: int
    cost_basis: int
    gain: int
    gain_percent: Decimal | None
    total: int

    @property
    def deposit(self) -> int:
        """예치금: cash available + cash reserved for open buy orders."""
        return self.available + self.reserved


def _percent(gain: int, base: int) -> Decimal | None:
    if not base:
        return None
    return (Decimal(gain) * 100 / Decimal(base)).quantize(Decimal("0.01"))


def portfolio_from_state(state: ledger.State, investor_id: int, moment: datetime) -> Portfolio:
    account = state.investors.get(investor_id, {"available": 0, "reserved": 0})
    rows = []
    for (inv, fund_id), h in sorted(state.holdings.items()):
        shares = h["held"] + h["reserved"]
        if inv != investor_id or shares == 0:
            continue
        nav = state.nav(fund_id, moment)
        last = state.markets.get(fund_id, {}).get("last_price")
        # Valuation = shares x current (last trade) price; the NAV until the fund first trades.
        valuation = shares * last if last else ledger.proceeds_of(shares, nav)
        gain = valuation - h["cost_basis"]
        rows.append(
            HoldingRow(
                fund_id=fund_id,
                fund_name=state.funds[fund_id]["name"],
                shares=shares,
                average_cost=(Decimal(h["cost_basis"]) / shares).quantize(Decimal("0.01")),
                nav=nav,
                valuation=valuation,
                cost_basis=h["cost_basis"],
                gain=gain,
                gain_percent=_percent(gain, h["cost_basis"]),
                price=last or nav,
            )
        )
    valuation = sum(r.valuation for r in rows)
    cost = sum(r.cost_basis for r in rows)
    return Portfolio(
        moment=moment,
        available=account["available"],
        reserved=account["reserved"],
        holdings=rows,
        valuation=valuation,
        cost_basis=cost,
        gain=valuation - cost,
        gain_percent=_percent(valuation - cost, cost),
        total=account["available"] + account["reserved"] + valuation,
    )


def portfolio(*, investor: Investor, at: datetime | None = None) -> Portfolio:
    """Live (``at`` None) from the projections, or rebuilt from the events up to ``at``."""
    if at is None:
        return portfolio_from_state(
            replay.live_state(investor_id=investor.pk), investor.pk, timezone.now()
        )
    state = replay.portfolio_state(investor_id=investor.pk, until=at)
    return portfolio_from_state(state, investor.pk, at)


@dataclass
class FundRow:
    fund: Fund
    nav: Decimal
    previous_nav: Decimal | None
    change_percent: Decimal | None


def mcpi_series(limit: int = 800) -> list[McpiValue]:
    return list(McpiValue.objects.order_by("-at")[:limit])[::-1]


def fund_list() -> tuple[list[FundRow], McpiValue | None, McpiValue | None]:
    series = mcpi_series(2)
    latest = series[-1] if series else None
    previous = series[-2] if len(series) > 1 else None
    rows = []
    for fund in Fund.objects.prefetch_related("copyrights"):
        nav = services.fund_nav(fund)
        before = services.fund_nav(fund, previous.at) if previous else None
        change = ((nav - before) * 100 / before).quantize(Decimal("0.01")) if before else None
        rows.append(FundRow(fund=fund, nav=nav, previous_nav=before, change_percent=change))
    return rows, latest, previous


def fund_detail(*, fund: Fund) -> dict:
    moment = timezone.now()
    mcpi = services.mcpi_at(moment)
    copyrights = []
    for c in fund.copyrights.all():
        now = mcpi if mcpi is not None else c.mcpi_at_acquisition
        copyrights.append(
            (
                c,
                ledger.copyright_value(
                    price=c.price, mcpi_now=now, mcpi_acquired=c.mcpi_at_acquisition
                ).quantize(Decimal(1)),
            )
        )
    everything = mcpi_series()
    # From the last value known when the fund opened, onwards.
    start = max((i for i, m in enumerate(everything) if m.at <= fund.created_at), default=0)
    series = everything[start:]
    nav_series = [(m.at, services.fund_nav(fund, m.at)) for m in series[-60:]]
    return {
        "fund": fund,
        "nav": services.fund_nav(fund, moment),
        "value": services.fund_value(fund, moment).quantize(Decimal(1)),
        "copyrights": copyrights,
        "holders": Holding.objects.filter(fund=fund, held__gt=0).count(),
        "mcpi_chart": chart([(m.at, m.value) for m in series]),
        "nav_chart": chart(nav_series),
    }


def chart(points, width: int = 600, height: int = 160) -> dict | None:
    """Server-rendered SVG polyline for (moment, value) points."""
    if len(points) < 2:
        return None
    values = [Decimal(v) for _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = Decimal(width) / (len(points) - 1)
    pad = Decimal(6)  # keep the line's stroke inside the box at the lowest and highest values
    coords = " ".join(
        f"{float(step * i):.1f},{float(height - pad - (v - low) * (height - 2 * pad) / span):.1f}"
        for i, v in enumerate(values)
    )
    return {
        "points": coords,
        "width": width,
        "height": height,
        "low": low,
        "high": high,
        "first": points[0][0],
        "last": points[-1][0],
    }


DESCRIPTIONS = {
    "investor_registered": "You opened an investor account.",
    "cash_deposited": "You deposited {amount:,}.",
    "cash_withdrawn": "You withdrew {amount:,}.",
    "shares_subscribed": "You bought {shares:,} shares of {fund} at {nav} for {cost:,}.",
    "shares_redeemed": "You redeemed {shares:,} shares of {fund} at {nav} for {proceeds:,}.",
    "royalty_distributed": "You received {mine:,} in royalties from {fund}.",
}


def history(*, investor: Investor, before: int | None = None, size: int = 25):
    """Every event touching the investor, newest first, keyset-paginated by sequence."""
    mine = Event.objects.filter(stream=f"investor-{investor.pk}") | Event.objects.filter(
        type="royalty_distributed", payload__allocations__has_key=str(investor.pk)
    )
    if before:
        mine = mine.filter(sequence__lt=before)
    events = list(mine.order_by("-sequence")[: size + 1])
    more = len(events) > size
    events = events[:size]
    names = dict(Fund.objects.values_list("pk", "name"))
    rows = []
    for e in events:
        p = dict(e.payload)
        p["fund"] = names.get(p.get("fund_id"), "a fund")
        p["mine"] = p.get("allocations", {}).get(str(investor.pk), 0)
        text = DESCRIPTIONS.get(e.type, e.type.replace("_", " ")).format(**p)
        rows.append((e, text))
    return rows, (events[-1].sequence if more else None)


def describe(event: Event) -> str:
    p = dict(event.payload)
    p["fund"] = Fund.objects.filter(pk=p.get("fund_id")).values_list("name", flat=True).first()
    p["mine"] = 0
    return DESCRIPTIONS.get(event.type, event.type.replace("_", " ")).format(**p)


# --- the market -----------------------------------------------------------------------------------


def market_page(*, fund: Fund, investor: Investor | None) -> dict:
    from django.db.models import Count, Sum

    from . import market as market_rules
    from .models import Market, Order, Trade

    row = Market.objects.filter(fund=fund).first()
    open_orders = Order.objects.filter(fund=fund, status=Order.Status.OPEN)
    levels = (
        open_orders.values("side", "price")
        .annotate(quantity=Sum("remaining"), orders=Count("id"))
        .order_by("-price")
    )
    asks = [lv for lv in levels if lv["side"] == "sell"]
    bids = [lv for lv in levels if lv["side"] == "buy"]
    latest = list(Trade.objects.filter(fund=fund).order_by("-executed_at", "-id")[:60])
    trades, history = latest[:20], latest[::-1]
    last = row.last_price if row else None
    previous = row.previous_close if row else None
    change = None
    if last is not None and previous:
        change = (Decimal(last - previous) * 100 / previous).quantize(Decimal("0.01"))
    today = timezone.localdate()
    low, high = market_rules.price_range(market_rules.reference_price(row, fund))
    return {
        "fund": fund,
        "market": row,
        "last_price": last,
        "previous_close": previous,
        "change": change,
        "day_value": row.day_value if row and row.day == today else 0,
        "asks": asks,
        "bids": bids,
        "trades": trades,
        "price_chart": chart([(t.executed_at, t.price) for t in history]),
        "mine": list(open_orders.filter(investor=investor)) if investor else [],
        "halted_until": market_rules.halted_until(),
        "low": low,
        "high": high,
    }
