"""Board actions: one function per action, each owning its transaction and locks."""

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.models import User
from config.db import atomic_with_retry
from config.ratelimit import RateLimit

from . import metrics
from .models import (
    Category,
    Comment,
    CommentVersion,
    CommentVote,
    ModerationAction,
    Post,
    PostVersion,
    PostVote,
)
from .search import index as search_index

POST_LIMIT = RateLimit("board-post", limit=5, window_seconds=60)
COMMENT_LIMIT = RateLimit("board-comment", limit=20, window_seconds=60)


class RateLimited(Exception):
    pass


def post_cache_key(post_id: int) -> str:
    return f"board:post:{post_id}"


def profile_cache_key(user_id: int) -> str:
    return f"accounts:profile:{user_id}"


# The version of every post list and of the category menu: their cached fragments carry it in
# their keys, so a new version (after a post appears, moves, changes or goes; after a category
# changes) retires them all at once.
LIST_VERSION_KEY = "board:lists"


def lists_changed() -> None:
    """Post lists or the category menu look different once the current transaction commits."""
    transaction.on_commit(lambda: cache.set(LIST_VERSION_KEY, time.time_ns(), None))


def author_renamed(user_id: int) -> None:
    """A person's name changed (a rename, a deleted account): once this commits, every cached
    page that shows it — their posts, the posts they commented on, the post lists, their profile
    — is read again, so no page shows the old name."""
    posts = set(Post.objects.filter(author_id=user_id).values_list("pk", flat=True))
    posts |= set(Comment.objects.filter(author_id=user_id).values_list("post_id", flat=True))
    keys = [post_cache_key(pk) for pk in sorted(posts)] + [profile_cache_key(user_id)]

    def forget():
        for start in range(0, len(keys), 1_000):
            cache.delete_many(keys[start : start + 1_000])

    transaction.on_commit(forget)
    lists_changed()


def _invalidate(post: Post) -> None:
    keys = [post_cache_key(post.pk), profile_cache_key(post.author_id)]
    transaction.on_commit(lambda: cache.delete_many(keys))


def _require_writer(user: User) -> None:
    if not user.can_write:
        raise PermissionDenied(user.restriction or gettext("You cannot write."))


def _require_author(user: User, author_id: int) -> None:
    if user.pk != author_id:
        raise PermissionDenied(gettext("Only the author may do this."))


@dataclass(frozen=True)
class VoteResult:
    voted: bool
    count: int


