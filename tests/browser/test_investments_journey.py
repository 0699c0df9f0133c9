"""A person's journey through the investments pages in a real browser."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from investments import services
from tests.factories import StaffFactory, UserFactory, fund_with_copyright

pytestmark = pytest.mark.django_db(transaction=True)


def test_deposit_subscribe_redeem_and_look_back(live_server, page, password):
    fund_with_copyright(staff=StaffFactory(), name="Seoul Night Pop", base_price=1_000)
    person = UserFactory(username="minji")
    earlier = timezone.now() - dt.timedelta(minutes=10)
    services.register_investor(user=person, at=earlier)
    services.deposit(user=person, amount=700, at=earlier)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("minji")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/investments/deposit/")
    page.get_by_label("Amount").fill("10000")
    page.get_by_role("button", name="Deposit").click()
    expect(page.get_by_role("heading", name="My portfolio")).to_be_visible()
    expect(page.get_by_test_id("cash-available")).to_have_text("₩10,700")

    page.get_by_role("navigation", name="Investments").get_by_role("link", name="Subscribe").click()
    page.get_by_label("Fund").select_option(label="Seoul Night Pop")
    page.get_by_label("Amount").fill("4500")
    page.get_by_role("button", name="Subscribe").click()
    row = page.get_by_role("row", name=re.compile("Seoul Night Pop"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("4 shares")
    expect(page.get_by_test_id("cash-available")).to_have_text("₩6,700")
    expect(page.get_by_test_id("return")).to_contain_text("0 (0.00%)")

    page.goto(f"{live_server.url}/investments/redeem/")
    page.get_by_label("Fund").select_option(label="Seoul Night Pop")
    page.get_by_label("Shares").fill("1")
    page.get_by_role("button", name="Redeem").click()
    expect(row.get_by_role("cell").nth(1)).to_have_text("3 shares")
    expect(page.get_by_test_id("cash-available")).to_have_text("₩7,700")

    moment = timezone.localtime(earlier + dt.timedelta(minutes=2))
    page.get_by_label("Moment").fill(moment.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Show portfolio at this moment").click()
    expect(page.get_by_text("Showing your portfolio as it was at")).to_be_visible()
    expect(page.get_by_test_id("cash-available")).to_have_text("₩700")
    expect(page.get_by_text("No holdings at that moment.")).to_be_visible()
