"""Demo funds, two years of MCPI, and investors with histories. Idempotent: runs once per database
(it checks for its first fund) and everything goes through the ledger's services."""

import datetime as dt
import math

from django.utils import timezone

from . import checks, market, services
from .models import Fund, Order

FUNDS = [
    (
        "K-Ballad Classics",
        10_000,
        [
            ("KB-0001", "C-2013-004512", "M100231", "Spring Day", "Sunny Hill"),
            ("KB-0002", "C-2011-019933", "M100875", "Love Poem", "Han River Trio"),
        ],
    ),
    (
        "Seoul Night Pop",
        5_000,
        [
            ("SN-0001", "C-2019-000871", "M204411", "Neon Avenue", "Midnight Kim"),
            ("SN-0002", "C-2020-003321", "M204987", "Han River Lights", "Blue Moon Club"),
        ],
    ),
]


def load(stdout, people) -> None:
    if Fund.objects.filter(name=FUNDS[0][0]).exists():
        stdout.write("Investments demo data already there.")
        load_market(stdout, people)
        return
    staff = next((u for u in people.values() if u.is_staff), None)
    investors = [people[name] for name in ("alice", "bob", "김철수") if name in people]
    if staff is None or not investors:
        stdout.write("Investments demo skipped: no staff or demo people.")
        return
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=730)
    # Weekly MCPI: a gentle rise with a wave, from 100.
    for week in range(0, 105):
        at = start + dt.timedelta(weeks=week)
        value = 100 + week * 0.25 + 6 * math.sin(week / 6)
        services.record_mcpi(actor=staff, at=at, value=f"{value:.2f}")
    for user in investors:
        services.register_investor(user=user, at=start + dt.timedelta(hours=1))
        services.deposit(user=user, amount=3_000_000, at=start + dt.timedelta(hours=2))
    for n, (name, base, songs) in enumerate(FUNDS):
        opened = start + dt.timedelta(days=1 + n)
        fund = services.create_fund(actor=staff, name=name, base_price=base, at=opened)
        for i, user in enumerate(investors):
            services.subscribe(
                user=user,
                fund_id=fund.pk,
                amount=400_000 + 150_000 * i,
                at=opened + dt.timedelta(hours=1 + i),
            )
        for j, (code, reg, music, title, artist) in enumerate(songs):
            services.acquire_copyright(
                actor=staff,
                fund_id=fund.pk,
                code=code,
                registration_number=reg,
                music_id=music,
                title=title,
                artist=artist,
                price=300_000 + 100_000 * j,
                at=opened + dt.timedelta(days=2 + j),
            )
        services.record_royalty(
            actor=staff, fund_id=fund.pk, amount=45_000, at=opened + dt.timedelta(days=200)
        )
        services.distribute_royalties(at=opened + dt.timedelta(days=200, hours=1))
        services.redeem(
            user=investors[0], fund_id=fund.pk, shares=5, at=opened + dt.timedelta(days=400)
        )
    services.withdraw(user=investors[-1], amount=100_000, at=now - dt.timedelta(days=30))
    stdout.write(f"Investments: {len(FUNDS)} funds, {len(investors)} investors.")
    load_market(stdout, people)


def load_market(stdout, people) -> None:
    """A week of trades (with a daily close each day) and open orders on both sides of each demo
    fund's book. Idempotent: skipped once the demo funds have any order."""
    investors = [people[name] for name in ("alice", "bob", "김철수") if name in people]
    funds = list(Fund.objects.filter(name__in=[f[0] for f in FUNDS]).order_by("pk"))
    if len(investors) < 2 or not funds or Order.objects.filter(fund__in=funds).exists():
        return
    seller, buyer = investors[0], investors[1]
    now = timezone.now().replace(microsecond=0)
    tick = checks.market_rules().tick
    for days_ago in range(6, 0, -1):
        day = now - dt.timedelta(days=days_ago)
        for fund in funds:
            price = fund.base_price + tick * ((days_ago % 3) - 1)
            market.place_order(
                user=seller, fund_id=fund.pk, side="sell", price=price, quantity=2, at=day
            )
            market.place_order(
                user=buyer,
                fund_id=fund.pk,
                side="buy",
                price=price,
                quantity=2,
                at=day + dt.timedelta(minutes=5),
            )
        market.close_market(at=day + dt.timedelta(hours=6))
    for fund in funds:
        for step, (user, side, offset) in enumerate(
            [
                (seller, "sell", 2),
                (seller, "sell", 3),
                (buyer, "buy", -2),
                (investors[-1], "buy", -3),
            ]
        ):
            market.place_order(
                user=user,
                fund_id=fund.pk,
                side=side,
                price=fund.base_price + tick * offset,
                quantity=3 + step,
                at=now - dt.timedelta(minutes=30 - step),
            )
    stdout.write(f"Market: trades and open orders for {len(funds)} funds.")
