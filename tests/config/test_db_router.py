"""The replica router and read-your-writes, on a second connection to the test database standing
in for a replica (the real MariaDB replica: tests/topology/)."""

import time

import pytest
from django.db import connections, transaction
from django.db.utils import load_backend
from django.test import Client

from accounts.models import User
from config import replicas
from config.db_router import PrimaryReplicaRouter
from tests.factories import UserFactory


@pytest.fixture
def replica(settings, monkeypatch):
    """A "replica" alias: another connection to the test database, always in rotation unless a
    test says otherwise (``health``)."""
    config = {**connections.settings["default"], "TEST": {}}
    # Made by hand, not registered in the connection settings: Django's tests allow such a
    # connection (it is "dynamically created") in any test that may use the database.
    connections["replica"] = load_backend(config["ENGINE"]).DatabaseWrapper(config, "replica")
    settings.DATABASES = {**settings.DATABASES, "replica": config}
    state = {"health": "ok", "applied": False}
    monkeypatch.setattr(
        replicas,
        "check",
        lambda alias: replicas.Health(alias, state["health"], lag=0, checked=time.monotonic()),
    )
    monkeypatch.setattr(replicas, "has_applied", lambda alias, position: state["applied"])
    monkeypatch.setattr(replicas, "uses_gtids", lambda alias: True)
    replicas._health.clear()
    yield state
    connections["replica"].close()
    del connections["replica"]
    replicas._health.clear()


def reads(**kwargs):
    """Route one read as a request with this cookie state would."""
    state = replicas.Reads(**kwargs)
    token = replicas._reads.set(state)
    try:
        return PrimaryReplicaRouter().db_for_read(User), state
    finally:
        replicas._reads.reset(token)


def test_without_a_replica_everything_uses_the_primary():
    router = PrimaryReplicaRouter()
    assert router.db_for_read(User) == "default"
    assert router.db_for_write(User) == "default"


def test_a_request_without_writes_of_its_own_reads_the_replica(replica):
    assert reads()[0] == "replica"


def test_outside_a_request_commands_and_matchers_read_the_primary(replica):
    assert PrimaryReplicaRouter().db_for_read(User) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_write_transaction_stay_on_the_primary(replica):
    with transaction.atomic():
        assert reads()[0] == "default"
    assert reads()[0] == "replica"


@pytest.mark.parametrize("state", ["lagging", "stopped", "down"])
def test_a_replica_out_of_rotation_sends_reads_to_the_primary(replica, state):
    replica["health"] = state
    alias, decided = reads()
    assert alias == "default"
    assert decided.why == "no_replica_in_rotation"


def test_a_replica_comes_back_into_rotation_at_its_next_check(replica, settings):
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0
    replica["health"] = "lagging"
    assert reads()[0] == "default"
    replica["health"] = "ok"
    assert reads()[0] == "replica"


def test_own_write_not_yet_on_the_replica_is_read_from_the_primary(replica, settings):
    settings.DATABASE_READ_YOUR_WRITES = "gtid"
    replica["applied"] = False
    alias, decided = reads(written="0-1-7@0")
    assert (alias, decided.why, decided.caught_up) == ("default", "own_write", False)


def test_own_write_applied_by_the_replica_is_read_from_it(replica, settings):
    settings.DATABASE_READ_YOUR_WRITES = "gtid"
    replica["applied"] = True
    alias, decided = reads(written="0-1-7@0")
    assert (alias, decided.why, decided.caught_up) == ("replica", "caught_up", True)


def test_without_gtids_a_write_pins_the_primary_for_a_bounded_time(replica, settings):
    settings.DATABASE_PIN_SECONDS = 5
    assert reads(written=f"-@{time.time() - 1}")[0] == "default"
    assert reads(written=f"-@{time.time() - 6}")[0] == "replica"


def test_pinning_reads_the_primary_for_a_bounded_time(replica, settings):
    settings.DATABASE_READ_YOUR_WRITES = "pin"
    settings.DATABASE_PIN_SECONDS = 5
    assert reads(written=f"0-1-7@{time.time() - 1}")[0] == "default"
    assert reads(written=f"0-1-7@{time.time() - 6}")[0] == "replica"


def test_writes_and_migrations_go_to_the_primary(replica):
    router = PrimaryReplicaRouter()
    assert router.db_for_write(User) == "default"
    assert router.allow_migrate("default", "accounts")
    assert not router.allow_migrate("replica", "accounts")


# --- through the middleware -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_post_leaves_a_cookie_that_sends_the_next_reads_to_the_primary(replica, settings):
    settings.DATABASE_PIN_SECONDS = 5
    person = UserFactory()
    client = Client()
    client.force_login(person)
    response = client.post("/accounts/me/edit/", {"username": person.username, "email": "n@x.kr"})
    assert response.status_code in (200, 302)
    assert replicas.COOKIE in response.cookies
    replica["applied"] = False
    response = client.get("/accounts/me/")
    assert response.status_code == 200
    assert response.wsgi_request.reads.alias == "default"
    assert response.wsgi_request.reads.why == "own_write"


@pytest.mark.django_db(transaction=True)
def test_a_person_who_wrote_nothing_reads_the_replica(replica):
    response = Client().get("/board/")
    assert response.status_code == 200
    assert response.wsgi_request.reads.alias == "replica"
    assert replicas.COOKIE not in response.cookies


@pytest.mark.django_db(transaction=True)
def test_a_replica_failing_under_a_get_is_answered_from_the_primary(replica, monkeypatch):
    from django.db import OperationalError

    failing = {"left": 1}
    real_execute = connections["replica"].execute_wrapper

    def broken(execute, sql, params, many, context):
        if failing["left"]:
            failing["left"] -= 1
            raise OperationalError(2013, "Lost connection to server during query")
        return execute(sql, params, many, context)

    with real_execute(broken):
        response = Client().get("/board/")
    assert response.status_code == 200
    assert response.wsgi_request.reads.alias == "default"
    assert replicas._health["replica"].state == "down"


@pytest.mark.django_db(transaction=True)
def test_readiness_reports_each_replica_without_failing_on_one(replica, client):
    replica["health"] = "down"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["replicas"]["replica"] == {
        "status": "down",
        "in_rotation": False,
        "lag_seconds": 0,
    }
