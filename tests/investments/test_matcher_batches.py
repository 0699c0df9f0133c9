"""A matcher batch decides its commands exactly as the same commands decided one at a time would:
the same answers (refusals and their reasons included), the same events and the same tables.
Within a batch each command sees the cash and shares the commands before it left, with what their
fills brought in, and the book they moved."""

import datetime as dt
import re
import uuid

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from investments import market, matcher, projections, replay, services
from investments.domain import events
from investments.models import Event, Investor, Order
from tests.factories import StaffFactory, UserFactory

from .helpers import assert_invariants

command = st.one_of(
    st.tuples(
        st.just(matcher.PLACE),
        st.integers(0, 3),  # who
        st.sampled_from(["buy", "sell"]),
        st.sampled_from([9_900, 10_000, 10_100, 20_000]),  # 20,000: outside today's range
        st.integers(1, 12),
    ),
    st.tuples(
        st.just(matcher.CANCEL), st.integers(0, 3), st.just(""), st.integers(0, 5), st.just(0)
    ),
)


class BatchEqualsOneAtATimeTests(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(command, min_size=1, max_size=25), st.booleans())
    def test_a_batch_decides_as_its_commands_one_at_a_time(self, commands, repeat):
        staff = StaffFactory()
        noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
        fund = services.create_fund(actor=staff, name="Ballads", base_price=10_000)
        users = [UserFactory() for _ in range(4)]
        for user in users[:3]:  # the fourth has no investor account
            services.register_investor(user=user)
            services.deposit(user=user, amount=150_000)
            services.subscribe(user=user, fund_id=fund.pk, amount=50_000)  # 5 shares
        # Orders resting before the batch, for its cancels (each tried by the person named).
        resting = []
        for n, (who, side, price) in enumerate([(0, "buy", 9_900), (1, "sell", 10_100)]):
            first = matcher.Command(
                matcher.PLACE, fund.pk, users[who].pk, f"r{n}", side=side, price=price, quantity=1
            )
            placed = matcher.process(matcher.FundBook(fund.pk), [first])[0]
            resting.append((placed.order_id, price))
        batch = []
        for n, (kind, who, side, number, quantity) in enumerate(commands):
            at = noon + dt.timedelta(seconds=n)
            key = uuid.uuid4().hex
            if kind == matcher.PLACE:
                batch.append(
                    matcher.Command(
                        kind, fund.pk, users[who].pk, key, side, number, quantity, at=at
                    )
                )
            else:
                order_id, price = resting[number % 2] if number < 4 else (10**9, 9_900)
                batch.append(
                    matcher.Command(
                        kind, fund.pk, users[who].pk, key, price=price, order_id=order_id, at=at
                    )
                )
        if repeat:  # a double submit inside the batch
            batch.append(batch[0])

        def outcome():
            events = Event.objects.order_by("sequence").values_list("type", "payload")
            return list(events), projections.comparable(projections.read())

        savepoint = transaction.savepoint()
        together = matcher.process(matcher.FundBook(fund.pk), batch)
        assert_invariants()
        as_one = outcome()
        transaction.savepoint_rollback(savepoint)

        book = matcher.FundBook(fund.pk)
        apart = [matcher.process(book, [c])[0] for c in batch]
        assert together == apart
        assert as_one == outcome()


def test_a_refusal_reads_in_the_language_of_whoever_sent_the_command(db):
    """The matcher runs in its own process in its own language; the sender's travels along."""
    from django.utils import translation

    staff = StaffFactory()
    fund = services.create_fund(actor=staff, name="Ballads", base_price=10_000)
    user = UserFactory()
    services.register_investor(user=user)
    placing = {"side": "sell", "price": 10_000, "quantity": 1}  # no shares to sell
    answers = {}
    with translation.override("ko"):  # the matcher's own language
        for language in ("en", "ko"):
            command = matcher.Command(
                matcher.PLACE, fund.pk, user.pk, language, **placing, language=language
            )
            answers[language] = matcher.process(matcher.FundBook(fund.pk), [command])[0].error
    assert answers["en"].startswith("You have ")
    assert answers["ko"] != answers["en"] and "주" in answers["ko"]


