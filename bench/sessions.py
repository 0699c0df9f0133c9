"""Logged-in clients for the load tool: a session per seeded person, made the way force_login
makes it (no password hashing per person), and a CSRF token to send with every write."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import get_random_string

CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Login:
    user_id: int
    session_key: str
    csrf: str

    @property
    def cookie(self) -> str:
        return (
            f"{settings.SESSION_COOKIE_NAME}={self.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={self.csrf}"
        )

    def headers(self, *, write: bool = False, htmx: bool = False) -> dict[str, str]:
        headers = {"Cookie": self.cookie}
        if write:
            headers["X-CSRFToken"] = self.csrf
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        return headers


def log_in(users) -> list[Login]:
    """One session each. The server must share SECRET_KEY (the session's auth hash uses it)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = settings.AUTHENTICATION_BACKENDS[0]
    logins = []
    for user in users:
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        # An unmasked 32-character secret is accepted as the token itself.
        logins.append(Login(user.pk, session.session_key, get_random_string(32, CSRF_CHARS)))
    return logins
