"""Start and stop gunicorn for the benchmark: production settings, config/gunicorn.conf.py, on
127.0.0.1 at a free port, with the ceiling views mounted (OKCOW_BENCH=1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(*, port: int, workers: int, var: Path, base: dict | None = None) -> dict:
    """The production environment, adjusted only where plain HTTP on loopback needs it."""
    env = dict(os.environ if base is None else base)
    env.update(
        DJANGO_ENV="production",
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        # Nothing terminates TLS on loopback: no redirect to https (cookies stay "secure"; wrk
        # sends them anyway).
        SECURE_SSL_REDIRECT="0",
        OKCOW_BENCH="1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        # Our own metrics directory: gunicorn empties it at start, so never share /tmp's default.
        PROMETHEUS_MULTIPROC_DIR=str(var / "prometheus"),
    )
    env.setdefault("SECRET_KEY", "bench-" + os.urandom(48).hex())
    return env


def collectstatic(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


@contextmanager
def gunicorn(*, workers: int, var: Path, env: dict | None = None, ready_timeout: float = 60):
    """Yield the base URL of a running gunicorn; its whole process group is killed on exit."""
    var.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(port=port, workers=workers, var=var, base=env)
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    collectstatic(env)
    log = (var / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the workers die with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, ready_timeout, var / "gunicorn.log")
        # The market's matcher and the postings follower beside it, as in production
        # (MARKET_MATCHER=stream with Redis), started once gunicorn has emptied the metrics
        # directory they share.
        with command("run_matcher", var=var, env=env), command("run_postings", var=var, env=env):
            yield base
    finally:
        _stop(process)
        log.close()


@contextmanager
def command(name: str, *, var: Path, env: dict | None = None):
    """A ``manage.py`` command running beside for the block (its output in ``var/<name>.log``);
    its process group is stopped on exit."""
    var.mkdir(parents=True, exist_ok=True)
    with (var / f"{name}.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own manage.py and a command we name
            [sys.executable, "manage.py", name],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop(process)


def _wait_ready(base: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s ({last})")


def settle(base: str, *, quick_ms: float = 50, timeout: float = 30) -> None:
    """Wait until the server is idle again (three quick answers in a row), so requests a
    scenario left running (a slow search) do not weigh on the next one; bounded by ``timeout``."""
    deadline, quick = time.monotonic() + timeout, 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:  # noqa: S310
                response.read()
        except (urllib.error.URLError, OSError):
            quick = 0
        else:
            quick = quick + 1 if (time.monotonic() - started) * 1000 < quick_ms else 0
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
