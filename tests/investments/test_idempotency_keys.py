"""A form's idempotency key belongs to the person and the action it was made for
(eventstore.existing): the same form posted twice takes effect once, but the key used by someone
else or on another form is refused with a message, and nothing changes."""

import pytest
from django.urls import reverse

from investments import eventstore, market, services
from investments.checks import LedgerError
from investments.models import Event, Investor, Order
from tests.factories import fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db

USED = "This form was already used. Reload the page and try again."


@pytest.fixture
def fund():
    return fund_with_copyright(base_price=10_000)


@pytest.fixture
def me(user_client, user):
    """The logged-in person, an investor with 50,000, and the key of their deposit of it."""
    services.register_investor(user=user)
    response = user_client.post(
        reverse("investments:deposit"), {"amount": "50000", "idempotency_key": "my-deposit"}
    )
    assert response.status_code == 302
    return user


def cash(user) -> int:
    return Investor.objects.get(user=user).cash_available


def refusal(response) -> list[str]:
    """The messages of a refused form, wherever the form put them."""
    form = response.context["form"]
    return [message for messages in form.errors.values() for message in messages]


def test_a_withdrawal_with_my_deposits_key_is_refused_and_changes_nothing(user_client, me):
    events = Event.objects.count()
    response = user_client.post(
        reverse("investments:withdraw"), {"amount": "20000", "idempotency_key": "my-deposit"}
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert USED in response.content.decode()
    assert cash(me) == 50_000
    assert Event.objects.count() == events
    assert not Event.objects.filter(type="cash_withdrawn").exists()


def test_a_subscription_with_my_deposits_key_is_refused(user_client, me, fund):
    events = Event.objects.count()
    response = user_client.post(
        reverse("investments:subscribe"),
        {"fund": str(fund.pk), "amount": "20000", "idempotency_key": "my-deposit"},
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert cash(me) == 50_000
    assert Event.objects.count() == events


def test_an_order_with_my_deposits_key_is_refused_and_places_nothing(user_client, me, fund):
    events = Event.objects.count()
    response = user_client.post(
        reverse("investments:order", args=[fund.pk]),
        {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "my-deposit"},
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert USED in response.content.decode()
    assert not Order.objects.exists()
    assert Investor.objects.get(user=me).cash_reserved == 0
    assert cash(me) == 50_000
    assert Event.objects.count() == events


def test_a_deposit_with_my_orders_key_is_refused(user_client, me, fund):
    response = user_client.post(
        reverse("investments:order", args=[fund.pk]),
        {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "my-order"},
    )
    assert response.status_code == 302
    reserved = Investor.objects.get(user=me).cash_reserved
    events = Event.objects.count()
    response = user_client.post(
        reverse("investments:deposit"), {"amount": "700", "idempotency_key": "my-order"}
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert (cash(me), Investor.objects.get(user=me).cash_reserved) == (50_000 - reserved, reserved)
    assert Event.objects.count() == events


def test_someone_else_depositing_with_my_key_is_refused_and_their_cash_is_unchanged(client, me):
    other = investor_with_cash(300)
    client.force_login(other)
    events = Event.objects.count()
    response = client.post(
        reverse("investments:deposit"), {"amount": "50000", "idempotency_key": "my-deposit"}
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert cash(other) == 300
    assert cash(me) == 50_000
    assert Event.objects.count() == events


def test_someone_else_ordering_with_my_orders_key_is_refused(client, user_client, me, fund):
    user_client.post(
        reverse("investments:order", args=[fund.pk]),
        {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "my-order"},
    )
    other = investor_with_cash(100_000)
    client.force_login(other)
    response = client.post(
        reverse("investments:order", args=[fund.pk]),
        {"side": "buy", "price": "10000", "quantity": "1", "idempotency_key": "my-order"},
    )
    assert response.status_code == 400
    assert refusal(response) == [USED]
    assert Order.objects.count() == 1
    assert Order.objects.get().investor.user == me
    assert cash(other) == 100_000


def test_the_same_deposit_posted_again_with_its_key_is_applied_once(user_client, me):
    events = Event.objects.count()
    response = user_client.post(
        reverse("investments:deposit"), {"amount": "50000", "idempotency_key": "my-deposit"}
    )
    assert response.status_code == 302
    assert response.url == reverse("investments:portfolio")
    assert cash(me) == 50_000
    assert Event.objects.count() == events
    assert Event.objects.filter(type="cash_deposited").count() == 1


# --- The services themselves ---------------------------------------------------------------------


def test_existing_returns_the_event_only_to_its_own_person_and_action(user):
    investor_with_cash()  # someone else, so there are two people
    services.register_investor(user=user)
    first = services.deposit(user=user, amount=10, idempotency_key="k")
    assert eventstore.existing("k", actor=user, type_="cash_deposited") == first.event
    assert eventstore.existing("never-used", actor=user, type_="cash_deposited") is None
    assert eventstore.existing("", actor=user, type_="cash_deposited") is None
    with pytest.raises(LedgerError, match=r"^This form was already used\. Reload the page"):
        eventstore.existing("k", actor=user, type_="cash_withdrawn")
    other = investor_with_cash()
    with pytest.raises(LedgerError) as refused:
        eventstore.existing("k", actor=other, type_="cash_deposited")
    assert refused.value.message == USED
    assert refused.value.field is None


@pytest.mark.parametrize(
    "second",
    [
        lambda user, fund: services.withdraw(user=user, amount=10, idempotency_key="k"),
        lambda user, fund: services.subscribe(
            user=user, fund_id=fund.pk, amount=20_000, idempotency_key="k"
        ),
        lambda user, fund: services.redeem(
            user=user, fund_id=fund.pk, shares=1, idempotency_key="k"
        ),
        lambda user, fund: market.place_order(
            user=user, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="k"
        ),
    ],
    ids=["withdraw", "subscribe", "redeem", "order"],
)
def test_every_command_refuses_a_deposits_key(second, fund):
    user = investor_with_cash(100_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=30_000)
    services.deposit(user=user, amount=5, idempotency_key="k")
    before = (Event.objects.count(), cash(user), Order.objects.count())
    with pytest.raises(LedgerError) as refused:
        second(user, fund)
    assert refused.value.message == USED
    assert (Event.objects.count(), cash(user), Order.objects.count()) == before
    assert_invariants()


def test_a_deposit_refuses_an_orders_key(fund):
    user = investor_with_cash(100_000)
    market.place_order(
        user=user, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="o"
    )
    events = Event.objects.count()
    with pytest.raises(LedgerError, match="already used"):
        services.deposit(user=user, amount=5, idempotency_key="o")
    assert Event.objects.count() == events


def test_someone_elses_key_is_refused_by_every_command(fund):
    owner = investor_with_cash(100_000)
    services.deposit(user=owner, amount=5, idempotency_key="k")
    market.place_order(
        user=owner, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="o"
    )
    other = investor_with_cash(100_000)
    events = Event.objects.count()
    with pytest.raises(LedgerError, match="already used"):
        services.deposit(user=other, amount=5, idempotency_key="k")
    with pytest.raises(LedgerError, match="already used"):
        market.place_order(
            user=other, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="o"
        )
    assert Event.objects.count() == events
    assert cash(other) == 100_000
    assert Order.objects.count() == 1


def test_the_same_command_with_its_own_key_replays(fund):
    user = investor_with_cash(100_000)
    first = services.deposit(user=user, amount=5, idempotency_key="k")
    again = services.deposit(user=user, amount=5, idempotency_key="k")
    assert (again.replayed, again.event) == (True, first.event)
    assert cash(user) == 100_005
    order = market.place_order(
        user=user, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="o"
    )
    repeat = market.place_order(
        user=user, fund_id=fund.pk, side="buy", price=10_000, quantity=1, idempotency_key="o"
    )
    assert repeat.pk == order.pk
    assert Order.objects.count() == 1
    assert_invariants()
