"""The market's matcher through Redis Streams (``MARKET_MATCHER=stream``): a request hands its
command to the fund's matcher and waits for the answer; the matcher decides commands in batches;
a matcher killed with ``kill -9`` loses nothing and applies nothing twice. Needs MariaDB and Redis
(the second pass of CI)."""

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as redis_client
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import translation

from investments import market, matcher, metrics, replay, services
from investments.checks import LedgerError
from investments.domain import events
from investments.domain.orderbook import BookOrder, OrderBook
from investments.models import Event, Holding, Order, Trade
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


def order(user, fund, side: str, price: int, quantity: int, key: str | None = None):
    return matcher.Command(
        matcher.PLACE,
        fund.pk,
        user.pk,
        key or uuid.uuid4().hex,
        side=side,
        price=price,
        quantity=quantity,
        sent=time.time(),
    )


def queue(fund, buyers, sellers, count: int, seed: int = 5) -> list[str]:
    """``count`` orders put in the fund's stream, none answered yet; returns their keys. Buyers
    and sellers are different people with cash and shares to spare: none can be refused."""
    rng, keys = random.Random(seed), []
    for _ in range(count):
        side = rng.choice(["buy", "sell"])
        user = rng.choice(buyers if side == "buy" else sellers)
        command = order(user, fund, side, rng.choice(PRICES), rng.randint(1, 3))
        matcher.enqueue(command)
        keys.append(command.key)
    return keys


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


def placed(keys) -> int:
    return Event.objects.filter(type=events.ORDER_PLACED, idempotency_key__in=keys).count()


def pending(fund) -> int:
    return matcher.redis().xpending(matcher.stream_key(fund.pk), matcher.GROUP)["pending"]


def test_queued_orders_are_decided_in_batches_exactly_as_the_book_says(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 4)
    keys = queue(fund, buyers, sellers, 60)
    assert not Order.objects.exists()  # nothing is decided before a matcher takes the commands
    stream.MATCHER_BATCH = 25
    matcher.Matcher(lease_seconds=2).run(idle_exit=True)
    assert placed(keys) == 60
    assert stored_trades(fund) == expected_trades(fund) and Trade.objects.exists()
    assert pending(fund) == 0  # every message acknowledged after its batch committed
    assert matcher.redis().xlen(matcher.stream_key(fund.pk)) == 1  # done with: trimmed
    assert replay.audit() == []
    assert_invariants()


@contextlib.contextmanager
def matcher_thread():
    """A matcher in a thread of this process, as ``run_matcher`` runs it. Its refusals are in
    the language the thread speaks: English, like the rest of these tests (a thread starts in
    the site's default, Korean)."""
    stop = threading.Event()

    def run():
        try:
            with translation.override("en"):
                matcher.Matcher(lease_seconds=2).run(stop)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def running(stream):
    with matcher_thread():
        yield


def test_a_request_gets_its_matchers_answer(running):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    (buyer,), (seller,) = people(fund, 1)
    rest = market.place_order(user=seller, fund_id=fund.pk, side="sell", price=10_000, quantity=5)
    assert rest.status == Order.Status.OPEN and rest.remaining == 5
    taker = market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=2)
    assert taker.status == Order.Status.FILLED  # matched in the batch that accepted it
    with pytest.raises(LedgerError) as refused:
        market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=90_000, quantity=1)
    assert refused.value.field == "price" and "between" in refused.value.message
    with pytest.raises(LedgerError) as refused:
        market.place_order(user=seller, fund_id=fund.pk, side="buy", price=10_000, quantity=1)
    assert refused.value.field == "price" and "other side" in refused.value.message
    cancelled = market.cancel_order(user=seller, order_id=rest.pk)
    assert cancelled.status == Order.Status.CANCELLED
    assert Holding.objects.get(investor=seller.investor, fund=fund).reserved == 0
    assert replay.audit() == []
    assert_invariants()


def test_without_an_answer_in_time_the_order_is_unconfirmed_then_decided(stream):
    stream.MATCHER_REPLY_SECONDS = 0.2
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(1_000_000)
    with pytest.raises(matcher.Unconfirmed):  # no matcher runs
        market.place_order(
            user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=2, idempotency_key="k1"
        )
    assert not Order.objects.exists()
    with matcher_thread():
        # The person sends the form again: the first order is what they get, not a second one.
        again = market.place_order(
            user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=2, idempotency_key="k1"
        )
    assert again == Order.objects.get() and again.status == Order.Status.OPEN


