"""Read queries for the investments pages. Portfolios and fund figures are computed from a
``State`` — the live projections or a replay up to a past moment — by the same code, so the
past page shows exactly what the live page showed then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from config.db import select_rows

from . import charts, checks, circuit, formatting, postings, replay, services
from .domain import events, rules
from .domain.state import State
from .models import (
    Event,
    Fund,
    Holding,
    Investor,
    Market,
    MatcherCheckpoint,
    McpiValue,
    Order,
    Posting,
    Trade,
)


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


def portfolio_from_state(state: State, investor_id: int, moment: datetime) -> Portfolio:
    account = state.investors.get(investor_id, {"available": 0, "reserved": 0})
    rows = []
    for (inv, fund_id), h in sorted(state.holdings.items()):
        shares = h["held"] + h["reserved"]
        if inv != investor_id or shares == 0:
            continue
        nav = state.nav(fund_id, moment)
        last = state.markets.get(fund_id, {}).get("last_price")
        valuation = rules.holding_value(shares, last, nav)
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


def fund_detail(*, fund: Fund, range_key: str | None = None) -> dict:
    """The fund's figures and its NAV and MCPI charts over one range (``?range=``: 1m, 3m, 1y,
    all; anything else is the default), on the same time axis so the two read side by side."""
    moment = timezone.now()
    mcpi = services.mcpi_at(moment)
    copyrights = []
    for c in fund.copyrights.all():
        value = rules.copyright_value(
            price=c.price, mcpi_acquired=c.mcpi_at_acquisition, mcpi_now=mcpi
        )
        copyrights.append((c, value.quantize(Decimal(1))))
    shown = charts.period(range_key, first=fund.created_at, end=moment)
    return {
        "fund": fund,
        "nav": services.fund_nav(fund, moment),
        "value": services.fund_value(fund, moment).quantize(Decimal(1)),
        "copyrights": copyrights,
        "holders": Holding.objects.filter(fund=fund, held__gt=0).count(),
        "period": shown,
        **fund_charts(fund=fund, shown=shown),
    }


def fund_charts(*, fund: Fund, shown: charts.Period) -> dict:
    """The NAV as it was (the fund's cash, shares and copyrights then, at the MCPI then) at the
    range's start, at each MCPI value in it and now, and the MCPI itself: two charts with the
    same bounds and the same plot width."""
    series = replay.mcpi_between(shown.start, shown.end)
    # The value in effect when the range starts is drawn at its start.
    mcpi_points = charts.thin([charts.Point(max(at, shown.start), value) for at, value in series])
    moments = sorted({shown.start, shown.end, *(p.at for p in mcpi_points)})
    moments = [p.at for p in charts.thin([charts.Point(at, 0) for at in moments])]
    states = replay.fund_states(fund_ids=[fund.pk], moments=moments, mcpi=series)
    nav_points = [
        charts.Point(at, state.nav(fund.pk, at)) for at, state in zip(moments, states, strict=True)
    ]
    room = max(charts.room_for(nav_points, "nav"), charts.room_for(mcpi_points, "index"))
    bounds = {"start": shown.start, "end": shown.end, "room": room}
    return {
        "nav_chart": charts.build(nav_points, label="NAV", kind="nav", **bounds),
        "mcpi_chart": charts.build(mcpi_points, label="MCPI", kind="index", **bounds),
    }


VALUE_SECONDS = 600  # how long a past moment's total is kept (a write dated in the past is rare)
VALUE_SETTLED = timedelta(minutes=5)  # moments closer to now may still see writes committing


def portfolio_chart(
    *, investor: Investor, since: datetime | None, portfolio: Portfolio, range_key: str | None
) -> tuple[charts.Chart | None, charts.Period | None]:
    """The investor's total (cash, and holdings valued as the portfolio values them) over the
    range, from when the account opened (``since``) at most, up to the portfolio's moment (now,
    or the past moment shown): the total at up to sixty moments on a round grid, each rebuilt
    from the postings as time travel rebuilds one (``replay.portfolio_totals``: a fixed number of
    statements for all of them) and kept a while, and the portfolio's own total last."""
    end = portfolio.moment
    if since is None or since > end:
        return None, None
    shown = charts.period(range_key, first=since, end=end)
    moments = ([since] if shown.start == since else []) + charts.grid(shown.start, end)
    keys = {at: f"investments:value:{investor.pk}:{at.timestamp()}" for at in moments}
    known = cache.get_many(list(keys.values())) if keys else {}
    missing = [at for at in moments if keys[at] not in known]
    if missing:
        settled = timezone.now() - VALUE_SETTLED
        totals = replay.portfolio_totals(investor_id=investor.pk, moments=missing, settled=settled)
        worked = dict(zip(missing, totals, strict=True))
        cache.set_many({keys[at]: v for at, v in worked.items() if at <= settled}, VALUE_SECONDS)
        known.update({keys[at]: v for at, v in worked.items()})
    points = [charts.Point(at, known[keys[at]]) for at in moments]
    points.append(charts.Point(end, portfolio.total))
    label = gettext("Total value")
    flows = net_deposits(investor_id=investor.pk, after=points[0].at, until=end)
    return charts.build(points, label=label, start=shown.start, end=end, flows=flows), shown


