"""Random place / cancel / MCPI / subscribe sequences keep all six invariants of SPEC §6 after
every step, and replaying the log equals the projections (checked inside assert_invariants)."""

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from investments import market, services
from investments.checks import LedgerError
from investments.models import Order
from tests.factories import StaffFactory, UserFactory

from .helpers import assert_invariants

step = st.one_of(
    st.tuples(
        st.just("order"),
        st.integers(0, 3),
        st.sampled_from(["buy", "sell"]),
        st.integers(90, 110),
        st.integers(-1, 8),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 3), st.just(""), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("mcpi"), st.just(0), st.just(""), st.integers(70, 110), st.just(0)),
    st.tuples(
        st.just("subscribe"), st.integers(0, 3), st.just(""), st.integers(0, 80_000), st.just(0)
    ),
)


class MarketPropertyTests(TestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(step, min_size=1, max_size=20))
    def test_random_market_sequences_keep_invariants(self, steps):
        staff = StaffFactory()
        noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
        services.record_mcpi(actor=staff, at=noon - dt.timedelta(days=1), value="100")
        fund = services.create_fund(actor=staff, name="Ballads", base_price=10_000)
        users = [UserFactory() for _ in range(4)]
        for user in users:
            services.register_investor(user=user)
            services.deposit(user=user, amount=300_000)
            services.subscribe(user=user, fund_id=fund.pk, amount=50_000)
        for n, (kind, who, side, number, qty) in enumerate(steps):
            user = users[who]
            at = noon + dt.timedelta(minutes=n)
            try:
                if kind == "order":
                    market.place_order(
                        user=user,
                        fund_id=fund.pk,
                        side=side,
                        price=number * 100,
                        quantity=qty,
                        at=at,
                    )
                elif kind == "cancel":
                    ids = list(Order.objects.values_list("pk", flat=True)) or [0]
                    market.cancel_order(user=user, order_id=ids[number % len(ids)], at=at)
                elif kind == "mcpi":
                    services.record_mcpi(actor=staff, at=at, value=number)
                elif kind == "subscribe":
                    services.subscribe(user=user, fund_id=fund.pk, amount=number, at=at)
            except LedgerError:
                pass
            assert_invariants()
