"""A past portfolio read from the postings equals one rebuilt by replaying the log."""

import datetime as dt
import io

import pytest
from django.db.models import Max, Min

from accounts import demo as accounts_demo
from investments import demo, postings, replay, selectors
from investments.domain.state import Postings
from investments.domain.state import postings as postings_of
from investments.models import Event, FundPosting, Investor, Posting

pytestmark = pytest.mark.django_db


def replayed_portfolio(investor, moment):
    return selectors.portfolio_from_state(replay.replay(until=moment), investor.pk, moment)


def test_past_portfolios_from_postings_equal_a_replay_of_the_demo_history():
    demo.load(io.StringIO(), accounts_demo.load(io.StringIO()))
    span = Event.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    step = (span["last"] - span["first"]) / 12
    moments = [span["first"] + step * k for k in range(13)] + [span["last"] + dt.timedelta(1)]
    investors = list(Investor.objects.all())
    assert len(investors) >= 3
    seen_holdings = 0
    for moment in moments:
        for investor in investors:
            fast = selectors.portfolio(investor=investor, at=moment)
            assert fast == replayed_portfolio(investor, moment), (investor, moment)
            seen_holdings += len(fast.holdings)
    assert seen_holdings > 10  # the moments cover real holdings, not only empty accounts


def test_postings_of_an_event_are_its_changes_to_each_balance():
    trade = {
        "trade_id": 1,
        "fund_id": 2,
        "buy_order_id": 5,
        "sell_order_id": 6,
        "buyer_id": 1,
        "seller_id": 3,
        "price": 100,
        "quantity": 2,
        "buyer_fee": 2,
        "seller_fee": 2,
        "spent": 202,
        "refund": 10,
        "cost_released": 150,
        "day": "2026-01-01",
        "at": "2026-01-01T00:00:00+00:00",
    }
    # One row per side: the holding's change and the holder's cash together.
    seller = {"investor_id": 3, "fund_id": 2, "available": 198, "reserved": 0}
    buyer = {"investor_id": 1, "fund_id": 2, "available": 10, "reserved": -212}
    assert postings_of("trade_executed", trade).holders == [
        {**seller, "held": 0, "held_reserved": -2, "cost_basis": -150},
        {**buyer, "held": 2, "held_reserved": 0, "cost_basis": 202},
    ]
    # Cash moved with no holding: a row of its own, no fund.
    assert postings_of("cash_deposited", {"investor_id": 1, "amount": 5}).holders == [
        {"investor_id": 1, "available": 5, "reserved": 0}
    ]
    fund = {"fund_id": 1, "name": "F", "base_price": 1, "created_at": "2026-01-01T00:00:00+00:00"}
    assert postings_of("trade_executed", trade).funds == []
    assert postings_of("fund_created", fund) == Postings(holders=[], funds=[])
    subscribed = {"investor_id": 1, "fund_id": 2, "shares": 3, "cost": 31}
    assert postings_of("shares_subscribed", subscribed).funds == [
        {"fund_id": 2, "cash": 31, "shares": 3, "pending": 0}
    ]


def test_every_event_gets_its_postings_and_they_cannot_change():
    demo.load(io.StringIO(), accounts_demo.load(io.StringIO()))
    postings.catch_up()  # (written already when they are written inline)
    assert postings.watermark() == Event.objects.count()
    moved = [postings_of(e.type, e.payload) for e in Event.objects.all()]
    assert Posting.objects.count() == sum(len(m.holders) for m in moved) > 0
    assert FundPosting.objects.count() == sum(len(m.funds) for m in moved) > 0
    posting = Posting.objects.first()
    posting.available += 1
    with pytest.raises(Exception, match="never updated"):
        posting.save()


def test_a_past_fund_balance_adds_its_months_and_that_months_postings_in_any_order():
    from django.utils import timezone

    from investments import services
    from investments.models import FundPostingMonth
    from tests.factories import StaffFactory, UserFactory

    day = dt.timedelta(days=1)
    start = timezone.now() - 200 * day
    staff, me = StaffFactory(), UserFactory()
    services.record_mcpi(actor=staff, at=start - 3 * day, value="100")
    fund = services.create_fund(actor=staff, name="월간", base_price=1_000, at=start - 2 * day)
    services.register_investor(user=me, at=start - 2 * day)
    services.deposit(user=me, amount=10_000_000, at=start - 2 * day)
    for days in (0, 35, 70, 71, 140):
        services.subscribe(user=me, fund_id=fund.pk, amount=10_000 + days, at=start + days * day)
    services.redeem(user=me, fund_id=fund.pk, shares=3, at=start + 100 * day)
    # Written last, dated first: its month already has a row, which grows by it.
    services.subscribe(user=me, fund_id=fund.pk, amount=7_000, at=start + day)
    investor = Investor.objects.get(user=me)
    # With a follower, first from the log after its watermark, then from the postings it wrote.
    for written in (False, True):
        if written:
            postings.catch_up()
            assert FundPostingMonth.objects.filter(fund_id=fund.pk).count() >= 4
        for days in (-1, 0.5, 1, 2, 34, 36, 70.5, 71, 99, 100, 101, 139, 141):
            moment = start + days * day
            fast = selectors.portfolio(investor=investor, at=moment)
            assert fast == replayed_portfolio(investor, moment), days
            if days > 0:
                funds = replay.portfolio_state(investor_id=investor.pk, until=moment).funds
                assert funds[fund.pk] == replay.replay(until=moment).funds[fund.pk], days
    assert replay.posting_differences() == []
    FundPostingMonth.objects.filter(fund_id=fund.pk).update(cash=0)
    assert any("does not add up" in line for line in replay.posting_differences())
