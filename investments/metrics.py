"""Business counters for the ledger, exported by the site's Prometheus endpoint."""

from django.db import transaction
from django.utils import timezone
from prometheus_client import Counter, Histogram

LEDGER_EVENTS = Counter(
    "okcow_ledger_events", "Events appended to the investments ledger", ["type"]
)
LEDGER_CASH = Counter(
    "okcow_ledger_cash_moved", "Cash moved by ledger events, in cash units", ["type"]
)


def record(events) -> None:
    """Count the events once their transaction commits (a retried transaction counts once)."""
    transaction.on_commit(lambda: [_count(event) for event in events])


def traded(accepted) -> None:
    """Once the trades' transaction commits (they are visible), observe how long after its taker
    was accepted each one became so; ``accepted`` holds the takers' moments, one per trade."""
    transaction.on_commit(lambda: _observe(accepted))


def _observe(accepted) -> None:
    now = timezone.now()
    for moment in accepted:
        MARKET_TRADE_LATENCY.observe(max((now - moment).total_seconds(), 0))


def _count(event) -> None:
    LEDGER_EVENTS.labels(type=event.type).inc()
    p = event.payload
    amount = p.get("cost") or p.get("proceeds") or p.get("amount") or 0
    if isinstance(amount, int) and amount > 0:
        LEDGER_CASH.labels(type=event.type).inc(amount)
    if event.type == "order_placed":
        MARKET_ORDERS.labels(side=p["side"]).inc()
    elif event.type == "trade_executed":
        MARKET_TRADES.inc()
        MARKET_TRADE_VALUE.inc(p["price"] * p["quantity"])
    elif event.type == "order_cancelled":
        MARKET_CANCELS.inc()
    elif event.type == "market_halted":
        MARKET_HALTS.labels(level=str(p["level"])).inc()


MARKET_ORDERS = Counter("okcow_market_orders", "Market orders placed", ["side"])
MARKET_TRADES = Counter("okcow_market_trades", "Market trades executed")
MARKET_TRADE_VALUE = Counter("okcow_market_trade_value", "Traded value (price x qty), cash units")
MARKET_CANCELS = Counter("okcow_market_cancels", "Market orders cancelled")
MARKET_HALTS = Counter("okcow_market_halts", "Circuit-breaker halts", ["level"])
MARKET_TRADE_LATENCY = Histogram(
    "okcow_market_accept_to_trade_seconds",
    "From a taker order's acceptance to its trade's commit, in seconds",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 30),
)
