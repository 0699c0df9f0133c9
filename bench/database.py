"""Create the benchmark's MariaDB database named in DATABASE_URL if it is missing."""

import os
import sys

import dj_database_url


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
    name = config["NAME"].replace("`", "")
    connection.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
