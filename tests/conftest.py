"""Shared fixtures: a clean cache per test, the language a test speaks, users, browser settings,
and the MariaDB-only marker."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import translation

from .factories import PASSWORD, StaffFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def pytest_configure(config):
    """The tests read the compiled translations, which the install step makes (``make install``
    runs ``compilemessages``; ``make test`` installs first): say so at once when they are missing
    or older than their .po, rather than fail one Korean assertion after another."""
    for po in Path(settings.BASE_DIR).glob("locale/*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            pytest.exit(f"{mo} is missing or older than its .po: run `make install-dev`", 4)


# --- Language: the site is Korean first; a test says which language it speaks --------------------
#
# Most tests assert the English source texts, so they ask for English: every test client and
# request factory sends ``Accept-Language: en`` (unless the test sends its own), and messages made
# outside a request (services, commands) are English. Tests marked ``korean`` send nothing, as a
# Korean browser would, and get the site's default language.


def _speaks_korean(request) -> bool:
    return request.node.get_closest_marker("korean") is not None


@pytest.fixture(autouse=True)
def _language(request, monkeypatch):
    if not _speaks_korean(request):
        base_environ = RequestFactory._base_environ

        def english(self, **request):
            environ = base_environ(self, **request)
            environ.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
            return environ

        monkeypatch.setattr(RequestFactory, "_base_environ", english)
    with translation.override("ko" if _speaks_korean(request) else "en"):
        yield


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Browser tests speak English unless they say otherwise (``korean_page``)."""
    return {**browser_context_args, "locale": "en-US"}


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


@pytest.fixture(scope="session")
def korean_browser(browser_type, browser_type_launch_args):
    """Chromium as a Korean person runs it: what the browser draws itself (a date field's
    연도. 월. 일.) is Korean too, not only the pages."""
    korean = {**os.environ, "LANGUAGE": "ko", "LANG": "ko_KR.UTF-8"}  # needs chromium-l10n
    browser = browser_type.launch(**browser_type_launch_args, env=korean)
    yield browser
    browser.close()


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
