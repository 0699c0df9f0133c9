"""Two investors in two browser contexts trade with each other; the trade reaches both pages by
HTMX polling, without a reload, and both portfolios change."""

import re

import pytest
from playwright.sync_api import expect

from investments import services
from tests.factories import StaffFactory, UserFactory, fund_with_copyright

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(browser, live_server, username, password):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    return context, page


def test_a_sell_and_a_buy_at_one_price_trade_on_both_pages(live_server, browser, password):
    fund = fund_with_copyright(staff=StaffFactory(), name="Han River Hits", base_price=10_000)
    seller, buyer = UserFactory(username="seller"), UserFactory(username="buyer")
    for person in (seller, buyer):
        services.register_investor(user=person)
        services.deposit(user=person, amount=100_000)
    services.subscribe(user=seller, fund_id=fund.pk, amount=50_000)
    market_url = f"{live_server.url}/investments/funds/{fund.pk}/market/"

    seller_context, seller_page = _log_in(browser, live_server, "seller", password)
    buyer_context, buyer_page = _log_in(browser, live_server, "buyer", password)
    for page in (seller_page, buyer_page):
        page.goto(market_url)
        expect(page.get_by_text("No trades yet.")).to_be_visible()

    seller_page.get_by_label("Side").select_option("sell")
    seller_page.get_by_label("Price").fill("10000")
    seller_page.get_by_label("Quantity").fill("2")
    seller_page.get_by_role("button", name="Place order").click()
    mine = seller_page.get_by_role("table", name="My open orders")
    expect(mine.get_by_role("row", name=re.compile("Sell"))).to_be_visible()
    # The buyer's page sees the sell appear in the book without a reload.
    book = buyer_page.get_by_role("table", name="Order book")
    expect(book.get_by_role("row", name=re.compile("2 ₩10,000"))).to_be_visible(timeout=8_000)

    buyer_page.get_by_label("Side").select_option("buy")
    buyer_page.get_by_label("Price").fill("10000")
    buyer_page.get_by_label("Quantity").fill("2")
    buyer_page.get_by_role("button", name="Place order").click()
    expect(buyer_page.get_by_test_id("current-price")).to_have_text("₩10,000")

    # The seller's page was not reloaded: polling brings the trade and empties "my orders".
    trades = seller_page.get_by_role("table", name="Recent trades")
    expect(trades.get_by_role("row", name=re.compile("₩10,000 2"))).to_be_visible(timeout=8_000)
    expect(seller_page.get_by_test_id("current-price")).to_have_text("₩10,000")
    expect(seller_page.get_by_text("You have no open orders here.")).to_be_visible(timeout=8_000)

    seller_page.goto(f"{live_server.url}/investments/portfolio/")
    expect(seller_page.get_by_test_id("cash-available")).to_have_text(f"₩{50_000 + 20_000 - 200:,}")
    buyer_page.goto(f"{live_server.url}/investments/portfolio/")
    expect(buyer_page.get_by_test_id("cash-available")).to_have_text(f"₩{100_000 - 20_200:,}")
    row = buyer_page.get_by_role("row", name=re.compile("Han River Hits"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("2 shares")
    seller_context.close()
    buyer_context.close()


@pytest.mark.parametrize(("width", "locale"), [(390, "ko-KR"), (1280, "en-US")])
def test_the_order_and_subscribe_forms_preview_what_you_will_pay(
    live_server, browser, password, width, locale
):
    """At a phone in Korean and a desktop in English: the cost with the fee appears as the order
    is typed, a shortfall says how much to deposit, and subscribe says what the amount buys."""
    fund = fund_with_copyright(staff=StaffFactory(), name="Han River Hits", base_price=10_000)
    person = UserFactory(username="previewer")
    services.register_investor(user=person)
    services.deposit(user=person, amount=50_000)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill("previewer")
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*login)"))
    korean = locale.startswith("ko")

    page.goto(f"{live_server.url}/investments/funds/{fund.pk}/market/")
    price = page.locator("input[name=price]")
    assert price.get_attribute("step") == "100"
    price.fill("10000")
    page.locator("input[name=quantity]").fill("5")
    total = page.get_by_test_id("order-total")
    expect(total).to_have_text("50,500원" if korean else "₩50,500")
    shortfall = "예수금이 500원 더 필요합니다" if korean else "You need ₩500 more cash"
    expect(page.locator("#order-quote")).to_contain_text(shortfall)
    page.locator("input[name=quantity]").fill("4")
    expect(total).to_have_text("40,400원" if korean else "₩40,400")
    expect(page.locator("#order-quote")).not_to_contain_text(shortfall)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{live_server.url}/investments/subscribe/?fund={fund.pk}")
    page.locator("input[name=amount]").fill("25000")
    bought = "20,000원으로 2주를 받습니다" if korean else "You will get 2 shares for ₩20,000"
    expect(page.locator("#quote")).to_contain_text(bought)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
