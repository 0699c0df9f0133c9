"""Replaying the event log: time travel, rebuilding the projections, and the audit."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter

import orjson
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, Subquery, Sum
from django.utils import timezone

from config.db import raw_rows

from . import postings, projections
from .domain import rules
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
    separate decodes (the ORM's converter per row) cost more than the decoding."""
    events = Event.objects.order_by("pk")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    rows = sorted(raw_rows(events.values_list("sequence", "type", "payload")), key=itemgetter(0))
    state = State()
    for start in range(0, len(rows), REPLAY_CHUNK):
        chunk = rows[start : start + REPLAY_CHUNK]
        payloads = orjson.loads("[" + ",".join([payload for _, _, payload in chunk]) + "]")
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
    state = _holder_state(investor_id, _holder_sums(investor_id, until))
    fund_ids = [fund_id for _, fund_id in state.holdings]
    owned = Copyright.objects.filter(fund_id__in=fund_ids, acquired_at__lte=until)
    mcpi = McpiValue.objects.filter(at__lte=until).order_by("-at").first()
    _fill_funds(
        state,
        _funds(fund_ids),
        _fund_totals(fund_ids, until),
        _last_prices(fund_ids, until),
        list(owned.values_list("pk", "fund_id", "price", "mcpi_at_acquisition")),
        (mcpi.at, mcpi.value) if mcpi is not None else None,
    )
    return state


def portfolio_totals(
    *, investor_id: int, moments: Sequence[datetime], settled: datetime | None = None
) -> list[int]:
    """The investor's total at each of ``moments`` (ascending) — cash, and each holding valued
    as a portfolio values it (``rules.holding_value``) — for the portfolio chart: what time
    travel (``portfolio_state``) gives at each, without building a state per moment. The
    investor's own sums are one statement; the funds' prices then (``fund_prices_at``) are
    everyone's, kept for the moments up to ``settled``."""
    moments = list(moments)
    sums = _holder_sums_at(investor_id, moments) if moments else []
    fund_ids = sorted({row[0] for rows in sums for row in rows if row[0] is not None})
    prices = fund_prices_at(fund_ids, moments, settled=settled) if fund_ids else []
    totals = []
    for k, rows in enumerate(sums):
        total = 0
        for fund_id, available, reserved, held, held_reserved, _ in rows:
            if fund_id is None:
                total += available + reserved
            elif held + held_reserved:
                total += rules.holding_value(held + held_reserved, *prices[k][fund_id])
        totals.append(total)
    return totals


FUND_PRICES_SECONDS = 600


def fund_prices_at(
    fund_ids: list[int], moments: Sequence[datetime], *, settled: datetime | None = None
) -> list[dict[int, tuple[int | None, Decimal]]]:
    """Each fund's ``(last trade price, NAV)`` at each of ``moments``: what a holding was valued
    at then. The same for every investor, so a moment up to ``settled`` keeps every fund's pair
    in the cache for ``FUND_PRICES_SECONDS`` (one entry per moment: the charts' moments are on
    one round grid, shared by every holder), and a moment missing any of ``fund_ids`` is worked
    out again for every fund."""

    def key(moment: datetime) -> str:
        return f"investments:fund-prices:{moment.timestamp()}"

    settled_ones = {m for m in moments if settled and m <= settled}
    kept = cache.get_many([key(m) for m in settled_ones]) if settled_ones else {}
    todo = [m for m in moments if not set(fund_ids) <= kept.get(key(m), {}).keys()]
    if todo:
        every = list(Fund.objects.order_by("pk").values_list("pk", flat=True))
        states = [State() for _ in todo]
        _fill_funds_at(states, every, todo, prices=True)
        worked = {
            key(m): {f: (state.markets[f]["last_price"], state.nav(f, m)) for f in every}
            for m, state in zip(todo, states, strict=True)
        }
        keep = {key(m): worked[key(m)] for m in todo if m in settled_ones}
        cache.set_many(keep, FUND_PRICES_SECONDS)
        kept.update(worked)
    return [kept[key(m)] for m in moments]


