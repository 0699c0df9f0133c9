"""Seed the large benchmark data set (SPEC §9) with bulk inserts. Safe to run again: each stage
counts what is already there and adds only what is missing."""

import time

from django.core.management.base import BaseCommand

from accounts import scale as accounts_scale
from board import scale as board_scale
from config.scale import Sizes
from investments import scale as investments_scale


class Command(BaseCommand):
    help = "Seed 50k people, 1M posts, 3M comments, 5M votes and 1M ledger events (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Fraction of the full size (default 1.0; tests use a small fraction).",
        )

    def handle(self, *args, scale, **options):
        sizes = Sizes.at(scale)
        self.stdout.write(f"Seeding {sizes}")
        started = time.monotonic()
        users = accounts_scale.seed(sizes)
        self._done("people", started)
        board_scale.seed(sizes, users)
        self._done("board", started)
        investments_scale.seed(sizes, users)
        self._done("ledger", started)
        self.stdout.write(self.style.SUCCESS(f"Seeded in {time.monotonic() - started:.0f} s."))

    def _done(self, stage: str, started: float) -> None:
        self.stdout.write(f"{stage} ready after {time.monotonic() - started:.0f} s")
