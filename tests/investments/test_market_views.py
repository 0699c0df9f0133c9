"""The market pages through the test client: plain posts with redirects, HTMX partials, and bad
input answered with 400 and a message next to the field."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from investments import circuit, services
from investments.models import Investor, Order, Trade
from tests.factories import UserFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund():
    return fund_with_copyright(base_price=10_000)


def _post(client, fund, **data):
    data.setdefault("idempotency_key", "k-" + "-".join(str(v) for v in data.values()))
    return client.post(reverse("investments:order", args=[fund.pk]), data)


def test_market_page_and_partials(client, fund):
    page = client.get(reverse("investments:market", args=[fund.pk]))
    assert page.status_code == 200
    assert b"Order book" in page.content and b'hx-trigger="every 1s"' in page.content
    book = client.get(reverse("investments:book", args=[fund.pk]), HTTP_HX_REQUEST="true")
    assert book.status_code == 200 and b"<html" not in book.content
    assert b'id="book"' in book.content
    mine = client.get(reverse("investments:mine", args=[fund.pk]), HTTP_HX_REQUEST="true")
    assert mine.status_code == 200 and b'id="mine"' in mine.content


def test_place_trade_and_cancel_through_the_pages(client, fund):
    seller = investor_with_cash(0)
    services.deposit(user=seller, amount=100_000)
    services.subscribe(user=seller, fund_id=fund.pk, amount=50_000)
    client.force_login(seller)
    response = _post(client, fund, side="sell", price="10000", quantity="3")
    assert response.status_code == 302
    buyer = investor_with_cash(100_000)
    client.force_login(buyer)
    response = _post(client, fund, side="buy", price="10000", quantity="2")
    assert response.status_code == 302
    assert Trade.objects.get().quantity == 2
    page = client.get(reverse("investments:market", args=[fund.pk]))
    assert b"10000" in page.content
    portfolio = client.get(reverse("investments:portfolio"))
    assert portfolio.context["portfolio"].holdings[0].shares == 2
    assert portfolio.context["portfolio"].holdings[0].valuation == 20_000
    open_sell = Order.objects.get(status="open")
    # Someone else's order: a message, nothing changes.
    response = client.post(reverse("investments:cancel", args=[fund.pk]), {"order": open_sell.pk})
    assert response.status_code == 400 and b"no such order" in response.content
    assert Order.objects.get(pk=open_sell.pk).status == "open"
    client.force_login(seller)
    response = client.post(reverse("investments:cancel", args=[fund.pk]), {"order": open_sell.pk})
    assert response.status_code == 302
    assert Order.objects.get(pk=open_sell.pk).status == "cancelled"
    assert_invariants()


def test_double_submit_places_one_order(client, fund):
    buyer = investor_with_cash(100_000)
    client.force_login(buyer)
    for _ in range(2):
        data = {"side": "buy", "price": "9000", "quantity": "1", "idempotency_key": "same"}
        assert client.post(reverse("investments:order", args=[fund.pk]), data).status_code == 302
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"side": "buy", "price": "10050", "quantity": "1"}, "price", "steps of ₩100".encode()),
        ({"side": "buy", "price": "10000", "quantity": "0"}, "quantity", b"greater than"),
        ({"side": "buy", "price": "10000", "quantity": "-2"}, "quantity", b"greater than"),
        ({"side": "buy", "price": "abc", "quantity": "1"}, "price", b"whole number"),
        ({"side": "buy", "price": "10000", "quantity": "99"}, "quantity", b"you have"),
        ({"side": "sell", "price": "10000", "quantity": "1"}, "quantity", b"free to sell"),
        ({"side": "buy", "price": "20000", "quantity": "1"}, "price", "between ₩7,000".encode()),
        ({"side": "x", "price": "10000", "quantity": "1"}, "side", b"valid choice"),
        ({"side": "buy", "price": "9" * 30, "quantity": "1"}, "price", "Enter at most ₩".encode()),
    ],
)
def test_bad_orders_get_400_and_a_message_by_the_field(client, fund, data, field, text):
    client.force_login(investor_with_cash(10_000))
    response = _post(client, fund, **data)
    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert any(text.decode().lower() in error.lower() for error in errors), errors
    assert text in response.content
    assert Order.objects.count() == 0


def test_bad_cancels_and_anonymous(client, fund):
    response = client.post(reverse("investments:order", args=[fund.pk]), {})
    assert response.status_code == 302  # log in first
    client.force_login(UserFactory())
    for data in ({}, {"order": "x"}, {"order": "-1"}, {"order": "123456"}):
        response = client.post(reverse("investments:cancel", args=[fund.pk]), data)
        assert response.status_code == 400
    assert client.get(reverse("investments:market", args=[999])).status_code == 404
    assert not Investor.objects.filter(cash_reserved__gt=0).exists()
    assert circuit.halted_until() is None


def _levels(client, fund):
    book = client.get(reverse("investments:book", args=[fund.pk]), HTTP_HX_REQUEST="true")
    context = book.context
    return [(lv["side"], lv["price"], lv["quantity"]) for lv in context["asks"] + context["bids"]]


def test_the_cached_book_follows_every_batch_and_a_rebuild(client, fund):
    """The levels are cached per matcher batch (the checkpoint's version): the next poll after an
    order, a trade or a cancel shows it, and so does the one after a rebuild that mended the
    orders table under the cache."""
    from investments import replay

    seller = investor_with_cash(0)
    services.deposit(user=seller, amount=100_000)
    services.subscribe(user=seller, fund_id=fund.pk, amount=50_000)
    client.force_login(seller)
    assert _post(client, fund, side="sell", price="10000", quantity="3").status_code == 302
    assert _levels(client, fund) == [("sell", 10_000, 3)]
    client.force_login(investor_with_cash(100_000))
    assert _post(client, fund, side="buy", price="10000", quantity="2").status_code == 302
    assert _levels(client, fund) == [("sell", 10_000, 1)]
    page = client.get(reverse("investments:market", args=[fund.pk]))
    assert [t.quantity for t in page.context["trades"]] == [2]
    client.force_login(seller)
    open_sell = Order.objects.get(status="open")
    client.post(reverse("investments:cancel", args=[fund.pk]), {"order": open_sell.pk})
    assert _levels(client, fund) == []
    # A book cached while the table had drifted is not shown once a rebuild has mended it.
    assert _post(client, fund, side="sell", price="10100", quantity="1").status_code == 302
    assert _levels(client, fund) == [("sell", 10_100, 1)]
    Order.objects.filter(status="open").update(remaining=0, status="filled")
    cache.clear()
    assert _levels(client, fund) == []  # the drifted table, now cached
    replay.rebuild()
    assert _levels(client, fund) == [("sell", 10_100, 1)]
