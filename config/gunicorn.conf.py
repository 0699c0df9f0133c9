"""gunicorn settings, read from the environment (see README: Running under gunicorn)."""

import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
accesslog = None  # config.middleware writes one JSON line per request
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus in multi-process mode: each worker writes its samples to files in this directory and
# /metrics sums them, so counters cover every worker, not just the one that answered.
prometheus_dir = Path(
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/okcow-prometheus")  # noqa: S108
)


def on_starting(server):
    shutil.rmtree(prometheus_dir, ignore_errors=True)
    prometheus_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
