"""okcow as it runs past one machine, for the topology tests: a database made and migrated on a
real primary, gunicorn processes started with their own environment, and a small
HTTP client with a cookie jar (loopback only)."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import MySQLdb
import redis

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PASSWORD = "okcow-topology-2026"


def mysql(url: str, database: str | None = None):
    """A plain MySQLdb connection (autocommit) to the server of ``url``."""
    parts = urllib.parse.urlsplit(url)
    return MySQLdb.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=urllib.parse.unquote(parts.username or "root"),
        password=urllib.parse.unquote(parts.password or ""),
        database=database or "",
        autocommit=True,
        connect_timeout=3,
    )


def sql(url: str, statement: str, params=(), database: str | None = None):
    conn = mysql(url, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        conn.close()


def replica_status(url: str) -> dict:
    """The essentials of the replica's SHOW SLAVE STATUS (empty when it replicates nothing)."""
    conn = mysql(url, None)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone() or ()
            columns = [c[0] for c in cursor.description or ()]
    finally:
        conn.close()
    keep = {
        "Slave_IO_Running",
        "Slave_SQL_Running",
        "Last_IO_Error",
        "Last_SQL_Error",
        "Gtid_IO_Pos",
        "Seconds_Behind_Master",
        "SQL_Delay",
    }
    return {k: v for k, v in zip(columns, row, strict=False) if k in keep}


def redis_flush(url: str) -> None:
    """Empty the Redis database of ``url`` (a test's own number)."""
    redis.Redis.from_url(url).flushdb()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "MARKET_", "MATCHER_", "GUNICORN_"))
    }
    env.update(
        DJANGO_ENV="development",
        DJANGO_DEBUG="0",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def manage(env: dict, *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


PEOPLE_SCRIPT = """
from accounts.models import User
from django.contrib.auth.hashers import make_password
from django.db import transaction
from investments import services
from investments.models import Investor
count, password = {count}, {password!r}
hashed = make_password(password)
with transaction.atomic():
    for n in range(count):
        name = f"p{{n:04d}}"
        user, made = User.objects.get_or_create(
            username=name, defaults={{"email": f"{{name}}@okcow.test", "password": hashed}}
        )
        if not Investor.objects.filter(user=user).exists():
            services.register_investor(user=user)
            for _ in range(5):  # a day's limit, at most DEPOSIT_MAX_PER_DEPOSIT at a time
                services.deposit(user=user, amount=10_000_000)
"""


def prepare_database(primary_url: str, name: str, env: dict, *, people: int = 0) -> None:
    """A new database ``name`` on the primary: migrated, the demo data, ``people`` investors with
    cash named p0000, p0001, ... (password ``PASSWORD``)."""
    sql(primary_url, f"DROP DATABASE IF EXISTS `{name}`")
    sql(primary_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage({**env, "MARKET_MATCHER": "inline"}, "demo_data")
    if people:
        script = PEOPLE_SCRIPT.format(count=people, password=PASSWORD)
        manage({**env, "MARKET_MATCHER": "inline"}, "shell", "-c", script)


# --- processes -----------------------------------------------------------------------------------


@dataclass
class Process:
    """A process started in its own group (``kill`` reaches its children: gunicorn's workers)."""

    args: list[str]
    env: dict
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.popen and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def gunicorn(env: dict, port: int, log: Path, *, workers: int = 2, threads: int = 4) -> Process:
    prometheus = log.with_suffix(".prometheus")
    server_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
    }
    process = Process(
        [GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi"], server_env, log
    ).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if Browser(port).get("/healthz").status == 200:
                return process
        except OSError:
            pass
        if not process.running:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"gunicorn on {port} did not start:\n{log.read_text()[-3000:]}")


# --- a browser -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Browser:
    """One person's browser: cookies kept, redirects not followed (each request is counted). It
    reads English (the tests assert the English texts; the site's default is Korean)."""

    port: int
    cookies: dict = field(default_factory=dict)
    timeout: float = 30

    def request(self, method: str, path: str, form: dict | None = None, headers=None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        sent = {"Host": "127.0.0.1", "Accept-Language": "en", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            if "csrftoken" in self.cookies:
                form = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **form}
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or ():
                jar = SimpleCookie()
                jar.load(value)
                for key, morsel in jar.items():
                    if morsel["max-age"] == "0" or "1970" in (morsel["expires"] or ""):
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            found = {k.lower(): v for k, v in response.getheaders()}
            return Answer(response.status, found, text)
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict, **kwargs) -> Answer:
        return self.request("POST", path, form, **kwargs)

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.get("/accounts/login/")
        answer = self.post("/accounts/login/", {"username": username, "password": password})
        assert answer.status == 302, (answer.status, answer.body[:500])


def metric(port: int, name: str, **labels) -> float:
    """The sum of a Prometheus sample over every worker (``name`` with these labels)."""
    text = Browser(port).get("/metrics").body
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
