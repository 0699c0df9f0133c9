"""Reads the board's pages need: category tree, post lists with cheap totals, detail, history."""

import csv
import hashlib
import io
import math
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from config.db import StatementTimeout, statement_time_limit
from config.pages import NoSuchPage, check_page, parse_page  # noqa: F401 (the views' names)

from . import diffs
from .markup import render_markdown
from .models import Category, Comment, CommentVote, Post, PostVersion, PostVote
from .search import index as search_index
from .search import keyboard
from .search import text as matching
from .services import LIST_VERSION_KEY, post_cache_key, profile_cache_key

PAGE_SIZE = 20
# A search lists (and counts exactly) its newest this many matches, 50 pages; beyond it the page
# says "1000+". Finding them costs the weeks of the index they take (board.search.index.find):
# a word in 7% of a board's posts takes 10 weeks for 1,000, 58 for 10,000.
SEARCH_COUNT_CAP = 1_000


# A search is plain text: at most this many characters, and of those only the words count.
SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")
NO_WORD = gettext_lazy("Type a word to search for: letters or digits.")


class SearchError(Exception):
    """A search that cannot be answered; the message is for the person, next to the field."""


class SearchTooBroad(SearchError):
    """A search that MariaDB could not answer within ``BOARD_SEARCH_TIME_LIMIT``."""


def search_text(q: str) -> str:
    """What a person typed, as text: any space or control character (an ideographic space, a tab,
    a NUL) becomes one space, and the length is bounded (at a space, so that no word is cut)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in q).split())
    if len(text) > SEARCH_MAX_LENGTH:
        cut = text[:SEARCH_MAX_LENGTH]
        space = cut.rfind(" ")
        text = cut[:space] if text[SEARCH_MAX_LENGTH] != " " and space > 0 else cut
    return text


def search_words(q: str) -> list[str]:
    """The words of a search (runs of letters and digits, any script). Everything else —
    operators, quotes, wildcards, SQL — separates words and is never passed on."""
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


def post_list(*, category: Category | None = None, page: int = 1) -> Page:
    """Newest first. Totals come from stored per-category counts; the page's rows are found by id
    first (an index-only scan of the list's index: whole site, a board, or a sub-category) then
    loaded, so deep pages do not drag whole rows through the offset."""
    posts = Post.objects.filter(is_active=True)
    if category is not None and category.is_board:
        posts = posts.filter(board=category)
    elif category is not None:
        posts = posts.filter(category=category)
    return _page(posts, _list_total(category), page)


def post_list_pages(*, category: Category | None = None) -> int:
    """How many pages ``post_list`` has (one cheap sum of stored counts), to answer a page past
    the last with a 404 before the list, a cached fragment, is read."""
    return max(1, math.ceil(_list_total(category) / PAGE_SIZE))


def _list_total(category: Category | None) -> int:
    counts = Category.objects.all()
    if category is not None and category.is_board:
        counts = counts.filter(Q(pk=category.pk) | Q(parent=category))
    elif category is not None:
        counts = counts.filter(pk=category.pk)
    return counts.aggregate(n=Sum("post_count"))["n"] or 0


# --- Search --------------------------------------------------------------------------------------


@dataclass
class Hit:
    """One search result: a post, or a comment (with its post), and what to show of it."""

    post: Post
    comment: Comment | None
    title: SafeString  # the post's title, the matched words marked
    excerpt: SafeString  # around the first match in the text

    @property
    def url(self) -> str:
        url = reverse("board:post", args=[self.post.pk])
        if self.comment is None:
            return url
        page = self.comment.position // PAGE_SIZE + 1
        return (f"{url}?page={page}" if page > 1 else url) + f"#comment-{self.comment.pk}"

    @property
    def author(self):
        return (self.comment or self.post).author

    @property
    def created_at(self):
        return (self.comment or self.post).created_at


@dataclass(frozen=True)
class Hint:
    text: str
    url: str = ""


@dataclass
class SearchResult:
    page: Page  # of hits
    too_short: list[str]  # one-syllable words left out of the search
    suggestion: str | None = None  # the search typed in the other keyboard layout, if it finds
    hints: list[Hint] | None = None  # what to try when nothing was found


def _scope(category: Category | None) -> dict:
    if category is None:
        return {}
    return {"board_id": category.pk} if category.is_board else {"category_id": category.pk}


def _found(query, scope: dict, page: int) -> tuple[int, int, list[int]]:
    """(total, page number, entry keys of the page), cached until the index next changes;
    NoSuchPage past the last page."""
    digest = hashlib.blake2b(
        f"{sorted(scope.items())}|{query.key}".encode(), digest_size=16
    ).hexdigest()
    key = f"board:search:{search_index.version()}:{digest}:{page}"
    found = cache.get(key)
    if found is None:
        check_page(page, SEARCH_COUNT_CAP // PAGE_SIZE)  # no search lists more
        limit = settings.BOARD_SEARCH_TIME_LIMIT
        options = {"enough": SEARCH_COUNT_CAP + 1, "seconds": limit}
        try:
            with statement_time_limit(limit):
                offset = (page - 1) * PAGE_SIZE
                total, keys = search_index.find(query, scope, offset, PAGE_SIZE, **options)
        except (StatementTimeout, search_index.TooSlow):
            raise SearchTooBroad(
                _(
                    "So many posts hold these words that they cannot be listed in time; "
                    "add a less common word."
                )
            ) from None
        found = (total, page, keys)
        cache.set(key, found, 600)
    check_page(page, math.ceil(min(found[0], SEARCH_COUNT_CAP) / PAGE_SIZE))
    return found


def _hits(keys: list[int], terms) -> list[Hit]:
    """The entries' posts and comments, still active (a hit the index still holds for a moment
    after a hide is left out), in the index's order, with their highlights."""
    kinds = [search_index.split_key(k) for k in keys]
    post_ids = [pk for kind, pk in kinds if kind == "post"]
    comment_ids = [pk for kind, pk in kinds if kind == "comment"]
    posts = Post.objects.filter(pk__in=post_ids, is_active=True).select_related(
        "author", "category"
    )
    before = Comment.objects.filter(post=OuterRef("post"), is_active=True, pk__lt=OuterRef("pk"))
    position = Subquery(
        before.order_by().values("post").annotate(n=Count("pk")).values("n"), IntegerField()
    )
    comments = (
        Comment.objects.filter(pk__in=comment_ids, is_active=True, post__is_active=True)
        .select_related("author", "post__category", "post__author")
        .annotate(position=Coalesce(position, 0))
        if comment_ids
        else []
    )
    by_key = {("post", p.pk): p for p in (posts if post_ids else [])}
    by_key |= {("comment", c.pk): c for c in comments}
    hits = []
    for kind in kinds:
        found = by_key.get(kind)
        if found is None:
            continue
        post, comment = (found, None) if kind[0] == "post" else (found.post, found)
        spans = matching.match_spans(post.title, terms, initials=comment is None)
        body = matching.plain((comment or post).content)
        hits.append(
            Hit(
                post=post,
                comment=comment,
                title=mark_safe(matching.highlight(post.title, spans)),
                excerpt=mark_safe(matching.excerpt(body, terms)),
            )
        )
    return hits


