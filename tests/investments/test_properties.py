"""Random command sequences keep the invariants after every step (SPEC §6: 1, 2, 4, 6)."""

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from investments import services
from investments.checks import LedgerError
from investments.models import Fund
from tests.factories import StaffFactory, UserFactory

from .helpers import assert_invariants

step = st.one_of(
    st.tuples(st.just("deposit"), st.integers(0, 2), st.integers(-10, 50_000)),
    st.tuples(st.just("withdraw"), st.integers(0, 2), st.integers(-10, 50_000)),
    st.tuples(st.just("subscribe"), st.integers(0, 2), st.integers(-10, 30_000)),
    st.tuples(st.just("redeem"), st.integers(0, 2), st.integers(-1, 40)),
    st.tuples(st.just("mcpi"), st.just(0), st.integers(50, 300)),
    st.tuples(st.just("royalty"), st.just(0), st.integers(1, 10_000)),
    st.tuples(st.just("acquire"), st.just(0), st.integers(1, 20_000)),
)


class LedgerPropertyTests(TestCase):
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(step, min_size=1, max_size=15))
    def test_random_commands_keep_invariants(self, steps):
        staff = StaffFactory()
        start = timezone.now()
        services.record_mcpi(actor=staff, at=start - dt.timedelta(days=1), value="100")
        fund = services.create_fund(actor=staff, name="Ballads", base_price=997)
        users = [UserFactory() for _ in range(3)]
        for user in users:
            services.register_investor(user=user)
        for n, (kind, who, number) in enumerate(steps):
            user = users[who]
            try:
                if kind == "deposit":
                    services.deposit(user=user, amount=number)
                elif kind == "withdraw":
                    services.withdraw(user=user, amount=number)
                elif kind == "subscribe":
                    services.subscribe(user=user, fund_id=fund.pk, amount=number)
                elif kind == "redeem":
                    services.redeem(user=user, fund_id=fund.pk, shares=number)
                elif kind == "mcpi":
                    services.record_mcpi(
                        actor=staff, at=start + dt.timedelta(seconds=n), value=number
                    )
                elif kind == "royalty":
                    services.record_royalty(actor=staff, fund_id=fund.pk, amount=number)
                    services.distribute_royalties()
                elif kind == "acquire":
                    services.acquire_copyright(
                        actor=staff,
                        fund_id=fund.pk,
                        code=f"C{n}",
                        registration_number="R",
                        music_id="M",
                        title="Song",
                        artist="Artist",
                        price=number,
                    )
            except LedgerError:
                pass
            assert_invariants()
        assert Fund.objects.get(pk=fund.pk).cash >= 0
