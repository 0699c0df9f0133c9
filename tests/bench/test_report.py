"""The table: ratios to the ceilings, pass/miss against each target, errors never passing."""

import datetime as dt

from bench.report import ERROR, MISS, NONE, PASS, Row, Target, machine, render, table

BOARD = Target("≥ 40% read, p99 < 100 ms", read_ratio=0.4, p99_ms=100)


def test_ratio_and_latency_both_decide_a_read_row():
    fast = Row("board-list", rate=450, p50_ms=10, p99_ms=60, target=BOARD).relate(1000, 500)
    assert fast.read_ratio == 0.45
    assert fast.status == PASS
    slow_tail = Row("board-list", rate=450, p99_ms=120, target=BOARD).relate(1000, 500)
    assert slow_tail.status == MISS
    too_few = Row("board-list", rate=390, p99_ms=60, target=BOARD).relate(1000, 500)
    assert too_few.status == MISS


def test_write_rows_are_judged_against_the_write_ceiling_and_show_both_ratios():
    vote = Row("vote", rate=100, p99_ms=5, target=Target("≥ 40% write", write_ratio=0.4))
    vote.relate(1000, 200)
    assert vote.read_ratio == 0.1
    assert vote.write_ratio == 0.5
    assert vote.status == PASS


def test_rates_and_times_have_their_own_targets():
    assert (
        Row("rebuild", rate=25_000, unit="events/s", target=Target("", rate=20_000)).status == PASS
    )
    assert (
        Row("rebuild", rate=19_999, unit="events/s", target=Target("", rate=20_000)).status == MISS
    )
    travel = Row("time-travel", unit="ms", p50_ms=10, p99_ms=49, target=Target("", ms=50))
    assert travel.status == PASS
    travel.p99_ms = 51
    assert travel.status == MISS


def test_an_error_never_passes_and_a_row_without_target_is_neither():
    row = Row("vote", rate=10_000, p99_ms=1, target=Target("", write_ratio=0.1), error="boom")
    assert row.relate(100, 100).status == ERROR
    assert Row("portfolio", rate=10).status == NONE
    assert Row("audit", target=Target("passes")).status == PASS


def test_table_lists_every_row_and_marks_misses():
    rows = [
        Row("ceiling (read)", rate=1000, p50_ms=2, p99_ms=9).relate(1000, None),
        Row("post-cached", rate=500, p50_ms=3, p99_ms=12, target=Target("≥ 60% read", 0.6)),
        Row("board-list-deep", error="missing data: too few pages"),
    ]
    rows[1].relate(1000, None)
    text = table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| scenario | rate | p50 ms | p99 ms |")
    assert "| ceiling (read) | 1,000 req/s | 2.0 | 9.0 | 100% |" in text
    assert "| post-cached | 500 req/s | 3.0 | 12.0 | 50% |  | ≥ 60% read | **MISS** |" in text
    assert "**ERROR** | missing data: too few pages |" in text
    assert len(lines) == 5


def test_report_starts_with_the_machine_and_ends_with_what_missed():
    header = machine(
        mariadb="10.11.6",
        redis="7.0.15",
        workers=4,
        threads=4,
        scale=0.5,
        when=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
    )
    assert "MariaDB 10.11.6; Redis 7.0.15; gunicorn 4 workers x 4 threads; scale 0.5" in header
    text = render([Row("vote", error="x")], header=header, audit="Audit passed.")
    assert text.startswith("# okcow bench\n\n")
    assert "Audit passed." in text
    assert text.rstrip().endswith("missed or failed: vote.")
