"""MariaDB-only: search goes through Mroonga (Groonga inside MariaDB), asked with one
``mroonga_command`` call per round of weeks; the statement time limit still guards the reads."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from board import selectors
from board.search import index
from config.db import StatementTimeout, statement_time_limit
from tests.factories import SubCategoryFactory, make_comment, make_post

# transaction=True: the index is written after each write commits.
pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def test_the_index_is_a_mroonga_table_and_a_search_asks_groonga():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT engine FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = 'board_search'"
        )
        assert cursor.fetchone() == ("Mroonga",)
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() "
            "AND table_name = 'board_post' AND index_type = 'FULLTEXT'"
        )
        assert cursor.fetchone() == (0,)  # InnoDB's FULLTEXT index is gone
    post = make_post(category=SubCategoryFactory(), title="음악 저작권 투자 후기")
    make_comment(post=post, content="인디음악을 좋아해요")
    with CaptureQueriesContext(connection) as queries:
        page = selectors.search(q="음악").page
    assert page.total == 2
    asked = [q["sql"] for q in queries if "mroonga_command" in q["sql"]]
    assert asked and "select board_search" in asked[0] and "TokenDelimit" not in asked[0]


def test_index_rows_are_written_after_the_commit_not_inside_the_transaction():
    from django.db import transaction

    sub = SubCategoryFactory()
    with transaction.atomic():
        post = make_post(category=sub, title="음악 커밋")
        with connection.cursor() as cursor:  # Mroonga is not transactional: nothing yet
            cursor.execute("SELECT COUNT(*) FROM board_search WHERE post_id = %s", [post.pk])
            assert cursor.fetchone() == (0,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM board_search WHERE post_id = %s", [post.pk])
        assert cursor.fetchone() == (1,)


def test_no_match_escalation_a_search_that_finds_nothing_stays_empty():
    make_post(category=SubCategoryFactory(), title="kpopstar 음악가")
    command = index.Mroonga("default").command(
        selectors.matching.parse("kpop", max_terms=8), {}, [1], 0, 20
    )
    assert "--match_escalation_threshold -1" in command
    assert selectors.search(q="kpo").page.total == 1  # a prefix, asked for
    assert selectors.search(q="악가").page.total == 1
    assert selectors.search(q="음악가요").page.total == 0


def test_a_statement_past_the_limit_is_stopped_and_the_limit_is_lifted_after():
    with pytest.raises(StatementTimeout), statement_time_limit(0.1), connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(2)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(0.3)")  # no limit any more: finishes
        assert cursor.fetchone() == (0,)


@override_settings(BOARD_SEARCH_TIME_LIMIT=0.1)
def test_a_search_past_the_time_limit_asks_for_another_word(monkeypatch):
    make_post(category=SubCategoryFactory(), title="royalty", content="music")

    def slow_search(self, *args):  # a read of the search that MariaDB has to stop
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT SLEEP(0.5)")
        return 0, []

    monkeypatch.setattr(index.Mroonga, "search", slow_search)
    with pytest.raises(selectors.SearchTooBroad):
        selectors.search(q="royalty")
