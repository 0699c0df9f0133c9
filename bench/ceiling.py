"""The ceilings every figure is compared with: bare views served by the same stack, and the bare
write transaction. Mounted under /_bench/ only when OKCOW_BENCH=1 (settings.BENCH_VIEWS)."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.template import engines
from django.urls import path

from accounts.models import User

COUNTERS = 1_000  # rows of bench_counter; each write locks one of them

_TEMPLATE = engines["django"].from_string("<!doctype html><p>{{ name }}</p>\n")


def ensure_tables() -> None:
    """The write ceiling's two tiny tables, made with raw SQL so no migration is needed."""
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_counter "
                "(id INT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                "counter_id INT NOT NULL, at DATETIME(6) NOT NULL) ENGINE=InnoDB"
            )
        else:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_counter "
                "(id INTEGER PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_log (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "counter_id INTEGER NOT NULL, at DATETIME NOT NULL)"
            )
        cursor.execute("SELECT COUNT(*) FROM bench_counter")
        if cursor.fetchone()[0] < COUNTERS:
            cursor.execute("DELETE FROM bench_counter")
            cursor.executemany(
                "INSERT INTO bench_counter (id, n) VALUES (%s, 0)",
                [(i,) for i in range(1, COUNTERS + 1)],
            )


def locked_write(counter_id: int) -> None:
    """The bare write: lock one row, update it, insert one row, in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite has no FOR UPDATE; its write lock is taken at BEGIN (IMMEDIATE) instead.
        lock = " FOR UPDATE" if connection.vendor == "mysql" else ""
        cursor.execute(f"SELECT n FROM bench_counter WHERE id = %s{lock}", [counter_id])  # noqa: S608
        if cursor.fetchone() is None:
            raise Http404("No such counter.")
        cursor.execute("UPDATE bench_counter SET n = n + 1 WHERE id = %s", [counter_id])
        cursor.execute(
            "INSERT INTO bench_log (counter_id, at) VALUES (%s, CURRENT_TIMESTAMP)", [counter_id]
        )


def read_view(request, pk: int):
    """One primary-key query, one tiny template."""
    user = User.objects.filter(pk=pk).only("username").first()
    if user is None:
        raise Http404("No such user.")
    return HttpResponse(_TEMPLATE.render({"name": user.username}, request))


def write_view(request, counter_id: int):
    """POST only, CSRF-checked like every real write; the bare locked transaction."""
    if request.method != "POST":
        return HttpResponse(status=405)
    locked_write(counter_id)
    return HttpResponse(_TEMPLATE.render({"name": counter_id}, request))


urlpatterns = [
    path("read/<int:pk>/", read_view, name="bench-read"),
    path("write/<int:counter_id>/", write_view, name="bench-write"),
]
