"""Site-wide pages and operator endpoints: home, liveness, readiness, metrics."""

import hmac
import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.utils import client_ip

from . import replicas

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html")


# What an outage looks like from here: the database or the cache cannot be reached (or a lock
# could not be had in time). Anything else is a bug, and gets the 500 page.
OUTAGES = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

RETRY_AFTER_SECONDS = 30


def server_error(request):
    """``handler500``: a 503 with Retry-After when the database or cache is unreachable, else the
    site's 500 page; both show the request id and never a trace. The templates need neither the
    database nor the cache, so they render during the very outage they report."""
    error = sys.exc_info()[1]
    request_id = getattr(request, "id", "")
    if isinstance(error, OUTAGES):
        which = "database" if isinstance(error, DatabaseError) else "cache"
        logger.error("%s unavailable: %s: %s", which, type(error).__name__, error)
        body = loader.render_to_string(
            "503.html", {"request_id": request_id, "retry_after": RETRY_AFTER_SECONDS}
        )
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.render_to_string("500.html", {"request_id": request_id}), status=500)


@never_cache
def liveness(request):
    """The process is up and serving requests; checks nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
def readiness(request):
    """Ready for traffic when the primary database and the cache both answer. Each replica is
    reported too (status, lag, in rotation or not) but never makes the site unready: without one,
    reads go to the primary."""
    checks = {"database": _check_database(), "cache": _check_cache()}
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if found := replicas.report():
        body["replicas"] = found
    return JsonResponse(body, status=200 if ready else 503)


def _check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readiness: database check failed: %s", error)
        return "unavailable"
    return "ok"


def _check_cache() -> str:
    if not settings.REDIS_URL:
        return "ok"  # local-memory cache lives in this process
    try:
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    except Exception as error:  # noqa: BLE001
        logger.warning("readiness: cache check failed: %s", error)
        return "unavailable"
    return "ok"


@never_cache
def metrics(request):
    """Prometheus metrics for every worker; only for allowed addresses or the bearer token."""
    if not _may_read_metrics(request):
        return HttpResponseForbidden("Metrics are not public.\n", content_type="text/plain")
    return ExportToDjangoView(request)


def _may_read_metrics(request) -> bool:
    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if given and hmac.compare_digest(given, settings.METRICS_TOKEN):
            return True
    return client_ip(request) in settings.METRICS_ALLOWED_IPS
