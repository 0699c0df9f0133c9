"""The market's matcher through Redis Streams (``MARKET_MATCHER=stream``): orders are accepted by
the request and matched by a matcher that owns the fund; a matcher killed with ``kill -9`` loses
nothing and applies nothing twice. Needs MariaDB and Redis (the second pass of CI)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from investments import market, matcher, replay, services
from investments.domain.orderbook import BookOrder, OrderBook
from investments.models import MatcherCheckpoint, Order, Trade
from tests.factories import StaffFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = [pytest.mark.matcher, pytest.mark.django_db(transaction=True)]

PRICES = (9_900, 10_000, 10_100)


@pytest.fixture
def stream(settings):
    settings.MARKET_MATCHER = "stream"
    return settings


def people(fund, count: int):
    buyers = [investor_with_cash(10_000_000) for _ in range(count)]
    sellers = [investor_with_cash(2_000_000) for _ in range(count)]
    for seller in sellers:
        services.subscribe(user=seller, fund_id=fund.pk, amount=1_000_000)  # 100 shares
    return buyers, sellers


def place(fund, buyers, sellers, count: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        side = rng.choice(["buy", "sell"])
        user = rng.choice(buyers if side == "buy" else sellers)
        market.place_order(
            user=user,
            fund_id=fund.pk,
            side=side,
            price=rng.choice(PRICES),
            quantity=rng.randint(1, 3),
        )


def expected_trades(fund) -> list[tuple[int, int, int]]:
    """Every order replayed through the domain's book in the order it was accepted."""
    book, trades = OrderBook(), []
    for o in Order.objects.filter(fund=fund).order_by("sequence"):
        for fill in book.place(BookOrder(o.pk, o.investor_id, o.side, o.price, o.quantity)):
            trades.append((fill.buy_order_id, fill.sell_order_id, fill.quantity))
    return trades


def stored_trades(fund) -> list[tuple[int, int, int]]:
    rows = Trade.objects.filter(fund=fund).order_by("pk")
    return list(rows.values_list("buy_order_id", "sell_order_id", "quantity"))


def test_orders_wait_for_the_matcher_then_match_exactly_as_the_book_says(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 4)
    place(fund, buyers, sellers, 60)
    assert Trade.objects.count() == 0  # accepted, reserved, not matched: no matcher yet
    assert matcher.redis().xlen(matcher.stream_key(fund.pk)) == 60
    matcher.Matcher(lease_seconds=2).run(idle_exit=True)
    assert stored_trades(fund) == expected_trades(fund) and Trade.objects.exists()
    checkpoint = MatcherCheckpoint.objects.get(fund=fund)
    assert checkpoint.last_sequence == Order.objects.order_by("-sequence").first().sequence
    pending = matcher.redis().xpending(matcher.stream_key(fund.pk), matcher.GROUP)
    assert pending["pending"] == 0  # every message acknowledged after its batch committed
    assert replay.audit() == []
    assert_invariants()


def test_a_cancel_goes_through_the_matcher(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(1_000_000)
    order = market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=2)
    asked = market.cancel_order(user=buyer, order_id=order.pk)
    assert asked.status == Order.Status.OPEN  # requested: the matcher applies it
    matcher.Matcher(lease_seconds=2).run(idle_exit=True)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cash_reserved == 0
    buyer.investor.refresh_from_db()
    assert (buyer.investor.cash_available, buyer.investor.cash_reserved) == (1_000_000, 0)
    assert replay.audit() == []


def test_one_matcher_owns_a_fund_and_a_newer_epoch_fences_the_old_one(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    first, second = matcher.Matcher(lease_seconds=1), matcher.Matcher(lease_seconds=1)
    first.lease()
    second.lease()
    assert fund.pk in first.owned and fund.pk not in second.owned
    time.sleep(1.2)  # the first stops renewing (say it hangs): its lease runs out
    second.lease()
    assert fund.pk in second.owned
    old_epoch, book = first.owned[fund.pk]
    assert second.owned[fund.pk][0] == old_epoch + 1
    with pytest.raises(matcher.LeaseLost):
        matcher.process(book, epoch=old_epoch)
    first.lease()  # its next renewal finds the lease someone else's: it lets the fund go
    assert fund.pk not in first.owned


def _matcher_process(*extra: str) -> subprocess.Popen:
    """``manage.py run_matcher`` in its own process, on this test's database and Redis."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "MARKET_MATCHER": "stream",
        "MATCHER_BATCH": "20",
    }
    manage = Path(settings.BASE_DIR) / "manage.py"
    return subprocess.Popen(
        [sys.executable, str(manage), "run_matcher", "--lease-seconds", "1", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_matcher_killed_mid_run_loses_nothing_and_applies_nothing_twice(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 10)
    place(fund, buyers, sellers, 400, seed=11)
    last = Order.objects.order_by("-sequence").first().sequence
    first = _matcher_process()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once it is part way through
        done = MatcherCheckpoint.objects.filter(fund=fund).values_list("last_sequence", flat=True)
        if done and 0 < done[0] < last:
            break
        time.sleep(0.005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    part = MatcherCheckpoint.objects.get(fund=fund).last_sequence
    assert part < last, "the matcher finished before it could be killed"
    second = _matcher_process("--until-idle")  # takes the fund over once the lease runs out
    _, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors.decode()[-2000:]
    assert MatcherCheckpoint.objects.get(fund=fund).last_sequence == last
    assert stored_trades(fund) == expected_trades(fund)
    assert replay.audit() == []
    assert_invariants()


def test_a_book_someone_else_moved_is_read_again(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 3)
    owner = matcher.Matcher(lease_seconds=5)
    owner.lease()
    place(fund, buyers, sellers, 30, seed=1)
    owner.step()  # its book is in memory now
    with matcher.inline():  # another writer matches some orders meanwhile
        place(fund, buyers, sellers, 30, seed=2)
    place(fund, buyers, sellers, 30, seed=3)
    while owner.step():
        pass
    assert stored_trades(fund) == expected_trades(fund)
    assert replay.audit() == []
    owner.release()


def test_a_cancel_of_an_order_the_matcher_has_not_reached_waits_for_it(stream):
    stream.MATCHER_BATCH = 5
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(10_000_000)
    orders = [
        market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=1)
        for _ in range(12)
    ]
    market.cancel_order(user=buyer, order_id=orders[-1].pk)  # in the third batch
    matcher.Matcher(lease_seconds=2).run(idle_exit=True)
    statuses = list(Order.objects.filter(fund=fund).order_by("sequence").values_list("status"))
    assert statuses == [("open",)] * 11 + [("cancelled",)]
    assert replay.audit() == []
