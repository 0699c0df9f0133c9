"""`seed_scale`'s board part at a tiny size: right counts, consistent stored counts, resumable.

The same SQL runs on SQLite (MariaDB's few functions registered in Python) and, in the MariaDB
pass of CI, through MariaDB's SEQUENCE engine."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Max, Q

from accounts import scale as accounts_scale
from board import scale, selectors, services
from board.models import Category, Comment, CommentVersion, Post, PostVersion, PostVote
from config.scale import Sizes
from tests.factories import SubCategoryFactory, UserFactory, make_post

pytestmark = pytest.mark.django_db

SIZES = Sizes.at(0.0002)


@pytest.fixture
def seeded():
    users = accounts_scale.seed(SIZES)
    scale.seed(SIZES, users)
    return users


def _counts():
    return [m.objects.count() for m in (Post, PostVersion, Comment, CommentVersion, PostVote)]


def test_seeding_makes_the_sizes_asked_for(seeded):
    posts, versions, comments, comment_versions, votes = _counts()
    assert (posts, comments, comment_versions, votes) == (
        SIZES.posts,
        SIZES.comments,
        SIZES.comments,
        SIZES.votes,
    )
    assert posts < versions < posts * 1.4  # version 0 of each, one or two edits of some
    assert Category.objects.filter(parent=None).count() == len(scale.TREE)
    assert not PostVote.objects.values("post", "user").annotate(n=Count("pk")).filter(n__gt=1)


def test_stored_counts_agree_with_the_rows(seeded):
    for post in Post.objects.annotate(
        active_comments=Count("comments", filter=Q(comments__is_active=True), distinct=True),
        vote_rows=Count("votes", distinct=True),
    ):
        assert (post.comment_count, post.vote_count) == (post.active_comments, post.vote_rows), (
            post.pk
        )
        assert post.board_id == post.category.board_id
    for category in Category.objects.annotate(
        active=Count("posts", filter=Q(posts__is_active=True))
    ):
        assert category.post_count == category.active, category.slug
    assert Post.objects.filter(comment_count__gt=0).count() > SIZES.posts // 4
    assert Post.objects.filter(is_active=False).exists() or SIZES.posts < 200


def test_each_post_is_its_last_version_and_starts_at_version_zero(seeded):
    last = dict(PostVersion.objects.values_list("post").annotate(n=Max("version")))
    assert sorted(last) == sorted(Post.objects.values_list("pk", flat=True))
    edited = 0
    for post in Post.objects.all():
        versions = list(post.versions.order_by("version"))
        assert [v.version for v in versions] == list(range(len(versions)))
        first, current = versions[0], versions[-1]
        assert (current.title, current.content, current.category_id) == (
            post.title,
            post.content,
            post.category_id,
        )
        assert first.created_at == post.created_at and first.editor_id == post.author_id
        assert (post.updated_at is None) == (len(versions) == 1)
        if post.updated_at:
            edited += 1
            assert post.updated_at == current.created_at > post.created_at
    assert edited > 0
    for comment in Comment.objects.select_related("post"):
        assert comment.created_at > comment.post.created_at
    version = CommentVersion.objects.get(comment=Comment.objects.first(), version=0)
    assert version.content == Comment.objects.first().content


def test_ids_grow_with_time(seeded):
    times = list(Post.objects.order_by("pk").values_list("created_at", flat=True))
    assert times == sorted(times)
    assert (times[-1] - times[0]).days > 700


def test_seeding_again_adds_nothing(seeded):
    before = _counts()
    scale.seed(SIZES, seeded)
    assert _counts() == before


def test_seeding_again_after_the_site_removed_and_added_votes_adds_nothing(seeded):
    user = UserFactory()
    voted = PostVote.objects.order_by("pk")[1]
    with transaction.atomic():
        services.vote_post(user=voted.user, post_id=voted.post_id)  # a seeded vote toggled off
        services.vote_post(user=user, post_id=voted.post_id)  # and a new one
    before = _counts()
    scale.seed(SIZES, seeded)
    assert _counts() == before


def test_an_interrupted_seeding_finishes_on_the_next_run(seeded):
    before = _counts()
    titles = list(Post.objects.order_by("pk").values_list("title", flat=True))
    keep = Post.objects.order_by("pk")[SIZES.posts // 2].pk
    with connection.cursor() as cursor:  # as if it had stopped half-way through the posts
        for table in ("postvote", "commentversion", "comment"):
            cursor.execute(f"DELETE FROM board_{table}")  # noqa: S608
        cursor.execute("DELETE FROM board_postversion WHERE post_id > %s", [keep])
        cursor.execute("DELETE FROM board_post WHERE id > %s", [keep])
    scale.seed(SIZES, seeded)
    assert _counts() == before
    assert list(Post.objects.order_by("pk").values_list("title", flat=True)) == titles
    for post in Post.objects.annotate(n=Count("comments", filter=Q(comments__is_active=True))):
        assert post.comment_count == post.n


def test_the_whole_command_seeds_people_board_and_ledger():
    call_command("seed_scale", scale=0.0002, stdout=io.StringIO())
    assert Post.objects.count() == SIZES.posts
    assert PostVote.objects.count() == SIZES.votes


def test_seeded_lists_agree_with_their_totals(seeded):
    board = Category.objects.filter(parent=None, post_count=0).first()
    page = selectors.post_list(category=board)
    assert page.total == Post.objects.filter(board=board, is_active=True).count() > 0
    assert [p.pk for p in page.items] == list(
        Post.objects.filter(board=board, is_active=True)
        .order_by("-pk")[:20]
        .values_list("pk", flat=True)
    )
    last = selectors.post_list(category=board, page=page.pages)
    assert len(last.items) == page.total - (page.pages - 1) * selectors.PAGE_SIZE


# --- the denormalised board ---------------------------------------------------------------------


def test_a_post_moved_to_another_board_leaves_the_old_list(user):
    here, there = SubCategoryFactory(), SubCategoryFactory()
    post = make_post(author=user, category=here, title="wandering")
    assert [p.pk for p in selectors.post_list(category=here.parent).items] == [post.pk]
    services.edit_post(user=user, post_id=post.pk, title="wandering", content="x", category=there)
    assert selectors.post_list(category=here.parent).items == []
    assert selectors.post_list(category=here.parent).total == 0
    moved = selectors.post_list(category=there.parent)
    assert [p.pk for p in moved.items] == [post.pk] and moved.total == 1
    assert [p.pk for p in selectors.post_list(category=there).items] == [post.pk]
    assert Post.objects.get(pk=post.pk).board_id == there.parent_id


def test_a_sub_category_moved_under_another_board_takes_its_posts(user):
    sub, elsewhere = SubCategoryFactory(), SubCategoryFactory()
    post = make_post(author=user, category=sub)
    sub.parent = elsewhere.parent
    sub.save()
    services.rehome_category(category=sub)
    assert [p.pk for p in selectors.post_list(category=elsewhere.parent).items] == [post.pk]


@pytest.mark.django_db(transaction=True)  # the search index is written after the commit
def test_search_finds_by_word_and_by_author_name(user):
    sub = SubCategoryFactory()
    author = UserFactory(username="melodist")
    by_word = make_post(author=user, category=sub, title="royalty split", content="music")
    by_name = make_post(author=author, category=sub, title="hello", content="plain")
    make_post(author=user, category=sub, title="nothing here", content="plain")
    assert [h.post.pk for h in selectors.search(q="royalty").page.items] == [by_word.pk]
    found = selectors.search(q="melodist").page
    assert [h.post.pk for h in found.items] == [by_name.pk] and found.total == 1
    assert selectors.search(category=sub.parent, q="royalty").page.total == 1