def fund_states(*, fund_ids: list[int], moments: Sequence[datetime], mcpi=None) -> list[State]:
    """What the funds' NAVs need at each of ``moments`` (ascending), read for all of them at
    once as ``fund_prices_at`` reads them: each fund's sums then, the copyrights it owned then
    and the MCPI then. ``mcpi``: the ``(at, value)`` series the moments fall in, when the caller
    has it already (oldest first, starting with the value in effect at the first moment)."""
    moments = list(moments)
    states = [State() for _ in moments]
    if moments:
        _fill_funds_at(states, fund_ids, moments, prices=False, mcpi=mcpi)
    return states


def mcpi_between(start: datetime, end: datetime) -> list[tuple[datetime, Decimal]]:
    """The MCPI ``(at, value)`` in effect at ``start`` and every value recorded after it up to
    ``end``, oldest first, in one query."""
    before = McpiValue.objects.filter(at__lte=start).order_by("-at").values("at")[:1]
    values = McpiValue.objects.filter(Q(at__gte=Subquery(before)) | Q(at__gt=start), at__lte=end)
    return list(values.order_by("at").values_list("at", "value"))


def _holder_state(investor_id: int, sums: list[tuple]) -> State:
    """A state holding one investor's cash and holdings from their sums (``_holder_sums``)."""
    state = State()
    state.investors[investor_id] = {"user_id": None, "available": 0, "reserved": 0}
    for fund_id, available, reserved, held, held_reserved, cost_basis in sums:
        if fund_id is None:
            state.investors[investor_id].update(available=available, reserved=reserved)
        elif held or held_reserved or cost_basis:
            state.holdings[(investor_id, fund_id)] = {
                "held": held,
                "reserved": held_reserved,
                "cost_basis": cost_basis,
            }
    return state


def _funds(fund_ids: list[int]) -> list[tuple]:
    funds = Fund.objects.filter(pk__in=fund_ids) if fund_ids else Fund.objects.none()
    return list(funds.values_list("pk", "name", "base_price", "created_at"))


def _fill_funds(state: State, funds, totals, prices, owned, mcpi) -> None:
    """Put the funds into a state at one moment: ``funds`` rows (``_funds``), their sums
    (``_fund_totals``), last prices (``_last_prices``), the copyrights owned then (``pk, fund,
    price, MCPI at acquisition``) and the MCPI ``(at, value)`` then."""
    for pk, name, base_price, created_at in funds:
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
    for fund_id, price in prices.items():
        state.market(fund_id)["last_price"] = price
    for pk, fund_id, price, acquired_mcpi in owned:
        state.copyrights[pk] = {"fund_id": fund_id, "price": price, "mcpi": str(acquired_mcpi)}
    if mcpi is not None:
        state.mcpi[mcpi[0].isoformat()] = mcpi[1]


def _fill_funds_at(states, fund_ids, moments, *, prices: bool, mcpi=None) -> None:
    """``_fill_funds`` for each state at its moment, the funds' figures read for all at once."""
    funds = _funds(fund_ids)
    totals = _fund_totals_at(fund_ids, moments)
    last_prices = _last_prices_at(fund_ids, moments) if prices else [{} for _ in moments]
    owned = Copyright.objects.filter(fund_id__in=fund_ids, acquired_at__lte=moments[-1])
    owned = list(owned.values_list("acquired_at", "pk", "fund_id", "price", "mcpi_at_acquisition"))
    series = mcpi if mcpi is not None else mcpi_between(moments[0], moments[-1])
    index = 0
    for state, moment, total, price in zip(states, moments, totals, last_prices, strict=True):
        while index + 1 < len(series) and series[index + 1][0] <= moment:
            index += 1
        then = series[index] if series and series[index][0] <= moment else None
        mine = [row[1:] for row in owned if row[0] <= moment]
        _fill_funds(state, funds, total, price, mine, then)