def net_deposits(*, investor_id: int, after: datetime, until: datetime) -> int:
    """What the investor deposited less what they withdrew after ``after`` up to ``until``:
    money moved in or out, which no chart counts as a gain."""
    moved = Event.objects.filter(
        stream=events.investor_stream(investor_id),
        type__in=[events.CASH_DEPOSITED, events.CASH_WITHDRAWN],
        occurred_at__gt=after,
        occurred_at__lte=until,
    ).values_list("type", "payload")
    return sum(p["amount"] if t == events.CASH_DEPOSITED else -p["amount"] for t, p in moved)


# "My history" in words: the payload's fields fill the braces (translators keep them as they are).
DESCRIPTIONS = {
    "investor_registered": _("You opened an investor account."),
    "cash_deposited": _("You deposited {amount}."),
    "cash_withdrawn": _("You withdrew {amount}."),
    "shares_subscribed": _("You bought {shares} of {fund} at {nav} for {cost}."),
    "shares_redeemed": _("You redeemed {shares} of {fund} at {nav} for {proceeds}."),
    "royalty_distributed": _("You received {mine} in royalties from {fund}."),
    "order_placed": _("You placed an order to {side} {quantity} of {fund} at {price}."),
    "bought": _("You bought {quantity} of {fund} at {price} on the market (fee {buyer_fee})."),
    "sold": _("You sold {quantity} of {fund} at {price} on the market (fee {seller_fee})."),
    "order_cancelled": _("You cancelled your order to {side} at {price} in {fund}."),
    "market_halted": _(
        "Trading halted until {until_local:%H:%M} after the MCPI fell {fall}%; "
        "your open orders waited."
    ),
}
# The payload's fields that are won, shown as the money pages show them (12,300원).
MONEY_FIELDS = {"amount", "cost", "proceeds", "mine", "price", "buyer_fee", "seller_fee"}
SHARE_FIELDS = {"shares", "quantity"}  # 3주, "3 shares" (one share: "1 share")
# An order's side as a verb in those sentences ("to buy", "매수").
SIDES = {
    "buy": pgettext_lazy("order side, verb", "buy"),
    "sell": pgettext_lazy("order side, verb", "sell"),
}


@dataclass
class Quote:
    """What a subscription or redemption would do now, shown before the investor confirms: the
    same rules the command applies (``rules.shares_for`` / ``cost_of`` / ``proceeds_of``)."""

    fund: Fund
    nav: Decimal
    cash: int  # available
    held: int  # free shares of this fund
    amount: int | None = None  # subscribe: the won typed
    shares: int | None = None  # subscribe: the shares it buys; redeem: the shares typed
    cost: int | None = None  # subscribe: what those shares cost
    proceeds: int | None = None  # redeem: what they pay

    @property
    def change(self) -> int | None:
        """Subscribe: the part of the amount that stays as cash."""
        return None if self.cost is None else self.amount - self.cost


def quote(
    *, investor: Investor | None, fund: Fund, amount: int | None = None, shares: int | None = None
) -> Quote:
    nav = services.fund_nav(fund)
    held = (
        Holding.objects.filter(investor=investor, fund=fund).values_list("held", flat=True).first()
        if investor
        else None
    )
    result = Quote(
        fund=fund, nav=nav, cash=investor.cash_available if investor else 0, held=held or 0
    )
    if amount and nav > 0:
        result.amount, result.shares = amount, rules.shares_for(amount, nav)
        result.cost = rules.cost_of(result.shares, nav)
    elif shares:
        result.shares, result.proceeds = shares, rules.proceeds_of(shares, nav)
    return result


def opened_at(investor: Investor) -> datetime | None:
    """When the investor's account opened: the moment of its first event."""
    return (
        Event.objects.filter(stream=events.investor_stream(investor.pk), version=1)
        .values_list("occurred_at", flat=True)
        .first()
    )


