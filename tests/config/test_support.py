import threading

import pytest
from django.db import OperationalError, connection

from config.db import atomic_with_retry
from config.locks import LockHeld, exclusive
from config.ratelimit import RateLimit


def test_rate_limit_counts_inside_its_window():
    limit = RateLimit("t", limit=3, window_seconds=60)
    assert [limit.hit("a") for _ in range(3)] == [1, 2, 3]
    assert limit.exceeded("a") and not limit.exceeded("b")
    limit.reset("a")
    assert limit.count("a") == 0


def test_only_one_holder_of_a_lock():
    with exclusive("job"), pytest.raises(LockHeld), exclusive("job"):
        pass
    with exclusive("job"):  # released after the block
        pass


def test_lock_is_exclusive_across_threads():
    inside, errors = [], []
    barrier = threading.Barrier(8)

    def run():
        barrier.wait()
        try:
            with exclusive("race", timeout=30):
                inside.append(1)
                threading.Event().wait(0.2)
        except LockHeld:
            errors.append(1)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(inside) == 1 and len(errors) == 7


@pytest.mark.django_db(transaction=True)
def test_deadlocks_are_retried_as_a_whole_transaction():
    calls = []

    @atomic_with_retry(attempts=3)
    def flaky():
        calls.append(connection.in_atomic_block)
        if len(calls) < 3:
            raise OperationalError(1213, "Deadlock found when trying to get lock")
        return "done"

    assert flaky() == "done"
    assert calls == [True, True, True]


@pytest.mark.django_db(transaction=True)
def test_other_errors_are_not_retried():
    calls = []

    @atomic_with_retry
    def broken():
        calls.append(1)
        raise OperationalError(1054, "Unknown column")

    with pytest.raises(OperationalError):
        broken()
    assert calls == [1]
