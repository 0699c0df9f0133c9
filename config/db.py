"""Retrying whole transactions on MariaDB deadlocks and lock-wait timeouts (SQLite: busy)."""

import functools
import logging
import random
import time

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

# MariaDB: 1213 deadlock found, 1205 lock wait timeout exceeded.
RETRYABLE_MYSQL_CODES = frozenset({1205, 1213})


def is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(error)


def atomic_with_retry(func=None, *, attempts: int = 5):
    """Run ``func`` in its own transaction, retrying it whole when the database asks us to.

    Only the outermost transaction can be retried: inside another atomic block the error goes up
    to whoever owns that transaction.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                return fn(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return fn(*args, **kwargs)
                except OperationalError as error:
                    if attempt == attempts or not is_retryable(error):
                        raise
                    logger.warning(
                        "retrying %s after %s (attempt %d)", fn.__qualname__, error, attempt
                    )
                    time.sleep(random.uniform(0.005, 0.02) * attempt)
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate
