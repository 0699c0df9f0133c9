"""Tests of okcow past one machine (markers ``replica``, ``sentinel``, ``servers``): a real
MariaDB replica, Redis Sentinel with its primary killed, two app servers with a matcher each.
They need the servers ``.ci/mariadb-replica`` starts (the Sentinel tests start
``.ci/redis-sentinel`` themselves), and are slow, so they run once, in their own pass of
``.ci/run`` (``make test-topology``):

    .ci/mariadb-replica start
    OKCOW_TEST_MARIADB_PRIMARY=mysql://root@127.0.0.1:3307 \\
    OKCOW_TEST_MARIADB_REPLICA=mysql://root@127.0.0.1:3308 \\
    OKCOW_TEST_REDIS_SENTINEL=1 \\
    .venv/bin/pytest tests/topology -s

Without those variables they are deselected and listed at the end of the run, never skipped
silently."""

import os
import time
from pathlib import Path

import pytest

from . import site

PRIMARY = os.environ.get("OKCOW_TEST_MARIADB_PRIMARY", "")
REPLICA = os.environ.get("OKCOW_TEST_MARIADB_REPLICA", "")
SENTINEL = os.environ.get("OKCOW_TEST_REDIS_SENTINEL", "")
NEEDS = {
    "replica": ("OKCOW_TEST_MARIADB_PRIMARY and _REPLICA", PRIMARY and REPLICA),
    # The Sentinel tests start and stop .ci/redis-sentinel themselves.
    "servers": ("OKCOW_TEST_MARIADB_PRIMARY", PRIMARY),
    "sentinel": (
        "OKCOW_TEST_MARIADB_PRIMARY and OKCOW_TEST_REDIS_SENTINEL=1",
        PRIMARY and SENTINEL,
    ),
}
_deselected: list[str] = []


def pytest_collection_modifyitems(config, items):
    keep, dropped = [], []
    for item in items:
        missing = [m for m, (_, ready) in NEEDS.items() if item.get_closest_marker(m) and not ready]
        (dropped if missing else keep).append(item)
    if dropped:
        _deselected.extend(i.nodeid for i in dropped)
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter):
    if _deselected:
        terminalreporter.write_sep(
            "-",
            f"{len(_deselected)} topology tests not run: they need the servers of "
            ".ci/mariadb-replica and .ci/redis-sentinel (make test-topology runs them)",
        )
        for nodeid in _deselected:
            terminalreporter.write_line(f"  {nodeid}")


@pytest.fixture(scope="session")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("topology-logs")


class Replication:
    """The replica of the scripts' pair, and how to make it lag."""

    def __init__(self, primary: str, replica: str):
        self.primary, self.replica = primary, replica

    def delay(self, seconds: int) -> None:
        site.sql(
            self.replica,
            f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = {int(seconds)}; START SLAVE",
        )

    def stop_applying(self) -> None:
        site.sql(self.replica, "STOP SLAVE SQL_THREAD")

    def start_applying(self) -> None:
        site.sql(self.replica, "START SLAVE SQL_THREAD")

    def caught_up(self, timeout: float = 60) -> None:
        ((position,),) = site.sql(self.primary, "SELECT @@gtid_binlog_pos")
        ((result,),) = site.sql(
            self.replica, "SELECT MASTER_GTID_WAIT(%s, %s)", [position, timeout]
        )
        if result != 0:
            status = site.replica_status(self.replica)
            raise AssertionError(f"the replica did not reach {position} in {timeout}s: {status}")

    def has_row(self, database: str, table: str, pk: int) -> bool:
        rows = site.sql(
            self.replica,
            f"SELECT 1 FROM `{table}` WHERE id = %s",  # noqa: S608
            [pk],
            database=database,
        )
        return bool(rows)


@pytest.fixture(scope="session")
def replication():
    pair = Replication(PRIMARY, REPLICA)
    pair.delay(0)
    pair.start_applying()
    yield pair
    pair.delay(0)
    pair.start_applying()


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what}")
