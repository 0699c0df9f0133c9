"""Charts like a trading app: nice ticks, ranges, colour by direction, volume buckets, and the
fund and portfolio pages' charts, drawn from the ledger as time travel reads it."""

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from investments import charts, market, postings, replay, selectors, services
from investments.charts import Point
from tests.factories import (
    StaffFactory,
    fund_with_copyright,
    fund_with_history,
    investor_with_cash,
)

NOW = timezone.now()


def _steps(ticks):
    return {ticks[i + 1] - ticks[i] for i in range(len(ticks) - 1)}


def _is_nice(step: Decimal) -> bool:
    digits = step.normalize().as_tuple().digits
    return digits in ((1,), (2,), (5,))


# --- nice ticks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("10433.2125", "10857.15"),
        ("0", "3000000"),
        ("99.5", "131.2"),
        ("1", "7"),
        ("9900", "10100"),
        ("0.001", "0.0023"),
        ("-40", "15"),
        ("123456789", "123456790"),
    ],
)
def test_nice_ticks_are_four_to_six_round_steps_covering_the_values(low, high):
    ticks = charts.nice_ticks(Decimal(low), Decimal(high))
    assert 4 <= len(ticks) <= 6
    (step,) = _steps(ticks)
    assert _is_nice(step), step
    assert ticks[0] <= Decimal(low) and ticks[-1] >= Decimal(high)
    assert all(t % step == 0 for t in ticks)


def test_a_flat_series_gets_a_band_around_its_value():
    assert charts.nice_ticks(Decimal(10_000), Decimal(10_000)) == [9800, 9900, 10000, 10100, 10200]


def test_a_series_never_below_zero_gets_no_negative_tick():
    ticks = charts.nice_ticks(Decimal(0), Decimal(0), unit=1)
    assert ticks[0] == 0 and 4 <= len(ticks) <= 6
    assert charts.nice_ticks(Decimal(1), Decimal(7))[0] == 0


def test_whole_won_ticks_never_step_below_one_won():
    ticks = charts.nice_ticks(Decimal(100), Decimal(101), unit=1)
    assert _steps(ticks) == {1}


# --- ranges ----------------------------------------------------------------------------------


def test_a_range_starts_that_many_calendar_months_before_the_end():
    end = timezone.make_aware(dt.datetime(2026, 3, 31, 15, 0))
    first = end - dt.timedelta(days=3 * 365)
    one_month = charts.period("1m", first=first, end=end)
    assert one_month.key == "1m"
    assert one_month.start == timezone.make_aware(dt.datetime(2026, 2, 28, 15, 0))
    assert charts.period("3m", first=first, end=end).start.date() == dt.date(2025, 12, 31)
    assert charts.period("1y", first=first, end=end).start.date() == dt.date(2025, 3, 31)
    assert charts.period("all", first=first, end=end).start == first


@pytest.mark.parametrize("asked", [None, "", "5y", "1M", "all ", "<script>", "1m;drop"])
def test_anything_but_a_known_range_is_the_default(asked):
    end = NOW
    assert charts.period(asked, first=end - dt.timedelta(days=400), end=end).key == "3m"
    assert charts.period(asked, first=end - dt.timedelta(days=20), end=end).key == "all"


def test_a_range_never_starts_before_the_data():
    first = NOW - dt.timedelta(days=10)
    shown = charts.period("1y", first=first, end=NOW)
    assert shown.start == first
    assert [(key, current) for key, _, current in shown.choices] == [
        ("1m", False),
        ("3m", False),
        ("1y", True),
        ("all", False),
    ]


def test_range_labels_are_korean_in_korean():
    with translation.override("ko"):
        labels = [label for _, label, _ in charts.period(None, first=NOW, end=NOW).choices]
    assert labels == ["1개월", "3개월", "1년", "전체"]


# --- direction and the model -------------------------------------------------------------------


def _series(*values, days=1):
    start = NOW - dt.timedelta(days=days * (len(values) - 1))
    return [Point(start + dt.timedelta(days=days * i), Decimal(v)) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [((100, 104, 101), "up"), ((100, 96, 99), "down"), ((100, 130, 100), "flat")],
)
def test_the_chart_is_coloured_by_its_change_over_the_range(values, expected):
    chart = charts.build(_series(*values), label="NAV", kind="nav")
    assert chart.direction == expected
    assert charts.direction(Decimal("100.004"), Decimal(100)) == "flat"  # shown as 0.00%


