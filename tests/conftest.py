"""Shared fixtures: a clean cache per test, users, browser settings, and the MariaDB-only marker."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache

from .factories import PASSWORD, StaffFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _inline_matcher(request, settings):
    """Orders match in the request that places them, so a test sees its trades at once. Tests of
    the matcher process itself are marked ``matcher`` and use Redis Streams."""
    if not request.node.get_closest_marker("matcher"):
        settings.MARKET_MATCHER = "inline"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


# --- Browser tests: Debian's Chromium, never a downloaded browser ------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# --- Tests that need the real MariaDB ------------------------------------------------------------

_deselected_mariadb: list[str] = []


def pytest_collection_modifyitems(config, items):
    """On SQLite, MariaDB-only tests (and the matcher's, which need Redis) are deselected and
    listed in the summary (never silently). CI runs the suite a second time on MariaDB and Redis,
    where they run."""
    if settings.USING_MARIADB:
        return
    keep = []
    for item in items:
        if item.get_closest_marker("mariadb") or item.get_closest_marker("matcher"):
            _deselected_mariadb.append(item.nodeid)
        else:
            keep.append(item)
    if _deselected_mariadb:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_terminal_summary(terminalreporter):
    if _deselected_mariadb:
        terminalreporter.write_sep(
            "-",
            f"{len(_deselected_mariadb)} MariaDB-only tests not run on SQLite (CI runs them "
            "with DATABASE_URL=mysql://...)",
        )
        for nodeid in _deselected_mariadb:
            terminalreporter.write_line(f"  {nodeid}")
