"""The service-layer order loop trades buys against sells at one price and leaves a clean audit."""

import pytest

from bench import figures
from investments import replay, services
from investments.models import Trade
from tests.factories import fund_with_copyright, investor_with_cash

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund():
    fund = fund_with_copyright(base_price=10_000)
    for _ in range(3):  # holders
        user = investor_with_cash(1_000_000)
        services.subscribe(user=user, fund_id=fund.pk, amount=20 * fund.base_price)
    for _ in range(3):  # buyers
        investor_with_cash(5_000_000)
    return fund


def test_plan_splits_buyers_from_sellers_at_a_price_on_the_tick(fund):
    plan = figures.order_plan(fund.pk)
    assert plan.price == 10_000
    assert len(plan.sellers) == 3
    assert len(plan.buyers) == 3
    assert not {u.pk for u in plan.buyers} & {u.pk for u in plan.sellers}


def test_service_orders_match_and_audit_is_clean(fund):
    run = figures.service_orders(20, fund_id=fund.pk)
    assert run.placed == 20
    assert run.refused == 0
    assert run.trades == 10
    assert Trade.objects.filter(fund=fund, price=10_000).count() == 10
    assert run.rate > 0
    assert replay.audit() == []


def test_a_fund_nobody_can_trade_is_reported_as_missing_data(db):
    fund = fund_with_copyright(base_price=10_000)
    with pytest.raises(figures.MissingData, match="holders"):
        figures.order_plan(fund.pk)


@pytest.mark.matcher
@pytest.mark.django_db(transaction=True)
def test_the_matcher_row_decides_a_queue_filled_first(settings, fund):
    settings.MARKET_MATCHER = "stream"
    run = figures.matcher_run(20, fund_id=fund.pk)
    assert (run.commands, run.placed, run.trades) == (20, 20, 10)
    assert run.rate > 0
    assert replay.audit() == []
