"""Every event type, the fields its payload carries, its stream, and one codec for the values
JSON has no type for (moments as ISO 8601 with offset, decimals as strings).

Payloads carry every computed number, so replaying never recomputes a rule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

INVESTOR_REGISTERED = "investor_registered"
CASH_DEPOSITED = "cash_deposited"
CASH_WITHDRAWN = "cash_withdrawn"
FUND_CREATED = "fund_created"
COPYRIGHT_ACQUIRED = "copyright_acquired"
MCPI_RECORDED = "mcpi_recorded"
SHARES_SUBSCRIBED = "shares_subscribed"
SHARES_REDEEMED = "shares_redeemed"
ROYALTY_RECEIVED = "royalty_received"
ROYALTY_DISTRIBUTED = "royalty_distributed"
ORDER_PLACED = "order_placed"
TRADE_EXECUTED = "trade_executed"
ORDER_CANCELLED = "order_cancelled"
MARKET_HALTED = "market_halted"
MARKET_RESUMED = "market_resumed"
MARKET_CLOSED = "market_closed"

# The fields of each type's payload (all required; no others).
FIELDS: dict[str, frozenset[str]] = {
    INVESTOR_REGISTERED: frozenset({"investor_id", "user_id"}),
    CASH_DEPOSITED: frozenset({"investor_id", "amount"}),
    CASH_WITHDRAWN: frozenset({"investor_id", "amount"}),
    FUND_CREATED: frozenset({"fund_id", "name", "base_price", "created_at"}),
    COPYRIGHT_ACQUIRED: frozenset(
        {
            "fund_id",
            "copyright_id",
            "code",
            "registration_number",
            "music_id",
            "title",
            "artist",
            "price",
            "acquired_at",
            "mcpi",
        }
    ),
    MCPI_RECORDED: frozenset({"at", "value"}),
    SHARES_SUBSCRIBED: frozenset({"investor_id", "fund_id", "amount", "shares", "cost", "nav"}),
    SHARES_REDEEMED: frozenset(
        {"investor_id", "fund_id", "shares", "proceeds", "nav", "cost_released"}
    ),
    ROYALTY_RECEIVED: frozenset({"royalty_id", "fund_id", "amount", "recorded_at", "holders"}),
    ROYALTY_DISTRIBUTED: frozenset({"royalty_id", "fund_id", "amount", "allocations", "remainder"}),
    ORDER_PLACED: frozenset(
        {
            "order_id",
            "investor_id",
            "fund_id",
            "side",
            "price",
            "quantity",
            "cash_reserved",
            "placed_at",
            "sequence",
        }
    ),
    TRADE_EXECUTED: frozenset(
        {
            "trade_id",
            "fund_id",
            "buy_order_id",
            "sell_order_id",
            "buyer_id",
            "seller_id",
            "buy_price",
            "sell_price",
            "price",
            "quantity",
            "buyer_fee",
            "seller_fee",
            "spent",
            "refund",
            "cost_released",
            "low",
            "high",
            "day",
            "at",
        }
    ),
    ORDER_CANCELLED: frozenset(
        {"order_id", "investor_id", "fund_id", "side", "cash_released", "shares_released"}
    ),
    MARKET_HALTED: frozenset({"level", "day", "fall", "at", "until"}),
    MARKET_RESUMED: frozenset({"at", "halted_until"}),
    MARKET_CLOSED: frozenset({"fund_id", "day", "close"}),
}

TYPES = frozenset(FIELDS)
MARKET_TYPES = frozenset(
    {ORDER_PLACED, TRADE_EXECUTED, ORDER_CANCELLED, MARKET_HALTED, MARKET_RESUMED, MARKET_CLOSED}
)


# The order and the trade an event makes take that event's sequence as their id: unique without
# reading the table's last id under a lock (they are the market's hot path). A command leaves these
# fields None; the event store fills them in when it numbers the event (``numbered``).
NUMBERED: dict[str, tuple[str, ...]] = {
    ORDER_PLACED: ("order_id", "sequence"),
    TRADE_EXECUTED: ("trade_id",),
}


# Within one batch an event may refer to an order placed by an earlier event of the same batch,
# before either is numbered: by -(that event's index in the batch + 1) (the matcher's batches).
REFERENCES: dict[str, tuple[str, ...]] = {
    TRADE_EXECUTED: ("buy_order_id", "sell_order_id"),
    ORDER_CANCELLED: ("order_id",),
}


def placeholder(index: int) -> int:
    """The id a batch's events use for the order its event at ``index`` places."""
    return -(index + 1)


def numbered(type_: str, payload: dict, sequence: int, first: int | None = None) -> dict:
    """``payload`` with the ids it takes from its event's ``sequence`` filled in, and (``first``:
    the batch's first number) its references to orders placed earlier in the batch resolved."""
    filled = {name: sequence for name in NUMBERED.get(type_, ()) if payload[name] is None}
    if first is not None:
        for name in REFERENCES.get(type_, ()):
            if payload[name] < 0:
                filled[name] = first - payload[name] - 1
    return {**payload, **filled} if filled else payload


class InvalidEvent(ValueError):
    pass


def check(type_: str, payload: dict) -> None:
    """Refuse an event of an unknown type or whose payload has missing or extra fields."""
    fields = FIELDS.get(type_)
    if fields is None:
        raise InvalidEvent(f"unknown event type {type_!r}")
    if payload.keys() != fields:
        missing, extra = sorted(fields - payload.keys()), sorted(payload.keys() - fields)
        raise InvalidEvent(f"{type_}: missing {missing}, unexpected {extra}")


# --- streams: one per investor, fund, fund market, and the two global ones -----------------------

MCPI_STREAM = "mcpi"
CIRCUIT_STREAM = "circuit"


def investor_stream(investor_id: int) -> str:
    return f"investor-{investor_id}"


def fund_stream(fund_id: int) -> str:
    return f"fund-{fund_id}"


def market_stream(fund_id: int) -> str:
    return f"market-{fund_id}"


# --- the codec ------------------------------------------------------------------------------------


def moment(value: datetime) -> str:
    return value.isoformat()


def read_moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def decimal(value: Decimal) -> str:
    return str(value)


def read_decimal(text: str) -> Decimal:
    return Decimal(text)


def trade_executed(
    fill, terms, *, trade_id: int, fund_id: int, low: int, high: int, day: str, at: str
) -> dict:
    """The payload of a ``TRADE_EXECUTED`` event for one ``orderbook.Fill`` and its
    ``rules.TradeTerms`` (``low``/``high``: the day's price range the trade was within)."""
    return {
        "trade_id": trade_id,
        "fund_id": fund_id,
        "buy_order_id": fill.buy_order_id,
        "sell_order_id": fill.sell_order_id,
        "buyer_id": fill.buyer_id,
        "seller_id": fill.seller_id,
        "buy_price": fill.price,
        "sell_price": fill.price,
        "price": fill.price,
        "quantity": fill.quantity,
        "buyer_fee": terms.buyer_fee,
        "seller_fee": terms.seller_fee,
        "spent": terms.spent,
        "refund": terms.refund,
        "cost_released": terms.cost_released,
        "low": low,
        "high": high,
        "day": day,
        "at": at,
    }