def _other_layout(q: str) -> str | None:
    """``q`` as typed with the keyboard in the other layout (dkssud → 안녕), if that reads."""
    return keyboard.qwerty_to_hangul(q) or keyboard.hangul_to_qwerty(q)


def _hints(query, q: str, category: Category | None) -> list[Hint]:
    hints = []
    if len(query.terms) > 1:
        hints.append(Hint(_("Use fewer words: every word must be in the same post or comment.")))
    if any(len(t.tokens) > 1 and " " in t.text for t in query.terms):
        hints.append(Hint(_("Leave out the quotes to find the words apart.")))
    long_korean = [
        t.text
        for t in query.terms
        if len(t.tokens) >= 2 and not t.text.isascii() and not t.initials
    ]
    if long_korean:
        word = long_korean[0]
        text = _("Try a shorter form of the word, without its ending: %(short)s, not %(word)s.")
        hints.append(Hint(text % {"short": word[:2], "word": word}))
    if category is not None:
        url = reverse("board:index") + "?" + urlencode({"q": q})
        hints.append(Hint(_("Search all posts instead of only this category."), url))
    hints.append(Hint(_("Check the spelling, or try a word with the same meaning.")))
    return hints


def _query(q: str):
    """The terms of ``q``, or SearchError saying why there are none (next to the field)."""
    query = matching.parse(search_text(q), max_terms=SEARCH_MAX_WORDS)
    if not query:
        if query.too_short:
            raise SearchError(
                _(
                    "“%(word)s” is too short to search for: a Korean word needs two syllables "
                    "or more (음악, not 음)."
                )
                % {"word": query.too_short[0]}
            )
        raise SearchError(NO_WORD)
    return query


