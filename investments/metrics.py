"""Business counters for the ledger, exported by the site's Prometheus endpoint."""

from django.db import transaction
from prometheus_client import Counter

LEDGER_EVENTS = Counter(
    "okcow_ledger_events", "Events appended to the investments ledger", ["type"]
)
LEDGER_CASH = Counter(
    "okcow_ledger_cash_moved", "Cash moved by ledger events, in cash units", ["type"]
)


def record(event) -> None:
    """Count the event once its transaction commits (a retried transaction counts once)."""
    transaction.on_commit(lambda: _count(event))


def _count(event) -> None:
    LEDGER_EVENTS.labels(type=event.type).inc()
    p = event.payload
    amount = p.get("cost") or p.get("proceeds") or p.get("amount") or 0
    if isinstance(amount, int) and amount > 0:
        LEDGER_CASH.labels(type=event.type).inc(amount)
