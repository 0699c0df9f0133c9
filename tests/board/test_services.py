import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from board import services
from board.models import Category, ModerationAction, Post, PostVersion
from tests.factories import SubCategoryFactory, UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db


def test_creating_a_post_creates_version_zero_and_counts_it(user, sub):
    post = make_post(author=user, category=sub, title="Hello", content="World")
    assert list(post.versions.values_list("version", "title", "content")) == [(0, "Hello", "World")]
    sub.refresh_from_db()
    assert sub.post_count == 1


def test_editing_adds_a_version_and_may_move_the_post(post, user, sub):
    other_sub = SubCategoryFactory()
    services.edit_post(user=user, post_id=post.pk, title="New", content="Body", category=other_sub)
    post.refresh_from_db()
    assert (post.title, post.category_id, post.updated_at is not None) == (
        "New",
        other_sub.pk,
        True,
    )
    assert list(post.versions.values_list("version", flat=True)) == [0, 1]
    sub.refresh_from_db()
    other_sub.refresh_from_db()
    assert (sub.post_count, other_sub.post_count) == (0, 1)


def test_only_the_author_may_edit(post, other, sub):
    with pytest.raises(PermissionDenied):
        services.edit_post(user=other, post_id=post.pk, title="x", content="y", category=sub)
    assert PostVersion.objects.filter(post=post).count() == 1


def test_author_cannot_delete_a_post_with_active_comments(post, user):
    make_comment(post=post)
    with pytest.raises(PermissionDenied):
        services.delete_post(user=user, post_id=post.pk)
    assert Post.objects.get(pk=post.pk).is_active


def test_author_can_delete_after_the_comments_are_gone(post, user, staff):
    comment = make_comment(post=post)
    services.delete_comment(user=staff, comment_id=comment.pk, reason="off topic")
    services.delete_post(user=user, post_id=post.pk)
    post.refresh_from_db()
    assert not post.is_active
    assert Category.objects.get(pk=post.category_id).post_count == 0


def test_staff_can_delete_a_commented_post_as_a_recorded_moderation(post, staff):
    make_comment(post=post)
    services.delete_post(user=staff, post_id=post.pk, reason="spam")
    assert not Post.objects.get(pk=post.pk).is_active
    action = ModerationAction.objects.get(post=post)
    assert (action.action, action.moderator, action.reason) == ("delete", staff, "spam")


def test_second_vote_takes_the_vote_back(post, other):
    assert services.vote_post(user=other, post_id=post.pk) == services.VoteResult(True, 1)
    assert services.vote_post(user=other, post_id=post.pk) == services.VoteResult(False, 0)


def test_comment_votes_toggle(post, other):
    comment = make_comment(post=post)
    assert services.vote_comment(user=other, comment_id=comment.pk).count == 1
    assert services.vote_comment(user=other, comment_id=comment.pk).count == 0


def test_comments_count_and_keep_versions(post, other):
    comment = make_comment(post=post, author=other, content="one")
    services.edit_comment(user=other, comment_id=comment.pk, content="two")
    assert list(comment.versions.values_list("version", "content")) == [(0, "one"), (1, "two")]
    post.refresh_from_db()
    assert post.comment_count == 1


@pytest.mark.parametrize("person", ["blocked", "suspended"])
def test_restricted_people_cannot_write(person, request, post, sub):
    who = request.getfixturevalue(person)
    actions = [
        lambda: services.create_post(user=who, category=sub, title="t", content="c"),
        lambda: services.create_comment(user=who, post_id=post.pk, content="c"),
        lambda: services.vote_post(user=who, post_id=post.pk),
    ]
    for action in actions:
        with pytest.raises(PermissionDenied):
            action()
    post.refresh_from_db()
    assert (post.comment_count, post.vote_count) == (0, 0)


def test_posting_is_rate_limited(user, sub):
    for _ in range(services.POST_LIMIT.limit):
        services.create_post(user=user, category=sub, title="t", content="c")
    with pytest.raises(services.RateLimited):
        services.create_post(user=user, category=sub, title="t", content="c")
    assert Post.objects.filter(author=user).count() == services.POST_LIMIT.limit


def test_commenting_is_rate_limited(post, other):
    for _ in range(services.COMMENT_LIMIT.limit):
        services.create_comment(user=other, post_id=post.pk, content="c")
    with pytest.raises(services.RateLimited):
        services.create_comment(user=other, post_id=post.pk, content="c")


def test_moderation_hides_restores_and_records(post, staff):
    services.moderate_post(moderator=staff, post_id=post.pk, hide=True, reason="spam")
    assert not Post.objects.get(pk=post.pk).is_active
    services.moderate_post(moderator=staff, post_id=post.pk, hide=False, reason="appeal")
    assert Post.objects.get(pk=post.pk).is_active
    log = list(ModerationAction.objects.order_by("id").values_list("action", "reason", "moderator"))
    assert log == [("hide", "spam", staff.pk), ("restore", "appeal", staff.pk)]


def test_members_cannot_moderate(post, other):
    with pytest.raises(PermissionDenied):
        services.moderate_post(moderator=other, post_id=post.pk, hide=True, reason="x")


def test_comment_moderation_adjusts_the_count(post, staff):
    comment = make_comment(post=post)
    services.moderate_comment(moderator=staff, comment_id=comment.pk, hide=True, reason="rude")
    post.refresh_from_db()
    assert post.comment_count == 0
    assert ModerationAction.objects.get().comment_id == comment.pk


def test_recount_reports_and_fixes_drift(post, capsys):
    make_comment(post=post)
    Post.objects.filter(pk=post.pk).update(comment_count=7, vote_count=3)
    call_command("recount_board")
    out = capsys.readouterr().out
    assert "comment_count: stored 7, real 1" in out
    assert "2 drifted count(s) fixed." in out
    post.refresh_from_db()
    assert (post.comment_count, post.vote_count) == (1, 0)
    call_command("recount_board")
    assert "0 drifted" in capsys.readouterr().out


def test_demo_data_is_idempotent(capsys):
    call_command("demo_data")
    first = (Post.objects.count(), Category.objects.count())
    call_command("demo_data")
    assert (Post.objects.count(), Category.objects.count()) == first
    assert first[0] >= 4
    assert Post.objects.filter(versions__version=1).exists()
    call_command("recount_board", "--dry-run")
    assert "0 drifted" in capsys.readouterr().out


def test_deleted_author_shows_as_deleted_user(post, user):
    from django.utils import timezone

    user.deleted_at = timezone.now()
    user.save()
    assert Post.objects.get(pk=post.pk).author.public_name == "deleted user"
    assert UserFactory().public_name != "deleted user"
