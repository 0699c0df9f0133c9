"""The charts on a 390 px phone: the fund page does not scroll sideways, its charts have axis
labels large enough to read, the range links switch both charts, and the portfolio draws its
value over time."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.factories import fund_with_history

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser):
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


def _smallest_label_px(page) -> float:
    """The height on screen of the smallest axis label of the page's charts."""
    return page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.chart-axis text, .chart-last text')]
             .map(t => t.getBoundingClientRect().height))"""
    )


def test_the_fund_charts_fit_a_phone_and_switch_range(phone, live_server):
    history = fund_with_history()
    page = phone
    page.goto(f"{live_server.url}/investments/funds/{history['fund'].pk}/")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    charts = page.get_by_role("img", name=re.compile(r"^(NAV|MCPI) from "))
    expect(charts).to_have_count(2)
    nav = page.get_by_role("img", name=re.compile(r"^NAV from "))
    box = nav.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Axis labels: money on the value axis, months on the time axis.
    values = nav.locator(".chart-y text")
    expect(values.first).to_have_text(re.compile(r"^₩[\d,]+(\.\d+)?$"))
    assert 4 <= values.count() <= 6
    months = [t.strip() for t in nav.locator(".chart-x text").all_text_contents()]
    assert 2 <= len(months) <= 5
    assert all(re.fullmatch(r"[A-Z][a-z]{2}|\d{4}|[A-Z][a-z]{2} \d+", m) for m in months), months
    assert _smallest_label_px(page) >= 10  # legible on the phone
    # A read-out per point, the browser's own tooltip.
    tooltip = nav.locator(".chart-hits title").last.text_content()
    assert re.fullmatch(r"\w+\.? \d+, \d{4}: ₩[\d,]+\.\d\d", tooltip), tooltip

    ranges = page.get_by_role("navigation", name="Chart range")
    expect(ranges.get_by_role("link", name="3M")).to_have_attribute("aria-current", "true")
    ranges.get_by_role("link", name="1M").click()
    expect(page).to_have_url(re.compile(r"\?range=1m$"))
    expect(ranges.get_by_role("link", name="1M")).to_have_attribute("aria-current", "true")
    days = nav.locator(".chart-x text").all_text_contents()
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d+", d.strip()) for d in days), days
    mcpi = page.get_by_role("img", name=re.compile(r"^MCPI from "))
    assert mcpi.locator(".chart-x text").all_text_contents() == days  # the same time axis
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_text("NAV in numbers").click()
    expect(page.get_by_role("table").filter(has_text="When").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_portfolio_draws_its_value_over_time_on_a_phone(phone, live_server, password):
    fund_with_history(username="minji")
    page = phone
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("minji")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/investments/portfolio/")

    expect(page.get_by_role("heading", name="Value over time")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile(r"^Total value from "))
    expect(chart).to_be_visible()
    expect(chart.locator(".chart-y text").first).to_have_text(re.compile(r"^₩[\d,]+$"))
    assert _smallest_label_px(page) >= 10
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
