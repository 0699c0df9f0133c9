"""Business counters for the ledger, exported by the site's Prometheus endpoint."""

import collections

from django.db import transaction
from django.utils import timezone
from prometheus_client import Counter, Gauge, Histogram

LEDGER_EVENTS = Counter(
    "okcow_ledger_events", "Events appended to the investments ledger", ["type"]
)
LEDGER_CASH = Counter(
    "okcow_ledger_cash_moved", "Cash moved by ledger events, in cash units", ["type"]
)


def record(events) -> None:
    """Count ``(type, payload)`` events once their transaction commits (a retried transaction
    counts once)."""
    transaction.on_commit(lambda: _count(events))


def traded(accepted) -> None:
    """Once the trades' transaction commits (they are visible), observe how long after its taker
    was accepted each one became so; ``accepted`` holds the takers' moments, one per trade."""
    transaction.on_commit(lambda: _observe(accepted))


def _observe(accepted) -> None:
    now = timezone.now()
    for moment in accepted:
        MARKET_TRADE_LATENCY.observe(max((now - moment).total_seconds(), 0))


def _count(events) -> None:
    """Each counter moved once per batch (a matcher's batch holds thousands of events)."""
    counts, cash = collections.Counter(), collections.Counter()
    orders, halts = collections.Counter(), collections.Counter()
    traded = 0
    for type_, p in events:
        counts[type_] += 1
        amount = p.get("cost") or p.get("proceeds") or p.get("amount") or 0
        if isinstance(amount, int) and amount > 0:
            cash[type_] += amount
        if type_ == "order_placed":
            orders[p["side"]] += 1
        elif type_ == "trade_executed":
            traded += p["price"] * p["quantity"]
        elif type_ == "market_halted":
            halts[str(p["level"])] += 1
    for type_, n in counts.items():
        LEDGER_EVENTS.labels(type=type_).inc(n)
    for type_, amount in cash.items():
        LEDGER_CASH.labels(type=type_).inc(amount)
    for side, n in orders.items():
        MARKET_ORDERS.labels(side=side).inc(n)
    if n := counts["trade_executed"]:
        MARKET_TRADES.inc(n)
        MARKET_TRADE_VALUE.inc(traded)
    if n := counts["order_cancelled"]:
        MARKET_CANCELS.inc(n)
    for level, n in halts.items():
        MARKET_HALTS.labels(level=level).inc(n)


MARKET_ORDERS = Counter("okcow_market_orders", "Market orders placed", ["side"])
UNREPLICATED = Counter(
    "okcow_market_commands_unreplicated",
    "Commands a Redis replica did not confirm within REDIS_WAIT_MS (they may be lost on failover)",
)
MARKET_TRADES = Counter("okcow_market_trades", "Market trades executed")
MARKET_TRADE_VALUE = Counter("okcow_market_trade_value", "Traded value (price x qty), cash units")
MARKET_CANCELS = Counter("okcow_market_cancels", "Market orders cancelled")
MARKET_HALTS = Counter("okcow_market_halts", "Circuit-breaker halts", ["level"])
MARKET_TRADE_LATENCY = Histogram(
    "okcow_market_accept_to_trade_seconds",
    "From a taker order's acceptance to its trade's commit, in seconds",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 30),
)
POSTINGS_WRITTEN = Counter(
    "okcow_postings_events", "Events whose postings the postings follower wrote"
)
POSTINGS_BEHIND = Gauge(
    "okcow_postings_behind_events",
    "Events in the log whose postings are not written yet, as the postings follower last saw",
    multiprocess_mode="max",
)