def _buckets(column: str, moments: Sequence[datetime]) -> tuple[str, list]:
    """A ``CASE`` numbering each row by the first of ``moments`` (ascending) at or after its
    ``column`` (rows after the last are the caller's to leave out), and its parameters. The
    ``CASE`` is nested as a binary search, so that a row is compared with six moments of sixty,
    not with all of them in turn."""
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []

    def search(lo: int, hi: int) -> str:
        if lo == hi:
            return str(lo)
        mid = (lo + hi) // 2
        params.append(adapt(moments[mid]))
        return f"CASE WHEN {column} <= %s THEN {search(lo, mid)} ELSE {search(mid + 1, hi)} END"

    return search(0, len(moments) - 1), params


def _running(rows, moments, width: int) -> list[dict]:
    """Rows ``(key, bucket, *amounts)`` (amounts moved before each moment; a key and bucket may
    come more than once) as each key's totals at each moment."""
    moved: dict = {}
    for key, bucket, *amounts in rows:
        per_bucket = moved.setdefault(key, [[0] * width for _ in moments])
        per_bucket[bucket] = [a + b for a, b in zip(per_bucket[bucket], amounts, strict=True)]
    totals: list[dict] = [{} for _ in moments]
    for key, per_bucket in moved.items():
        running = [0] * width
        for k, amounts in enumerate(per_bucket):
            running = [a + b for a, b in zip(running, amounts, strict=True)]
            totals[k][key] = tuple(running)
    return totals


def _holder_sums_at(investor_id: int, moments: Sequence[datetime]) -> list[list[tuple]]:
    """``_holder_sums`` at each of ``moments``: one pass over the investor's postings (the
    posting_investor_sums index alone), each summed into the first moment at or after it."""
    posting = _names(Posting, "investor_id", "occurred_at", "fund_id", *postings.HOLDER_AMOUNTS)
    bucket, params = _buckets(posting["occurred_at"], moments)
    amounts = ", ".join(posting[amount] for amount in postings.HOLDER_AMOUNTS)
    sums = ", ".join(f"SUM({amount})" for amount in postings.HOLDER_AMOUNTS)
    sql = f"""
        SELECT fund_id, bucket, {sums} FROM (
            SELECT {posting["fund_id"]} AS fund_id, {bucket} AS bucket, {amounts}
              FROM {posting["table"]}
             WHERE {posting["investor_id"]} = %s AND {posting["occurred_at"]} <= %s
        ) moved GROUP BY fund_id, bucket"""  # noqa: S608 - names from the model
    last = connection.ops.adapt_datetimefield_value(moments[-1])
    rows, tail = postings.settled(
        lambda: _sums(sql, [*params, investor_id, last], keys=2), until=moments[-1]
    )
    rows += [
        (fund_id, bisect_left(moments, at), *amounts)
        for _, at, investor, fund_id, *amounts in tail.holders
        if investor == investor_id
    ]
    width = len(postings.HOLDER_AMOUNTS)
    return [
        _cash_apart([(fund_id, *amounts) for fund_id, amounts in totals.items()])
        for totals in _running(rows, moments, width)
    ]


def _fund_totals_at(fund_ids: list[int], moments: Sequence[datetime]) -> list[dict]:
    """``_fund_totals`` at each of ``moments``, in one statement: the funds' months before the
    first moment's month, and their postings from that month on, each summed into the first
    moment at or after it."""
    if not fund_ids:
        return [{} for _ in moments]
    month = postings.month_of(moments[0])
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    monthly = _names(FundPostingMonth, "fund_id", "month", *postings.FUND_AMOUNTS)
    posted = _names(FundPosting, "fund_id", "occurred_at", *postings.FUND_AMOUNTS)
    bucket, params = _buckets(posted["occurred_at"], moments)
    kept = ", ".join(monthly[amount] for amount in postings.FUND_AMOUNTS)
    moved = ", ".join(posted[amount] for amount in postings.FUND_AMOUNTS)
    sums = ", ".join(f"SUM({amount})" for amount in postings.FUND_AMOUNTS)
    funds = ", ".join(["%s"] * len(fund_ids))
    at = posted["occurred_at"]
    sql = f"""
        SELECT fund_id, bucket, {sums} FROM (
            SELECT {monthly["fund_id"]} AS fund_id, 0 AS bucket, {kept} FROM {monthly["table"]}
             WHERE {monthly["fund_id"]} IN ({funds}) AND {monthly["month"]} < %s
            UNION ALL
            SELECT {posted["fund_id"]}, {bucket}, {moved} FROM {posted["table"]}
             WHERE {posted["fund_id"]} IN ({funds}) AND {at} >= %s AND {at} <= %s
        ) moved GROUP BY fund_id, bucket"""  # noqa: S608 - names from the models
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        *fund_ids,
        connection.ops.adapt_datefield_value(month),
        *params,
        *fund_ids,
        adapt(start),
        adapt(moments[-1]),
    ]
    rows, tail = postings.settled(lambda: _sums(sql, params, keys=2), until=moments[-1])
    wanted = set(fund_ids)
    rows += [
        (fund_id, bisect_left(moments, at), *amounts)
        for _, at, fund_id, *amounts in tail.funds
        if fund_id in wanted
    ]
    return _running(rows, moments, len(postings.FUND_AMOUNTS))


