"""Prepare MariaDB for the benchmark: size the server for a ten-million-row data set and create
the database named in DATABASE_URL if it is missing (not on a read-only replica: it gets the
database from its primary).

MariaDB's packaged defaults (a 128 MB buffer pool, a 96 MB redo log) are sized for a laptop: with
them the seeded board does not fit in memory and every figure measures the disk. Both settings are
dynamic, so they are raised here for the running server (not written to its configuration files);
a production server sets them in its my.cnf (see README, "Speed").

``settle`` (run by ``bench.run`` before it measures anything) waits for the server to be at rest.
"""

import os
import sys
import time

import dj_database_url

# What the benchmark needs of the server, at least (variable, bytes). The seeded InnoDB tables
# take about 4.5 GB: the pool holds them all with room to spare.
SERVER_SETTINGS = (
    ("innodb_buffer_pool_size", 8 * 1024**3),
    ("innodb_log_file_size", 1024**3),
)


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.mysql":
        print("bench: DATABASE_URL is not MariaDB; nothing to create", file=sys.stderr)
        return 0
    import MySQLdb

    connection = MySQLdb.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=int(config.get("PORT") or 3306),
        user=config.get("USER") or "root",
        password=config.get("PASSWORD") or "",
    )
    cursor = connection.cursor()
    for variable, least in SERVER_SETTINGS:
        cursor.execute(f"SELECT @@GLOBAL.{variable}")
        (value,) = cursor.fetchone()
        if int(value) < least:
            cursor.execute(f"SET GLOBAL {variable} = {least}")
            print(f"bench: MariaDB {variable} {int(value):,} -> {least:,}", file=sys.stderr)
    cursor.execute("SELECT @@GLOBAL.read_only")
    if cursor.fetchone()[0]:  # a replica: the database comes from its primary
        connection.close()
        return 0
    name = config["NAME"].replace("`", "")
    cursor.execute(
        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    connection.close()
    return 0


# At rest: this few pages not yet written to disk and undo records not yet purged, at most.
AT_REST = 1_000
FLUSH_PAGES_PER_SECOND = 50_000
STALLED_SECONDS = 10  # or neither has fallen for this long (others write, or hold purge back)


def analyze(tables) -> None:
    """Fresh index statistics for these tables (MariaDB; elsewhere nothing)."""
    from django.db import connection

    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE TABLE {connection.ops.quote_name(table)}")
            cursor.fetchall()


def settle(*, timeout: float = 600) -> None:
    """Let MariaDB finish what loading the data left it before the first row is measured: fresh
    index statistics (``ANALYZE TABLE``; after a seeding they can make the optimizer pick an index
    that reads thousands of rows), the dirty pages written out (flushed at full speed meanwhile:
    ``innodb_max_dirty_pages_pct`` 0 and a high ``innodb_io_capacity``, then as they were) and the
    undo history purged. Freshly seeded, a server otherwise writes gigabytes in the background
    while the first rows run, and they measure that. Ends when both are at rest, when neither has
    fallen for ``STALLED_SECONDS`` (the server's other clients keep them up), or after
    ``timeout``; says what it waited for."""
    from django.db import connection

    if connection.vendor != "mysql":
        return
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND engine = 'InnoDB'"
        )
        analyze([table for (table,) in cursor.fetchall()])

        def left() -> tuple[int, int]:
            cursor.execute(
                "SHOW GLOBAL STATUS WHERE Variable_name IN"
                " ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')"
            )
            found = dict(cursor.fetchall())
            return (
                int(found["Innodb_buffer_pool_pages_dirty"]),
                int(found["Innodb_history_list_length"]),
            )

        cursor.execute(
            "SELECT @@GLOBAL.innodb_max_dirty_pages_pct, @@GLOBAL.innodb_io_capacity,"
            " @@GLOBAL.innodb_io_capacity_max"
        )
        (before,) = cursor.fetchall()
        # Flushed as fast as the disk takes it (the packaged 200 pages a second would take
        # twenty minutes after a seeding), then the server's own pace again.
        cursor.execute("SET GLOBAL innodb_io_capacity_max = %s", [FLUSH_PAGES_PER_SECOND])
        cursor.execute("SET GLOBAL innodb_io_capacity = %s", [FLUSH_PAGES_PER_SECOND])
        cursor.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
        try:
            current = lowest = left()
            fell = said = time.monotonic()
            while max(current) > AT_REST:
                time.sleep(0.5)
                now, current = time.monotonic(), left()
                if current[0] < lowest[0] or current[1] < lowest[1]:
                    fell = now
                lowest = (min(lowest[0], current[0]), min(lowest[1], current[1]))
                if now - fell > STALLED_SECONDS or now - started > timeout:
                    break
                if now - said >= 10:
                    said = now
                    print(
                        f"bench: MariaDB settling: {current[0]:,} dirty pages, {current[1]:,}"
                        f" undo records to purge ({now - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            cursor.execute("SET GLOBAL innodb_max_dirty_pages_pct = %s", [before[0]])
            cursor.execute("SET GLOBAL innodb_io_capacity = %s", [before[1]])
            cursor.execute("SET GLOBAL innodb_io_capacity_max = %s", [before[2]])
    dirty, history = current
    print(
        f"bench: MariaDB settled in {time.monotonic() - started:.0f} s ({dirty:,} dirty pages,"
        f" {history:,} undo records left)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
