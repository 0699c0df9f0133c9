"""Sizes and helpers shared by the large-data seeding of every app (`manage.py seed_scale`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from django.db import connection
from tqdm import tqdm

SCALE_PASSWORD = "okcow-scale-2026"  # noqa: S105 - every seeded person has it, for the benchmark


@dataclass(frozen=True)
class Sizes:
    """How much to seed. ``Sizes.at(1.0)`` is the full benchmark set of SPEC §9."""

    users: int
    posts: int
    comments: int
    votes: int
    events: int
    investors: int
    funds: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        def part(full: int, least: int) -> int:
            return max(least, math.ceil(full * scale))

        return cls(
            users=part(50_000, 20),
            posts=part(1_000_000, 50),
            comments=part(3_000_000, 100),
            votes=part(5_000_000, 100),
            events=part(1_000_000, 500),
            investors=part(10_000, 10),
            funds=part(50, 3),
        )


def progress(total: int, desc: str, *, initial: int = 0) -> tqdm:
    """A progress bar on stderr that counts rows."""
    return tqdm(total=total, initial=initial, desc=desc, unit=" rows", unit_scale=True, leave=True)


def chunked(rows: Iterable, size: int) -> Iterator[list]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def is_mariadb() -> bool:
    return connection.vendor == "mysql"


@contextmanager
def bulk_load(*, unique_checks: bool = False) -> Iterator[None]:
    """On MariaDB, skip the per-row foreign-key checks (and, unless ``unique_checks``, the unique
    ones) for this session while loading rows that are right by construction (the seeding, a
    rebuild); they are back on when the block ends. An upsert needs the unique checks: they are
    how it finds the row to update."""
    if not is_mariadb():
        yield
        return
    unique = 1 if unique_checks else 0
    with connection.cursor() as cursor:
        cursor.execute(f"SET unique_checks={unique}, foreign_key_checks=0")
        try:
            yield
        finally:
            cursor.execute("SET unique_checks=1, foreign_key_checks=1")
