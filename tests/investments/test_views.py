import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from investments import services
from investments.models import Event, Investor
from tests.factories import StaffFactory, UserFactory, fund_with_copyright, investor_with_cash

pytestmark = pytest.mark.django_db


def _key(client, name):
    response = client.get(reverse(f"investments:{name}"))
    assert response.status_code == 200
    return response.context["form"].initial["idempotency_key"]


def test_fund_list_and_fund_page_show_nav(client):
    fund = fund_with_copyright(name="Seoul Ballads", base_price=1_234)
    page = client.get(reverse("investments:index"))
    assert b"Seoul Ballads" in page.content and "₩1,234.00".encode() in page.content
    detail = client.get(reverse("investments:fund", args=[fund.pk]))
    assert detail.status_code == 200 and b"Holders" in detail.content


def test_deposit_form_posts_and_double_submit_is_applied_once(user_client, user):
    key = _key(user_client, "deposit")
    for _ in range(2):
        response = user_client.post(
            reverse("investments:deposit"), {"amount": "5000", "idempotency_key": key}
        )
        assert response.status_code == 302
    assert Investor.objects.get(user=user).cash_available == 5_000
    assert Event.objects.filter(type="cash_deposited").count() == 1


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1e3", "10000000000000000000000", ""])
def test_bad_amount_gets_a_message_next_to_the_field(user_client, user, amount):
    key = _key(user_client, "deposit")
    response = user_client.post(
        reverse("investments:deposit"), {"amount": amount, "idempotency_key": key}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["amount"]
    assert not Event.objects.filter(type="cash_deposited").exists()


def test_withdrawing_too_much_is_a_400_with_the_reason(user_client, user):
    services.register_investor(user=user)
    services.deposit(user=user, amount=100)
    response = user_client.post(
        reverse("investments:withdraw"), {"amount": "101", "idempotency_key": "w1"}
    )
    assert response.status_code == 400
    assert "available" in response.context["form"].errors["amount"][0]


def test_subscribe_to_missing_fund_is_a_400(user_client, user):
    services.register_investor(user=user)
    services.deposit(user=user, amount=100)
    response = user_client.post(
        reverse("investments:subscribe"),
        {"fund": "999", "amount": "50", "idempotency_key": "s1"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["fund"]


def test_someone_elses_form_key_is_refused(user_client, user):
    other = investor_with_cash()
    services.deposit(user=other, amount=10, idempotency_key="shared")
    response = user_client.post(
        reverse("investments:deposit"), {"amount": "10", "idempotency_key": "shared"}
    )
    assert response.status_code == 400
    assert Investor.objects.get(user=user).cash_available == 0


def test_user_who_cannot_write_cannot_move_money(client, monkeypatch):
    # A blocked person is logged out by accounts' middleware first; this checks our own guard.
    from accounts.models import User

    user = UserFactory()
    client.force_login(user)
    monkeypatch.setattr(User, "can_write", property(lambda self: False))
    response = client.post(reverse("investments:deposit"), {"amount": "10", "idempotency_key": "b"})
    assert response.status_code == 403
    assert not Event.objects.filter(type="cash_deposited").exists()


def test_subscribe_then_redeem_through_pages(user_client, user):
    fund = fund_with_copyright(base_price=1_000)
    services.register_investor(user=user)
    services.deposit(user=user, amount=5_000)
    response = user_client.post(
        reverse("investments:subscribe"),
        {"fund": str(fund.pk), "amount": "3500", "idempotency_key": "s"},
    )
    assert response.status_code == 302
    response = user_client.post(
        reverse("investments:redeem"), {"fund": str(fund.pk), "shares": "1", "idempotency_key": "r"}
    )
    assert response.status_code == 302
    page = user_client.get(reverse("investments:portfolio"))
    assert page.context["portfolio"].holdings[0].shares == 2
    assert page.context["portfolio"].available == 3_000


def test_past_portfolio_equals_what_the_live_page_showed(user_client, user):
    fund = fund_with_copyright(base_price=1_000)
    staff = StaffFactory()
    services.register_investor(user=user)
    services.deposit(user=user, amount=10_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=4_000)
    services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="X",
        registration_number="R",
        music_id="M",
        title="Ditto",
        artist="NewJeans",
        price=2_000,
    )
    services.record_mcpi(actor=staff, at=timezone.now(), value="120")
    live = user_client.get(reverse("investments:portfolio")).context["portfolio"]
    moment = timezone.now()
    later = moment + dt.timedelta(seconds=2)
    services.deposit(user=user, amount=999, at=later)
    services.record_mcpi(actor=staff, at=later, value="80")
    services.redeem(user=user, fund_id=fund.pk, shares=1, at=later)
    past = user_client.get(
        reverse("investments:portfolio"),
        {"at": timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S.%f")},
    ).context["portfolio"]
    assert (past.available, past.valuation, past.gain, past.holdings) == (
        live.available,
        live.valuation,
        live.gain,
        live.holdings,
    )
    now = user_client.get(reverse("investments:portfolio")).context["portfolio"]
    assert now.available != live.available


def test_bad_moment_is_a_400(user_client):
    response = user_client.get(reverse("investments:portfolio"), {"at": "yesterday"})
    assert response.status_code == 400
    assert response.context["form"].errors["at"]


def test_history_describes_my_events_in_plain_words(user_client, user):
    services.register_investor(user=user)
    services.deposit(user=user, amount=1_500)
    investor_with_cash(77)  # someone else's events stay out
    page = user_client.get(reverse("investments:history"))
    texts = [text for _, text in page.context["rows"]]
    assert texts == ["You deposited ₩1,500.", "You opened an investor account."]


def test_pages_need_login(client):
    response = client.get(reverse("investments:portfolio"))
    assert response.status_code == 302


def test_history_pages_with_an_older_link(user_client, user):
    services.register_investor(user=user)
    for n in range(30):
        services.deposit(user=user, amount=n + 1)
    first = user_client.get(reverse("investments:history"))
    assert len(first.context["rows"]) == 25
    older = user_client.get(
        reverse("investments:history"), {"before": first.context["next_before"]}
    )
    assert [text for _, text in older.context["rows"]][-1] == "You opened an investor account."
    assert len(older.context["rows"]) == 6


def test_fund_page_lists_copyrights_with_value_and_charts(client):
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=100)
    user = investor_with_cash(1_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="K1",
        registration_number="C",
        music_id="M",
        title="Ditto",
        artist="NewJeans",
        price=500,
    )
    services.record_mcpi(actor=staff, at=timezone.now(), value="110")
    page = client.get(reverse("investments:fund", args=[fund.pk]))
    assert page.context["copyrights"][0][1] == 550
    assert page.context["holders"] == 1
    assert b"<polyline" in page.content


def test_portfolio_costs_the_same_queries_with_more_holdings(
    user_client, user, django_assert_max_num_queries
):
    services.register_investor(user=user)
    services.deposit(user=user, amount=100_000)
    for n in range(4):
        fund = fund_with_copyright(name=f"Fund {n}", base_price=100)
        services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    # + one read of the funds' market rows; + six for the value chart's sixty moments
    with django_assert_max_num_queries(16):
        response = user_client.get(reverse("investments:portfolio"))
    assert len(response.context["portfolio"].holdings) == 4


def test_history_lists_my_orders_trades_and_cancels_in_time_order(client):
    import datetime as dt

    from django.utils import timezone

    from investments import market

    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, name="Fund", base_price=1_000)
    seller, buyer = investor_with_cash(100_000), investor_with_cash(100_000)
    services.subscribe(user=seller, fund_id=fund.pk, amount=10_000)
    market.place_order(user=seller, fund_id=fund.pk, side="sell", price=1_000, quantity=4)
    market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=1_000, quantity=3)
    resting = market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=900, quantity=1)
    market.cancel_order(user=buyer, order_id=resting.pk)
    # An event recorded later but dated earlier is listed at its own time.
    services.deposit(user=buyer, amount=5, at=timezone.now() - dt.timedelta(days=1))
    client.force_login(buyer)
    texts = [text for _, text in client.get(reverse("investments:history")).context["rows"]]
    assert texts[:5] == [
        "You cancelled your order to buy at ₩900 in Fund.",
        "You placed an order to buy 1 share of Fund at ₩900.",
        "You bought 3 shares of Fund at ₩1,000 on the market (fee ₩30).",
        "You placed an order to buy 3 shares of Fund at ₩1,000.",
        "You deposited ₩100,000.",
    ]
    assert texts[-2:] == ["You opened an investor account.", "You deposited ₩5."]
    client.force_login(seller)
    texts = [text for _, text in client.get(reverse("investments:history")).context["rows"]]
    assert texts[0] == "You sold 3 shares of Fund at ₩1,000 on the market (fee ₩30)."


def test_history_lists_a_halt_that_found_my_orders_open(client):
    import datetime as dt

    from django.utils import timezone

    from investments import market

    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, name="Fund", base_price=1_000)  # MCPI 100 yesterday
    waiting, idle = investor_with_cash(100_000), investor_with_cash(100_000)
    market.place_order(user=waiting, fund_id=fund.pk, side="buy", price=1_000, quantity=2)
    services.record_mcpi(actor=staff, at=timezone.now() + dt.timedelta(minutes=1), value="92")
    client.force_login(waiting)
    texts = [text for _, text in client.get(reverse("investments:history")).context["rows"]]
    assert texts[0].startswith("Trading halted until ") and "MCPI fell 8.00%" in texts[0]
    client.force_login(idle)
    texts = [text for _, text in client.get(reverse("investments:history")).context["rows"]]
    assert not any("halted" in text for text in texts)
