"""/metrics under gunicorn with several workers counts the requests of every worker."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_metrics_sum_the_counters_of_all_workers(tmp_path):
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "OKCOW_VAR_DIR": str(tmp_path),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        # Wait until every worker has booted, then spread requests over them.
        while len(list(metrics_dir.glob("counter_*.db"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            _get(f"{base}/healthz")
        status, body = _get(f"{base}/metrics")
        before = _liveness_count(body)
        for _ in range(40):
            assert _get(f"{base}/healthz")[0] == 200
        status, body = _get(f"{base}/metrics")
        assert status == 200
        assert _liveness_count(body) - before == 40
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 2  # several workers wrote samples
    finally:
        server.terminate()
        server.wait(timeout=30)


def _liveness_count(body: str) -> float:
    pattern = re.compile(
        r'^django_http_requests_total_by_view_transport_method_total\{[^}]*view="liveness"[^}]*\}'
        r" ([0-9.e+]+)$",
        re.MULTILINE,
    )
    return sum(float(value) for value in pattern.findall(body))
