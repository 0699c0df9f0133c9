import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from investments import eventstore, replay, services
from investments.checks import LedgerError
from investments.domain import events, rules
from investments.models import AppendOnlyError, Event, Fund, Holding, Investor, Royalty
from tests.factories import StaffFactory, UserFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db


def test_deposit_and_withdraw_move_available_cash():
    user = investor_with_cash(5_000)
    services.withdraw(user=user, amount=2_000)
    assert Investor.objects.get(user=user).cash_available == 3_000
    assert_invariants()


def test_withdraw_more_than_available_is_refused_and_changes_nothing():
    user = investor_with_cash(1_000)
    before = Event.objects.count()
    with pytest.raises(LedgerError, match="available"):
        services.withdraw(user=user, amount=1_001)
    assert Event.objects.count() == before
    assert Investor.objects.get(user=user).cash_available == 1_000


@pytest.mark.parametrize("amount", [0, -5, 10**16, "12", 1.5, True])
def test_bad_amounts_are_refused(amount):
    user = investor_with_cash(1_000)
    with pytest.raises(LedgerError):
        services.deposit(user=user, amount=amount)
    assert Investor.objects.get(user=user).cash_available == 1_000


def test_blocked_user_cannot_move_money():
    user = investor_with_cash(1_000)
    user.is_active = False
    user.save()
    with pytest.raises(LedgerError, match="cannot move money"):
        services.withdraw(user=user, amount=10)


def test_same_idempotency_key_takes_effect_once():
    user = investor_with_cash()
    first = services.deposit(user=user, amount=700, idempotency_key="k-1")
    second = services.deposit(user=user, amount=700, idempotency_key="k-1")
    assert second.replayed and second.event == first.event
    assert Investor.objects.get(user=user).cash_available == 700


def test_first_subscription_uses_base_price_and_keeps_remainder():
    fund = fund_with_copyright(base_price=1_000)
    user = investor_with_cash(10_500)
    outcome = services.subscribe(user=user, fund_id=fund.pk, amount=2_500)
    assert outcome.event.payload["shares"] == 2
    assert Investor.objects.get(user=user).cash_available == 8_500
    fund.refresh_from_db()
    assert (fund.cash, fund.shares_outstanding) == (2_000, 2)
    assert_invariants()


def test_later_investors_buy_at_current_nav_after_mcpi_rises():
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=1_000)
    early = investor_with_cash(100_000)
    services.subscribe(user=early, fund_id=fund.pk, amount=100_000)
    services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="C-1",
        registration_number="R-1",
        music_id="M-1",
        title="Spring Day",
        artist="BTS",
        price=50_000,
    )
    services.record_mcpi(actor=staff, at=timezone.now(), value="150")
    fund.refresh_from_db()
    nav = services.fund_nav(fund)
    assert nav == Decimal("1250.0000")  # (50_000 cash + 75_000 copyright) / 100 shares
    late = investor_with_cash(5_000)
    services.subscribe(user=late, fund_id=fund.pk, amount=5_000)
    assert Holding.objects.get(fund=fund, investor__user=late).held == 4
    fund.refresh_from_db()
    assert services.fund_nav(fund) >= nav  # not diluted
    assert_invariants()


def test_redeem_pays_floor_of_shares_times_nav_and_releases_cost():
    fund = fund_with_copyright(base_price=1_000)
    user = investor_with_cash(3_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=3_000)
    services.redeem(user=user, fund_id=fund.pk, shares=1)
    holding = Holding.objects.get(fund=fund)
    assert (holding.held, holding.cost_basis) == (2, 2_000)
    assert Investor.objects.get(user=user).cash_available == 1_000
    assert_invariants()


def test_redeem_is_refused_when_fund_cash_is_short():
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=1_000)
    user = investor_with_cash(10_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=10_000)
    services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="C-2",
        registration_number="R",
        music_id="M",
        title="Dynamite",
        artist="BTS",
        price=9_500,
    )
    with pytest.raises(LedgerError, match="only ₩500 in cash"):
        services.redeem(user=user, fund_id=fund.pk, shares=5)


def test_redeem_more_than_held_is_refused():
    fund = fund_with_copyright(base_price=1_000)
    user = investor_with_cash(1_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    with pytest.raises(LedgerError, match="hold 1"):
        services.redeem(user=user, fund_id=fund.pk, shares=2)


def test_royalty_goes_to_holders_of_record_and_remainder_to_fund():
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=1_000)
    a, b = investor_with_cash(1_000), investor_with_cash(2_000)
    services.subscribe(user=a, fund_id=fund.pk, amount=1_000)
    services.subscribe(user=b, fund_id=fund.pk, amount=2_000)
    services.record_royalty(actor=staff, fund_id=fund.pk, amount=100)
    # Shares sold after the record time do not change who is paid.
    services.redeem(user=b, fund_id=fund.pk, shares=2)
    assert services.distribute_royalties() == 1
    assert services.distribute_royalties() == 0
    assert Investor.objects.get(user=a).cash_available == 33
    assert Investor.objects.get(user=b).cash_available == 66 + 2_000
    fund.refresh_from_db()
    assert fund.cash == 1_000 + 1 and fund.royalties_pending == 0
    assert Royalty.objects.get().distributed
    assert_invariants()


