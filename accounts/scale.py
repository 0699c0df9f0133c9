"""Seeding many people at once for the benchmark (`manage.py seed_scale`)."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import transaction

from config.scale import SCALE_PASSWORD, Sizes, chunked, progress

from .models import User

PREFIX = "scale-"


def username(n: int) -> str:
    return f"{PREFIX}{n:06d}"


def seed(sizes: Sizes) -> list[int]:
    """Make ``sizes.users`` members named scale-000001…; return their ids in that order.

    Resumable: people already there are kept. They share one password hash (hashing 50,000
    passwords with Argon2 would take the whole time budget).
    """
    have = User.objects.filter(username__startswith=PREFIX).count()
    if have < sizes.users:
        password = make_password(SCALE_PASSWORD)
        bar = progress(sizes.users, "people", initial=have)
        for chunk in chunked(range(have + 1, sizes.users + 1), 5_000):
            with transaction.atomic():
                User.objects.bulk_create(
                    User(
                        username=username(n),
                        email=f"{username(n)}@scale.okcow.example",
                        password=password,
                    )
                    for n in chunk
                )
            bar.update(len(chunk))
        bar.close()
    return list(
        User.objects.filter(username__startswith=PREFIX)
        .order_by("username")
        .values_list("pk", flat=True)[: sizes.users]
    )
