"""Replaying the event log: time travel, rebuilding the projections, and the audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from config.db import raw_rows

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
    """The state after every event (in sequence order) that occurred at or before ``until``.

    The log is read in the table's own order and sorted by sequence here: sorting a million
    events in MariaDB is a filesort of the whole table, several times slower than a scan, while
    the rows come almost in sequence order already (a sort of nearly sorted rows is one pass).
    The payloads are read as text and decoded a chunk at a time, as one JSON array: a million
    separate ``json.loads`` calls (the ORM's converter per row) cost more than the decoding."""
    events = Event.objects.order_by("pk")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    rows = sorted(raw_rows(events.values_list("sequence", "type", "payload")), key=itemgetter(0))
    state = State()
    for start in range(0, len(rows), REPLAY_CHUNK):
        chunk = rows[start : start + REPLAY_CHUNK]
        payloads = json.loads("[" + ",".join([payload for _, _, payload in chunk]) + "]")
        state.apply_all(zip([type_ for _, type_, _ in chunk], payloads, strict=True))
    return state


REPLAY_CHUNK = 10_000


def live_state(*, investor_id: int | None = None) -> State:
    """The live projection tables read into the same shape as a replay; with ``investor_id``, only
    what that investor's portfolio needs (their account, holdings, those funds and copyrights,
    their markets and the latest index)."""
    if investor_id is None:
        return projections.read()
    state = projections.read(
        only={"investors": {"id": investor_id}, "holdings": {"investor_id": investor_id}}
    )
    fund_ids = [fund_id for _, fund_id in state.holdings]
    return projections.read(
        state,
        only={
            "funds": {"id": fund_ids},
            "copyrights": {"fund_id": fund_ids},
            "markets": {"fund_id": fund_ids},
            "mcpi": {"at": _latest_mcpi_moment()},
        },
    )


def _latest_mcpi_moment() -> list:
    """The moment of the latest MCPI value recorded by now (none or one), as the database holds
    it."""
    ops = connection.ops
    table, at = ops.quote_name(McpiValue._meta.db_table), ops.quote_name("at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {at} FROM {table} WHERE {at} <= %s ORDER BY {at} DESC LIMIT 1",  # noqa: S608
            [ops.adapt_datetimefield_value(timezone.now())],
        )
        return [ops.adapt_datetimefield_value(at) for (at,) in cursor.fetchall()]


def portfolio_state(*, investor_id: int, until: datetime) -> State:
    """What one investor's portfolio needs at a past moment, read from the postings: the sums of
    their cash and holdings' postings up to ``until``, and for the funds they held then, the
    funds' sums, the copyrights owned, the MCPI then and the last trade price then. Equal to
    ``replay(until=...)`` for those figures, in a handful of indexed queries at any log size."""
    state = State()
    state.investors[investor_id] = {"user_id": None, "available": 0, "reserved": 0}
    sums = _holder_sums(investor_id, until)
    for fund_id, available, reserved, held, held_reserved, cost_basis in sums:
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


def _holder_sums(investor_id: int, until: datetime) -> list[tuple]:
    """The investor's cash (fund None) and each of their holdings at ``until``: ``(fund id,
    *HOLDER_AMOUNTS)``, their postings summed in one pass over the posting_investor_sums index
    alone."""
    posting = _names(Posting, "investor_id", "occurred_at", "fund_id", *eventstore.HOLDER_AMOUNTS)
    sums = ", ".join(f"SUM({posting[amount]})" for amount in eventstore.HOLDER_AMOUNTS)
    sql = f"""
        SELECT {posting["fund_id"]}, {sums} FROM {posting["table"]}
         WHERE {posting["investor_id"]} = %s AND {posting["occurred_at"]} <= %s
         GROUP BY {posting["fund_id"]}"""  # noqa: S608 - names from the model
    return _sums(sql, [investor_id, connection.ops.adapt_datetimefield_value(until)])


def _fund_totals(fund_ids: list[int], until: datetime) -> dict[int, tuple[int, int, int]]:
    """Each fund's (cash, shares, royalties pending) at ``until``, in one statement, from its
    monthly sums (``FundPostingMonth``) and the postings of the moment's month (the covering
    posting_fund index), whichever part of that month is shorter: the months before it plus its
    postings up to the moment, or the months through it less its postings after the moment. A
    busy fund posts hundreds of times a month; this reads at most half a month of them."""
    if not fund_ids:
        return {}
    month = eventstore.month_of(until)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    if until - start <= end - until:
        months, sign, after, before = "<", "", (">=", start), ("<=", until)
    else:
        months, sign, after, before = "<=", "-", (">", until), ("<", end)
    monthly = _names(FundPostingMonth, "fund_id", "month", *eventstore.FUND_AMOUNTS)
    posted = _names(FundPosting, "fund_id", "occurred_at", *eventstore.FUND_AMOUNTS)
    sums = ", ".join(f"SUM({monthly[amount]})" for amount in eventstore.FUND_AMOUNTS)
    kept = ", ".join(monthly[amount] for amount in eventstore.FUND_AMOUNTS)
    moved = ", ".join(f"{sign}{posted[amount]}" for amount in eventstore.FUND_AMOUNTS)
    funds = ", ".join(["%s"] * len(fund_ids))
    at = posted["occurred_at"]
    sql = f"""
        SELECT {monthly["fund_id"]}, {sums} FROM (
            SELECT {monthly["fund_id"]}, {kept} FROM {monthly["table"]}
             WHERE {monthly["fund_id"]} IN ({funds}) AND {monthly["month"]} {months} %s
            UNION ALL
            SELECT {posted["fund_id"]}, {moved} FROM {posted["table"]}
             WHERE {posted["fund_id"]} IN ({funds})
               AND {at} {after[0]} %s AND {at} {before[0]} %s
        ) moved GROUP BY {monthly["fund_id"]}"""  # noqa: S608 - names from the models
    adapt = connection.ops.adapt_datetimefield_value
    params = [*fund_ids, connection.ops.adapt_datefield_value(month), *fund_ids]
    rows = _sums(sql, [*params, adapt(after[1]), adapt(before[1])])
    return {fund_id: tuple(amounts) for fund_id, *amounts in rows}


def _names(model, *fields: str) -> dict[str, str]:
    """The quoted names of ``model``'s table (``"table"``) and of these fields' columns, for
    the few statements written by hand: the ORM takes longer to compile a grouped sum than the
    database takes to answer it from an index."""
    quote = connection.ops.quote_name
    names = {field: quote(model._meta.get_field(field).column) for field in fields}
    return {"table": quote(model._meta.db_table), **names}


def _sums(sql: str, params: list) -> list[tuple]:
    """Rows of a grouping key and sums, the sums as ints (MariaDB sums whole numbers as
    decimals)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(key, *map(int, sums)) for key, *sums in cursor.fetchall()]


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


@transaction.atomic
def rebuild() -> State:
    """Throw the projections away and write them again from the log."""
    LedgerSequence.objects.select_for_update().filter(pk=1).first()
    state = replay()
    projections.write(state)
    return state