def history(*, investor: Investor, before: int | None = None, size: int = 25):
    """Every event that touched the investor — their own stream, every event that moved their
    cash or shares (orders, trades, cancels, royalties: their postings) and the halts that found
    them with open orders — newest first by the time it occurred, keyset-paginated after the
    event numbered ``before``."""
    own = Event.objects.filter(stream=events.investor_stream(investor.pk))
    # (postings are read on the primary with their watermark: ``postings.settled``)
    touched = Posting.objects.using(DEFAULT_DB_ALIAS).filter(investor_id=investor.pk)
    halts = Event.objects.filter(stream=events.CIRCUIT_STREAM, type=events.MARKET_HALTED)
    cursor = None
    if before:
        cursor = Event.objects.filter(sequence=before).values_list("occurred_at", flat=True).first()
        if cursor is not None:
            older = Q(occurred_at__lt=cursor) | Q(occurred_at=cursor, sequence__lt=before)
            own, touched, halts = own.filter(older), touched.filter(older), halts.filter(older)
    newest = ("-occurred_at", "-sequence")
    keys = set(own.order_by(*newest).values_list("occurred_at", "sequence")[: size + 1])
    posted, tail = postings.settled(
        lambda: set(
            touched.order_by(*newest).values_list("occurred_at", "sequence")[: 2 * size + 2]
        )
    )
    keys |= posted
    keys |= {
        (at, sequence)
        for sequence, at, investor_id, *_ in tail.holders
        if investor_id == investor.pk and (cursor is None or (at, sequence) < (cursor, before))
    }
    keys |= {
        (at, sequence)
        for at, sequence in halts.order_by(*newest).values_list("occurred_at", "sequence")[:size]
        if _had_open_orders(investor.pk, at)
    }
    page = sorted(keys, reverse=True)[: size + 1]
    found = Event.objects.in_bulk([sequence for _, sequence in page], field_name="sequence")
    rows = [found[sequence] for _, sequence in page]
    more = len(rows) > size
    rows = rows[:size]
    names = dict(Fund.objects.values_list("pk", "name"))
    prices = _order_prices([e for e in rows if e.type == events.ORDER_CANCELLED])
    described = [(e, _describe_for(e, investor.pk, names, prices)) for e in rows]
    return described, (rows[-1].sequence if more else None)


def _had_open_orders(investor_id: int, moment: datetime) -> bool:
    """Whether anything of the investor's was reserved for orders at ``moment`` (their postings)."""
    held, tail = postings.settled(
        lambda: (
            Posting.objects.using(DEFAULT_DB_ALIAS)
            .filter(investor_id=investor_id, occurred_at__lte=moment)
            .aggregate(cash=Sum("reserved", default=0), shares=Sum("held_reserved", default=0))
        ),
        until=moment,
    )
    mine = [dict(zip(postings.POSTING_COLUMNS, row, strict=True)) for row in tail.holders]
    mine = [row for row in mine if row["investor_id"] == investor_id]
    cash = held["cash"] + sum(row["reserved"] for row in mine)
    shares = held["shares"] + sum(row["held_reserved"] for row in mine)
    return bool(cash or shares)


def _order_prices(cancels: list[Event]) -> dict[int, int]:
    """The price of each cancelled order (a cancel's payload has none)."""
    ids = [e.payload["order_id"] for e in cancels]
    return dict(Order.objects.filter(pk__in=ids).values_list("pk", "price")) if ids else {}


def _describe_for(event: Event, investor_id: int | None, names: dict, prices: dict) -> str:
    p = dict(event.payload)
    p["fund"] = names.get(p.get("fund_id")) or gettext("a fund")
    if "side" in p:
        p["side"] = SIDES.get(p["side"], p["side"])
    p["mine"] = p.get("allocations", {}).get(str(investor_id), 0)
    kind = event.type
    if kind == events.TRADE_EXECUTED:
        kind = "bought" if p["buyer_id"] == investor_id else "sold"
    elif kind == events.ORDER_CANCELLED:
        p["price"] = prices.get(p["order_id"], 0)
    elif kind == events.MARKET_HALTED:
        p["until_local"] = timezone.localtime(events.read_moment(p["until"]))
    for field in MONEY_FIELDS & p.keys():
        p[field] = formatting.won(p[field])
    for field in SHARE_FIELDS & p.keys():
        p[field] = formatting.shares(p[field])
    if "nav" in p:
        p["nav"] = formatting.nav(Decimal(p["nav"]))
    return str(DESCRIPTIONS.get(kind, kind.replace("_", " "))).format(**p)


def describe(event: Event) -> str:
    """What a money form just did, in the words of "My history"."""
    fund_id = event.payload.get("fund_id")
    names = dict(Fund.objects.filter(pk=fund_id).values_list("pk", "name")) if fund_id else {}
    actor = Investor.objects.filter(user_id=event.actor_id).values_list("pk", flat=True).first()
    return _describe_for(event, actor, names, {})


# --- the market -----------------------------------------------------------------------------------


BOOK_SECONDS = 300  # a book the matcher has moved on from is never read again: its key is gone


