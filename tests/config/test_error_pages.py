"""The site's own pages for failures (config/views.server_error, handler500): a 503 with
Retry-After when the database or the cache cannot be reached, the 500 page for anything else; both
in the site's design, with the request id, never a trace, and a log line saying why."""

import logging

import pytest
from django.db import OperationalError, connections
from django.template import loader
from django.test import Client, RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from config import urls, views

pytestmark = pytest.mark.django_db

REQUEST_ID = "req-1234.abcd_EF"
TRACE_WORDS = ("Traceback", 'File "', "line ", "raise ", "secret-detail-in-the-trace")


def failing_home(monkeypatch, error):
    """The front page raises ``error`` while it renders (the page's view looks ``render`` up at
    call time; the error pages use the template loader and are untouched)."""

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(views, "render", broken)


def fetch(path="/"):
    client = Client(raise_request_exception=False)
    return client.get(path, HTTP_X_REQUEST_ID=REQUEST_ID)


def assert_site_page(response, *, title):
    page = response.content.decode()
    assert f"<title>{title} · okcow</title>" in page
    assert 'class="site-header"' in page and "🐮 okcow" in page
    assert "css/site" in page  # the site's own stylesheet
    assert f"<code>{REQUEST_ID}</code>" in page
    assert response["X-Request-ID"] == REQUEST_ID
    for word in TRACE_WORDS:
        assert word not in page, word
    return page


def test_handler500_is_the_sites_own_view():
    assert getattr(urls, "handler500", None) == "config.views.server_error"


def test_an_unreachable_database_is_a_503_page_with_retry_after_and_a_log_line(monkeypatch, caplog):
    failing_home(monkeypatch, OperationalError("(2002) secret-detail-in-the-trace"))
    with caplog.at_level(logging.ERROR, logger="config.views"):
        response = fetch()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = assert_site_page(response, title="Temporarily unavailable")
    assert "temporarily unavailable" in page
    assert "try again in 30 seconds" in page
    lines = [r.getMessage() for r in caplog.records if r.name == "config.views"]
    assert lines == ["database unavailable: OperationalError: (2002) secret-detail-in-the-trace"]
    assert all(r.levelno == logging.ERROR for r in caplog.records if r.name == "config.views")


def test_an_unreachable_cache_is_a_503_page_that_names_the_cache_in_the_log(monkeypatch, caplog):
    failing_home(monkeypatch, RedisConnectionError("Connection refused"))
    with caplog.at_level(logging.ERROR, logger="config.views"):
        response = fetch()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = assert_site_page(response, title="Temporarily unavailable")
    assert "temporarily unavailable" in page
    lines = [r.getMessage() for r in caplog.records if r.name == "config.views"]
    assert lines == ["cache unavailable: ConnectionError: Connection refused"]


def test_a_database_that_refuses_every_query_gets_the_503_page(monkeypatch, caplog):
    """No view patched: every query of the board's front page fails as with MariaDB down, and the
    error page itself needs no query."""

    def refused(*args, **kwargs):
        raise OperationalError("(2003) Can't connect to MySQL server")

    for alias in connections:
        monkeypatch.setattr(connections[alias], "cursor", refused)
    with caplog.at_level(logging.ERROR, logger="config.views"):
        response = fetch("/board/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert_site_page(response, title="Temporarily unavailable")
    assert any(
        r.getMessage().startswith("database unavailable: OperationalError: (2003)")
        for r in caplog.records
        if r.name == "config.views"
    )


def test_any_other_error_is_the_sites_500_page_without_retry_after(monkeypatch, caplog):
    failing_home(monkeypatch, ZeroDivisionError("secret-detail-in-the-trace"))
    with caplog.at_level(logging.ERROR, logger="config.views"):
        response = fetch()
    assert response.status_code == 500
    assert "Retry-After" not in response
    page = assert_site_page(response, title="Something went wrong")
    assert "<h1>Something went wrong</h1>" in page
    assert "unavailable" not in page
    assert not [r for r in caplog.records if r.name == "config.views"]


def test_a_caller_without_a_sane_request_id_still_sees_the_id_it_was_given(monkeypatch):
    failing_home(monkeypatch, ZeroDivisionError())
    response = Client(raise_request_exception=False).get("/", HTTP_X_REQUEST_ID="bad id <script>")
    assert response.status_code == 500
    given = response["X-Request-ID"]
    assert given != "bad id <script>" and len(given) == 32
    assert f"<code>{given}</code>" in response.content.decode()


# --- The templates need neither the database nor the cache ---------------------------------------


@pytest.fixture
def no_database_no_cache(monkeypatch):
    """Every query and every cache call fails."""
    from django.core.cache import cache

    def refused(*args, **kwargs):
        raise AssertionError("the error page touched the database or the cache")

    for alias in connections:
        monkeypatch.setattr(connections[alias], "cursor", refused)
    for method in ("get", "set", "add", "get_many", "incr", "delete"):
        monkeypatch.setattr(cache, method, refused)


@pytest.mark.parametrize(
    ("name", "words"),
    [("500.html", "Something went wrong"), ("503.html", "temporarily unavailable")],
)
def test_both_error_templates_render_standalone(name, words, no_database_no_cache):
    page = loader.render_to_string(name, {"request_id": "abc123", "retry_after": 30})
    assert words in page
    assert "<code>abc123</code>" in page
    assert "css/site" in page


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OperationalError("down"), 503),
        (RedisConnectionError("down"), 503),
        (ZeroDivisionError(), 500),
    ],
)
def test_the_handler_itself_touches_neither_the_database_nor_the_cache(
    error, status, no_database_no_cache
):
    request = RequestFactory().get("/")
    request.id = "abc123"
    try:
        raise error
    except type(error):
        response = views.server_error(request)
    assert response.status_code == status
    assert "<code>abc123</code>" in response.content.decode()
