"""Request id, request log line and duration for every request; HTMX requests that need a log-in."""

import logging
import re
import time
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from .logging import request_context

logger = logging.getLogger("okcow.request")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives each request an id (the caller's X-Request-ID when sane); logs a line at the end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        context = {"request_id": request.id, "user_id": None, "path": request.path}
        token = request_context.set(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                context["user_id"] = user.pk
            request_context.reset(token)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request.id
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                **context,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response


class HtmxLoginRedirectMiddleware:
    """An HTMX request that needs a log-in (Vote, logged out) would follow the redirect and swap
    the whole log-in page into the part it updates. Instead the browser goes to the log-in page
    (``HX-Redirect``), and comes back after it to the page the person was on — not to the URL
    the part posted to. After django-htmx's middleware, which reads the HTMX headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code not in (301, 302, 303):
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login:
            return response
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': _page(request)})}")


def _page(request) -> str:
    """The page an HTMX request came from (``HX-Current-URL``), when it is this site's."""
    current = request.htmx.current_url or ""
    if url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()
