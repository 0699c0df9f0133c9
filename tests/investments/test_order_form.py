"""The order form shows what you have to trade with, steps by the tick within today's range, and
previews the cost with the fee as the order is typed (HTMX), or with a Preview button."""

import pytest
from django.urls import reverse

from investments import services
from investments.models import Order
from tests.factories import fund_with_copyright, investor_with_cash

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund():
    return fund_with_copyright(base_price=10_000)


@pytest.fixture
def trader(client, fund):
    user = investor_with_cash(100_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=50_000)  # 5 shares, 50,000 left
    client.force_login(user)
    return user


def _quote(client, fund, **typed):
    return client.get(
        reverse("investments:order-quote", args=[fund.pk]), typed, headers={"HX-Request": "true"}
    )


def test_the_form_says_what_you_can_trade_with_and_steps_by_the_tick(client, trader, fund):
    body = client.get(reverse("investments:market", args=[fund.pk])).content.decode()
    facts = body.split('data-testid="order-facts"')[1].split("</dl>")[0]
    assert "₩50,000" in facts and "5 shares" in facts and "1% of the trade value" in facts
    assert 'step="100"' in body and 'min="7000"' in body and 'max="13000"' in body
    assert "Today from ₩7,000 to ₩13,000, in steps of ₩100." in body
    assert 'data-testid="no-cash"' not in body


def test_a_buy_shows_its_value_fee_and_the_cash_it_holds_back(client, trader, fund):
    response = _quote(client, fund, side="buy", price="10000", quantity="3")
    body = response.content.decode()
    assert body.startswith('<div id="order-quote"') and "<form" not in body
    assert "₩10,000 \N{MULTIPLICATION SIGN} 3 shares = ₩30,000" in body
    assert "₩300" in body  # the fee, 1%
    assert 'data-testid="order-total"><strong>₩30,300</strong>' in body
    assert "more cash" not in body


def test_a_buy_past_your_cash_says_how_much_more_and_links_to_deposit(client, trader, fund):
    body = _quote(client, fund, side="buy", price="10000", quantity="5").content.decode()
    assert "You need ₩500 more cash for this order." in body  # 50,500 held back, 50,000 there
    assert reverse("investments:deposit") in body


def test_a_sell_shows_what_a_fill_pays_and_what_you_can_sell(client, trader, fund):
    body = _quote(client, fund, side="sell", price="12000", quantity="2").content.decode()
    assert 'data-testid="order-total"><strong>₩23,760</strong>' in body  # 24,000 - 240
    body = _quote(client, fund, side="sell", price="12000", quantity="6").content.decode()
    assert "You can sell at most 5 shares." in body


def test_off_the_tick_and_out_of_range_prices_are_flagged_before_submitting(client, trader, fund):
    assert (
        "Prices go in steps of ₩100."
        in _quote(client, fund, side="buy", price="10050", quantity="1").content.decode()
    )
    assert (
        "Today's prices are from ₩7,000 to ₩13,000."
        in _quote(client, fund, side="buy", price="20000", quantity="1").content.decode()
    )


@pytest.mark.parametrize(
    "typed",
    [{}, {"price": "abc", "quantity": "1"}, {"price": "-1", "quantity": "2"}, {"side": "x"}],
)
def test_half_typed_or_unreadable_orders_show_no_preview_and_no_error(client, trader, fund, typed):
    response = _quote(client, fund, **typed)
    assert response.status_code == 200
    assert "order-total" not in response.content.decode()


def test_the_preview_button_works_without_javascript_and_places_nothing(client, trader, fund):
    url = reverse("investments:market", args=[fund.pk])
    response = client.get(url, {"side": "sell", "price": "11000", "quantity": "1", "preview": "1"})
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["side"], initial["price"], initial["quantity"]) == ("sell", "11000", "1")
    assert response.context["order_quote"].total == 10_890
    assert not Order.objects.exists()


def test_someone_with_nothing_to_trade_is_told_to_deposit_first(client, fund):
    client.force_login(investor_with_cash(0))
    body = client.get(reverse("investments:market", args=[fund.pk])).content.decode()
    empty = body.split('data-testid="no-cash"')[1].split("</div>")[0]
    assert "Deposit cash first" in empty
    assert reverse("investments:deposit") in empty
    assert f"{reverse('investments:subscribe')}?fund={fund.pk}" in empty


def test_a_person_without_an_account_is_told_how_to_open_one(user_client, fund):
    body = user_client.get(reverse("investments:market", args=[fund.pk])).content.decode()
    assert "open your investment account with a first deposit" in body


def test_a_refused_order_keeps_its_preview(client, trader, fund):
    response = client.post(
        reverse("investments:order", args=[fund.pk]),
        {"side": "buy", "price": "10050", "quantity": "1", "idempotency_key": "k"},
    )
    assert response.status_code == 400
    assert response.context["order_quote"].off_tick


def test_the_korean_preview(client, trader, fund):
    body = client.get(
        reverse("investments:order-quote", args=[fund.pk]),
        {"side": "buy", "price": "10000", "quantity": "5"},
        headers={"HX-Request": "true", "Accept-Language": "ko"},
    ).content.decode()
    assert "이 주문에 묶이는 금액" in body and "50,500원" in body
    assert "이 주문에는 예수금이 500원 더 필요합니다." in body


def test_empty_portfolio_says_what_to_do_first(client, fund):
    client.force_login(investor_with_cash(0))
    body = client.get(reverse("investments:portfolio")).content.decode()
    assert "Start with a deposit" in body and reverse("investments:deposit") in body
    client.force_login(investor_with_cash(8_000))
    body = client.get(reverse("investments:portfolio")).content.decode()
    assert "You have ₩8,000 to invest" in body and reverse("investments:index") in body