def _holder_sums(investor_id: int, until: datetime) -> list[tuple]:
    """The investor's cash (fund None) and each of their holdings at ``until``: ``(fund id,
    *HOLDER_AMOUNTS)``, their postings summed in one pass over the posting_investor_sums index
    alone."""
    posting = _names(Posting, "investor_id", "occurred_at", "fund_id", *postings.HOLDER_AMOUNTS)
    sums = ", ".join(f"SUM({posting[amount]})" for amount in postings.HOLDER_AMOUNTS)
    sql = f"""
        SELECT {posting["fund_id"]}, {sums} FROM {posting["table"]}
         WHERE {posting["investor_id"]} = %s AND {posting["occurred_at"]} <= %s
         GROUP BY {posting["fund_id"]}"""  # noqa: S608 - names from the model
    params = [investor_id, connection.ops.adapt_datetimefield_value(until)]
    sums, tail = postings.settled(lambda: _sums(sql, params), until=until)
    mine = [(fund_id, *amounts) for _, _, i, fund_id, *amounts in tail.holders if i == investor_id]
    return _cash_apart(_summed([*sums, *mine]))


def _summed(rows: list[tuple]) -> list[tuple]:
    """Rows ``(key, *amounts)`` summed per key."""
    totals: dict = {}
    for key, *amounts in rows:
        before = totals.get(key)
        totals[key] = (
            amounts if before is None else [a + b for a, b in zip(before, amounts, strict=True)]
        )
    return [(key, *amounts) for key, amounts in totals.items()]


def _cash_apart(sums: list[tuple]) -> list[tuple]:
    """An investor's sums per fund as their readers take them: the cash, which rides on any of
    their postings (``domain.state.postings``), summed over all of them into a row of its own
    (fund None) first, then each holding's amounts under its fund, by fund."""
    cash = [sum(row[k] for row in sums) for k in (1, 2)]
    held = sorted((fund_id, 0, 0, *rest) for fund_id, _, _, *rest in sums if fund_id is not None)
    return [(None, *cash, 0, 0, 0), *held]


def _fund_totals(fund_ids: list[int], until: datetime) -> dict[int, tuple[int, int, int]]:
    """Each fund's (cash, shares, royalties pending) at ``until``, in one statement, from its
    monthly sums (``FundPostingMonth``) and the postings of the moment's month (the covering
    posting_fund index), whichever part of that month is shorter: the months before it plus its
    postings up to the moment, or the months through it less its postings after the moment. A
    busy fund posts hundreds of times a month; this reads at most half a month of them."""
    if not fund_ids:
        return {}
    month = postings.month_of(until)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    if until - start <= end - until:
        months, sign, after, before = "<", "", (">=", start), ("<=", until)
    else:
        months, sign, after, before = "<=", "-", (">", until), ("<", end)
    monthly = _names(FundPostingMonth, "fund_id", "month", *postings.FUND_AMOUNTS)
    posted = _names(FundPosting, "fund_id", "occurred_at", *postings.FUND_AMOUNTS)
    sums = ", ".join(f"SUM({monthly[amount]})" for amount in postings.FUND_AMOUNTS)
    kept = ", ".join(monthly[amount] for amount in postings.FUND_AMOUNTS)
    moved = ", ".join(f"{sign}{posted[amount]}" for amount in postings.FUND_AMOUNTS)
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
    params += [adapt(after[1]), adapt(before[1])]
    rows, tail = postings.settled(lambda: _sums(sql, params), until=until)
    wanted = set(fund_ids)
    rows += [(fund_id, *amounts) for _, _, fund_id, *amounts in tail.funds if fund_id in wanted]
    return {fund_id: tuple(amounts) for fund_id, *amounts in _summed(rows)}