def _book(fund: Fund) -> dict:
    """The fund's price levels and latest trades (the price chart's too). Only the fund's
    matcher changes them, and each batch it writes gives the fund's checkpoint a new random
    ``version``: cached under that version, they are read from the tables once per batch, not
    once per page (the page polls every two seconds), and never shown stale."""
    version = select_rows(MatcherCheckpoint, ["version"], where={"fund_id": fund.pk})
    key = f"investments:book2:{fund.pk}:{version[0][0]}" if version else None  # None: no order yet
    if key and (book := cache.get(key)) is not None:
        return book
    levels = (
        Order.objects.filter(fund=fund, status=Order.Status.OPEN)
        .values("side", "price")
        .annotate(quantity=Sum("remaining"), orders=Count("id"))
        .order_by("-price")
    )
    latest = list(Trade.objects.filter(fund=fund).order_by("-executed_at", "-id")[:60])
    book = {
        "asks": [lv for lv in levels if lv["side"] == "sell"],
        "bids": [lv for lv in levels if lv["side"] == "buy"],
        "trades": latest[:20],
        # The chart's labels are in the reader's language: it is drawn per page from these.
        "chart_trades": [(t.executed_at, t.price, t.quantity) for t in latest[::-1]],
    }
    if key:
        cache.set(key, book, BOOK_SECONDS)
    return book


@dataclass
class OrderQuote:
    """What an order would hold back or pay, shown while it is typed, by the rules the matcher
    applies (``MarketRules.fee`` / ``buy_reservation`` / ``price_range``)."""

    side: str
    price: int
    quantity: int
    value: int  # price x quantity
    fee: int
    total: int  # buy: the cash the order holds back; sell: the cash a full fill pays
    short: int  # buy: the cash missing; sell: the shares missing (0: enough)
    off_tick: bool
    outside: bool  # outside today's price range


def order_quote(
    *, market: dict, side: str, price: int | None, quantity: int | None
) -> OrderQuote | None:
    """``market``: the order's facts from ``market_page`` (cash, free shares, today's range)."""
    if not (price and quantity):
        return None
    terms = checks.market_rules()
    value = price * quantity
    fee = terms.fee(value)
    if side == "buy":
        total = terms.buy_reservation(price, quantity)
        short = max(total - (market["cash"] or 0), 0)
    else:
        total = value - fee
        short = max(quantity - (market["free_shares"] or 0), 0)
    return OrderQuote(
        side=side,
        price=price,
        quantity=quantity,
        value=value,
        fee=fee,
        total=total,
        short=short,
        off_tick=not terms.on_tick(price),
        outside=not market["low"] <= price <= market["high"],
    )


def order_facts(*, fund: Fund, investor: Investor | None, row=...) -> dict:
    """What the order form shows beside it: your cash and free shares, today's price range, the
    tick and the fee — read apart from the book, so the live preview stays cheap (``row``: the
    fund's ``Market`` row when the caller has read it, None when there is none yet)."""
    terms = checks.market_rules()
    if row is ...:
        row = Market.objects.filter(fund=fund).first()
    low, high = checks.todays_prices(row, fund)
    free = (
        Holding.objects.filter(investor=investor, fund=fund).values_list("held", flat=True).first()
        if investor
        else None
    )
    return {
        "cash": investor.cash_available if investor else None,
        "free_shares": free or 0,
        "low": low,
        "high": high,
        "tick": terms.tick,
        "fee_percent": terms.fee_rate * 100,
    }


def market_page(*, fund: Fund, investor: Investor | None, with_chart: bool = True) -> dict:
    """The market page's figures; ``with_chart``: and its price and volume chart (the polled
    parts leave it out)."""
    row = Market.objects.filter(fund=fund).first()
    open_orders = Order.objects.filter(fund=fund, status=Order.Status.OPEN)
    book = _book(fund)
    last = row.last_price if row else None
    previous = row.previous_close if row else None
    change = None
    if last is not None and previous:
        change = (Decimal(last - previous) * 100 / previous).quantize(Decimal("0.01"))
    today = timezone.localdate()
    facts = order_facts(fund=fund, investor=investor, row=row)
    price_chart = None
    if with_chart:
        points, step, start, end = charts.buckets(book["chart_trades"])
        label = gettext("Trade price")
        price_chart = charts.build(points, label=label, start=start, end=end, step=step)
    return {
        "fund": fund,
        "market": row,
        "last_price": last,
        "previous_close": previous,
        "change": change,
        "day_value": row.day_value if row and row.day == today else 0,
        **book,
        "price_chart": price_chart,
        "mine": list(open_orders.filter(investor=investor)) if investor else [],
        "halted_until": circuit.halted_until(),
        "order_facts": facts,
        "low": facts["low"],
        "high": facts["high"],
    }
