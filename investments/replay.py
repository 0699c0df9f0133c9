"""Replaying the event log: time travel, rebuilding the projections, and the audit."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from . import eventstore, projections
from .domain.state import State
from .models import (
    Copyright,
    Event,
    Fund,
    FundPosting,
    FundPostingMonth,
    Holding,
    Investor,
    LedgerSequence,
    McpiValue,
    Posting,
    Trade,
)


def replay(*, until: datetime | None = None) -> State:
    """The state after every event (in sequence order) that occurred at or before ``until``."""
    events = Event.objects.order_by("sequence")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    return replay_events(events.values_list("type", "payload").iterator(chunk_size=5_000))


def live_state(*, investor_id: int | None = None) -> State:
    """The live projection tables read into the same shape as a replay; with ``investor_id``, only
    what that investor's portfolio needs (their account, holdings, those funds and copyrights,
    their markets and the latest index)."""
    if investor_id is None:
        return projections.read()
    fund_ids = list(
        Holding.objects.filter(investor_id=investor_id).values_list("fund_id", flat=True)
    )
    latest = McpiValue.objects.filter(at__lte=timezone.now()).order_by("-at")
    latest = list(latest.values_list("at", flat=True)[:1])
    return projections.read(
        only={
            "investors": Q(pk=investor_id),
            "holdings": Q(investor_id=investor_id),
            "funds": Q(pk__in=fund_ids),
            "copyrights": Q(fund_id__in=fund_ids),
            "markets": Q(fund_id__in=fund_ids),
            "mcpi": Q(at__in=latest),
        }
    )


def portfolio_state(*, investor_id: int, until: datetime) -> State:
    """What one investor's portfolio needs at a past moment, read from the postings: the sums of
    their cash and holdings' postings up to ``until``, and for the funds they held then, the
    funds' sums, the copyrights owned, the MCPI then and the last trade price then. Equal to
    ``replay(until=...)`` for those figures, in a handful of indexed queries at any log size."""
    state = State()
    state.investors[investor_id] = {"user_id": None, "available": 0, "reserved": 0}
    mine = Posting.objects.filter(investor_id=investor_id, occurred_at__lte=until)
    # One pass over the investor's postings: the cash (no fund) and each holding.
    sums = mine.values_list("fund_id").annotate(
        *(Sum(amount) for amount in eventstore.HOLDER_AMOUNTS)
    )
    for fund_id, available, reserved, held, held_reserved, cost_basis in sums.order_by():
        if fund_id is None:
            state.investors[investor_id].update(available=available, reserved=reserved)
        elif held or held_reserved or cost_basis:
            state.holdings[(investor_id, fund_id)] = {
                "held": held,
                "reserved": held_reserved,
                "cost_basis": cost_basis,
            }
    fund_ids = [fund_id for _, fund_id in state.holdings]
    totals = _fund_totals(fund_ids, until)
    funds = Fund.objects.filter(pk__in=fund_ids)
    for pk, name, base_price, created_at in funds.values_list(
        "pk", "name", "base_price", "created_at"
    ):
        cash, shares, pending = totals.get(pk, (0, 0, 0))
        state.funds[pk] = {
            "name": name,
            "base_price": base_price,
            "cash": cash,
            "shares": shares,
            "pending": pending,
            "created_at": created_at.isoformat(),
        }
        state.market(pk)["last_price"] = None
    for fund_id, price in _last_prices(fund_ids, until).items():
        state.market(fund_id)["last_price"] = price
    owned = Copyright.objects.filter(fund_id__in=fund_ids, acquired_at__lte=until)
    for pk, fund_id, price, mcpi in owned.values_list(
        "pk", "fund_id", "price", "mcpi_at_acquisition"
    ):
        state.copyrights[pk] = {"fund_id": fund_id, "price": price, "mcpi": str(mcpi)}
    mcpi = McpiValue.objects.filter(at__lte=until).order_by("-at").first()
    if mcpi is not None:
        state.mcpi[mcpi.at.isoformat()] = mcpi.value
    return state


def _fund_totals(fund_ids: list[int], until: datetime) -> dict[int, tuple[int, int, int]]:
    """Each fund's (cash, shares, royalties pending) at ``until``: its months before that moment's
    month (``FundPostingMonth``), then that month's postings up to the moment."""
    month = eventstore.month_of(until)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    amounts = (Sum("cash"), Sum("shares"), Sum("pending"))
    before = FundPostingMonth.objects.filter(fund_id__in=fund_ids, month__lt=month)
    since = FundPosting.objects.filter(
        fund_id__in=fund_ids, occurred_at__gte=start, occurred_at__lte=until
    )
    totals: dict[int, tuple[int, int, int]] = {}
    for rows in (before, since):
        for fund_id, *sums in rows.values_list("fund_id").annotate(*amounts).order_by():
            so_far = totals.get(fund_id, (0, 0, 0))
            totals[fund_id] = tuple(map(sum, zip(so_far, sums, strict=True)))
    return totals


