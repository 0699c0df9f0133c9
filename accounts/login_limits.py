"""One limit on failed log-ins for every way in (the site, the admin, by name or e-mail, any case):
per client address and per account, counted in the shared cache on the account itself.

The authentication backend calls these, so no entrance can skip them. A refusal is raised as
``LoginRefused`` (a ``PermissionDenied``: Django's ``authenticate()`` then stops asking other
backends) and left on the request for the log-in form to show next to the field.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.translation import ngettext_lazy

from config.ratelimit import RateLimit

from . import metrics
from .utils import client_ip

logger = logging.getLogger(__name__)

MESSAGES = {
    "ip": ngettext_lazy(
        "Too many failed log-ins from your network. Try again in %(minutes)d minute.",
        "Too many failed log-ins from your network. Try again in %(minutes)d minutes.",
        "minutes",
    ),
    "account": ngettext_lazy(
        "Too many failed log-ins for this account. Try again in %(minutes)d minute.",
        "Too many failed log-ins for this account. Try again in %(minutes)d minutes.",
        "minutes",
    ),
}


class LoginRefused(PermissionDenied):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _limits() -> dict[str, RateLimit]:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    return {
        "ip": RateLimit("login-ip", settings.LOGIN_FAILURE_LIMIT_PER_IP, window),
        "account": RateLimit("login-account", settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT, window),
    }


def _subjects(request, account_id: int | None) -> dict[str, str]:
    subjects = {}
    if ip := _ip(request):
        subjects["ip"] = ip
    if account_id is not None:
        subjects["account"] = str(account_id)
    return subjects


def check(request, account_id: int | None) -> None:
    """Raise ``LoginRefused`` when the address or the account has used up its failures."""
    limits = _limits()
    for kind, subject in _subjects(request, account_id).items():
        limit = limits[kind]
        if limit.exceeded(subject):
            message = MESSAGES[kind] % {"minutes": limit.window_minutes}
            metrics.failed_logins.labels(reason="rate_limited").inc()
            logger.warning(
                "log-in refused: too many failures for the %s",
                "address" if kind == "ip" else "account",
                extra={"account_id": account_id, "ip": _ip(request)},
            )
            if request is not None:
                request.login_refusal = message
            raise LoginRefused(message)


def failed(request, account_id: int | None) -> None:
    """Count a wrong password (or an unknown name) against the address and the account."""
    limits = _limits()
    for kind, subject in _subjects(request, account_id).items():
        limits[kind].hit(subject)
    metrics.failed_logins.labels(reason="wrong_password").inc()
    logger.warning(
        "log-in failed: wrong name or password",
        extra={"account_id": account_id, "ip": _ip(request)},
    )


def succeeded(account_id: int) -> None:
    """The right password clears the account's count (the address keeps its own)."""
    _limits()["account"].reset(str(account_id))


def _ip(request) -> str:
    return client_ip(request) if request is not None else ""