def test_a_chart_labels_its_axes_and_last_value_as_the_money_pages_do():
    with translation.override("ko"):
        chart = charts.build(
            _series("10433.2125", "10600", "10857.1599", days=20), label="NAV", kind="nav"
        )
    assert [t.label for t in chart.y_ticks] == [
        "10,400원",
        "10,500원",
        "10,600원",
        "10,700원",
        "10,800원",
        "10,900원",
    ]
    assert chart.last_label == "10,857.15원"  # a NAV is cut, never rounded up
    assert chart.change_label == "+4.06%"
    assert 2 <= len(chart.x_ticks) <= 5
    assert all(re.fullmatch(r"\d+월( \d+일)?|\d+년", t.label) for t in chart.x_ticks)
    assert all(chart.left <= t.at <= chart.right for t in chart.x_ticks)
    # Higher values are drawn higher, within the plot.
    assert chart.top <= chart.last_y < chart.bottom
    assert "10,857.15원" in chart.hits[-1].title and "2026" in chart.hits[-1].title
    assert [row.value for row in chart.rows] == ["10,857.15원", "10,600.00원", "10,433.21원"]


def test_x_ticks_follow_the_range_in_korea_time():
    end = timezone.make_aware(dt.datetime(2026, 12, 6, 15, 0))
    with translation.override("en"):
        hours = charts.time_ticks(end - dt.timedelta(hours=12), end)
        days = charts.time_ticks(end - dt.timedelta(days=10), end)
        months = charts.time_ticks(end - dt.timedelta(days=365), end)
    assert [label for _, label in hours] == ["03:00", "06:00", "09:00", "12:00", "15:00"]
    assert [label for _, label in days] == ["Nov 28", "Nov 30", "Dec 2", "Dec 4", "Dec 6"]
    assert all(timezone.localtime(at).time() == dt.time(0) for at, _ in days)
    assert [label for _, label in months] == ["2026", "Apr", "Jul", "Oct"]


def test_an_empty_series_has_no_chart_and_one_point_is_a_dot():
    assert charts.build([], label="NAV") is None
    one = charts.build([Point(NOW, 12_300)], label="Total", kind="won")
    assert one.points == 1 and len(one.hits) == 1 and one.area == ""
    first, second = one.line.split()
    assert first == second  # a line of no length: its round caps draw the dot
    assert one.direction == "flat" and one.last_label == "₩12,300"
    assert one.start < NOW < one.end


def test_thin_keeps_the_first_point_and_the_close_of_each_period():
    points = _series(*range(200), days=1)
    kept = charts.thin(points, most=60)
    assert len(kept) <= 60
    assert kept[0] is points[0] and kept[-1] is points[-1]
    assert [p.at for p in kept] == sorted(p.at for p in kept)


# --- volume buckets --------------------------------------------------------------------------


def test_trades_are_bucketed_per_period_with_their_volume_and_last_price():
    day = timezone.make_aware(dt.datetime(2026, 12, 1, 1, 0))
    trades = []
    for d in range(10):
        trades.append((day + dt.timedelta(days=d), 10_000 + d * 100, 2))
        trades.append((day + dt.timedelta(days=d, hours=3), 10_050 + d * 100, 3))
    points, step, start, end = charts.buckets(trades)
    assert step == ("hour", 12)  # the smallest step giving at most 30 periods
    assert [p.volume for p in points] == [5] * 10
    assert [p.value for p in points] == [10_050 + d * 100 for d in range(10)]  # the close
    assert start == timezone.make_aware(dt.datetime(2026, 12, 1, 0, 0))
    assert end == timezone.make_aware(dt.datetime(2026, 12, 10, 12, 0))
    chart = charts.build(points, label="Price", start=start, end=end, step=step)
    assert chart.has_volume and len(chart.bars) == 10
    assert {bar.direction for bar in chart.bars[1:]} == {"up"}
    tallest = max(bar.height for bar in chart.bars)
    assert tallest == pytest.approx(chart.volume_bottom - chart.volume_top)
    assert all(chart.left <= bar.x and bar.x + bar.width <= chart.right + 1 for bar in chart.bars)
    assert chart.volume_label == "5 shares"
    assert "volume 5 shares" in chart.hits[0].title


