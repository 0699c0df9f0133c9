"""In-process figures: the bare write transaction, orders through the service layer, projection
rebuild and time travel. Each returns plain numbers for the report."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from accounts.models import User
from config.scale import bulk_load
from investments import checks, market, matcher, postings, projections, replay, selectors
from investments.checks import LedgerError
from investments.models import (
    Event,
    Fund,
    Holding,
    Investor,
    Market,
    Order,
    Trade,
)

from . import ceiling, database, server
from .server import ROOT


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def bare_transactions(seconds: float) -> tuple[float, float, float]:
    """Locked update + insert per transaction, back to back: (per second, p50 ms, p99 ms)."""
    ceiling.ensure_tables()
    rng = random.Random(1)
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        ceiling.locked_write(rng.randint(1, ceiling.COUNTERS))
        times.append(time.perf_counter() - started)
    return len(times) / sum(times), percentile(times, 50) * 1000, percentile(times, 99) * 1000


class MissingData(Exception):
    """The seeded data cannot carry this scenario (reported as an error row)."""


@dataclass
class OrderPlan:
    """Who buys and who sells on one fund, at one price on the tick, so every pair trades."""

    fund_id: int
    price: int
    buyers: list[User]
    sellers: list[User]
    shares: dict[int, int]  # seller user id -> shares free to sell
    cash: dict[int, int]  # buyer user id -> cash available
    need: int  # cash one buy order reserves


def order_plan(fund_id: int = 1, *, people: int = 200) -> OrderPlan:
    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None:
        raise MissingData(f"no fund {fund_id}")
    reference = checks.reference_price(Market.objects.filter(fund=fund).first(), fund)
    rules = checks.market_rules()
    low, high = rules.price_range(reference)
    price = min(max(reference // rules.tick * rules.tick, low), high)
    open_at_price = Order.objects.filter(fund=fund, status="open", price=price)
    holders = list(
        Holding.objects.filter(fund=fund, held__gt=0, investor__user__is_active=True)
        .exclude(investor__in=open_at_price.filter(side="buy").values("investor"))
        .order_by("-held")
        .values_list("investor__user_id", "held")[:people]
    )
    need = rules.buy_reservation(price, 1)
    cash = dict(
        Investor.objects.filter(cash_available__gte=need, user__is_active=True)
        .exclude(pk__in=open_at_price.filter(side="sell").values("investor"))
        .order_by("-cash_available")
        .values_list("user_id", "cash_available")
    )
    shares = dict(holders)
    if cash and all(user_id in shares for user_id in cash):
        # Everyone with cash also holds: the richer half buys, the other holders sell.
        rich = set(list(cash)[: max(1, len(cash) // 2)])
        shares = {user_id: held for user_id, held in holders if user_id not in rich}
    # Buyers never sell and sellers never buy: no one meets their own order.
    buyer_ids = [user_id for user_id in cash if user_id not in shares][:people]
    cash = {user_id: cash[user_id] for user_id in buyer_ids}
    if not shares or not buyer_ids:
        raise MissingData(
            f"fund {fund_id} needs holders ({len(shares)}) and buyers with cash ({len(buyer_ids)})"
        )
    users = User.objects.in_bulk([*shares, *buyer_ids])
    return OrderPlan(
        fund_id=fund.pk,
        price=price,
        buyers=[users[i] for i in buyer_ids if users[i].can_write],
        sellers=[users[i] for i in shares if users[i].can_write],
        shares=shares,
        cash=cash,
        need=need,
    )


@dataclass
class OrderRun:
    placed: int
    refused: int
    trades: int
    seconds: float
    p50_ms: float
    p99_ms: float
    price: int

    @property
    def rate(self) -> float:
        return self.placed / self.seconds if self.seconds else 0.0


def planned_orders(plan: OrderPlan, count: int):
    """``count`` orders of one share as ``(user, side)``, buys and sells alternating at the plan's
    price from different people, so (almost) every sell meets a buy; each one's cash or share is
    counted as spent."""
    left, cash = dict(plan.shares), dict(plan.cash)
    b = s = 0
    for n in range(count):
        if n % 2:
            sellers = [u for u in plan.sellers if left[u.pk] > 0]
            if not sellers:
                raise MissingData(f"the holders of fund {plan.fund_id} ran out of shares after {n}")
            user, side = sellers[s % len(sellers)], "sell"
            left[user.pk] -= 1
            s += 1
        else:
            buyers = [u for u in plan.buyers if cash[u.pk] >= plan.need]
            if not buyers:
                raise MissingData(f"the buyers on fund {plan.fund_id} ran out of cash after {n}")
            user, side = buyers[b % len(buyers)], "buy"
            cash[user.pk] -= plan.need
            b += 1
        yield user, side


def service_orders(count: int, fund_id: int = 1) -> OrderRun:
    """``count`` orders through investments.market.place_order one after another, each decided
    inline (a matcher batch of one: the embedded default's path)."""
    plan = order_plan(fund_id)
    trades_before = Trade.objects.filter(fund_id=plan.fund_id).count()
    times, refused = [], 0
    started = time.perf_counter()
    with matcher.inline():
        for user, side in planned_orders(plan, count):
            t0 = time.perf_counter()
            try:
                market.place_order(
                    user=user, fund_id=plan.fund_id, side=side, price=plan.price, quantity=1
                )
            except LedgerError:
                refused += 1
            times.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    return OrderRun(
        placed=count - refused,
        refused=refused,
        trades=Trade.objects.filter(fund_id=plan.fund_id).count() - trades_before,
        seconds=seconds,
        p50_ms=percentile(times, 50) * 1000,
        p99_ms=percentile(times, 99) * 1000,
        price=plan.price,
    )


@dataclass
class MatcherRun:
    commands: int  # orders queued
    placed: int  # of them accepted (matched or resting)
    trades: int
    seconds: float
    behind: int = 0  # events the postings follower had still to post when the matcher was done
    caught_up: float = 0.0  # seconds after that until it had posted them

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0


def matcher_run(count: int, fund_id: int = 1, *, var=None) -> MatcherRun:
    """``count`` orders put in the fund's stream first (as requests would, unanswered), then a
    matcher in this process until it has nothing left: commands decided per second, their events
    and projections committed to MariaDB. The postings follower (``manage.py run_postings``)
    runs beside it, as in production, on the same machine; how far behind it was at the end,
    and how long it took to catch up, are reported too."""
    plan = order_plan(fund_id)
    running = matcher.Matcher()
    # A matcher's start (taking every fund's lease, reading their books) is not part of the rate:
    # a running matcher has read its books in its idle moments (``FundBook.warm``).
    running.lease()
    for _, fund_book in running.owned.values():
        fund_book.warm()
    client = matcher.redis()
    pipe = client.pipeline(transaction=False)
    for user, side in planned_orders(plan, count):
        command = matcher.Command(
            matcher.PLACE,
            plan.fund_id,
            user.pk,
            uuid.uuid4().hex,
            side=side,
            price=plan.price,
            quantity=1,
            sent=time.time(),
        )
        pipe.xadd(matcher.stream_key(plan.fund_id), command.fields())
    pipe.execute()
    orders = Order.objects.filter(fund_id=fund_id)
    before = orders.count(), Trade.objects.filter(fund_id=fund_id).count()
    # (On the database this process uses: a test's is not DATABASE_URL's.)
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    env = {**os.environ, "DATABASE_URL": database.geturl()}
    var = var or Path(settings.VAR_DIR) / "bench"
    with server.command("run_postings", var=var, env=env) as follower:
        postings.catch_up()  # (the follower starts with nothing to do)
        started = time.perf_counter()
        running.run(idle_exit=True)
        seconds = time.perf_counter() - started
        last = Event.objects.aggregate(last=Max("sequence"))["last"]
        behind = last - postings.watermark()
        deadline = time.monotonic() + 120
        while postings.watermark() < last:
            if follower.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the postings follower stopped before it had caught up")
            time.sleep(0.01)
        caught_up = time.perf_counter() - started - seconds
    return MatcherRun(
        commands=count,
        placed=orders.count() - before[0],
        trades=Trade.objects.filter(fund_id=fund_id).count() - before[1],
        seconds=seconds,
        behind=behind,
        caught_up=caught_up,
    )


def rebuild(*, wiped: bool = False) -> tuple[int, float]:
    """Rebuild every projection from the log: (events, seconds). ``wiped``: first (untimed) empty
    the big projections, orders, trades and holdings, so every row is written again; otherwise
    the rebuild finds them intact and mends nothing, its common case."""
    if wiped:
        # Truncated, not deleted row by row: a DELETE of 900,000 rows leaves them to InnoDB's
        # purge, which would run beside the rebuild on the same two cores and be timed with it.
        with bulk_load(), connection.cursor() as cursor:
            for table in projections.RECONCILED:
                name = connection.ops.quote_name(table.model._meta.db_table)
                verb = "TRUNCATE TABLE" if connection.vendor == "mysql" else "DELETE FROM"
                cursor.execute(f"{verb} {name}")
    events = Event.objects.count()
    started = time.perf_counter()
    replay.rebuild()
    seconds = time.perf_counter() - started
    if wiped:
        # A truncated table's statistics start again from nothing: without fresh ones MariaDB
        # answered time travel's latest-trade-per-fund with a filesort of every trade (minutes)
        # instead of one index entry per fund.
        database.analyze(table.model._meta.db_table for table in projections.RECONCILED)
    return events, seconds


def time_travel(samples: int = 200, *, seed: int = 7) -> tuple[int, list[float]]:
    """Portfolio at a random past moment for random investors: (events in the log, ms each)."""
    bounds = Event.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    ids = list(Investor.objects.values_list("pk", flat=True))
    if not ids or bounds["first"] is None:
        raise MissingData("no investors or no events")
    rng = random.Random(seed)
    times = []
    for _ in range(samples):
        investor = Investor.objects.get(pk=rng.choice(ids))
        at = bounds["first"] + (bounds["last"] - bounds["first"]) * rng.random()
        started = time.perf_counter()
        selectors.portfolio(investor=investor, at=at)
        times.append((time.perf_counter() - started) * 1000)
    return Event.objects.count(), times


def trade_latency(directory) -> dict[float, float]:
    """The matcher's okcow_market_accept_to_trade_seconds histogram as the site's metrics
    directory holds it (PROMETHEUS_MULTIPROC_DIR, shared by gunicorn and the matcher beside it):
    each bucket's upper bound in seconds → trades at or under it, so far."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    buckets: dict[float, float] = {}
    for family in registry.collect():
        if family.name != "okcow_market_accept_to_trade_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0) + sample.value
    return buckets


def read_routes(directory) -> dict[str, float]:
    """Requests by where their reads went (okcow_db_read_route_total's ``to``: primary or
    replica), as the site's metrics directory holds them."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    routes: dict[str, float] = {}
    for family in registry.collect():
        if family.name != "okcow_db_read_route":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                to = sample.labels["to"]
                routes[to] = routes.get(to, 0) + sample.value
    return routes


def replica_caught_up(replica_url: str, timeout: float = 600) -> bool:
    """Wait (up to ``timeout`` s) until the replica at ``replica_url`` has applied everything
    the primary (this process's database) has written: MASTER_GTID_WAIT."""
    import MySQLdb

    with connection.cursor() as cursor:
        cursor.execute("SELECT @@gtid_binlog_pos")
        (position,) = cursor.fetchone()
    parts = urlsplit(replica_url)
    replica = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )
    try:
        cursor = replica.cursor()
        cursor.execute("SELECT MASTER_GTID_WAIT(%s, %s)", [position, timeout])
        return cursor.fetchone()[0] == 0
    finally:
        replica.close()


def latency_p99_ms(before: dict[float, float], after: dict[float, float]) -> tuple[int, float]:
    """Trades between two ``trade_latency`` readings and the bucket bound their p99 is under,
    in ms (inf when it is past the last bucket)."""
    counts = {bound: after[bound] - before.get(bound, 0) for bound in sorted(after)}
    total = counts.get(float("inf"), 0)
    if not total:
        return 0, 0.0
    for bound, count in counts.items():
        if count >= 0.99 * total:
            return int(total), bound * 1000
    return int(total), float("inf")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def audit(env: dict) -> tuple[bool, str]:
    """`manage.py audit` in its own process (what an operator runs)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "audit"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()
