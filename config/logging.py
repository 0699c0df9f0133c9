"""JSON log lines with the request's id, user and path attached to every record."""

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# Set by config.middleware.RequestContextMiddleware for the length of one request.
request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "request_context", default=None
)

# Keys that may hold secrets; their values are replaced before a record is written.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "password1",
        "password2",
        "old_password",
        "new_password1",
        "new_password2",
        "token",
        "authorization",
        "cookie",
        "sessionid",
        "csrfmiddlewaretoken",
        "secret",
    }
)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get() or {}
        for key in ("request_id", "user_id", "path"):
            if not hasattr(record, key):
                setattr(record, key, context.get(key))
        for key in SENSITIVE_KEYS & record.__dict__.keys():
            setattr(record, key, "[redacted]")
        return True


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "fmt", "%(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(path)s"
        )
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601, UTC
        super().__init__(*args, **kwargs)
