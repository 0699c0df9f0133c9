"""`make bench-replica` at a tiny scale: the board's read rows run a second time on a server that
reads the real replica, and say that they did."""

import subprocess
import sys

import pytest

from . import site
from .conftest import PRIMARY, REPLICA

pytestmark = pytest.mark.replica

DATABASE = "okcow_topology_bench"


def test_the_bench_runs_the_read_rows_on_the_replica_too(tmp_path, replication):
    site.sql(PRIMARY, f"DROP DATABASE IF EXISTS `{DATABASE}`")
    env = site.base_env(
        DATABASE_URL=f"{PRIMARY}/{DATABASE}",
        REDIS_URL="redis://127.0.0.1:6379/13",
        OKCOW_VAR_DIR=str(tmp_path / "var"),
        CACHE_KEY_PREFIX="okcow-benchreplica",
    )
    site.redis_flush(env["REDIS_URL"])

    def run(*command: str) -> str:
        done = subprocess.run(
            [sys.executable, *command],
            cwd=site.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    run("-m", "bench.database")
    run("manage.py", "migrate", "--no-input", "-v", "0")
    out = tmp_path / "bench.md"
    printed = run(
        "-m", "bench.run",
        "--scale", "0.002", "--duration", "1", "--connections", "2", "--workers", "1",
        "--out", str(out),
        "--replica", f"{REPLICA}/{DATABASE}",
        "--only", "board-list", "board-list-spread", "post-uncached",
    )  # fmt: skip
    text = out.read_text()
    assert text in printed
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if " | " in line}
    for name in ("board-list", "board-list-spread", "post-uncached"):
        assert " req/s " in rows[name] and "ERROR" not in rows[name], rows[name]
        on_replica = rows[f"{name} (replica)"]
        assert " req/s " in on_replica and "ERROR" not in on_replica, on_replica
    for name in ("board-list-spread", "post-uncached"):  # these read the database each time
        said = "100% of its requests that read a database read the replica"
        assert said in rows[f"{name} (replica)"]
