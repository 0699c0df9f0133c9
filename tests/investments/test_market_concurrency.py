"""16 real threads placing and cancelling crossing orders on one fund (SQLite and MariaDB)."""

import random
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from investments import market, services
from investments.checks import LedgerError
from investments.models import Event, FeeAccount, Fund, Holding, Investor, Order, Trade
from tests.factories import fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db(transaction=True)


def test_sixteen_threads_trading_one_book():
    fund = fund_with_copyright(base_price=10_000)
    users = []
    for _ in range(16):
        user = investor_with_cash(2_000_000)
        services.subscribe(user=user, fund_id=fund.pk, amount=200_000)
        users.append(user)
    fund.refresh_from_db()
    cash_before = (
        Investor.objects.aggregate(a=Sum("cash_available"), r=Sum("cash_reserved"))["a"]
        + Fund.objects.get(pk=fund.pk).cash
    )
    shares_before = fund.shares_outstanding
    errors = []
    deadline = time.monotonic() + 3

    def work(user, seed):
        rng = random.Random(seed)
        try:
            ops = 0
            while time.monotonic() < deadline and ops < 40:
                ops += 1
                try:
                    if rng.random() < 0.25:
                        mine = list(
                            Order.objects.filter(investor__user=user, status="open").values_list(
                                "pk", flat=True
                            )
                        )
                        if mine:
                            market.cancel_order(user=user, order_id=rng.choice(mine))
                            continue
                    market.place_order(
                        user=user,
                        fund_id=fund.pk,
                        side=rng.choice(["buy", "sell"]),
                        price=rng.choice([9_900, 10_000, 10_100]),
                        quantity=rng.randint(1, 5),
                    )
                except LedgerError:
                    pass
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u, n)) for n, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Trade.objects.exists()
    fund.refresh_from_db()
    held = Holding.objects.filter(fund=fund).aggregate(h=Sum("held"), r=Sum("reserved"))
    assert held["h"] + held["r"] == shares_before == fund.shares_outstanding
    cash_after = (
        Investor.objects.aggregate(a=Sum("cash_available"), r=Sum("cash_reserved"))["a"]
        + Investor.objects.aggregate(r=Sum("cash_reserved"))["r"]
        + fund.cash
        + FeeAccount.objects.get().balance
    )
    assert cash_after == cash_before
    assert Event.objects.filter(type="trade_executed").count() == Trade.objects.count()
    assert_invariants()
    call_command("audit")
