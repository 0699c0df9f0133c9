"""Every money and market rule, once.

Rounding (the only rule): NAV per share = fund value / shares outstanding, in Decimal, rounded
DOWN to 4 places. Cash derived from a NAV is whole: a subscription buys floor(amount / NAV)
shares and costs ceil(shares x NAV); a redemption pays floor(shares x NAV). Both round in the
fund's favour, so staying investors are never diluted. A fee is a fraction of the trade's value,
truncated to whole cash. Cost basis leaves a holding in proportion to the shares that leave
(floored; all of it with the last share).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

NAV_PLACES = Decimal("0.0001")
MCPI_PLACES = Decimal("0.0001")


# --- valuation ------------------------------------------------------------------------------------


def copyright_value(*, price: int, mcpi_acquired, mcpi_now: Decimal | None) -> Decimal:
    """A copyright is worth its price moved with the MCPI since it was bought (its price while no
    index is known)."""
    if mcpi_now is None:
        return Decimal(price)
    return Decimal(price) * Decimal(mcpi_now) / Decimal(mcpi_acquired)


def fund_value(cash: int, copyrights, mcpi_now: Decimal | None) -> Decimal:
    """Cash plus each copyright (``(price, mcpi_at_acquisition)`` pairs) at ``mcpi_now``."""
    total = Decimal(cash)
    for price, acquired in copyrights:
        total += copyright_value(price=price, mcpi_acquired=acquired, mcpi_now=mcpi_now)
    return total


def nav_per_share(*, fund_value: Decimal, shares: int, base_price: int) -> Decimal:
    if shares == 0:
        return Decimal(base_price).quantize(NAV_PLACES)
    return (Decimal(fund_value) / Decimal(shares)).quantize(NAV_PLACES, rounding=ROUND_DOWN)


def shares_for(amount: int, nav: Decimal) -> int:
    return int(Decimal(amount) // nav)


def cost_of(shares: int, nav: Decimal) -> int:
    return math.ceil(Decimal(shares) * nav)


def proceeds_of(shares: int, nav: Decimal) -> int:
    return math.floor(Decimal(shares) * nav)


def holding_value(shares: int, last_price: int | None, nav: Decimal) -> int:
    """What a holding is worth: its shares at the last trade price, at the NAV until the fund
    first trades."""
    return shares * last_price if last_price else proceeds_of(shares, nav)


def cost_released(*, cost_basis: int, shares_held: int, shares_leaving: int) -> int:
    """The cost basis that leaves a holding of ``shares_held`` with ``shares_leaving`` shares."""
    if shares_leaving >= shares_held:
        return cost_basis
    return cost_basis * shares_leaving // shares_held


def royalty_allocation(amount: int, holders: dict[str, int]) -> tuple[dict[str, int], int]:
    """Split ``amount`` pro rata over the holders of record (investor id → shares), floored; the
    remainder stays with the fund. Holders whose share rounds to 0 get no entry."""
    total = sum(holders.values())
    allocations = {}
    if total:
        for investor_id, held in holders.items():
            if share := amount * held // total:
                allocations[investor_id] = share
    return allocations, amount - sum(allocations.values())


# --- the market -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRules:
    """The market's settings (``MARKET_*`` in ``config/settings.py``)."""

    tick: int = 100
    fee_rate: Decimal = Decimal("0.01")
    limit_rate: Decimal = Decimal("0.30")
    # (fall in % from the previous day's close, minutes halted; None: the rest of the day)
    breaker: tuple[tuple[int, int | None], ...] = ((8, 20), (15, 20), (20, None))

    def fee(self, amount: int) -> int:
        """The fee on one side of a trade: a fraction of a cash is truncated."""
        return int((Decimal(amount) * self.fee_rate).to_integral_value(rounding=ROUND_DOWN))

    def on_tick(self, price: int) -> bool:
        return price % self.tick == 0

    def price_range(self, reference: int) -> tuple[int, int]:
        """Allowed prices: within ±limit of the reference, on the tick (at least one tick)."""
        t = self.tick
        low = Decimal(reference) * (1 - self.limit_rate)
        high = Decimal(reference) * (1 + self.limit_rate)
        return max(int(-((-low) // t)) * t, t), int(high // t) * t

    def buy_reservation(self, price: int, quantity: int) -> int:
        """What a buy order holds back: its value and the fee on it."""
        return price * quantity + self.fee(price * quantity)

    def breaker_level(self, fall_percent: Decimal, fired_today: int) -> int:
        """The level a fall reaches, when higher than what already fired today, else 0."""
        level = 0
        for n, (threshold, _) in enumerate(self.breaker, start=1):
            if fall_percent >= threshold:
                level = n
        return level if level > fired_today else 0

    def halt_end(self, level: int, local_moment: datetime) -> datetime:
        """When a halt of ``level`` fired at ``local_moment`` (aware, in the market's zone) ends."""
        minutes = self.breaker[level - 1][1]
        if minutes is None:
            next_day = local_moment + timedelta(days=1)
            return next_day.replace(hour=0, minute=0, second=0, microsecond=0)
        return local_moment + timedelta(minutes=minutes)


def reference_price(previous_close: int | None, base_price: int) -> int:
    """Today's price limits are around the previous close, or the base price before any close."""
    return previous_close or base_price


def fall_percent(previous_close: Decimal, value: Decimal) -> Decimal:
    return (previous_close - Decimal(value)) * 100 / previous_close


@dataclass(frozen=True)
class FillMoney:
    buyer_fee: int
    seller_fee: int
    spent: int  # taken from the buy order's reservation: value and the buyer's fee
    refund: int  # what the buy order no longer needs, back to the buyer when it completes


def fill_money(
    rules: MarketRules, *, price: int, quantity: int, buy_remaining: int, buy_reserved: int
) -> FillMoney:
    """The cash of one fill of ``quantity`` at ``price`` (``buy_*``: the buy order before it)."""
    value = price * quantity
    buyer_fee = seller_fee = rules.fee(value)
    spent = value + buyer_fee
    return FillMoney(
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
        spent=spent,
        refund=buy_reserved - spent if quantity == buy_remaining else 0,
    )


@dataclass(frozen=True)
class TradeTerms(FillMoney):
    cost_released: int  # the seller's cost basis leaving with the shares


def trade_terms(
    rules: MarketRules,
    *,
    price: int,
    quantity: int,
    buy_remaining: int,
    buy_reserved: int,
    seller_basis: int,
    seller_shares: int,
) -> TradeTerms:
    """The money of one fill of ``quantity`` at ``price``: ``buy_*`` is the buy order before the
    fill, ``seller_*`` the seller's holding (cost basis, shares held and reserved)."""
    money = fill_money(
        rules,
        price=price,
        quantity=quantity,
        buy_remaining=buy_remaining,
        buy_reserved=buy_reserved,
    )
    return TradeTerms(
        **vars(money),
        cost_released=cost_released(
            cost_basis=seller_basis, shares_held=seller_shares, shares_leaving=quantity
        ),
    )