def test_trades_over_months_are_bucketed_per_day_or_longer():
    day = timezone.make_aware(dt.datetime(2026, 1, 1, 12, 0))
    trades = [(day + dt.timedelta(days=d), 10_000, 1) for d in range(0, 120, 3)]
    points, step, _, _ = charts.buckets(trades)
    assert step in {("day", 7), ("day", 14)}
    assert sum(p.volume for p in points) == 40 and len(points) <= 30


def test_no_trades_no_buckets():
    assert charts.buckets([]) == ([], None, None, None)


# --- from the ledger -------------------------------------------------------------------------


@pytest.fixture
def history(db):
    return fund_with_history()


def test_fund_states_give_the_nav_a_full_replay_gives(history):
    fund = history["fund"]
    moments = [history["opened"] + dt.timedelta(days=d) for d in (0, 1, 3, 60, 121, 151, 199)]
    states = replay.fund_states(fund_ids=[fund.pk], moments=moments)
    for moment, state in zip(moments, states, strict=True):
        assert state.nav(fund.pk, moment) == replay.replay(until=moment).nav(fund.pk, moment)


def test_portfolio_totals_are_time_travel_at_each_moment(history):
    person, fund = history["person"], history["fund"]
    buyer = investor_with_cash(100_000)
    traded = history["opened"] + dt.timedelta(days=160)
    market.place_order(
        user=person, fund_id=fund.pk, side="sell", price=10_300, quantity=2, at=traded
    )
    market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=10_300, quantity=2, at=traded)
    moments = charts.grid(history["opened"] - dt.timedelta(hours=2), timezone.now())
    assert 29 <= len(moments) <= 58
    for investor in (person.investor, buyer.investor):
        assert replay.portfolio_totals(investor_id=investor.pk, moments=moments) == [
            selectors.portfolio(investor=investor, at=at).total for at in moments
        ]


def test_holders_of_one_fund_share_its_prices_at_settled_moments(history):
    fund, opened = history["fund"], history["opened"]
    other = investor_with_cash(100_000)
    services.subscribe(user=other, fund_id=fund.pk, amount=50_000, at=opened + dt.timedelta(days=9))
    settled = timezone.now() - dt.timedelta(minutes=5)
    moments = charts.grid(opened, settled)  # all settled (else the last may fall after settled)
    mine = history["person"].investor.pk
    replay.portfolio_totals(investor_id=mine, moments=moments, settled=settled)  # keeps them
    theirs = other.investor.pk
    with CaptureQueriesContext(connection) as alone:
        fresh = replay.portfolio_totals(investor_id=theirs, moments=moments)
    with CaptureQueriesContext(connection) as shared:
        kept = replay.portfolio_totals(investor_id=theirs, moments=moments, settled=settled)
    # Only their own sums (with the postings' watermark around them and the log after it): the
    # funds' prices were kept.
    funds = ("fundposting", "trade", "copyright")
    assert any(name in q["sql"] for q in alone for name in funds)
    assert not any(name in q["sql"] for q in shared for name in funds)
    assert sum(bool(re.search(r"investments_posting\b", q["sql"])) for q in shared) == 1
    assert kept == fresh and kept[-1] > 0


def test_the_fund_page_draws_nav_and_mcpi_over_the_same_range(client, history):
    page = client.get(reverse("investments:fund", args=[history["fund"].pk]), {"range": "1m"})
    assert page.status_code == 200
    nav, mcpi = page.context["nav_chart"], page.context["mcpi_chart"]
    assert page.context["period"].key == "1m"
    assert (nav.start, nav.end) == (mcpi.start, mcpi.end)
    assert (nav.left, nav.right) == (mcpi.left, mcpi.right)
    assert [(t.at, t.label) for t in nav.x_ticks] == [(t.at, t.label) for t in mcpi.x_ticks]
    assert charts.months_before(nav.end, 1) == nav.start
    assert nav.end - nav.start < dt.timedelta(days=32)
    html = page.content.decode()
    assert html.count('class="chart-svg') == 2
    assert html.count("<title>") >= nav.points + mcpi.points
    assert re.search(r'href="\?range=1m" aria-current="true">1M<', html)
    assert "NAV in numbers" in html and "MCPI in numbers" in html


