"""`seed_scale`'s ledger part at a tiny size: a consistent, resumable ledger."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from accounts import scale as accounts_scale
from config.scale import Sizes
from investments import replay, scale, selectors
from investments.models import Event, Fund, FundPosting, Investor, Order, Posting, Trade
from tests.factories import investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db

SIZES = Sizes.at(0.002)


@pytest.fixture
def seeded():
    users = accounts_scale.seed(SIZES)
    scale.seed(SIZES, users)
    return users


def test_seeded_ledger_passes_the_audit_with_a_live_market(seeded):
    assert Event.objects.count() >= SIZES.events
    assert Investor.objects.count() == SIZES.investors
    assert Fund.objects.count() == SIZES.funds
    assert Trade.objects.count() >= 20
    for fund in Fund.objects.all():
        assert Order.objects.filter(fund=fund, status="open").exists()
    call_command("audit", stdout=io.StringIO())
    assert_invariants()


def test_seeding_again_adds_nothing(seeded):
    counts = [Event.objects.count(), Posting.objects.count(), FundPosting.objects.count()]
    scale.seed(SIZES, seeded)
    assert [Event.objects.count(), Posting.objects.count(), FundPosting.objects.count()] == counts


def test_an_interrupted_seeding_finishes_on_the_next_run(seeded):
    total = Event.objects.count()
    keep = total // 2
    with connection.cursor() as cursor:  # as if it had stopped half-way
        for table in (Posting, FundPosting, Event):
            table_name = table._meta.db_table
            cursor.execute(f"DELETE FROM {table_name} WHERE sequence > %s", [keep])  # noqa: S608
    scale.seed(SIZES, seeded)
    assert Event.objects.count() == total
    assert replay.audit() == []


def test_a_ledger_with_other_events_is_refused():
    investor_with_cash(100)
    with pytest.raises(scale.LedgerNotEmpty):
        scale.seed(SIZES, accounts_scale.seed(SIZES))


def test_seeded_past_portfolio_equals_a_replay(seeded):
    investor = Investor.objects.get(pk=1)
    moment = Event.objects.get(sequence=Event.objects.count() * 3 // 4).occurred_at
    replayed = replay.replay(until=moment)
    assert selectors.portfolio(investor=investor, at=moment) == selectors.portfolio_from_state(
        replayed, investor.pk, moment
    )
