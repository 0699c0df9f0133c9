"""The postings written behind the log: a reader's answers are the same however far behind the
follower is, the follower writes what an inline command would, and nothing is counted twice."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Max, Min
from django.test import override_settings

from accounts import demo as accounts_demo
from investments import demo, postings, replay, selectors, services
from investments.models import Event, FundPosting, Investor, Posting, PostingWatermark
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _answers(investors, moments):
    """Everything time travel and "my history" show for these investors at these moments."""
    return [
        (
            selectors.portfolio(investor=investor, at=moment),
            [(e.sequence, text) for e, text in selectors.history(investor=investor)[0]],
        )
        for investor in investors
        for moment in moments
    ]


@override_settings(LEDGER_POSTINGS="follower")
def test_readers_answer_the_same_however_far_behind_the_follower_is():
    demo.load(io.StringIO(), accounts_demo.load(io.StringIO()))
    last = Event.objects.count()
    assert postings.watermark() == 0 and not Posting.objects.exists()  # nothing posted yet
    span = Event.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    step = (span["last"] - span["first"]) / 6
    moments = [span["first"] + step * k for k in range(7)]
    investors = list(Investor.objects.order_by("pk"))
    behind = _answers(investors, moments)
    for investor in investors:  # and equal to a full replay
        for moment in moments:
            replayed = replay.replay(until=moment)
            assert selectors.portfolio(investor=investor, at=moment) == (
                selectors.portfolio_from_state(replayed, investor.pk, moment)
            )
    assert postings.follow(limit=last // 2) == last // 2  # halfway
    assert postings.watermark() == last // 2
    assert _answers(investors, moments) == behind
    postings.catch_up()
    assert postings.watermark() == last
    assert _answers(investors, moments) == behind
    assert replay.posting_differences() == []


@override_settings(LEDGER_POSTINGS="follower")
def test_the_follower_writes_each_events_postings_once_in_batches():
    demo.load(io.StringIO(), accounts_demo.load(io.StringIO()))
    last = Event.objects.count()
    while postings.follow(limit=7):
        pass
    assert postings.watermark() == last
    assert postings.follow() == 0  # nothing left: nothing written twice
    moved = postings.derive(postings.after(0))
    assert Posting.objects.count() == len(moved.holders) > 0
    assert FundPosting.objects.count() == len(moved.funds) > 0
    assert replay.posting_differences() == []


@override_settings(LEDGER_POSTINGS="follower")
def test_run_postings_until_idle_writes_everything_the_log_lacks():
    me = UserFactory()
    services.register_investor(user=me)
    services.deposit(user=me, amount=50_000)
    assert postings.watermark() < Event.objects.count()
    out = io.StringIO()
    call_command("run_postings", "--until-idle", stdout=out)
    assert postings.watermark() == Event.objects.count()
    assert "running" in out.getvalue()
    assert replay.posting_differences() == []


def test_an_inline_command_first_writes_what_a_follower_left():
    me = UserFactory()
    with override_settings(LEDGER_POSTINGS="follower"):
        services.register_investor(user=me)
        services.deposit(user=me, amount=50_000)
    assert postings.watermark() < Event.objects.count()
    with override_settings(LEDGER_POSTINGS="inline"):
        services.deposit(user=me, amount=7_000)
    assert postings.watermark() == Event.objects.count()
    assert replay.posting_differences() == []
    mine = Posting.objects.filter(investor_id=me.investor.pk).order_by("sequence")
    assert list(mine.values_list("available", flat=True)) == [50_000, 7_000]


@override_settings(LEDGER_POSTINGS="follower")
def test_a_read_the_follower_moved_under_is_read_again_and_counts_nothing_twice():
    me = UserFactory()
    services.register_investor(user=me)
    services.deposit(user=me, amount=50_000)
    services.deposit(user=me, amount=20_000)
    investor = me.investor.pk
    reads = []

    def read():
        reads.append(postings.watermark())
        if len(reads) == 1:
            postings.follow(limit=2)  # the follower commits between the watermark and the sums
        return list(
            Posting.objects.filter(investor_id=investor).values_list("available", flat=True)
        )

    written, tail = postings.settled(read)
    assert len(reads) == 2  # read again once the watermark had moved
    mine = [row[4] for row in tail.holders if row[2] == investor]
    assert sum(written) + sum(mine) == 70_000


def test_the_watermark_starts_at_zero_and_is_made_on_first_use():
    PostingWatermark.objects.all().delete()
    assert postings.watermark() == 0
    me = UserFactory()
    services.register_investor(user=me)  # inline on the embedded default, a follower elsewhere
    postings.catch_up()
    assert postings.watermark() == Event.objects.count() > 0