def test_a_bad_range_shows_the_default_range(client, history):
    url = reverse("investments:fund", args=[history["fund"].pk])
    for asked in ("forever", "", "1m' or 1=1", "3M"):
        page = client.get(url, {"range": asked})
        assert page.status_code == 200
        assert page.context["period"].key == "3m"  # the fund is older than three months
        assert re.search(r'href="\?range=3m" aria-current="true"', page.content.decode())
    everything = client.get(url, {"range": "all"}).context
    assert everything["nav_chart"].start == history["fund"].created_at


def test_the_fund_page_nav_chart_shows_the_nav_as_it_was(client, history):
    fund = history["fund"]
    chart = client.get(reverse("investments:fund", args=[fund.pk]), {"range": "all"}).context[
        "nav_chart"
    ]
    # Oldest row: the NAV at the fund's opening (its base price), not today's fund at old MCPI.
    assert chart.rows[-1].value == "₩10,000.00"
    assert chart.rows[0].value == chart.last_label


def test_the_portfolio_page_draws_my_total_over_time(client, history):
    client.force_login(history["person"])
    page = client.get(reverse("investments:portfolio"), {"range": "all"})
    assert page.status_code == 200
    chart, portfolio = page.context["chart"], page.context["portfolio"]
    assert chart is not None and 30 <= chart.points <= 60
    assert chart.start == selectors.opened_at(history["person"].investor)
    assert chart.last_label == f"₩{portfolio.total:,}"
    assert chart.rows[-1].value == "₩0"  # the account had just opened
    html = page.content.decode()
    assert "Value over time" in html and 'class="chart-svg' in html
    assert re.search(r'href="\?range=all" aria-current="true"', html)


def _portfolio_twice(client, person):
    """The person's portfolio page asked for twice: each time, its statements and the page."""
    client.force_login(person)
    postings.catch_up()  # (with a follower, else the log after its watermark is read too)
    asked = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as statements:
            page = client.get(reverse("investments:portfolio"))
        asked.append((statements, page))
    return asked


def test_the_portfolio_chart_keeps_past_totals_and_draws_now_live(client, history, monkeypatch):
    # Every grid moment settled, whatever the clock: just after a grid moment (Korean midnight)
    # the last one is younger than VALUE_SETTLED and rightly worked out again.
    monkeypatch.setattr(selectors, "VALUE_SETTLED", dt.timedelta(0))
    (cold, first), (warm, again) = _portfolio_twice(client, history["person"])
    # the chart's nine statements (seven, and the postings' watermark beside two): its past totals
    # are kept
    assert len(warm) == len(cold) - 9
    assert [r.value for r in again.context["chart"].rows[1:]] == [
        r.value for r in first.context["chart"].rows[1:]
    ]
    services.deposit(user=history["person"], amount=1_000)
    now = client.get(reverse("investments:portfolio")).context
    assert now["chart"].last_label == f"₩{now['portfolio'].total:,}"
    assert now["chart"].rows[1:] == first.context["chart"].rows[1:]


def test_the_portfolio_chart_keeps_no_total_of_a_moment_not_yet_settled(
    client, history, monkeypatch
):
    monkeypatch.setattr(selectors, "VALUE_SETTLED", dt.timedelta(days=365))  # none settled
    (cold, _), (warm, _) = _portfolio_twice(client, history["person"])
    assert len(warm) == len(cold)


def test_grid_moments_stay_put_as_the_range_moves_on():
    end = timezone.make_aware(dt.datetime(2026, 12, 6, 15, 7))
    one = charts.grid(charts.months_before(end, 3), end)
    later = end + dt.timedelta(minutes=20)
    two = charts.grid(charts.months_before(later, 3), later)
    assert 29 <= len(one) <= 58 and set(one[1:]) <= set(two)
    assert {b - a for a, b in itertools.pairwise(one)} == {dt.timedelta(days=2)}
    assert all(timezone.localtime(at).time() == dt.time(0) for at in one)
    assert charts.grid(end, end) == []


