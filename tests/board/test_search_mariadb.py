"""MariaDB-only: search goes through the FULLTEXT index."""

import pytest
from django.db import connection

from board import selectors
from board.models import Post
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
