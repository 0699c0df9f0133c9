"""The site on a real MariaDB primary and GTID replica (``.ci/mariadb-replica``): a person's own
writes are on the very next page even while the replica lags, everyone else reads the replica,
and a replica that stops applying leaves the rotation and comes back by itself."""

import json
import re
import time

import pytest

from . import site
from .conftest import PRIMARY, REPLICA, wait_for

pytestmark = pytest.mark.replica

DATABASE = "okcow_topology_replica"
PEOPLE = 50
CHECK_SECONDS = 0.2
POSTS_EACH, COMMENTS_EACH = 5, 15  # the board's limits per minute allow 5 posts and 20 comments
LAG_SECONDS = 2
REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest.fixture(scope="module")
def server(replication, logs):
    env = site.base_env(
        DATABASE_URL=f"{PRIMARY}/{DATABASE}",
        DATABASE_REPLICA_URLS=f"{REPLICA}/{DATABASE}",
        REDIS_URL=REDIS_URL,
        MARKET_MATCHER="inline",
        # The injected lag stays inside the rotation: the replica serves reads while it lags.
        DATABASE_REPLICA_MAX_LAG=60,
        DATABASE_REPLICA_CHECK_SECONDS=CHECK_SECONDS,
    )
    site.redis_flush(REDIS_URL)
    site.prepare_database(PRIMARY, DATABASE, env, people=PEOPLE)
    replication.caught_up()
    port = site.free_port()
    process = site.gunicorn(env, port, logs / "replica-gunicorn.log")
    yield port
    process.stop()


def _category(replica_url: str) -> int:
    ((pk,),) = site.sql(
        replica_url,
        "SELECT id FROM board_category WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1",
        database=DATABASE,
    )
    return pk


def test_a_persons_own_writes_are_on_the_next_page_while_the_replica_lags(server, replication):
    category = _category(PRIMARY)
    replication.delay(LAG_SECONDS)
    tries = seen = replica_lacked = 0
    try:
        for person in range(PEOPLE):
            browser = site.Browser(server)
            browser.log_in(f"p{person:04d}")
            post_path = None
            for n in range(POSTS_EACH):
                title = f"복제 지연 확인 {person}-{n}"
                answer = browser.post(
                    "/board/new/", {"category": category, "title": title, "content": "본문입니다."}
                )
                assert answer.status == 302, (answer.status, answer.body[:300])
                post_path = answer.location
                page = browser.get(post_path)
                tries += 1
                seen += page.status == 200 and title in page.body
                pk = int(re.search(r"/p/(\d+)/", post_path).group(1))
                replica_lacked += not replication.has_row(DATABASE, "board_post", pk)
            for n in range(COMMENTS_EACH):
                text = f"댓글 확인 {person}-{n}"
                answer = browser.post(f"{post_path}comment/", {"content": text})
                assert answer.status == 302, (answer.status, answer.body[:300])
                page = browser.get(post_path)
                tries += 1
                seen += page.status == 200 and text in page.body
    finally:
        replication.delay(0)
    print(
        f"\nread-your-writes: {seen}/{tries} own writes on the next page; the replica lacked "
        f"{replica_lacked}/{PEOPLE * POSTS_EACH} of the posts when they were read"
    )
    assert tries == PEOPLE * (POSTS_EACH + COMMENTS_EACH) == 1000
    assert seen == tries
    # The lag was real: the replica alone would have answered most of these with a 404.
    assert replica_lacked >= PEOPLE * POSTS_EACH * 0.9


def test_everyone_else_reads_the_replica(server, replication):
    replication.caught_up()
    before = site.metric(server, "okcow_db_read_route_total", to="replica")
    _read_posts_uncached(server, 20)
    assert site.metric(server, "okcow_db_read_route_total", to="replica") >= before + 20


def _read_posts_uncached(port: int, count: int) -> None:
    """``count`` post pages read by a visitor, none from the cache (a page read from the cache
    reads no database at all)."""
    site.redis_flush(REDIS_URL)
    posts = site.sql(
        PRIMARY, "SELECT id FROM board_post ORDER BY id LIMIT %s", [count], database=DATABASE
    )
    for (pk,) in posts:
        assert site.Browser(port).get(f"/board/p/{pk}/").status == 200


def _routes(port: int) -> dict[str, float]:
    return {
        to: site.metric(port, "okcow_db_read_route_total", to=to) for to in ("primary", "replica")
    }


def _replica_state(port: int) -> dict:
    answer = site.Browser(port).get("/readyz")
    assert answer.status == 200, answer.body
    return json.loads(answer.body)["replicas"]["replica"]


def test_a_replica_that_stops_applying_leaves_the_rotation_and_comes_back(server, replication):
    replication.stop_applying()
    try:
        found = wait_for(
            lambda: (state := _replica_state(server))["status"] == "stopped" and state,
            timeout=10,
            what="the stopped replica reported by /readyz",
        )
        assert found["in_rotation"] is False
        # Each worker sees the stopped replica at its next check: let every one of them pass it.
        time.sleep(2 * CHECK_SECONDS)
        before = _routes(server)
        _read_posts_uncached(server, 10)
        after = _routes(server)
        assert after["replica"] == before["replica"], (before, after)
        assert after["primary"] >= before["primary"] + 10, (before, after)
    finally:
        replication.start_applying()
    wait_for(
        lambda: _replica_state(server)["in_rotation"],
        timeout=10,
        what="the replica back in rotation",
    )
