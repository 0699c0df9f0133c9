import pytest
from django.db import transaction

from accounts.models import User
from config.db_router import PrimaryReplicaRouter


@pytest.fixture
def router(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    return PrimaryReplicaRouter()


def test_without_a_replica_everything_uses_the_primary():
    router = PrimaryReplicaRouter()
    assert router.db_for_read(User) == "default"
    assert router.db_for_write(User) == "default"


def test_reads_go_to_the_replica_outside_a_transaction(router):
    assert router.db_for_read(User) == "replica"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_write_transaction_stay_on_the_primary(router):
    with transaction.atomic():
        assert router.db_for_read(User) == "default"
    assert router.db_for_read(User) == "replica"


def test_writes_and_migrations_go_to_the_primary(router):
    assert router.db_for_write(User) == "default"
    assert router.allow_migrate("default", "accounts")
    assert not router.allow_migrate("replica", "accounts")
