"""Real threads on one account and one fund: locks keep the money exact (SQLite, MariaDB)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from investments import services
from investments.checks import LedgerError
from investments.models import Event, Holding, Investor
from tests.factories import StaffFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db(transaction=True)


def _run(workers):
    errors = []

    def wrap(fn):
        def target():
            try:
                fn()
            except LedgerError:
                pass
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connection.close()

        return target

    threads = [threading.Thread(target=wrap(fn)) for fn in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_twenty_threads_withdrawing_never_go_below_zero():
    user = investor_with_cash(1_000)
    _run([lambda: services.withdraw(user=user, amount=70) for _ in range(20)])
    withdrawn = sum(e.payload["amount"] for e in Event.objects.filter(type="cash_withdrawn"))
    assert withdrawn == 14 * 70
    assert Investor.objects.get(user=user).cash_available == 1_000 - withdrawn
    assert_invariants()
    call_command("audit")


def test_concurrent_subscriptions_and_redemptions_keep_shares_and_cash():
    fund = fund_with_copyright(base_price=100)
    users = [investor_with_cash(5_000) for _ in range(4)]
    for user in users:
        services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    work = []
    for user in users:
        work += [
            lambda u=user: services.subscribe(user=u, fund_id=fund.pk, amount=700),
            lambda u=user: services.redeem(user=u, fund_id=fund.pk, shares=3),
            lambda u=user: services.deposit(user=u, amount=50),
        ]
    _run(work)
    fund.refresh_from_db()
    held = sum(h.held for h in Holding.objects.filter(fund=fund))
    assert held == fund.shares_outstanding == 4 * 10 + 4 * 7 - 4 * 3
    assert fund.cash == 100 * fund.shares_outstanding
    assert_invariants()
    call_command("audit")


def test_one_form_sent_eight_times_at_once_takes_effect_once():
    """The person's row is locked before the key is looked up: the copies wait for the first and
    find its event, none fails and none adds a second deposit."""
    user = investor_with_cash(0)
    outcomes = []
    _run(
        [
            lambda: outcomes.append(services.deposit(user=user, amount=500, idempotency_key="f1"))
            for _ in range(8)
        ]
    )
    assert len(outcomes) == 8
    assert sum(not o.replayed for o in outcomes) == 1
    assert {o.event.sequence for o in outcomes} == {
        Event.objects.get(idempotency_key="f1").sequence
    }
    assert Investor.objects.get(user=user).cash_available == 500
    call_command("audit")


def test_people_on_different_funds_and_an_admin_at_once_keep_the_ledger_gap_free():
    """Commands that take the sequence last (deposits, subscriptions) beside ones that take it
    early (a royalty's holders of record, a new fund): no deadlock is left unresolved, the
    sequence has no gap and the audit passes."""
    staff = StaffFactory()
    funds = [fund_with_copyright(staff=staff, name=f"Fund {n}", base_price=100) for n in range(2)]
    users = [investor_with_cash(5_000) for _ in range(4)]
    work = []
    for n, user in enumerate(users):
        fund = funds[n % 2]
        work += [
            lambda u=user, f=fund: services.subscribe(user=u, fund_id=f.pk, amount=700),
            lambda u=user: services.deposit(user=u, amount=50),
        ]
    work += [
        lambda f=f: services.record_royalty(actor=staff, fund_id=f.pk, amount=1_000) for f in funds
    ]
    work.append(lambda: services.create_fund(actor=staff, name="Late fund", base_price=100))
    _run(work)
    sequences = sorted(Event.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert_invariants()
    call_command("audit")
