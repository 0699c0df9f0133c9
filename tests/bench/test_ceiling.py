"""The ceiling views exist only with OKCOW_BENCH=1, and the write ceiling locks, updates and
inserts one row."""

import importlib

import pytest
from django.db import connection
from django.urls import NoReverseMatch, clear_url_caches, reverse

import config.urls
from bench import ceiling


@pytest.fixture
def bench_urls(settings):
    def load(on: bool):
        settings.BENCH_VIEWS = on
        clear_url_caches()
        importlib.reload(config.urls)

    yield load
    settings.BENCH_VIEWS = False
    clear_url_caches()
    importlib.reload(config.urls)


def test_no_ceiling_urls_without_the_switch(bench_urls, client, db):
    bench_urls(False)
    with pytest.raises(NoReverseMatch):
        reverse("bench-read", args=[1])
    assert client.get("/_bench/read/1/").status_code == 404


def test_read_ceiling_renders_one_row(bench_urls, client, user):
    bench_urls(True)
    response = client.get(reverse("bench-read", args=[user.pk]))
    assert response.status_code == 200
    assert response.content.decode().strip() == f"<!doctype html><p>{user.username}</p>"
    assert client.get(reverse("bench-read", args=[user.pk + 1000])).status_code == 404


def _count(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


# transactional_db: on MariaDB CREATE TABLE commits, which a test's wrapping transaction can't hold
def test_write_ceiling_updates_one_counter_and_logs_one_row(bench_urls, client, transactional_db):
    bench_urls(True)
    ceiling.ensure_tables()
    logged = _count("SELECT COUNT(*) FROM bench_log")
    before, total = (
        _count("SELECT n FROM bench_counter WHERE id = 7"),
        _count("SELECT SUM(n) FROM bench_counter"),
    )
    assert client.get(reverse("bench-write", args=[7])).status_code == 405
    assert client.post(reverse("bench-write", args=[7])).status_code == 200
    assert client.post(reverse("bench-write", args=[7])).status_code == 200
    assert _count("SELECT n FROM bench_counter WHERE id = 7") == before + 2
    assert _count("SELECT SUM(n) FROM bench_counter") == total + 2
    assert _count("SELECT COUNT(*) FROM bench_log") == logged + 2
    assert client.post(reverse("bench-write", args=[ceiling.COUNTERS + 1])).status_code == 404
