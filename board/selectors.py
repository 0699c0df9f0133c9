"""Reads the board's pages need: category tree, post lists with cheap totals, detail, history."""

import csv
import difflib
import io
import math
import re
import time
from dataclasses import dataclass

import markdown
import nh3
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet, Sum

from accounts.models import User
from config.db import StatementTimeout, statement_time_limit

from .models import Category, Comment, Post, PostVersion
from .services import LIST_VERSION_KEY, post_cache_key, profile_cache_key

PAGE_SIZE = 20
# A search's total is counted exactly up to this many matches, so a broad search never scans
# millions of rows just to print a number; beyond it the page says "more than N".
SEARCH_COUNT_CAP = 10_000


# A search is plain text: at most this many characters, and of those only the words count.
SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")


class SearchError(Exception):
    """A search that cannot be answered; the message is for the person, next to the field."""


class SearchTooBroad(SearchError):
    """A search that MariaDB could not answer within ``BOARD_SEARCH_TIME_LIMIT``."""


def search_text(q: str) -> str:
    """What a person typed, as text: any space or control character (an ideographic space, a tab,
    a NUL) becomes one space, and the length is bounded."""
    return " ".join("".join(c if c.isprintable() else " " for c in q).split())[:SEARCH_MAX_LENGTH]


def search_words(q: str) -> list[str]:
    """The words of a search (runs of letters and digits, any script). Everything else —
    MariaDB's boolean operators, quotes, wildcards, SQL — separates words and is never passed on."""
    return _WORD.findall(q)[:SEARCH_MAX_WORDS]


@dataclass
class Page:
    items: list
    number: int
    size: int
    total: int
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def boards() -> list[Category]:
    return list(Category.objects.filter(parent=None).prefetch_related("children"))


def list_version() -> int:
    """The current version of the post lists and the category menu (see ``services``)."""
    return cache.get_or_set(LIST_VERSION_KEY, time.time_ns, None)


def category(slug: str, version: int) -> Category | None:
    """The category (with its parent) at ``slug``, cache-aside under list version ``version``.
    Only categories that exist are cached: slugs anyone can type must not fill the cache."""
    key = f"board:category:{version}:{slug}"
    found = cache.get(key)
    if found is None:
        found = Category.objects.select_related("parent").filter(slug=slug).first()
        if found is not None:
            cache.set(key, found, 600)
    return found


def parse_page(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), 1_000_000)


def _fulltext_terms(words: list[str]) -> str:
    """Every word required, as a prefix: ``+word*`` in MariaDB's boolean mode."""
    return " ".join(f"+{word}*" for word in words)


def _search(queryset: QuerySet, q: str) -> QuerySet:
    """Posts of ``queryset`` whose title and content hold every word of ``q``, or whose author
    is named ``q``. On MariaDB the text part is the FULLTEXT index alone and the author part the
    one person with that (unique) name, as a UNION: an OR across the two would make MariaDB read
    every post."""
    words = search_words(q)
    if connection.vendor == "mysql":
        matched = queryset.extra(
            where=["MATCH (title, content) AGAINST (%s IN BOOLEAN MODE)"],
            params=[_fulltext_terms(words)],
        )
        author = User.objects.filter(username__iexact=q.strip()).values_list("pk", flat=True)
        author_id = author.first() if " " not in q.strip() else None
        if author_id is None:
            return matched
        return matched.values("pk").union(queryset.filter(author_id=author_id).values("pk"))
    # Fallback (SQLite): every word must appear in the title, the content or the author's name.
    for word in words:
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(content__icontains=word)
            | Q(author__username__icontains=word)
        )
    return queryset


def post_list(*, category: Category | None = None, q: str = "", page: int = 1) -> Page:
    """Newest first. Totals come from stored per-category counts when not searching; the page's
    rows are found by id first (an index-only scan of the list's index: whole site, a board, or
    a sub-category) then loaded, so deep pages do not drag whole rows through the offset."""
    posts = Post.objects.filter(is_active=True)
    counts = Category.objects.all()
    if category is not None and category.is_board:
        posts = posts.filter(board=category)
        counts = counts.filter(Q(pk=category.pk) | Q(parent=category))
    elif category is not None:
        posts = posts.filter(category=category)
        counts = counts.filter(pk=category.pk)
    if not q:
        total = counts.aggregate(n=Sum("post_count"))["n"] or 0
        return _page(posts, total, page)
    q = search_text(q)
    if not search_words(q):
        raise SearchError("Type a word to search for: letters or digits.")
    try:
        with statement_time_limit(settings.BOARD_SEARCH_TIME_LIMIT):
            posts = _search(posts, q)
            total = posts.order_by()[: SEARCH_COUNT_CAP + 1].count()
            result = _page(posts, min(total, SEARCH_COUNT_CAP), page)
    except StatementTimeout:
        raise SearchTooBroad(
            "So many posts hold these words that they cannot be listed in time; "
            "add a less common word."
        ) from None
    result.capped = total > SEARCH_COUNT_CAP
    return result


