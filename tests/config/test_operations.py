import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections
from django.db.utils import OperationalError

from config.logging import JsonFormatter, RequestContextFilter

ROOT = Path(__file__).resolve().parents[2]


def test_liveness_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_checks_database_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_readiness_fails_when_the_database_is_unreachable(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


@pytest.mark.django_db
def test_readiness_fails_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unavailable"


@pytest.mark.django_db
def test_metrics_answer_local_scrapers_in_prometheus_format(client):
    client.get("/healthz")
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    body = response.content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert "okcow_logins_total" in body


def test_metrics_are_not_public(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer wrong"
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer s3cret-token"
        ).status_code
        == 200
    )


@pytest.mark.django_db
def test_every_request_logs_one_json_line_with_context(client, user, caplog):
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="okcow.request"):
        response = client.get("/accounts/me/", HTTP_X_REQUEST_ID="req-42")
    assert response["X-Request-ID"] == "req-42"
    (record,) = [r for r in caplog.records if r.name == "okcow.request"]
    RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["user_id"] == user.pk
    assert line["path"] == "/accounts/me/"
    assert line["status"] == 200
    assert line["level"] == "INFO" and line["logger"] == "okcow.request"
    assert isinstance(line["duration_ms"], float) and "time" in line


def test_secrets_never_reach_the_log():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login", None, None)
    record.password = "hunter2"
    RequestContextFilter().filter(record)
    assert "hunter2" not in JsonFormatter().format(record)


@pytest.mark.django_db
def test_a_sign_up_post_does_not_log_the_password(client, capsys):
    client.post(
        "/accounts/signup/",
        {"username": "x", "email": "bad", "password1": "hunter2-pw", "password2": "hunter2-pw"},
    )
    assert "hunter2-pw" not in capsys.readouterr().out


@pytest.mark.django_db
def test_writes_need_a_csrf_token(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert (
        client.post("/accounts/me/edit/", {"username": "x", "email": "x@x.io"}).status_code == 403
    )


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert b'hx-headers=\'{"X-CSRFToken": "' in response.content


def _settings_in_subprocess(env: dict, code: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _settings_in_subprocess(
        {"DJANGO_ENV": "production", "ALLOWED_HOSTS": "okcow.example"}, "pass"
    )
    assert result.returncode != 0 and "needs a real SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _settings_in_subprocess(
        {"DJANGO_ENV": "production", "SECRET_KEY": "k" * 30 + "q" * 30 + "abcdefgh"}, "pass"
    )
    assert result.returncode != 0 and "needs ALLOWED_HOSTS" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_ENV": "production",
            "ALLOWED_HOSTS": "okcow.example",
            "SECRET_KEY": "x7#kq!" * 12,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