def _names(model, *fields: str) -> dict[str, str]:
    """The quoted names of ``model``'s table (``"table"``) and of these fields' columns, for
    the few statements written by hand: the ORM takes longer to compile a grouped sum than the
    database takes to answer it from an index."""
    quote = connection.ops.quote_name
    names = {field: quote(model._meta.get_field(field).column) for field in fields}
    return {"table": quote(model._meta.db_table), **names}


def _sums(sql: str, params: list, keys: int = 1) -> list[tuple]:
    """Rows of ``keys`` grouping keys and sums, the sums as ints (MariaDB sums whole numbers as
    decimals)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(*row[:keys], *map(int, row[keys:])) for row in cursor.fetchall()]


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


def _last_prices_at(fund_ids: list[int], moments: Sequence[datetime]) -> list[dict[int, int]]:
    """``_last_prices`` at each of ``moments``, in one statement: the same jump to each fund's
    latest trade, once per moment."""
    if not fund_ids:
        return [{} for _ in moments]
    trade = connection.ops.quote_name(Trade._meta.db_table)
    funds = ", ".join(["%s"] * len(fund_ids))
    latest = " UNION ALL ".join(
        f"""SELECT {k} AS bucket, fund_id, MAX(executed_at) AS at FROM {trade}
             WHERE fund_id IN ({funds}) AND executed_at <= %s GROUP BY fund_id"""  # noqa: S608
        for k in range(len(moments))
    )
    sql = f"""
        SELECT latest.bucket, t.fund_id, t.price FROM {trade} t
        JOIN ({latest}) latest ON t.fund_id = latest.fund_id AND t.executed_at = latest.at
        ORDER BY latest.bucket, t.id"""  # noqa: S608 - the table's name from its model
    adapt = connection.ops.adapt_datetimefield_value
    params = [value for moment in moments for value in (*fund_ids, adapt(moment))]
    prices: list[dict[int, int]] = [{} for _ in moments]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for bucket, fund_id, price in cursor.fetchall():
            prices[bucket][fund_id] = price
    return prices


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
    """The postings, summed, must equal the live balances (and so the replay): an investor's
    cash over all their rows, a holding over its fund's."""
    lines = []
    cash = (
        Posting.objects.values("investor_id")
        .annotate(a=Sum("available"), r=Sum("reserved"))
        .order_by()
    )
    summed = {row["investor_id"]: (row["a"], row["r"]) for row in cash}
    for i in Investor.objects.all():
        if summed.pop(i.pk, (0, 0)) != (i.cash_available, i.cash_reserved):
            lines.append(f"postings of investor {i.pk} do not add up to its cash")
    lines += [f"postings for unknown investor {k}" for k, v in summed.items() if any(v)]
    held = (
        Posting.objects.filter(fund_id__isnull=False)
        .values("investor_id", "fund_id")
        .annotate(h=Sum("held"), r=Sum("held_reserved"), c=Sum("cost_basis"))
        .order_by()
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
    months = postings.sum_months(posted.iterator(chunk_size=10_000))
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
    """Every invariant the log and the tables keep; the postings are first written up to the log's
    end (``postings.catch_up``), so that they can be compared whole."""
    postings.catch_up()
    return sequence_gaps() + differences(replay(), live_state()) + posting_differences()


@transaction.atomic
def rebuild() -> State:
    """Throw the projections away and write them again from the log."""
    LedgerSequence.objects.select_for_update().filter(pk=1).first()
    state = replay()
    projections.write(state)
    return state