def _page(posts: QuerySet, total: int, page: int) -> Page:
    """Page ``page`` of ``posts`` (of ``total``), newest first."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    start = (page - 1) * PAGE_SIZE
    ids = list(posts.order_by("-pk").values_list("pk", flat=True)[start : start + PAGE_SIZE])
    items = (
        list(Post.objects.filter(pk__in=ids).select_related("author", "category").order_by("-id"))
        if ids
        else []
    )
    return Page(items=items, number=page, size=PAGE_SIZE, total=total)


def render_markdown(text: str) -> str:
    return nh3.clean(markdown.markdown(text, extensions=["fenced_code"]))


def post_detail(post_id: int) -> dict | None:
    """The post with its rendered HTML, cached (cache-aside); None when missing or hidden."""
    key = post_cache_key(post_id)
    data = cache.get(key)
    if data is None:
        post = (
            Post.objects.select_related("author", "category__parent")
            .filter(pk=post_id, is_active=True)
            .first()
        )
        if post is None:
            return None
        # The first comment page rides along: every write that changes it drops this key.
        data = {
            "post": post,
            "html": render_markdown(post.content),
            "comments": _comments(post, 0),
        }
        cache.set(key, data, 300)
    return data


def _comments(post: Post, start: int) -> list[Comment]:
    if not post.comment_count:
        return []
    comments = Comment.objects.filter(post=post, is_active=True).select_related("author")
    return list(comments.order_by("id")[start : start + PAGE_SIZE])


def comment_page(post: Post, page: int, first: list[Comment] | None = None) -> Page:
    """A page of the post's comments; ``first`` is page 1 when the caller has it cached."""
    total = post.comment_count
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    cached = page == 1 and first is not None
    items = first if cached else _comments(post, (page - 1) * PAGE_SIZE)
    return Page(items=items, number=page, size=PAGE_SIZE, total=total)


def _with_diffs(versions, text) -> list[dict]:
    """Each version with a unified diff of ``text(version)`` against the version before it."""
    rows, previous = [], None
    for version in versions:
        before = text(previous).splitlines() if previous else []
        diff = difflib.unified_diff(
            before,
            text(version).splitlines(),
            f"v{previous.version}" if previous else "empty",
            f"v{version.version}",
            lineterm="",
        )
        rows.append({"version": version, "diff": list(diff)})
        previous = version
    return rows


def post_history(post: Post) -> list[dict]:
    versions = PostVersion.objects.filter(post=post).select_related("editor", "category")
    return _with_diffs(versions, lambda v: f"{v.title}\n\n{v.content}")


def comment_history(comment: Comment) -> list[dict]:
    versions = comment.versions.select_related("editor")
    return _with_diffs(versions, lambda v: v.content)


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def post_history_csv(post: Post) -> str:
    versions = PostVersion.objects.filter(post=post).select_related("editor", "category")
    return _csv(
        ["version", "created_at", "editor", "category", "title", "content"],
        (
            [
                v.version,
                v.created_at.isoformat(),
                v.editor.public_name,
                v.category,
                v.title,
                v.content,
            ]
            for v in versions
        ),
    )


def comment_history_csv(comment: Comment) -> str:
    versions = comment.versions.select_related("editor")
    return _csv(
        ["version", "created_at", "editor", "content"],
        ([v.version, v.created_at.isoformat(), v.editor.public_name, v.content] for v in versions),
    )


def recent_posts_by(user_id: int, limit: int = 10) -> list[Post]:
    """A person's latest posts for their profile page, cache-aside (services drop the key after
    each write that changes them commits)."""
    key = profile_cache_key(user_id)
    posts = cache.get(key)
    if posts is None:
        posts = list(
            Post.objects.filter(author_id=user_id, is_active=True)
            .select_related("category")
            .order_by("-id")[:limit]
        )
        cache.set(key, posts, 300)
    return posts
