"""A lock held in the shared cache (Redis in production) for jobs that must run on one server at a
time, such as the daily close or royalty distribution."""

import contextlib
import time
import uuid

from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class LockHeld(Exception):
    """Another process holds the lock."""


@contextlib.contextmanager
def exclusive(name: str, *, timeout: int = 300):
    """Hold the lock ``name`` for the block, or raise LockHeld at once if someone else holds it.

    ``timeout`` bounds how long a crashed holder can keep others out.
    """
    key = f"lock:{name}"
    token = uuid.uuid4().hex
    # cache.add is SET NX on Redis: exactly one caller wins.
    if not cache.add(key, token, timeout):
        raise LockHeld(name)
    try:
        yield
    finally:
        # Release only our own lock: it may have expired and been taken by someone else.
        client = _redis_client()
        if client is not None:
            # Redis away (failing over): the lock lapses after ``timeout`` instead; the job's
            # work is done and stays done.
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                client.eval(_RELEASE_SCRIPT, 1, cache.make_and_validate_key(key), _pickled(token))
        elif cache.get(key) == token:
            cache.delete(key)


_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


def _redis_client():
    try:
        from django_redis import get_redis_connection
    except ImportError:  # pragma: no cover - django-redis is a requirement
        return None
    try:
        return get_redis_connection("default")
    except NotImplementedError:
        return None  # not a Redis cache (local-memory in the embedded default)


def _pickled(value):
    # django-redis stores values through its serializer; compare the same bytes.
    return cache.client.encode(value)


def cached_once(key: str, compute, timeout: int, *, wait: float = 2.0):
    """``cache.get(key)``, else ``compute()`` stored under it for ``timeout`` seconds — by one
    caller at a time: others that miss at the same moment wait (up to ``wait`` seconds) for its
    value instead of all computing the same expensive thing at once."""
    found = cache.get(key)
    if found is not None:
        return found
    try:
        with exclusive(f"once:{key}", timeout=max(1, int(wait) + 1)):
            found = compute()
            cache.set(key, found, timeout)
            return found
    except LockHeld:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(0.02)
            found = cache.get(key)
            if found is not None:
                return found
        return compute()  # the first caller failed or is very slow: do not wait longer