def search_key(*, category: Category | None = None, q: str, page: int = 1) -> str:
    """A cache key for the results page of this search while the index stays as it is (every
    write to it renews its version); SearchError when ``q`` has nothing to search for."""
    digest = hashlib.blake2b(
        f"{sorted(_scope(category).items())}|{_query(q).key}|{get_language()}".encode(),
        digest_size=16,
    ).hexdigest()
    return f"board:search-page:{search_index.version()}:{digest}:{page}"


def search(*, category: Category | None = None, q: str, page: int = 1) -> SearchResult:
    """Posts and comments (within ``category``: a board or a sub-category) holding every word
    and phrase of ``q``, newest first, with the matched words marked; see ``board.search``."""
    q = search_text(q)
    query = _query(q)
    scope = _scope(category)
    total, number, keys = _found(query, scope, page)
    hits = _hits(keys, query.terms)
    result = SearchResult(
        page=Page(
            items=hits,
            number=number,
            size=PAGE_SIZE,
            total=min(total, SEARCH_COUNT_CAP),
            capped=total > SEARCH_COUNT_CAP,
        ),
        too_short=query.too_short,
    )
    if total == 0:
        result.hints = _hints(query, q, category)
        other = _other_layout(q)
        if other:
            again = matching.parse(other, max_terms=SEARCH_MAX_WORDS)
            if again and _found(again, scope, 1)[0]:
                result.suggestion = other
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


def hidden_post(post_id: int, *, viewer) -> dict | None:
    """A post moderators hid, for its author and for staff (read apart from the cache: few see
    it); None for anyone else, and for a post its author deleted."""
    if not viewer.is_authenticated:
        return None
    post = (
        Post.objects.select_related("author", "category__parent")
        .filter(pk=post_id, is_active=False)
        .exclude(hidden_reason="")
        .first()
    )
    if post is None or not (viewer.is_staff or viewer.pk == post.author_id):
        return None
    return {"post": post, "html": render_markdown(post.content)}


def votes_of(viewer, post: Post, comments) -> tuple[bool, set[int]]:
    """Whether ``viewer`` voted for the post, and which of ``comments`` they voted for: one
    query (a UNION; 0 stands for the post), as the post page is the board's busiest."""
    if not viewer.is_authenticated:
        return False, set()
    voted = PostVote.objects.filter(post=post, user=viewer).annotate(id_=Value(0))
    query = voted.values_list("id_")
    if ids := [c.pk for c in comments]:
        on = CommentVote.objects.filter(user=viewer, comment_id__in=ids).values_list("comment_id")
        query = query.union(on, all=True)
    found = {pk for (pk,) in query}
    return 0 in found, found - {0}


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


def _with_diffs(versions, title=None) -> list[dict]:
    """Each version, numbered from 1 for people (stored from 0), with an inline diff of its text
    (and of its title, when ``title`` reads one) against the version before it."""
    rows, previous = [], None
    for version in versions:
        diff = diffs.inline_diff(previous and previous.content, version.content)
        row = {
            "version": version,
            "number": version.version + 1,
            "diff": diffs.around_changes(diff),
            "unchanged": previous is not None and not diffs.changed(diff),
        }
        if title is not None:
            row["title"] = diffs.inline_diff(previous and title(previous), title(version))
            row["title_changed"] = diffs.changed(row["title"])
        rows.append(row)
        previous = version
    return rows


def post_history(post: Post) -> list[dict]:
    versions = PostVersion.objects.filter(post=post).select_related("editor", "category")
    return _with_diffs(versions, title=lambda v: v.title)


def comment_history(comment: Comment) -> list[dict]:
    versions = comment.versions.select_related("editor")
    return _with_diffs(versions)


def _csv(header: list[str], rows) -> str:
    """A CSV file as Excel reads it: the UTF-8 byte order mark first (without it Excel takes the
    file for the local code page and garbles Korean)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _csv_time(moment) -> str:
    """A moment in the site's time zone (what the pages show) with its offset:
    2026-12-05 14:03:00+09:00."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return local.isoformat(sep=" ", timespec="seconds")


def post_history_csv(post: Post) -> str:
    versions = PostVersion.objects.filter(post=post).select_related("editor", "category")
    return _csv(
        ["version", "created_at", "editor", "category", "title", "content"],
        (
            [
                v.version + 1,  # as the history page numbers them
                _csv_time(v.created_at),
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
        (
            [v.version + 1, _csv_time(v.created_at), v.editor.public_name, v.content]
            for v in versions
        ),
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