@atomic_with_retry
def create_post(*, user: User, category: Category, title: str, content: str) -> Post:
    _require_writer(user)
    if POST_LIMIT.hit(str(user.pk)) > POST_LIMIT.limit:
        minutes = POST_LIMIT.window_minutes
        raise RateLimited(
            ngettext(
                "Too many posts; try again in %(minutes)d minute.",
                "Too many posts; try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )
    post = Post.objects.create(
        author=user, category=category, board_id=category.board_id, title=title, content=content
    )
    PostVersion.objects.create(
        post=post, version=0, title=title, content=content, category=category, editor=user
    )
    Category.objects.filter(pk=category.pk).update(post_count=F("post_count") + 1)
    _invalidate(post)
    lists_changed()
    search_index.after_commit(posts=[post.pk])
    transaction.on_commit(metrics.POSTS.inc)
    return post


@atomic_with_retry
def edit_post(*, user: User, post_id: int, title: str, content: str, category: Category) -> Post:
    _require_writer(user)
    # The lock serialises concurrent edits of one post, so versions go 0, 1, 2 … with no gap.
    post = Post.objects.select_for_update().get(pk=post_id, is_active=True)
    _require_author(user, post.author_id)
    last = post.versions.order_by("-version").values_list("version", flat=True).first()
    moved = category.pk != post.category_id
    if moved:
        Category.objects.filter(pk=post.category_id).update(post_count=F("post_count") - 1)
        Category.objects.filter(pk=category.pk).update(post_count=F("post_count") + 1)
    post.title, post.content, post.category = title, content, category
    post.board_id, post.updated_at = category.board_id, timezone.now()
    post.save(update_fields=["title", "content", "category", "board", "updated_at"])
    PostVersion.objects.create(
        post=post,
        version=(last or 0) + 1,
        title=title,
        content=content,
        category=category,
        editor=user,
    )
    _invalidate(post)
    lists_changed()
    # A move takes the post's comments along: their entries' board and category change too.
    search_index.after_commit(**({"threads": [post.pk]} if moved else {"posts": [post.pk]}))
    return post


def _set_post_active(post: Post, active: bool, reason: str = "") -> None:
    post.is_active, post.hidden_reason = active, reason
    post.save(update_fields=["is_active", "hidden_reason"])
    delta = 1 if active else -1
    Category.objects.filter(pk=post.category_id).update(post_count=F("post_count") + delta)
    _invalidate(post)
    lists_changed()
    search_index.after_commit(threads=[post.pk])  # its comments are found only with it


@atomic_with_retry
def delete_post(*, user: User, post_id: int, reason: str = "") -> None:
    """The author deletes their own post (not once it has comments, unless staff); staff delete
    anyone's as a moderation action, with a reason, recorded like a hide."""
    _require_writer(user)
    post = Post.objects.select_for_update().get(pk=post_id, is_active=True)
    if post.author_id != user.pk:
        _moderate_post(user, post, ModerationAction.Action.DELETE, reason)
        return
    if post.comment_count > 0 and not user.is_staff:
        raise PermissionDenied(gettext("A post with comments cannot be deleted."))
    _set_post_active(post, False)


@atomic_with_retry
def create_comment(*, user: User, post_id: int, content: str) -> Comment:
    _require_writer(user)
    if COMMENT_LIMIT.hit(str(user.pk)) > COMMENT_LIMIT.limit:
        minutes = COMMENT_LIMIT.window_minutes
        raise RateLimited(
            ngettext(
                "Too many comments; try again in %(minutes)d minute.",
                "Too many comments; try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )
    post = Post.objects.select_for_update().get(pk=post_id, is_active=True)
    comment = Comment.objects.create(post=post, author=user, content=content)
    CommentVersion.objects.create(comment=comment, version=0, content=content, editor=user)
    Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    _invalidate(post)
    search_index.after_commit(comments=[comment.pk])
    transaction.on_commit(metrics.COMMENTS.inc)
    return comment


@atomic_with_retry
def edit_comment(*, user: User, comment_id: int, content: str) -> Comment:
    _require_writer(user)
    comment = Comment.objects.select_for_update().get(
        pk=comment_id, is_active=True, post__is_active=True
    )
    _require_author(user, comment.author_id)
    last = comment.versions.order_by("-version").values_list("version", flat=True).first()
    comment.content, comment.updated_at = content, timezone.now()
    comment.save(update_fields=["content", "updated_at"])
    CommentVersion.objects.create(
        comment=comment, version=(last or 0) + 1, content=content, editor=user
    )
    _invalidate(comment.post)
    search_index.after_commit(comments=[comment.pk])
    return comment


def _set_comment_active(comment: Comment, active: bool, reason: str = "") -> None:
    comment.is_active, comment.hidden_reason = active, reason
    comment.save(update_fields=["is_active", "hidden_reason"])
    delta = 1 if active else -1
    Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") + delta)
    _invalidate(comment.post)
    search_index.after_commit(comments=[comment.pk])


@atomic_with_retry
def delete_comment(*, user: User, comment_id: int, reason: str = "") -> None:
    """Like ``delete_post``: the author's own, or anyone's by staff as a moderation action."""
    _require_writer(user)
    comment = _lock_comment(comment_id, is_active=True)
    if comment.author_id != user.pk:
        _moderate_comment(user, comment, ModerationAction.Action.DELETE, reason)
        return
    _set_comment_active(comment, False)


@atomic_with_retry
def vote_post(*, user: User, post_id: int) -> VoteResult:
    """Vote for a post, or take the vote back if there is one."""
    _require_writer(user)
    post = Post.objects.select_for_update().get(pk=post_id, is_active=True)
    deleted, _ = PostVote.objects.filter(post=post, user=user).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(vote_count=F("vote_count") - 1)
    else:
        PostVote.objects.create(post=post, user=user)
        Post.objects.filter(pk=post.pk).update(vote_count=F("vote_count") + 1)
    _invalidate(post)
    direction = "down" if deleted else "up"
    transaction.on_commit(lambda: metrics.VOTES.labels("post", direction).inc())
    # The row is locked, so its count plus this change is the count.
    return VoteResult(voted=not deleted, count=post.vote_count + (-1 if deleted else 1))


@atomic_with_retry
def vote_comment(*, user: User, comment_id: int) -> VoteResult:
    _require_writer(user)
    comment = Comment.objects.select_for_update().get(
        pk=comment_id, is_active=True, post__is_active=True
    )
    deleted, _ = CommentVote.objects.filter(comment=comment, user=user).delete()
    if deleted:
        Comment.objects.filter(pk=comment.pk).update(vote_count=F("vote_count") - 1)
    else:
        CommentVote.objects.create(comment=comment, user=user)
        Comment.objects.filter(pk=comment.pk).update(vote_count=F("vote_count") + 1)
    transaction.on_commit(lambda: cache.delete(post_cache_key(comment.post_id)))
    direction = "down" if deleted else "up"
    transaction.on_commit(lambda: metrics.VOTES.labels("comment", direction).inc())
    return VoteResult(voted=not deleted, count=comment.vote_count + (-1 if deleted else 1))


def _require_staff(user: User) -> None:
    if not user.is_staff or not user.can_write:
        raise PermissionDenied(gettext("Only staff may moderate."))


def _lock_comment(comment_id: int, **filters) -> Comment:
    """Parent before child: lock the comment's post, then the comment."""
    post_id = Comment.objects.values_list("post_id", flat=True).get(pk=comment_id)
    Post.objects.select_for_update().get(pk=post_id)
    return Comment.objects.select_related("post").select_for_update().get(pk=comment_id, **filters)


def _record(moderator: User, action: str, reason: str, **target) -> ModerationAction:
    _require_staff(moderator)
    if not reason.strip():
        raise ValueError("A moderation action needs a reason.")  # forms ask for it first
    return ModerationAction.objects.create(
        moderator=moderator, action=action, reason=reason, **target
    )


def _moderate_post(moderator: User, post: Post, action: str, reason: str) -> ModerationAction:
    record = _record(moderator, action, reason, post=post)
    hide = action != ModerationAction.Action.RESTORE
    _set_post_active(post, not hide, reason if hide else "")
    return record


def _moderate_comment(
    moderator: User, comment: Comment, action: str, reason: str
) -> ModerationAction:
    record = _record(moderator, action, reason, comment=comment)
    hide = action != ModerationAction.Action.RESTORE
    _set_comment_active(comment, not hide, reason if hide else "")
    return record


@atomic_with_retry
def moderate_post(*, moderator: User, post_id: int, hide: bool, reason: str) -> ModerationAction:
    _require_staff(moderator)
    post = Post.objects.select_for_update().get(pk=post_id, is_active=hide)
    action = ModerationAction.Action.HIDE if hide else ModerationAction.Action.RESTORE
    return _moderate_post(moderator, post, action, reason)


@atomic_with_retry
def moderate_comment(
    *, moderator: User, comment_id: int, hide: bool, reason: str
) -> ModerationAction:
    _require_staff(moderator)
    comment = _lock_comment(comment_id, is_active=hide)
    action = ModerationAction.Action.HIDE if hide else ModerationAction.Action.RESTORE
    return _moderate_comment(moderator, comment, action, reason)


@atomic_with_retry
def rehome_category(*, category: Category) -> None:
    """After a category moved under another board (admin), point its posts, and its children's
    posts when it became a board itself, at their board again."""
    Post.objects.filter(category=category).update(board_id=category.board_id)
    Post.objects.filter(category__parent=category).update(board_id=category.pk)
    moves = [(category.pk, category.board_id)]
    moves += [(child, category.pk) for child in category.children.values_list("pk", flat=True)]
    search_index.after_commit(categories=moves)
