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
