"""Request id, request log line and duration for every request."""

import logging
import re
import time
import uuid

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