def test_a_batch_decides_each_order_against_what_the_orders_before_it_left(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(25_000)  # one order of 2 at 10,000 needs 20,200 with the fee
    _, (seller,) = people(fund, 1)
    first = order(buyer, fund, "buy", 10_000, 2)
    commands = [
        first,
        order(buyer, fund, "buy", 10_000, 2),  # the cash is reserved by the first
        order(buyer, fund, "buy", 10_000, 2, key=first.key),  # a double submit of the first
        order(seller, fund, "sell", 10_000, 101),  # 100 shares
        order(seller, fund, "sell", 10_000, 100),
        order(seller, fund, "sell", 10_000, 1),  # all 100 are on sale already
    ]
    outcomes = matcher.process(matcher.FundBook(fund.pk), commands)
    assert [o.field for o in outcomes] == [None, "quantity", None, "quantity", None, "quantity"]
    assert outcomes[0].order_id == outcomes[2].order_id > 0
    assert Order.objects.filter(fund=fund).count() == 2
    assert stored_trades(fund) == expected_trades(fund) != []
    assert replay.audit() == []
    assert_invariants()


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


def test_a_matcher_whose_book_is_current_is_still_fenced_by_a_newer_epoch(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 1)
    first, second = matcher.Matcher(lease_seconds=1), matcher.Matcher(lease_seconds=1)
    first.lease()
    epoch, book = first.owned[fund.pk]
    matcher.process(book, [order(buyers[0], fund, "buy", 10_000, 1)], epoch=epoch)
    assert book.version is not None  # its next batch checks the checkpoint in one statement
    time.sleep(1.2)
    second.lease()
    with pytest.raises(matcher.LeaseLost):
        matcher.process(book, [order(sellers[0], fund, "sell", 10_000, 1)], epoch=epoch)
    assert Order.objects.filter(fund=fund).count() == 1
    assert_invariants()


def test_a_request_gets_its_order_as_the_matcher_wrote_it(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 1)
    running = matcher.Matcher(lease_seconds=5)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    fields = [f.attname for f in Order._meta.concrete_fields]

    def answered_as_stored(answered: Order) -> Order:
        stored = Order.objects.get(pk=answered.pk)
        assert [getattr(answered, f) for f in fields] == [getattr(stored, f) for f in fields]
        return answered

    try:
        answered_as_stored(
            market.place_order(
                user=buyers[0], fund_id=fund.pk, side="buy", price=10_000, quantity=3
            )
        )
        taker = answered_as_stored(
            market.place_order(
                user=sellers[0], fund_id=fund.pk, side="sell", price=10_000, quantity=1
            )
        )
    finally:
        stop.set()
        thread.join()
    assert (taker.status, taker.remaining) == ("filled", 0)


def test_a_batch_committed_but_not_acknowledged_is_answered_from_the_log(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 3)
    keys = queue(fund, buyers, sellers, 30)
    dead = matcher.Matcher(lease_seconds=1)
    dead.lease()
    (messages,) = dead._messages().values()  # read: now pending for this matcher
    epoch, fund_book = dead.owned[fund.pk]
    commands = [matcher.Command.read(m) for _, m in messages]
    matcher.process(fund_book, commands, epoch=epoch)  # committed; then killed before the XACK
    assert placed(keys) == 30 and pending(fund) == 30
    trades = stored_trades(fund)
    time.sleep(1.1)  # its lease runs out
    matcher.Matcher(lease_seconds=1).run(idle_exit=True)  # takes over and claims the 30
    assert placed(keys) == 30 and stored_trades(fund) == trades == expected_trades(fund)
    assert pending(fund) == 0
    assert replay.audit() == []


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
    keys = queue(fund, buyers, sellers, 400, seed=11)
    first = _matcher_process()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once it is part way through
        if 0 < placed(keys) < 400:
            break
        time.sleep(0.005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert placed(keys) < 400, "the matcher finished before it could be killed"
    second = _matcher_process("--until-idle")  # takes the fund over once the lease runs out
    _, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors.decode()[-2000:]
    assert placed(keys) == 400  # every command decided once (none could be refused)
    assert pending(fund) == 0
    assert stored_trades(fund) == expected_trades(fund)
    assert replay.audit() == []
    assert_invariants()


def test_a_book_someone_else_moved_is_read_again(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 3)
    owner = matcher.Matcher(lease_seconds=5)
    owner.lease()
    queue(fund, buyers, sellers, 30, seed=1)
    owner.step()  # its book is in memory now
    with matcher.inline():  # another writer matches some orders meanwhile
        rng = random.Random(2)
        for _ in range(30):
            side = rng.choice(["buy", "sell"])
            user = rng.choice(buyers if side == "buy" else sellers)
            market.place_order(
                user=user, fund_id=fund.pk, side=side, price=rng.choice(PRICES), quantity=1
            )
    queue(fund, buyers, sellers, 30, seed=3)
    while owner.step():
        pass
    assert Order.objects.filter(fund=fund).count() == 90
    assert stored_trades(fund) == expected_trades(fund)
    assert replay.audit() == []
    owner.release()


def test_the_order_form_says_so_when_the_market_has_not_answered_yet(stream, client):
    stream.MATCHER_REPLY_SECONDS = 0.2
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(1_000_000)
    client.force_login(buyer)
    data = {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "slow"}
    response = client.post(reverse("investments:order", args=[fund.pk]), data, follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert b"not confirmed yet" in response.content
    assert not Order.objects.exists()  # waiting in the fund's stream
    matcher.Matcher(lease_seconds=2).run(idle_exit=True)
    assert Order.objects.get().quantity == 1


def test_with_redis_down_the_order_form_refuses_plainly(stream, client, monkeypatch):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    client.force_login(investor_with_cash(1_000_000))
    down = redis_client.Redis(port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(matcher, "redis", lambda: down)
    data = {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "down"}
    response = client.post(reverse("investments:order", args=[fund.pk]), data)
    assert response.status_code == 400
    assert b"cannot take orders right now" in response.content
    assert not Order.objects.exists()


def test_an_answer_lost_after_the_order_was_sent_is_unconfirmed_not_refused(stream, monkeypatch):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyer = investor_with_cash(1_000_000)
    client = matcher.redis()

    def failing_over(*args, **kwargs):
        raise redis_client.ConnectionError("Redis is failing over")

    monkeypatch.setattr(client, "blpop", failing_over)
    monkeypatch.setattr(matcher, "redis", lambda: client)
    with pytest.raises(matcher.Unconfirmed):  # sent: it will be decided, the person is told so
        market.place_order(
            user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="x"
        )
    assert client.xlen(matcher.stream_key(fund.pk)) == 1


def test_a_command_no_replica_confirmed_is_queued_and_counted(stream):
    stream.REDIS_WAIT_REPLICAS, stream.REDIS_WAIT_MS = 1, 50  # this Redis has no replica
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    (buyer,), _ = people(fund, 1)
    before = metrics.UNREPLICATED._value.get()
    matcher.enqueue(order(buyer, fund, "buy", 10_000, 1))
    assert metrics.UNREPLICATED._value.get() == before + 1
    assert matcher.redis().xlen(matcher.stream_key(fund.pk)) == 1


def test_a_matcher_without_a_fund_comes_back_the_moment_its_lease_runs_out(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    owner, other = matcher.Matcher(lease_seconds=6), matcher.Matcher(lease_seconds=6)
    owner.lease()
    matcher.redis().pexpire(matcher.lease_key(fund.pk), 300)  # its owner died 5.7 s ago
    other.lease()
    assert fund.pk not in other.owned
    assert other.lease_due - time.monotonic() < 0.5  # not a third of the lease (2 s)
    time.sleep(0.35)
    other.lease()
    assert fund.pk in other.owned
    other.release()


def test_a_matcher_waits_out_redis_going_away_and_goes_on(stream, monkeypatch):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 3)
    keys = queue(fund, buyers, sellers, 30, seed=4)
    owner = matcher.Matcher(lease_seconds=2)
    real_step, failures = owner.step, []

    def step():
        if len(failures) < 3:  # the first three turns find Redis away
            failures.append(time.monotonic())
            raise redis_client.ConnectionError("Connection refused")
        return real_step()

    monkeypatch.setattr(owner, "step", step)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: (owner.run(stop), connection.close()))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while placed(keys) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert len(failures) == 3 and failures[2] - failures[0] >= 0.25  # it paused, longer each time
    assert placed(keys) == 30
    assert stored_trades(fund) == expected_trades(fund)
    assert replay.audit() == []


def test_an_idle_matcher_reads_its_books_whole_and_matches_against_them(stream):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=10_000)
    buyers, sellers = people(fund, 2)
    with matcher.inline():
        for n, price in enumerate(PRICES):
            market.place_order(
                user=buyers[n % 2], fund_id=fund.pk, side="buy", price=price, quantity=2
            )
    owner = matcher.Matcher(lease_seconds=5)
    owner.lease()
    assert not owner.step()  # nothing queued: it reads the fund's book instead
    _, fund_book = owner.owned[fund.pk]
    resting = Order.objects.filter(fund=fund, status=Order.Status.OPEN)
    assert fund_book.whole
    assert sorted(o.order_id for o in fund_book.book.orders()) == sorted(o.pk for o in resting)
    queue(fund, buyers, sellers, 30, seed=4)
    while owner.step():
        pass
    assert stored_trades(fund) == expected_trades(fund) != []
    assert replay.audit() == []
    owner.release()