# --- what a batch keeps between batches ---------------------------------------------------------


def _two_investors():
    fund = services.create_fund(actor=StaffFactory(), name="Ballads", base_price=10_000)
    users = [UserFactory() for _ in range(2)]
    for user in users:
        services.register_investor(user=user)
        services.deposit(user=user, amount=150_000)
        services.subscribe(user=user, fund_id=fund.pk, amount=50_000)  # 5 shares
    return fund, users


def _order(fund, user, key: str, side: str, quantity: int) -> matcher.Command:
    return matcher.Command(
        matcher.PLACE, fund.pk, user.pk, key, side=side, price=10_000, quantity=quantity
    )


def _selects(queries, table: str) -> list[str]:
    pattern = re.compile(rf"^SELECT .* FROM [`\"]{table}[`\"]")  # noqa: S608 (a pattern, not SQL)
    return [q["sql"] for q in queries.captured_queries if pattern.match(q["sql"])]


def test_a_batch_reads_neither_the_books_orders_nor_its_stream_and_locks_whom_it_trades_with(db):
    """The resting orders it fills are the book's, as stored; the market stream's last version
    is the batch before's; the sellers it meets are locked with the buyer, in one statement."""
    fund, (seller, buyer) = _two_investors()
    book = matcher.FundBook(fund.pk)
    matcher.process(
        book, [_order(fund, seller, "s1", "sell", 2), _order(fund, seller, "s2", "sell", 2)]
    )
    matcher.process(book, [_order(fund, buyer, "b1", "buy", 1)])
    with CaptureQueriesContext(connection) as queries:
        (bought,) = matcher.process(book, [_order(fund, buyer, "b2", "buy", 2)])
    assert not bought.error and bought.order["remaining"] == 0  # one share of each sell
    assert _selects(queries, "investments_order") == []
    assert [q for q in queries.captured_queries if "MAX(" in q["sql"]] == []
    assert len(_selects(queries, "investments_investor")) == 1
    assert len(_selects(queries, "investments_holding")) == 1
    assert list(
        Order.objects.filter(fund=fund).order_by("pk").values_list("remaining", flat=True)
    ) == [0, 1, 0, 0]
    assert_invariants()
    assert replay.audit() == []


def test_the_daily_close_between_two_batches_sends_the_matcher_back_to_the_stream(db):
    """The close writes the fund's market stream too: the next batch reads its last version
    again (and the book) instead of numbering after the one it kept."""
    fund, (seller, buyer) = _two_investors()
    book = matcher.FundBook(fund.pk)
    matcher.process(book, [_order(fund, seller, "s1", "sell", 2)])
    assert market.close_market() == 1
    (bought,) = matcher.process(book, [_order(fund, buyer, "b1", "buy", 2)])
    assert not bought.error and bought.order["remaining"] == 0
    stream = Event.objects.filter(stream=events.market_stream(fund.pk)).order_by("version")
    assert list(stream.values_list("type", flat=True)) == [
        events.ORDER_PLACED,
        events.MARKET_CLOSED,
        events.ORDER_PLACED,
        events.TRADE_EXECUTED,
    ]
    assert list(stream.values_list("version", flat=True)) == [1, 2, 3, 4]
    assert replay.audit() == []


def test_an_investor_remembered_by_an_id_now_someone_elses_is_looked_up_again(db, monkeypatch):
    fund, (first, second) = _two_investors()
    theirs = Investor.objects.get(user=second).pk
    monkeypatch.setitem(matcher._investor_of, first.pk, theirs)  # e.g. a database restored
    (placed,) = matcher.process(matcher.FundBook(fund.pk), [_order(fund, first, "f1", "buy", 1)])
    assert not placed.error
    assert Order.objects.get(pk=placed.order_id).investor.user == first
