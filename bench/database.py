"""Prepare MariaDB for the benchmark: size the server for a ten-million-row data set and create
the database named in DATABASE_URL if it is missing (not on a read-only replica: it gets the
database from its primary).

MariaDB's packaged defaults (a 128 MB buffer pool, a 96 MB redo log) are sized for a laptop: with
them the seeded board does not fit in memory and every figure measures the disk. Both settings are
dynamic, so they are raised here for the running server (not written to its configuration files);
a production server sets them in its my.cnf (see README, "Speed")."""

import os
import sys

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


if __name__ == "__main__":
    sys.exit(main())
