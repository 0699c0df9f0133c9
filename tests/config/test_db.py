"""config.db's bulk writes: insert_rows, load_rows into an empty table, and pipelined blocks that
do not wait for each INSERT."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from board.models import Category
from config.db import insert_rows, load_rows, pipelined, select_rows
from config.scale import bulk_load
from tests.factories import UserFactory

COLUMNS = ("name", "slug", "position", "post_count")

pytestmark = pytest.mark.django_db(transaction=True)


def rows(*slugs: str) -> list[tuple]:
    return [(f"게시판 {slug}", slug, n, 0) for n, slug in enumerate(slugs)]


def test_names_that_need_escaping_come_back_as_written():
    names = ["it's", 'say "hi"', "back\\slash", "줄\n바꿈", "'; DROP TABLE board_category; --"]
    names += ["it's"] * 3  # a short name repeated, as event types and streams are
    insert_rows(Category, COLUMNS, [(name, f"s{n}", n, 0) for n, name in enumerate(names)])
    assert [c.name for c in Category.objects.order_by("position")] == names


def test_a_pipelined_block_writes_every_row_and_reads_see_them():
    with transaction.atomic(), pipelined():
        insert_rows(Category, COLUMNS, rows("a", "b"))
        insert_rows(Category, COLUMNS, rows("c"))
        # A read inside the block waits for what was sent before it.
        assert sorted(s for (s,) in select_rows(Category, ["slug"], where={})) == ["a", "b", "c"]
        insert_rows(Category, COLUMNS, rows("d"))
    assert sorted(Category.objects.values_list("slug", flat=True)) == ["a", "b", "c", "d"]


def test_an_error_of_a_statement_sent_unanswered_rolls_the_transaction_back():
    insert_rows(Category, COLUMNS, rows("taken"))
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined():
        insert_rows(Category, COLUMNS, rows("new"))
        insert_rows(Category, COLUMNS, rows("taken"))  # the slug is unique
    assert list(Category.objects.values_list("slug", flat=True)) == ["taken"]
    # The connection is in step again: the next statements run.
    insert_rows(Category, COLUMNS, rows("after"))
    assert Category.objects.count() == 2


def test_an_error_surfaces_at_the_next_statement_of_the_block():
    insert_rows(Category, COLUMNS, rows("taken"))
    reached = []
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined():
        insert_rows(Category, COLUMNS, rows("taken"))
        Category.objects.count()  # waits for the INSERT's answer first: the error
        reached.append(True)
    assert reached == []


def test_what_was_queued_after_a_failing_statement_is_never_sent():
    insert_rows(Category, COLUMNS, rows("taken"))
    # Autocommit: each statement would stand on its own, so one sent after the error would stay.
    with pytest.raises(IntegrityError), pipelined():
        insert_rows(Category, COLUMNS, rows("taken"))
        insert_rows(Category, COLUMNS, rows("later"))
        Category.objects.count()  # the error surfaces here at the latest
    assert list(Category.objects.values_list("slug", flat=True)) == ["taken"]


def test_rows_loaded_into_an_empty_table_are_all_there_and_the_transaction_goes_on():
    slugs = [f"s{n}" for n in range(12_000)]  # more than one statement's worth
    with transaction.atomic(), bulk_load(), pipelined():
        Category.objects.count()  # the transaction has begun before the load
        assert load_rows(Category, COLUMNS, rows(*slugs)) == len(slugs)
        assert Category.objects.filter(slug="s11999").exists()  # through the indexes too
        assert load_rows(Category, COLUMNS, []) == 0
    assert Category.objects.count() == len(slugs)
    assert sorted(Category.objects.values_list("position", flat=True)) == list(range(len(slugs)))


def test_a_load_rolls_back_with_its_transaction():
    # Its temporary table comes and goes without committing what came before or after it.
    with pytest.raises(RuntimeError), transaction.atomic(), bulk_load():
        UserFactory()
        load_rows(Category, COLUMNS, rows("a", "b"))
        raise RuntimeError("rolled back")
    assert (User.objects.count(), Category.objects.count()) == (0, 0)
