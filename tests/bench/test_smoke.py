"""`python -m bench.run` end to end at a tiny scale: seed, gunicorn, wrk, in-process figures,
audit, table. Needs MariaDB, Redis and wrk (CI's MariaDB pass has all three)."""

import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.mariadb


def test_bench_runs_end_to_end_and_prints_the_table(tmp_path):
    # Its own database beside the one under test: the run seeds and serves real tables.
    url = os.environ["DATABASE_URL"]
    config = dj_database_url.parse(url)
    name = config["NAME"]
    _drop(config, f"{name}_benchsmoke")  # seeded fresh each time
    env = {
        **os.environ,
        "DATABASE_URL": url.rsplit("/", 1)[0] + f"/{name}_benchsmoke",
        "CACHE_KEY_PREFIX": "okcow-benchsmoke",
        "OKCOW_VAR_DIR": str(tmp_path / "var"),
    }
    assert settings.USING_MARIADB

    def run(*command, timeout=600):
        return subprocess.run(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    assert run("-m", "bench.database").returncode == 0
    migrated = run("manage.py", "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    out = tmp_path / "bench.md"
    done = run(
        "-m",
        "bench.run",
        "--scale",
        "0.002",
        "--duration",
        "1",
        "--connections",
        "2",
        "--workers",
        "1",
        "--orders",
        "20",
        "--matcher-orders",
        "200",
        "--out",
        str(out),
        "--only",
        "portfolio",
        "order-http",
        "order-service",
        "matcher",
        "rebuild",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert text in done.stdout
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if " | " in line}
    assert " req/s " in rows["ceiling (read)"]
    assert " req/s " in rows["ceiling (write)"]
    assert " req/s " in rows["portfolio"] and "ERROR" not in rows["portfolio"]
    # A few orders of so small a seed can be refused (a seller out of shares): only the figures.
    assert " req/s " in rows["order-http"]
    latency = rows["order-http accept→trade"]
    assert " trades of order-http" in latency and "ERROR" not in latency, latency
    assert " accepted" in rows["order-service"] and "ERROR" not in rows["order-service"]
    assert " orders/s " in rows["matcher"] and "ERROR" not in rows["matcher"]
    assert "| pass |" in rows["audit after orders"]
    assert " events/s " in rows["rebuild"]
    assert "Audit passed" in text, text


def _drop(config: dict, database: str) -> None:
    import MySQLdb

    connection = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"] or "root",
        password=config["PASSWORD"] or "",
    )
    connection.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
    connection.close()