def test_distribution_refuses_while_another_server_holds_the_lock():
    from config.locks import LockHeld, exclusive

    with exclusive("investments:distribute-royalties"), pytest.raises(LockHeld):
        services.distribute_royalties()


def test_only_staff_create_funds():
    with pytest.raises(LedgerError):
        services.create_fund(actor=UserFactory(), name="X", base_price=100)


def test_events_cannot_be_changed_or_deleted():
    user = investor_with_cash(10)
    event = Event.objects.last()
    event.payload = {"amount": 10**9}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert Investor.objects.get(user=user).cash_available == 10


def test_rebuild_restores_tampered_projections_and_audit_reports_them():
    fund = fund_with_copyright(base_price=1_000)
    user = investor_with_cash(3_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=2_000)
    Investor.objects.filter(user=user).update(cash_available=5)
    Fund.objects.filter(pk=fund.pk).update(shares_outstanding=9)
    problems = replay.audit()
    # Each tampered row differs from the replay and from the sum of its postings.
    assert len(problems) == 4
    replay.rebuild()
    assert replay.audit() == []
    assert Investor.objects.get(user=user).cash_available == 1_000


def test_time_travel_replays_only_events_up_to_the_moment():
    fund = fund_with_copyright(base_price=1_000)
    user = investor_with_cash(1_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    moment = timezone.now()
    services.deposit(user=user, amount=500, at=moment + dt.timedelta(seconds=1))
    past = replay.replay(until=moment)
    investor = Investor.objects.get(user=user)
    assert past.investors[investor.pk]["available"] == 0
    assert past.holdings[(investor.pk, fund.pk)]["held"] == 1


def test_nav_rounds_down_to_four_places():
    assert rules.nav_per_share(fund_value=Decimal(10), shares=3, base_price=1) == Decimal("3.3333")
    assert rules.cost_of(3, Decimal("3.3333")) == 10
    assert rules.proceeds_of(3, Decimal("3.3333")) == 9


def test_register_investor_twice_returns_the_same_account():
    user = UserFactory()
    first = services.register_investor(user=user)
    assert services.register_investor(user=user) == first
    assert Event.objects.filter(type="investor_registered").count() == 1


def test_acquiring_a_copyright_pays_from_fund_cash_at_current_mcpi():
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=100)
    user = investor_with_cash(1_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    copyright = services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="KR-1",
        registration_number="C-1",
        music_id="M-1",
        title="Hype Boy",
        artist="NewJeans",
        price=600,
    )
    fund.refresh_from_db()
    assert fund.cash == 400 and copyright.mcpi_at_acquisition == Decimal("100.0000")
    with pytest.raises(LedgerError, match="only ₩400"):
        services.acquire_copyright(
            actor=staff,
            fund_id=fund.pk,
            code="KR-2",
            registration_number="C",
            music_id="M",
            title="OMG",
            artist="NewJeans",
            price=401,
        )
    with pytest.raises(LedgerError, match="already owned"):
        services.acquire_copyright(
            actor=staff,
            fund_id=fund.pk,
            code="KR-1",
            registration_number="C",
            music_id="M",
            title="Hype Boy",
            artist="NewJeans",
            price=1,
        )


@pytest.mark.parametrize("value", ["0", "-1", "abc", "NaN", "Infinity", "1e12"])
def test_bad_mcpi_values_are_refused(value):
    with pytest.raises(LedgerError):
        services.record_mcpi(actor=None, at=timezone.now(), value=value)
    assert not Event.objects.exists()


def test_streams_have_gap_free_versions_and_a_global_sequence():
    user = investor_with_cash(100)
    services.withdraw(user=user, amount=50)
    investor = Investor.objects.get(user=user)
    versions = list(
        Event.objects.filter(stream=f"investor-{investor.pk}").values_list("version", flat=True)
    )
    assert versions == [1, 2, 3]
    assert list(Event.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_append_returns_the_events_as_stored():
    investor = Investor.objects.get(user=investor_with_cash(100))
    new = eventstore.NewEvent(
        events.CASH_DEPOSITED,
        events.investor_stream(investor.pk),
        {"investor_id": investor.pk, "amount": 25},
        actor_id=investor.user_id,
        idempotency_key="append-returns",
    )
    with transaction.atomic():
        (event,) = eventstore.append(new)
    columns = [f.attname for f in Event._meta.concrete_fields]
    assert columns == ["id", *eventstore.EVENT_COLUMNS]  # append makes events by position
    assert tuple(getattr(event, c) for c in columns) == Event.objects.values_list(*columns).last()
    assert event.payload == {"investor_id": investor.pk, "amount": 25}
