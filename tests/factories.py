"""Factories for every app's tests, in one place."""

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User

PASSWORD = "correct-horse-battery-9"
# Argon2 is slow on purpose; hash the shared test password once, not once per user.
_PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = _PASSWORD_HASH


class StaffFactory(UserFactory):
    role = User.Role.STAFF


class AdminFactory(UserFactory):
    role = User.Role.ADMIN


# --- investments ---------------------------------------------------------------------------------


def investor_with_cash(amount: int = 0, **user_fields):
    """A user with an investor account holding ``amount`` of available cash. The deposit limits
    (``DEPOSIT_MAX_PER_DEPOSIT``, ``DEPOSIT_MAX_PER_DAY``) guard people, not a test's set-up:
    they are lifted for this one deposit."""
    from django.test import override_settings

    from investments import services

    user = UserFactory(**user_fields)
    services.register_investor(user=user)
    if amount:
        with override_settings(DEPOSIT_MAX_PER_DEPOSIT=amount, DEPOSIT_MAX_PER_DAY=amount):
            services.deposit(user=user, amount=amount)
    return user


def fund_with_copyright(*, staff=None, name="K-Pop Classics", base_price=10_000):
    """A fund (and an MCPI value) ready for subscriptions; it owns no copyright yet."""
    import datetime as dt

    from django.utils import timezone

    from investments import services
    from investments.models import McpiValue

    staff = staff or StaffFactory()
    if not McpiValue.objects.exists():
        services.record_mcpi(actor=staff, at=timezone.now() - dt.timedelta(days=1), value="100")
    return services.create_fund(actor=staff, name=name, base_price=base_price)


def fund_with_history(*, days: int = 200, username: str | None = None):
    """A fund opened ``days`` ago with a history to chart: a weekly MCPI from the day before,
    an investor who deposited and subscribed at the start, a copyright bought two days in, a
    royalty distributed at 60% of the way and a redemption at 75%. Returns the fund, the
    investor (``person``), the staff member and the moment the fund opened."""
    import datetime as dt

    from django.utils import timezone

    from investments import services

    staff = StaffFactory()
    opened = timezone.now() - dt.timedelta(days=days)
    for week in range(days // 7 + 1):
        at = opened - dt.timedelta(days=1) + dt.timedelta(weeks=week)
        services.record_mcpi(actor=staff, at=at, value=100 + week)
    person = UserFactory(**({"username": username} if username else {}))
    services.register_investor(user=person, at=opened - dt.timedelta(hours=2))
    services.deposit(user=person, amount=2_000_000, at=opened - dt.timedelta(hours=1))
    fund = services.create_fund(actor=staff, name="Seoul Ballads", base_price=10_000, at=opened)
    subscribed = opened + dt.timedelta(hours=1)
    services.subscribe(user=person, fund_id=fund.pk, amount=1_000_000, at=subscribed)
    services.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="K1",
        registration_number="C-1",
        music_id="M1",
        title="Spring Day",
        artist="Sunny Hill",
        price=600_000,
        at=opened + dt.timedelta(days=2),
    )
    royalty = opened + dt.timedelta(days=days * 0.6)
    services.record_royalty(actor=staff, fund_id=fund.pk, amount=50_000, at=royalty)
    services.distribute_royalties(at=royalty + dt.timedelta(hours=1))
    redeemed = opened + dt.timedelta(days=days * 0.75)
    services.redeem(user=person, fund_id=fund.pk, shares=3, at=redeemed)
    return {"fund": fund, "person": person, "staff": staff, "opened": opened}


# --- Board ---------------------------------------------------------------------------------------


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "board.Category"

    name = factory.Sequence(lambda n: f"Board {n}")
    slug = factory.Sequence(lambda n: f"board-{n}")


class SubCategoryFactory(BoardFactory):
    name = factory.Sequence(lambda n: f"Sub {n}")
    slug = factory.Sequence(lambda n: f"sub-{n}")
    parent = factory.SubFactory(BoardFactory)


def make_post(*, author=None, category=None, title="A title", content="Some *content*"):
    """A post made the way the site makes it (version 0, counters), bypassing the rate limit."""
    from board import services

    author = author or UserFactory()
    services.POST_LIMIT.reset(str(author.pk))
    return services.create_post(
        user=author, category=category or SubCategoryFactory(), title=title, content=content
    )


def make_comment(*, post, author=None, content="A comment"):
    from board import services

    author = author or UserFactory()
    services.COMMENT_LIMIT.reset(str(author.pk))
    return services.create_comment(user=author, post_id=post.pk, content=content)
