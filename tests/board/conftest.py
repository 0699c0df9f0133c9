import pytest
from django.utils import timezone

from accounts.models import User
from tests.factories import SubCategoryFactory, UserFactory, make_post


@pytest.fixture
def sub(db):
    return SubCategoryFactory()


@pytest.fixture
def post(user, sub):
    return make_post(author=user, category=sub)


@pytest.fixture
def other(db):
    return UserFactory()


@pytest.fixture
def blocked(db):
    return UserFactory(state=User.State.BLOCKED, state_reason="spam")


@pytest.fixture
def suspended(db):
    return UserFactory(
        state=User.State.SUSPENDED, suspended_until=timezone.now() + timezone.timedelta(days=1)
    )