def _last_prices(fund_ids: list[int], until: datetime) -> dict[int, int]:
    """Each fund's last trade price at ``until``, in one statement: the latest moment per fund,
    which the (fund, executed_at) index answers by jumping to one entry per fund, joined back to
    its trade. ("Newest trade at or before T" as one ORDER BY … LIMIT 1 per fund lets MariaDB walk
    back from the newest trade instead, through tens of thousands of a busy fund's rows.)"""
    if not fund_ids:
        return {}
    trade = connection.ops.quote_name(Trade._meta.db_table)
    funds = ", ".join(["%s"] * len(fund_ids))
    # Trades of one fund at the same moment: the highest id is the last (ascending order, so the
    # dict keeps it).
    sql = f"""
        SELECT t.fund_id, t.price FROM {trade} t
        JOIN (SELECT fund_id, MAX(executed_at) AS at FROM {trade}
              WHERE fund_id IN ({funds}) AND executed_at <= %s GROUP BY fund_id) latest
          ON t.fund_id = latest.fund_id AND t.executed_at = latest.at
        ORDER BY t.id"""  # noqa: S608 - the table's name from its model, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fund_ids, connection.ops.adapt_datetimefield_value(until)])
        return dict(cursor.fetchall())


def differences(expected: State, actual: State) -> list[str]:
    """Lines describing every difference between a replay (expected) and the live tables."""
    a, b = projections.comparable(expected), projections.comparable(actual)
    lines = []
    for table in a:
        left, right = a[table], b[table]
        for key in sorted(set(left) | set(right), key=str):
            if left.get(key) != right.get(key):
                lines.append(f"{table}[{key}]: replay {left.get(key)} != live {right.get(key)}")
    return lines


def sequence_gaps() -> list[str]:
    """Invariant 6: global sequence 1..n and per-stream versions 1..n with no gaps."""
    lines = []
    sequences = list(Event.objects.order_by("sequence").values_list("sequence", flat=True))
    if sequences != list(range(1, len(sequences) + 1)):
        lines.append("global sequence has gaps")
    versions: dict[str, list[int]] = {}
    for stream, version in Event.objects.order_by("stream", "version").values_list(
        "stream", "version"
    ):
        versions.setdefault(stream, []).append(version)
    for stream, numbers in versions.items():
        if numbers != list(range(1, len(numbers) + 1)):
            lines.append(f"stream {stream} has gaps")
    return lines


def posting_differences() -> list[str]:
    """The postings, summed, must equal the live balances (and so the replay)."""
    lines = []
    sums = Posting.objects.values("investor_id", "fund_id").order_by()
    cash = sums.filter(fund_id=None).annotate(a=Sum("available"), r=Sum("reserved"))
    summed = {row["investor_id"]: (row["a"], row["r"]) for row in cash}
    for i in Investor.objects.all():
        if summed.pop(i.pk, (0, 0)) != (i.cash_available, i.cash_reserved):
            lines.append(f"postings of investor {i.pk} do not add up to its cash")
    lines += [f"postings for unknown investor {k}" for k, v in summed.items() if any(v)]
    held = sums.filter(fund_id__isnull=False).annotate(
        h=Sum("held"), r=Sum("held_reserved"), c=Sum("cost_basis")
    )
    summed = {(row["investor_id"], row["fund_id"]): (row["h"], row["r"], row["c"]) for row in held}
    for h in Holding.objects.all():
        if summed.pop((h.investor_id, h.fund_id), (0, 0, 0)) != (h.held, h.reserved, h.cost_basis):
            lines.append(f"postings of holding {h.investor_id}/{h.fund_id} do not add up")
    lines += [f"postings for unknown holding {k}" for k, v in summed.items() if any(v)]
    funds = (
        FundPosting.objects.values("fund_id")
        .annotate(c=Sum("cash"), s=Sum("shares"), p=Sum("pending"))
        .order_by()
    )
    summed = {row["fund_id"]: (row["c"], row["s"], row["p"]) for row in funds}
    for f in Fund.objects.all():
        if summed.pop(f.pk, (0, 0, 0)) != (f.cash, f.shares_outstanding, f.royalties_pending):
            lines.append(f"postings of fund {f.pk} do not add up")
    lines += [f"postings for unknown fund {k}" for k, v in summed.items() if any(v)]
    posted = FundPosting.objects.values_list("fund_id", "occurred_at", "cash", "shares", "pending")
    months = eventstore.sum_months(posted.iterator(chunk_size=10_000))
    for fund_id, month, *amounts in FundPostingMonth.objects.values_list(
        "fund_id", "month", "cash", "shares", "pending"
    ):
        if months.pop((fund_id, month), [0, 0, 0]) != amounts:
            lines.append(f"fund {fund_id}'s month {month:%Y-%m} does not add up its postings")
    lines += [
        f"fund {f}'s postings in {m:%Y-%m} have no month" for f, m in months if any(months[f, m])
    ]
    return lines


def audit() -> list[str]:
    return sequence_gaps() + differences(replay(), live_state()) + posting_differences()


def replay_events(events, state: State | None = None) -> State:
    """Apply ``(type, payload)`` pairs, in order, to ``state`` (a new one by default)."""
    state = state or State()
    for type_, payload in events:
        state.apply(type_, payload)
    return state


@transaction.atomic
def rebuild() -> State:
    """Throw the projections away and write them again from the log."""
    LedgerSequence.objects.select_for_update().filter(pk=1).first()
    state = replay()
    projections.write(state)
    return state
