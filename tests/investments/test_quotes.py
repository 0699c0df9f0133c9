"""Subscribe and redeem show the fund's NAV, your cash or shares, and what you will get before you
confirm: on the page (no JavaScript, the Preview button) and as the HTMX part the form refreshes."""

import pytest
from django.urls import reverse

from investments import services
from investments.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund():
    from tests.factories import fund_with_copyright

    return fund_with_copyright(base_price=1_000)


@pytest.fixture
def investor(user, fund):
    services.register_investor(user=user)
    services.deposit(user=user, amount=5_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=2_000)
    return user


def test_subscribe_page_shows_nav_cash_and_what_the_amount_buys(user_client, investor, fund):
    response = user_client.get(
        reverse("investments:subscribe"), {"fund": fund.pk, "amount": "3500", "preview": "1"}
    )
    assert response.status_code == 200
    quote = response.context["quote"]
    assert (quote.nav, quote.cash, quote.held) == (1_000, 3_000, 2)
    assert (quote.shares, quote.cost, quote.change) == (3, 3_000, 500)
    body = response.content.decode()
    assert "You will get 3 shares for ₩3,000 (₩500 stays as cash)." in body
    assert "₩1,000.00" in body and 'id="quote"' in body
    # the typed values stay in the form, and nothing was bought by looking
    assert response.context["form"].initial["amount"] == "3500"
    assert Event.objects.filter(type="shares_subscribed").count() == 1


def test_htmx_asks_for_just_the_quote(user_client, investor, fund):
    response = user_client.get(
        reverse("investments:subscribe"),
        {"fund": fund.pk, "amount": "1999"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="quote"')
    assert "<form" not in body and "<html" not in body
    assert "You will get 1 share for ₩1,000 (₩999 stays as cash)." in body


def test_redeem_shows_what_the_shares_pay(user_client, investor, fund):
    response = user_client.get(
        reverse("investments:redeem"), {"fund": fund.pk, "shares": "2"}, headers={"HX-Request": "1"}
    )
    assert "You will receive ₩2,000 for 2 shares." in response.content.decode()


def test_an_amount_too_small_for_a_share_says_so(user_client, investor, fund):
    response = user_client.get(reverse("investments:subscribe"), {"fund": fund.pk, "amount": "999"})
    assert "That amount buys no whole share at ₩1,000.00." in response.content.decode()


@pytest.mark.parametrize("amount", ["-5", "abc", "1e400", "9" * 40, ""])
def test_an_unreadable_amount_shows_the_facts_without_a_result(user_client, investor, fund, amount):
    response = user_client.get(
        reverse("investments:subscribe"),
        {"fund": fund.pk, "amount": amount},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "You will get" not in body
    assert "₩1,000.00" in body  # the NAV is still shown


@pytest.mark.parametrize("fund_id", ["", "0", "x", "99999999999999999999999"])
def test_an_unknown_fund_falls_back_to_the_first_choice(user_client, investor, fund, fund_id):
    response = user_client.get(
        reverse("investments:subscribe"), {"fund": fund_id, "amount": "1000"}
    )
    assert response.status_code == 200
    assert response.context["quote"].fund == fund


def test_the_korean_quote_reads_naturally(user_client, investor, fund):
    user_client.cookies["django_language"] = "ko"
    response = user_client.get(
        reverse("investments:subscribe"),
        {"fund": fund.pk, "amount": "3500"},
        headers={"HX-Request": "true", "Accept-Language": "ko"},
    )
    assert "3,000원으로 3주를 받습니다(500원은 예수금으로 남습니다)." in response.content.decode()


def test_the_quote_costs_a_fixed_number_of_queries(
    user_client, investor, fund, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        user_client.get(
            reverse("investments:subscribe"),
            {"fund": fund.pk, "amount": "1000"},
            headers={"HX-Request": "true"},
        )


def test_withdraw_says_how_much_can_be_withdrawn(user_client, investor):
    body = user_client.get(reverse("investments:withdraw")).content.decode()
    assert "You can withdraw up to ₩3,000." in body
