"""Real threads on the real database: counts stay exact and versions have no gaps."""

import threading

import pytest
from django.db import connection

from board import services
from board.models import Category, Comment, Post, PostVersion, PostVote
from tests.factories import SubCategoryFactory, UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    errors = []

    def worker(*args):
        try:
            barrier.wait()
            fn(*args)
        except Exception as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=a) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_thirty_people_voting_at_once_count_thirty_then_zero():
    post = make_post()
    voters = [UserFactory() for _ in range(30)]
    vote = lambda u: services.vote_post(user=u, post_id=post.pk)  # noqa: E731
    run_all(vote, [(u,) for u in voters])
    post.refresh_from_db()
    assert post.vote_count == 30 == PostVote.objects.filter(post=post).count()
    run_all(vote, [(u,) for u in voters])
    post.refresh_from_db()
    assert post.vote_count == 0 == PostVote.objects.filter(post=post).count()


def test_ten_simultaneous_edits_all_land_in_order():
    sub = SubCategoryFactory()
    post = make_post(category=sub)
    author = post.author

    def edit(n):
        services.edit_post(
            user=author, post_id=post.pk, title=f"t{n}", content=f"c{n}", category=sub
        )

    run_all(edit, [(n,) for n in range(10)])
    versions = list(PostVersion.objects.filter(post=post).values_list("version", flat=True))
    assert versions == list(range(11))
    last = PostVersion.objects.filter(post=post).latest("version")
    post.refresh_from_db()
    assert (post.title, post.content) == (last.title, last.content)


def test_concurrent_comments_and_comment_votes_match_source_rows():
    post = make_post()
    people = [UserFactory() for _ in range(12)]
    comment = make_comment(post=post)
    run_all(
        lambda u: (
            services.create_comment(user=u, post_id=post.pk, content="hi"),
            services.vote_comment(user=u, comment_id=comment.pk),
        ),
        [(u,) for u in people],
    )
    post.refresh_from_db()
    comment.refresh_from_db()
    assert post.comment_count == 13 == Comment.objects.filter(post=post, is_active=True).count()
    assert comment.vote_count == 12
    assert (
        Category.objects.get(pk=post.category_id).post_count
        == Post.objects.filter(category_id=post.category_id, is_active=True).count()
    )
