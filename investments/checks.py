"""What every ledger command checks first, how it says no, and the market's rules with this
site's settings."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from accounts.models import User

from .domain import rules
from .models import Fund, Market

MAX_AMOUNT = 10**15

# Messages of modules that raise them untranslated (translated by ``LedgerError``).
UNTRANSLATED = [
    gettext_noop("This form was already used. Reload the page and try again."),
]


class LedgerError(Exception):
    """A command refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, *, field: str | None = None):
        # A message is in the language of the request that raised it. One raised where Django's
        # translations are not used (the event store) is its English text, marked below, and is
        # translated here; translating an already translated message leaves it as it is.
        message = gettext(message)
        super().__init__(message)
        self.message = message
        self.field = field


def whole(value, *, field: str, noun: str = "number") -> int:
    """A whole number from 1 to ``MAX_AMOUNT`` (``noun``: "amount" or "number", for the message)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError(gettext("Enter a whole number."), field=field)
    amount = noun == "amount"
    if value <= 0:
        if amount:
            raise LedgerError(gettext("Enter an amount greater than zero."), field=field)
        raise LedgerError(gettext("Enter a number greater than zero."), field=field)
    if value > MAX_AMOUNT:
        if amount:
            raise LedgerError(gettext("That amount is too large."), field=field)
        raise LedgerError(gettext("That number is too large."), field=field)
    return value


def writer(user: User) -> None:
    if not user.can_write:
        raise LedgerError(gettext("Your account cannot move money right now."))


def staff(actor: User) -> None:
    if not actor.is_staff:
        raise LedgerError(gettext("Only staff can do this."))


def market_rules() -> rules.MarketRules:
    """``MARKET_TICK``, ``MARKET_FEE_RATE``, ``MARKET_PRICE_LIMIT`` and ``MARKET_CIRCUIT_BREAKER``
    (see ``config/settings.py``) as the domain's ``MarketRules``."""
    return rules.MarketRules(
        tick=settings.MARKET_TICK,
        fee_rate=Decimal(str(settings.MARKET_FEE_RATE)),
        limit_rate=Decimal(str(settings.MARKET_PRICE_LIMIT)),
        breaker=tuple((fall, minutes) for fall, minutes in settings.MARKET_CIRCUIT_BREAKER),
    )


def reference_price(market, fund) -> int:
    """The price today's limits are around: the fund's previous close, or its base price before
    any close (``market``: the fund's ``Market`` row, or None)."""
    return rules.reference_price(market.previous_close if market else None, fund.base_price)


def todays_prices(market, fund) -> tuple[int, int]:
    """The lowest and highest price an order may have today."""
    return market_rules().price_range(reference_price(market, fund))


def fund_market(fund_id, *, lock: bool = False) -> tuple[Fund, Market]:
    """The fund and its ``Market`` row (with ``lock``, locked; only a close changes it)."""
    if not isinstance(fund_id, int):
        raise LedgerError(gettext("No such fund."), field="fund")
    # Locked (a close), the fund is read apart: MariaDB would lock its row too.
    rows = Market.objects.select_for_update() if lock else Market.objects.select_related("fund")
    market = rows.filter(fund_id=fund_id).first()
    if market is None:  # the fund's first market command
        fund = Fund.objects.filter(pk=fund_id).first()
        if fund is None:
            raise LedgerError(gettext("No such fund."), field="fund")
        Market.objects.get_or_create(fund=fund)
        market = rows.get(fund=fund)
    return market.fund, market
