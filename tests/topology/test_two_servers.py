"""Two app servers (two "machines": each a gunicorn and a ``run_matcher``) on one MariaDB and one
Redis: each fund is matched by one matcher at a time and the other machine's matcher takes a
dead machine's funds over within the lease time; sessions, log-in limits and the daily jobs
behave as on one server."""

import re
import subprocess
import threading
import time
import uuid

import pytest

from . import site
from .conftest import PRIMARY, wait_for

pytestmark = pytest.mark.servers

DATABASE = "okcow_topology_servers"
REDIS_URL = "redis://127.0.0.1:6379/12"
LEASE_SECONDS = 2
PEOPLE = 7  # p0000-p0002 buy, p0003-p0005 sell (they subscribe to every fund first)
TRADERS, SELLERS = range(6), range(3, 6)
LOCKED_OUT = "p0006"  # the log-in limits' test
SETUP = """
from accounts.models import User
from investments import checks, services
from investments.models import Fund
for fund in Fund.objects.order_by("pk"):
    for n in {sellers}:
        services.subscribe(user=User.objects.get(username=f"p{{n:04d}}"), fund_id=fund.pk,
                           amount=3_000_000)
    low, high = checks.todays_prices(None, fund)
    print("fund", fund.pk, (low + high) // 2 // 100 * 100)
"""
ROYALTIES = """
from accounts.models import User
from investments import services
from investments.models import Fund
staff = User.objects.filter(is_staff=True).first()
for fund in Fund.objects.order_by("pk"):
    services.record_royalty(actor=staff, fund_id=fund.pk, amount=1_000_000)
"""
# Each fund's orders replayed through the domain's book in the order they were accepted give
# exactly the stored trades: no fund had two writers deciding against two books.
ONE_WRITER = """
from investments.domain.orderbook import BookOrder, OrderBook
from investments.models import Fund, Order, Trade
for fund in Fund.objects.order_by("pk"):
    book, expected = OrderBook(), []
    for o in Order.objects.filter(fund=fund).order_by("sequence"):
        for f in book.place(BookOrder(o.pk, o.investor_id, o.side, o.price, o.quantity)):
            expected.append((f.buy_order_id, f.sell_order_id, f.quantity))
    stored = list(Trade.objects.filter(fund=fund).order_by("pk")
                  .values_list("buy_order_id", "sell_order_id", "quantity"))
    print("fund", fund.pk, "same" if stored == expected else "DIFFERENT", len(stored))
"""


class Machine:
    """One app server: a gunicorn and a matcher on their own."""

    def __init__(self, name: str, env: dict, logs):
        self.name, self.port = name, site.free_port()
        self.web = site.gunicorn(env, self.port, logs / f"servers-{name}-gunicorn.log")
        self.matcher = site.Process(
            [site.PYTHON, "manage.py", "run_matcher"], env, logs / f"servers-{name}-matcher.log"
        ).start()

    def owns(self, leases: dict[int, str]) -> set[int]:
        """The funds whose lease names this machine's matcher (its name holds its pid)."""
        return {f for f, owner in leases.items() if f"-{self.matcher.popen.pid}-" in owner}

    def kill(self) -> None:
        self.web.kill()  # kill -9 of each process group: no goodbye, leases left to run out
        self.matcher.kill()

    def stop(self) -> None:
        self.web.stop()
        self.matcher.stop()


@pytest.fixture(scope="module")
def world(logs):
    env = site.base_env(
        DATABASE_URL=f"{PRIMARY}/{DATABASE}",
        REDIS_URL=REDIS_URL,
        MARKET_MATCHER="stream",
        MATCHER_LEASE_SECONDS=LEASE_SECONDS,
        MATCHER_REPLY_SECONDS=8,  # longer than a takeover: orders wait through it
    )
    site.redis_flush(REDIS_URL)
    site.prepare_database(PRIMARY, DATABASE, env, people=PEOPLE)
    setup = site.manage(
        {**env, "MARKET_MATCHER": "inline"}, "shell", "-c", SETUP.format(sellers=list(SELLERS))
    )
    prices = {int(f): int(p) for f, p in re.findall(r"^fund (\d+) (\d+)$", setup, re.M)}
    first = Machine("a", env, logs)
    # The first matcher leases every fund nobody holds; the second one starts with none.
    wait_for(lambda: first.owns(_leases(prices)) == set(prices), timeout=30, what="a's leases")
    second = Machine("b", env, logs)
    yield {"env": env, "prices": prices, "a": first, "b": second}
    first.stop()
    second.stop()


def _leases(prices: dict[int, int]) -> dict[int, str]:
    client = site.redis.Redis.from_url(REDIS_URL)
    found = {f: client.get(f"okcow:matcher-lease:{f}") for f in prices}
    return {f: owner.decode() for f, owner in found.items() if owner}


def _order(port: int, browser: site.Browser, fund: int, price: int, person: int) -> str:
    side = "sell" if person in SELLERS else "buy"
    key = uuid.uuid4().hex
    form = {"side": side, "price": price, "quantity": 1, "idempotency_key": key}
    answer = browser.post(f"/investments/funds/{fund}/market/order/", form)
    assert answer.status == 302, (answer.status, answer.body[:300])
    page = browser.get(answer.location).body
    assert "Order placed" in page, re.findall(r'class="[^"]*message[^"]*"[^>]*>([^<]*)', page)
    return key


def _logged_in(port: int, person: int) -> site.Browser:
    browser = site.Browser(port, timeout=20)
    browser.log_in(f"p{person:04d}")
    return browser