def test_the_portfolio_range_links_keep_the_past_moment(client, history):
    client.force_login(history["person"])
    at = timezone.localtime(history["opened"] + dt.timedelta(days=100)).strftime("%Y-%m-%dT%H:%M")
    page = client.get(reverse("investments:portfolio"), {"at": at, "range": "1m"})
    assert page.status_code == 200 and page.context["past"]
    chart = page.context["chart"]
    assert chart.end == page.context["portfolio"].moment
    assert chart.last_label == f"₩{page.context['portfolio'].total:,}"
    assert f"at={at.replace(':', '%3A')}" in page.content.decode()


def test_a_range_alone_is_not_a_moment_asked_for(client, history):
    client.force_login(history["person"])
    page = client.get(reverse("investments:portfolio"), {"range": "nonsense"})
    assert page.status_code == 200 and not page.context["past"]
    assert page.context["period"].key == "3m"


def test_a_new_investor_sees_a_chart_of_one_moment(user_client, user):
    services.register_investor(user=user)
    page = user_client.get(reverse("investments:portfolio"))
    assert page.status_code == 200
    assert page.context["chart"].last_label == "₩0"


def test_the_market_chart_has_volume_bars_per_period(client, db):
    fund = fund_with_copyright(staff=StaffFactory(), base_price=1_000)
    seller, buyer = investor_with_cash(100_000), investor_with_cash(100_000)
    services.subscribe(user=seller, fund_id=fund.pk, amount=20_000)
    start = NOW - dt.timedelta(days=3)
    for d, (price, quantity) in enumerate([(1_000, 2), (1_100, 3), (1_000, 1)]):
        at = start + dt.timedelta(days=d)
        market.place_order(
            user=seller, fund_id=fund.pk, side="sell", price=price, quantity=quantity, at=at
        )
        market.place_order(
            user=buyer, fund_id=fund.pk, side="buy", price=price, quantity=quantity, at=at
        )
    page = client.get(reverse("investments:market", args=[fund.pk]))
    chart = page.context["price_chart"]
    assert chart.has_volume and [b.direction for b in chart.bars] == ["flat", "up", "down"]
    assert [row.volume for row in chart.rows] == ["1 share", "3 shares", "2 shares"]
    assert page.content.decode().count('class="chart-bar') == 3
    # The polled book leaves the chart out.
    book = client.get(reverse("investments:book", args=[fund.pk]), HTTP_HX_REQUEST="true")
    assert book.context["price_chart"] is None and b"chart-svg" not in book.content


@pytest.mark.korean
def test_the_charts_speak_korean(client, history):
    page = client.get(reverse("investments:fund", args=[history["fund"].pk]))
    html = page.content.decode()
    assert "NAV 숫자로 보기" in html and "차트 기간" in html
    assert ">3개월<" in html
    title = re.search(r"<title>([^<]*)</title>", html.split('class="chart-hits"')[1]).group(1)
    assert re.fullmatch(r"\d{4}년 \d+월 \d+일: [\d,.]+원", title)


def test_a_total_s_change_is_its_gain_not_the_money_put_in():
    series = _series(1_000, 3_050, 3_100)  # 2,000 deposited on the way, 100 gained
    chart = charts.build(series, label="Total value", flows=2_000)
    assert chart.change_label == "+₩100 (+3.33%)"  # of the 1,000 it started with and 2,000 put in
    assert chart.direction == "up"
    lost = charts.build(_series(1_000, 1_800), label="Total value", flows=900)
    assert (lost.change_label, lost.direction) == ("\u2212₩100 (\u22125.26%)", "down")
    opened = charts.build(_series(0, 0, 480), label="Total value", flows=500)
    assert opened.change_label == "\u2212₩20 (\u22124.00%)"


def test_the_portfolio_chart_leaves_deposits_out_of_its_change(client, history):
    person = history["person"]
    client.force_login(person)
    url = reverse("investments:portfolio")
    before = client.get(url, {"range": "1m"}).context["chart"]
    services.deposit(user=person, amount=500_000)
    after = client.get(url, {"range": "1m"}).context["chart"]
    assert after.last_label != before.last_label  # the deposit is in the total …
    gain = before.change_label.split(" (")[0]
    assert gain != "₩0" and after.change_label.split(" (")[0] == gain  # … and not in its gain
