"""MariaDB-only: search goes through the FULLTEXT index."""

import pytest
from django.db import connection
from django.test import override_settings

from board import selectors
from board.models import Post
from config.db import StatementTimeout, statement_time_limit
from tests.factories import SubCategoryFactory, make_post

# transaction=True: InnoDB adds rows to a FULLTEXT index when they commit.
pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def test_search_uses_the_fulltext_index():
    sub = SubCategoryFactory()
    for n in range(5):
        make_post(category=sub, title=f"royalty report {n}", content="music rights")
    page = selectors.post_list(q="royalty")
    assert page.total == 5
    queryset = selectors._search(Post.objects.filter(is_active=True), "royalty")
    sql, params = queryset.order_by("-id").values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        columns = [c[0] for c in cursor.description]
        plans = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    assert any(p["type"] == "fulltext" and p["key"] == "board_post_fulltext" for p in plans), plans


def test_a_statement_past_the_limit_is_stopped_and_the_limit_is_lifted_after():
    with pytest.raises(StatementTimeout), statement_time_limit(0.1), connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(2)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(0.3)")  # no limit any more: finishes
        assert cursor.fetchone() == (0,)


@override_settings(BOARD_SEARCH_TIME_LIMIT=0.1)
def test_a_search_past_the_time_limit_asks_for_another_word(monkeypatch):
    make_post(category=SubCategoryFactory(), title="royalty", content="music")
    slow = selectors._search

    def slow_search(queryset, q):  # as slow as a word found in most of a million posts
        return slow(queryset, q).extra(where=["SLEEP(0.5) = 0"])

    monkeypatch.setattr(selectors, "_search", slow_search)
    with pytest.raises(selectors.SearchTooBroad):
        selectors.post_list(q="royalty")