def test_a_session_and_the_log_in_limits_are_shared_by_both_servers(world):
    a, b = world["a"], world["b"]
    on_a = _logged_in(a.port, 0)
    on_b = site.Browser(b.port, cookies=dict(on_a.cookies))
    assert on_b.get("/investments/portfolio/").status == 200  # the same session on b
    on_b.post("/accounts/logout/", {})
    answer = on_a.get("/investments/portfolio/")
    assert answer.status == 302 and "/accounts/login/" in answer.location  # logged out on a too
    # Failed log-ins for one account count together, whichever server they reach.
    limit = 5  # LOGIN_FAILURE_LIMIT_PER_ACCOUNT
    for n in range(limit):
        browser = site.Browser((a, b)[n % 2].port)
        browser.get("/accounts/login/")
        browser.post("/accounts/login/", {"username": LOCKED_OUT, "password": "wrong"})
    browser = site.Browser(a.port)
    browser.get("/accounts/login/")
    answer = browser.post("/accounts/login/", {"username": LOCKED_OUT, "password": site.PASSWORD})
    assert answer.status != 302 and "Too many failed log-ins" in answer.body


def test_the_daily_jobs_run_once_when_both_servers_start_them(world):
    env, funds = world["env"], len(world["prices"])
    site.manage({**env, "MARKET_MATCHER": "inline"}, "shell", "-c", ROYALTIES)

    def both(command: str) -> list[str]:
        jobs = [
            subprocess.Popen(
                [site.PYTHON, "manage.py", command],
                cwd=site.ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        return [job.communicate(timeout=120)[0] for job in jobs]

    def events(kind: str) -> int:
        ((count,),) = site.sql(
            PRIMARY,
            "SELECT COUNT(*) FROM investments_event WHERE type = %s",
            [kind],
            database=DATABASE,
        )
        return count

    # Today may be closed already (the demo data closes its days): what counts is that each
    # fund's day is closed once, and each new royalty paid once.
    for command, done, kind in (
        ("close_market", r"Closed (\d+)", "market_closed"),
        ("distribute_royalties", r"Distributed (\d+)", "royalty_distributed"),
    ):
        before = events(kind)
        outputs = both(command)
        counts = [int(m.group(1)) for o in outputs if (m := re.search(done, o))]
        held = [o for o in outputs if "Another server is" in o]
        assert len(counts) + len(held) == 2, outputs
        assert events(kind) - before == sum(counts), outputs
        again = site.manage(env, command)
        assert re.search(done, again).group(1) == "0", again
    assert events("royalty_distributed") >= funds
    doubled = site.sql(
        PRIMARY,
        "SELECT stream, JSON_VALUE(payload, '$.day'), COUNT(*) FROM investments_event "
        "WHERE type = 'market_closed' GROUP BY 1, 2 HAVING COUNT(*) > 1",
        database=DATABASE,
    )
    assert doubled == ()
    ((pending,),) = site.sql(
        PRIMARY, "SELECT COUNT(*) FROM investments_royalty WHERE NOT distributed", database=DATABASE
    )
    assert pending == 0


def test_the_other_server_takes_a_dead_servers_funds_over_within_the_lease(world):
    a, b, prices = world["a"], world["b"], world["prices"]
    leases = _leases(prices)
    assert a.owns(leases) == set(prices) and not b.owns(leases)
    sent = []
    browsers = {(m.name, p): _logged_in(m.port, p) for m in (a, b) for p in TRADERS}
    for fund, price in prices.items():  # orders through both servers, all matched by a
        for person in TRADERS:
            machine = (a, b)[person % 2]
            sent.append(_order(machine.port, browsers[machine.name, person], fund, price, person))
    a.kill()
    killed = time.monotonic()
    # Right away, b's people keep ordering: their orders wait in the streams for the takeover.
    after: list[str] = []
    errors: list[BaseException] = []

    def keep_ordering(person: int) -> None:
        try:
            for fund, price in prices.items():
                after.append(_order(b.port, browsers["b", person], fund, price, person))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=keep_ordering, args=(p,)) for p in TRADERS]
    for thread in threads:
        thread.start()
    taken = wait_for(
        lambda: b.owns(leases := _leases(prices)) == set(prices) and leases,
        timeout=LEASE_SECONDS * 5,
        what="b's matcher holding every fund",
    )
    took_over = time.monotonic() - killed
    for thread in threads:
        thread.join(timeout=60)
    decided = time.monotonic() - killed
    assert errors == [], errors
    assert set(taken) == set(prices)
    placed = dict(
        site.sql(
            PRIMARY,
            "SELECT idempotency_key, COUNT(*) FROM investments_event WHERE type = 'order_placed' "
            "GROUP BY idempotency_key",
            database=DATABASE,
        )
    )
    one_writer = site.manage(world["env"], "shell", "-c", ONE_WRITER)
    audit = site.manage(world["env"], "audit")
    print(
        f"\ntwo servers: a killed; b held all {len(prices)} funds after {took_over:.1f} s "
        f"(lease {LEASE_SECONDS} s); the {len(after)} orders sent through b meanwhile all "
        f"accepted {decided:.1f} s after the kill"
    )
    assert took_over < LEASE_SECONDS + 0.5, took_over  # the lease, and the checks' granularity
    assert all(placed.get(key) == 1 for key in sent + after)  # each once, none lost
    assert len(after) == len(TRADERS) * len(prices)
    assert "DIFFERENT" not in one_writer and one_writer.count("same") == len(prices), one_writer
    assert "Audit passed" in audit, audit
