"""Tables of the board: categories, posts and their versions, comments, votes, moderation log."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Category(models.Model):
    """A board (parent is null) or one of its sub-categories. Posts live in sub-categories."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)
    # Active posts directly in this category, kept in each write's transaction so a list's total
    # is a sum over a handful of category rows instead of COUNT(*) over a million posts.
    post_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def is_board(self) -> bool:
        return self.parent_id is None

    @property
    def board_id(self) -> int:
        """The top-level board this category is (or belongs to)."""
        return self.parent_id or self.pk


class Post(models.Model):
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="posts", verbose_name=_("category")
    )
    # The top-level board of ``category`` (itself when the post sits in a board), kept by the
    # services on create and move: a board's list is then one index range, not an IN over its
    # sub-categories that MariaDB can only merge and sort. The list index below serves its FK.
    board = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=255)
    content = models.TextField(_("content"), max_length=5000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    is_active = models.BooleanField(pgettext_lazy("shown", "active"), default=True)
    hidden_reason = models.CharField(_("reason hidden"), max_length=500, blank=True)
    comment_count = models.PositiveIntegerField(default=0)
    vote_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        # Lists filter by category, board or nothing, and by activity, and go newest first (id
        # grows with time): each list reads its page's ids from one of these, index only.
        indexes = [
            models.Index(fields=["category", "is_active", "-id"], name="post_list_idx"),
            models.Index(fields=["board", "is_active", "-id"], name="post_board_list_idx"),
            models.Index(fields=["is_active", "-id"], name="post_site_list_idx"),
        ]

    def __str__(self):
        return self.title


class PostVersion(models.Model):
    """One version of a post's text; never updated. Version 0 is what the author first wrote."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    content = models.TextField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("post version")
        verbose_name_plural = _("post versions")
        ordering = ["post", "version"]
        constraints = [
            models.UniqueConstraint(fields=["post", "version"], name="post_version_unique")
        ]

    def __str__(self):
        return f"{self.post_id} v{self.version}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    content = models.TextField(_("content"), max_length=5000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    is_active = models.BooleanField(pgettext_lazy("shown", "active"), default=True)
    hidden_reason = models.CharField(_("reason hidden"), max_length=500, blank=True)
    vote_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["post", "is_active", "id"], name="comment_list_idx")]

    def __str__(self):
        return f"comment {self.pk} on {self.post_id}"


class CommentVersion(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    content = models.TextField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("comment version")
        verbose_name_plural = _("comment versions")
        ordering = ["comment", "version"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "version"], name="comment_version_unique")
        ]

    def __str__(self):
        return f"comment {self.comment_id} v{self.version}"


class PostVote(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("post vote")
        verbose_name_plural = _("post votes")
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="post_vote_once")]

    def __str__(self):
        return f"vote by {self.user_id} on post {self.post_id}"


class CommentVote(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("comment vote")
        verbose_name_plural = _("comment votes")
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="comment_vote_once")
        ]

    def __str__(self):
        return f"vote by {self.user_id} on comment {self.comment_id}"


class ModerationAction(models.Model):
    """Who hid, deleted or restored what, when and why. Append-only."""

    class Action(models.TextChoices):
        HIDE = "hide", _("Hide")
        DELETE = "delete", _("Delete")
        RESTORE = "restore", _("Restore")

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action)
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        target = f"post {self.post_id}" if self.post_id else f"comment {self.comment_id}"
        return f"{self.moderator} {self.action} {target}"


class SearchEntry(models.Model):
    """One active post or comment as the search index holds it: its tokens (``board.search``)
    and where and when it was written. Written only by ``board.search.index`` after each write
    commits; on MariaDB a Mroonga table, on SQLite an FTS5 table (migration 0005 makes both)."""

    id = models.BigIntegerField(primary_key=True)  # post id * 2, or comment id * 2 + 1
    post_id = models.BigIntegerField()
    board_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    author_id = models.BigIntegerField()
    created = models.BigIntegerField()  # microseconds since 1970, UTC: newest first
    crc = models.BigIntegerField()  # of the source text (repair_search compares it)
    title = models.TextField()
    body = models.TextField()
    author = models.TextField()
    initials = models.TextField()

    class Meta:
        db_table = "board_search"

    def __str__(self):
        return f"search entry {self.pk}"
