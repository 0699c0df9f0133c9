"""The board's search index: one row per active post and per active comment of an active post,
holding their tokens (``text.py``), where they live (board, category) and when they were written.

On MariaDB the table is a Mroonga table (Groonga's inverted index, ``TokenDelimit`` over our
tokens), asked with Groonga's ``select`` through ``mroonga_command()``: one call answers the total
and the page, newest first, in milliseconds where InnoDB's FULLTEXT took seconds. On SQLite it is
an FTS5 table. Both hold the same tokens, so both find the same rows.

An inverted index gathers every match of a word before it can pick the newest twenty: a word in
most posts would cost its whole posting list (half a second at a million posts, and Groonga cannot
be stopped by ``max_statement_time``). So each token is stored with the week it was written in
(``2913음악``): a search asks for the newest weeks first, widening to older weeks only until it
has the page and ``enough`` matches to count, and a common word costs the few weeks it takes.

Mroonga's storage mode is not transactional, so the index is written after the write's
transaction commits (``transaction.on_commit``), from the rows as committed: a rolled-back write
never reaches it. Should that step fail (or the process die between the two), the entry stays as
it was until ``manage.py repair_search`` compares every row's checksum and mends it.
"""

# Its SQL is built from this module's constants and numbers; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import abc
import datetime as dt
import json
import logging
import math
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connections, router, transaction

from . import text

logger = logging.getLogger(__name__)

TABLE = "board_search"
# Part of every row's checksum: change it when the tokens change, and repair_search remakes them.
TOKENS_VERSION = "t2"
# A token's week: four digits before it (weeks since 1970: four digits last until 2161).
WEEK_MICROS = 7 * 86_400 * 1_000_000
VERSION_KEY = "board:search-version"  # renewed after each write to the index (cached results)
COLUMNS = (
    "id",
    "post_id",
    "board_id",
    "category_id",
    "author_id",
    "created",
    "crc",
    "title",
    "body",
    "author",
    "initials",
)
INDEXED = ("title", "body", "author", "initials")
CHUNK = 2_000  # rows per INSERT


def post_key(post_id: int) -> int:
    return post_id * 2


def comment_key(comment_id: int) -> int:
    return comment_id * 2 + 1


def split_key(key: int) -> tuple[str, int]:
    return ("comment", key // 2) if key % 2 else ("post", key // 2)


# --- What an entry is made from ------------------------------------------------------------------

# The source rows, as plain SQL over the tables (migrations run it too, before the models change).
_NAME = "CASE WHEN u.deleted_at IS NULL THEN u.username ELSE '' END"
POST_SOURCE = (
    "SELECT p.id, p.id, p.board_id, p.category_id, p.author_id, p.created_at, p.title, p.content, "
    f"{_NAME} FROM board_post p JOIN accounts_user u ON u.id = p.author_id "
    "WHERE p.is_active AND {where}"
)
COMMENT_SOURCE = (
    "SELECT c.id, c.post_id, p.board_id, p.category_id, c.author_id, c.created_at, '', c.content, "
    f"{_NAME} FROM board_comment c JOIN board_post p ON p.id = c.post_id "
    "JOIN accounts_user u ON u.id = c.author_id WHERE c.is_active AND p.is_active AND {where}"
)
# The checksum of a source row, computed by the database (repair reads only numbers).
_CRC = "CRC32(CONCAT_WS(CHAR(31), '{version}', {title}, {content}, {name}))"
POST_CRC = (
    f"SELECT p.id, {_CRC}, p.board_id, p.category_id "
    "FROM board_post p JOIN accounts_user u ON u.id = p.author_id "
    "WHERE p.is_active AND p.id BETWEEN %s AND %s"
).format(version=TOKENS_VERSION, title="p.title", content="p.content", name=_NAME)
COMMENT_CRC = (
    f"SELECT c.id, {_CRC}, p.board_id, p.category_id "
    "FROM board_comment c JOIN board_post p ON p.id = c.post_id "
    "JOIN accounts_user u ON u.id = c.author_id "
    "WHERE c.is_active AND p.is_active AND c.id BETWEEN %s AND %s"
).format(version=TOKENS_VERSION, title="''", content="c.content", name=_NAME)


def checksum(title: str, content: str, name: str) -> int:
    """What ``_CRC`` computes in SQL, in Python."""
    return zlib.crc32("\x1f".join([TOKENS_VERSION, title, content, name]).encode())


def _micros(value) -> int:
    """A stored moment (naive UTC from the driver, or text from SQLite) as microseconds."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp()) * 1_000_000 + value.microsecond


def entry(row: Sequence, *, comment: bool) -> tuple:
    """The index row of one source row (``POST_SOURCE`` / ``COMMENT_SOURCE`` order)."""
    pk, post_id, board_id, category_id, author_id, created, title, content, name = row
    created = _micros(created)
    week = f"{created // WEEK_MICROS:04d}"

    def dated(tokens: list[str]) -> str:
        return " ".join(week + token for token in tokens)

    return (
        comment_key(pk) if comment else post_key(pk),
        post_id,
        board_id,
        category_id,
        author_id,
        created,
        checksum(title, content, name),
        dated(text.tokens(title)),
        dated(text.tokens(content)),
        dated(text.tokens(name)),
        dated(text.initial_tokens(title)),
    )


def week_of(moment: dt.datetime) -> int:
    return _micros(moment) // WEEK_MICROS


def _alternatives(term: text.Term, weeks: Sequence[int], *, quote: str) -> str:
    """One term in any of these weeks: ``("2913저작 2913작권" OR "2912저작 2912작권")``; a prefix
    term as ``2913roy*`` (Groonga) or ``"2913roy"*`` (FTS5, ``quote`` '"')."""
    if term.prefix:
        alts = [f"{quote}{w:04d}{term.tokens[0]}{quote}*" for w in weeks]
    else:
        alts = ['"' + " ".join(f"{w:04d}{t}" for t in term.tokens) + '"' for w in weeks]
    return "(" + " OR ".join(alts) + ")"


def _sources(cursor, sql: str, where: str, params: Sequence, *, comment: bool) -> list[tuple]:
    cursor.execute(sql.format(where=where), params)
    return [entry(row, comment=comment) for row in cursor.fetchall()]


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


# --- The two engines -----------------------------------------------------------------------------


class _Engine(abc.ABC):
    """Writes and reads of the index table, one class per database."""

    def __init__(self, alias: str):
        self.alias = alias
        self.connection = connections[alias]

    @abc.abstractmethod
    def create(self, *, fulltext: bool = True) -> None:
        """Make the table (``fulltext``: with its word index now, not after a bulk fill)."""

    def drop(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")

    @abc.abstractmethod
    def put(self, rows: list[tuple], *, fresh: bool = False) -> None:
        """Write these rows, replacing entries of the same key (``fresh``: there are none)."""

    @abc.abstractmethod
    def delete(self, keys: Sequence[int]) -> None:
        """Remove the entries of these keys."""

    def keys_of_post(self, post_id: int) -> list[int]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {TABLE} WHERE post_id = %s", [post_id])
            return [k for (k,) in cursor.fetchall()]

    def stored(self, first: int, last: int) -> dict[int, tuple]:
        """Keys ``first``…``last`` as stored: key → (crc, board, category)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, crc, board_id, category_id FROM {TABLE} "
                f"WHERE {self.key_column} BETWEEN %s AND %s",
                [first, last],
            )
            return {k: (crc, b, c) for k, crc, b, c in cursor.fetchall()}

    key_column = "id"

    @abc.abstractmethod
    def search(
        self, query: text.Query, scope: dict, weeks: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list]:
        """(total, keys of the page) of the entries of these weeks holding every term, newest
        first."""

    def author_tokens(self, author_id: int) -> str | None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT author FROM {TABLE} WHERE author_id = %s LIMIT 1",
                [author_id],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def move(self, category_id: int, board_id: int) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET board_id = %s WHERE category_id = %s",
                [board_id, category_id],
            )


class Mroonga(_Engine):
    # Groonga's own tokenizer only splits on spaces: the tokens are ours (text.py). A binary
    # collation means no normaliser either: text.normalize has done that.
    FULLTEXT = (
        "FULLTEXT INDEX search_words (title, body, author, initials) "
        "COMMENT 'tokenizer \"TokenDelimit\"'"
    )
    COLUMNS_DDL = (
        "id BIGINT UNSIGNED NOT NULL PRIMARY KEY",
        "post_id BIGINT UNSIGNED NOT NULL",
        "board_id BIGINT UNSIGNED NOT NULL",
        "category_id BIGINT UNSIGNED NOT NULL",
        "author_id BIGINT UNSIGNED NOT NULL",
        "created BIGINT NOT NULL",  # microseconds since 1970 (UTC)
        "crc BIGINT UNSIGNED NOT NULL",
        "title TEXT NOT NULL",
        "body MEDIUMTEXT NOT NULL",
        "author TEXT NOT NULL",
        "initials TEXT NOT NULL",
        "KEY search_post (post_id)",
        "KEY search_category (category_id)",
        "KEY search_author (author_id)",
    )

    def create(self, *, fulltext: bool = True) -> None:
        clauses = [*self.COLUMNS_DDL, *([self.FULLTEXT] if fulltext else [])]
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {TABLE} ({', '.join(clauses)}) "
                "ENGINE=Mroonga DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            )

    def drop_fulltext(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} DROP INDEX search_words")

    def add_fulltext(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ADD {self.FULLTEXT}")

    def put(self, rows, *, fresh=False):
        from config.db import insert_rows

        from ..models import SearchEntry

        update = () if fresh else COLUMNS[1:]
        insert_rows(SearchEntry, COLUMNS, rows, update=update, batch=CHUNK)

    def delete(self, keys: Sequence[int]) -> None:
        if keys:
            with self.connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {TABLE} WHERE id IN ({_marks(keys)})", list(keys))

    @staticmethod
    def _quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def command(self, query: text.Query, scope: dict, weeks, offset: int, limit: int) -> str:
        """Groonga's ``select`` for the search: every term (a phrase of tokens, or a prefix) in
        one of the weeks, within the scope, newest first; no match escalation (a search that
        finds nothing must not fall back to looser matching)."""
        terms = [_alternatives(t, weeks, quote="") for t in query.terms]
        filters = [f"{column} == {int(value)}" for column, value in scope.items()]
        parts = [
            f"select {TABLE}",
            "--match_columns " + self._quoted(" || ".join(INDEXED)),
            "--query " + self._quoted(" ".join(terms)),
            *(["--filter " + self._quoted(" && ".join(filters))] if filters else []),
            "--sort_keys " + self._quoted("-created, -_key"),
            f"--offset {int(offset)} --limit {int(limit)}",
            "--output_columns _key --cache no --match_escalation_threshold -1",
        ]
        return " ".join(parts)

    def search(self, query, scope, weeks, offset, limit):
        with self.connection.cursor() as cursor:
            command = self.command(query, scope, weeks, offset, limit)
            cursor.execute("SELECT mroonga_command(%s)", [command])
            (answer,) = cursor.fetchone()
        result = json.loads(answer)[0]  # [[total], [columns], row, row …]
        return result[0][0], [row[0] for row in result[2:]]


class Fts5(_Engine):
    """SQLite: the ``ascii`` tokenizer splits on ASCII punctuation and spaces only, so each of
    our tokens (letters and digits, Hangul pairs) is one FTS5 token, as in Groonga. The entry key
    is the table's rowid (and ``id``)."""

    DDL = (
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5(id UNINDEXED, post_id UNINDEXED, "
        "board_id UNINDEXED, category_id UNINDEXED, author_id UNINDEXED, created UNINDEXED, "
        "crc UNINDEXED, title, body, author, initials, tokenize = 'ascii')"
    )
    key_column = "rowid"

    def create(self, *, fulltext: bool = True) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.DDL)

    def put(self, rows, *, fresh=False):
        if not fresh:
            self.delete([row[0] for row in rows])
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (%s, {_marks(COLUMNS)})",
                [(row[0], *row) for row in rows],
            )

    def delete(self, keys: Sequence[int]) -> None:
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            with self.connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {TABLE} WHERE rowid IN ({_marks(part)})", part)

    def keys_of_post(self, post_id: int) -> list[int]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT rowid FROM {TABLE} WHERE post_id = %s", [post_id])
            return [k for (k,) in cursor.fetchall()]

    @staticmethod
    def expression(query: text.Query, weeks) -> str:
        return " AND ".join(_alternatives(t, weeks, quote='"') for t in query.terms)

    def search(self, query, scope, weeks, offset, limit):
        where = [f"{TABLE} MATCH %s"] + [f"{column} = %s" for column in scope]
        params = [self.expression(query, weeks), *scope.values()]
        sql = f"FROM {TABLE} WHERE {' AND '.join(where)}"
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) {sql}", params)
            (total,) = cursor.fetchone()
            cursor.execute(
                f"SELECT rowid {sql} ORDER BY created DESC, rowid DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            return total, [k for (k,) in cursor.fetchall()]


def engine(alias: str = "default") -> _Engine:
    return Mroonga(alias) if connections[alias].vendor == "mysql" else Fts5(alias)


FIRST_WEEK_KEY = "board:search-first-week"


def _weeks() -> tuple[list[int], int]:
    """Every week that can hold an entry, newest first: from next week (clocks differ a little)
    back to the week of the first post; and how many of them lie before the newest post or
    comment (empty: they cost nothing, so the first round takes them all)."""
    from ..models import Comment, Post

    first = cache.get(FIRST_WEEK_KEY)
    now = week_of(dt.datetime.now(dt.UTC))
    if first is None:
        moment = Post.objects.order_by("pk").values_list("created_at", flat=True).first()
        first = week_of(moment) if moment else now
        cache.set(FIRST_WEEK_KEY, first, 3600)
    newest = [
        model.objects.order_by("-pk").values_list("created_at", flat=True).first()
        for model in (Post, Comment)
    ]
    latest = max((week_of(m) for m in newest if m), default=now)
    return list(range(now + 1, first - 1, -1)), max(0, now + 1 - latest)


class TooSlow(Exception):
    """The next round of weeks would take the search past its time."""


def find(
    query: text.Query,
    scope: dict,
    offset: int,
    limit: int,
    *,
    enough: int,
    seconds: float | None = None,
) -> tuple[int, list[int]]:
    """(total, keys of the page) of the entries holding every term, newest first, counted until
    at least ``enough`` (the total is exact below it). The weeks are asked newest first, a few at
    a time: each round takes as many older weeks as the matches found so far say are needed for
    ``enough``, at least twice as many as before; so a word in every post costs a week or two of
    its posting list, and a rare one a few rounds over short lists. Groonga cannot be stopped
    mid-call, so with ``seconds`` a round that the last one's pace says would end past them is
    not started (``TooSlow``)."""
    index, (weeks, lead) = reader(), _weeks()
    start = time.monotonic()
    total, keys, done, span = 0, [], 0, lead + 1  # up to the newest week with entries
    while done < len(weeks) and total < enough:
        some = weeks[done : done + span]
        want = limit - len(keys) if offset + limit > total else 0
        began = time.monotonic()
        found, page = index.search(query, scope, some, max(0, offset - total), max(0, want))
        total, keys, done = total + found, keys + page, done + len(some)
        pace = (time.monotonic() - began) / len(some)  # seconds a week
        if total:  # as many weeks as this rate of matches needs, with a margin
            rate = total / max(1, done - lead)  # matches a week
            span = max(2 * (done - lead), math.ceil((enough - total) / rate * 1.25))
        else:  # nothing yet: a rare word, look much further at once
            span *= 4
        ahead = min(span, len(weeks) - done)
        late = time.monotonic() + pace * ahead > start + seconds if seconds else False
        if total < enough and ahead and late:
            raise TooSlow
    return total, keys


def reader() -> _Engine:
    """The engine for reads: the replica when there is one (as every list's reads)."""
    from ..models import SearchEntry

    return engine(router.db_for_read(SearchEntry))


# --- Keeping it true -----------------------------------------------------------------------------


def _bump() -> None:
    cache.set(VERSION_KEY, time.time_ns(), None)


def version() -> int:
    return cache.get_or_set(VERSION_KEY, time.time_ns, None)


def sync(
    *,
    posts: Iterable[int] = (),
    comments: Iterable[int] = (),
    threads: Iterable[int] = (),
    categories: Iterable[tuple[int, int]] = (),
    authors: Iterable[int] = (),
    keys: Iterable[int] = (),
) -> None:
    """Make the entries of these posts, comments, and posts with all their comments (threads)
    what the tables say now: written when active, gone when not; the entries of these categories
    (category, board) belong to that board now; those of these authors carry their name as it
    is now; these entries go."""
    posts, comments, threads = list(posts), list(comments), list(threads)
    index = engine()
    for category_id, board_id in categories:
        index.move(category_id, board_id)
    changed = bool(categories or keys)
    for author_id in authors:
        changed |= _author_changed(index, author_id)
    index.delete(sorted(keys))
    if not (posts or comments or threads):
        if changed:
            _bump()
        return
    rows: list[tuple] = []
    gone: set[int] = set()
    with index.connection.cursor() as cursor:
        if posts or threads:
            ids = posts + threads
            rows += _sources(cursor, POST_SOURCE, f"p.id IN ({_marks(ids)})", ids, comment=False)
            gone |= {post_key(pk) for pk in ids}
        if comments:
            where = f"c.id IN ({_marks(comments)})"
            rows += _sources(cursor, COMMENT_SOURCE, where, comments, comment=True)
            gone |= {comment_key(pk) for pk in comments}
        for pk in threads:
            rows += _sources(cursor, COMMENT_SOURCE, "c.post_id = %s", [pk], comment=True)
            gone |= set(index.keys_of_post(pk))
    gone -= {row[0] for row in rows}
    index.delete(sorted(gone))
    if rows:
        index.put(rows)
    _bump()


def after_commit(**what) -> None:
    """``sync`` once the current transaction commits; a failure there is logged (the write has
    committed: the page must not fail) and left for ``repair_search``."""

    def run():
        try:
            sync(**what)
        except Exception:
            logger.exception("search index: could not write %s; run manage.py repair_search", what)

    transaction.on_commit(run)


def _author_changed(index: _Engine, user_id: int) -> bool:
    """A person's name changed (or they deleted their account): remake their entries, if the
    index holds another name for them. Whether it did."""
    stored = index.author_tokens(user_id)
    if stored is None:
        return False
    with index.connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN u.deleted_at IS NULL THEN u.username ELSE '' END "
            "FROM accounts_user u WHERE u.id = %s",
            [user_id],
        )
        row = cursor.fetchone()
        if row and [t[4:] for t in stored.split()] == text.tokens(row[0]):
            return False
        cursor.execute("SELECT id FROM board_post WHERE author_id = %s", [user_id])
        posts = [pk for (pk,) in cursor.fetchall()]
        cursor.execute("SELECT id FROM board_comment WHERE author_id = %s", [user_id])
        comments = [pk for (pk,) in cursor.fetchall()]
    for start in range(0, max(len(posts), len(comments)), 500):
        sync(posts=posts[start : start + 500], comments=comments[start : start + 500])
    return True


# --- Compare and repair --------------------------------------------------------------------------


@dataclass
class Drift:
    missing: int = 0  # active rows with no entry
    stale: int = 0  # entries whose text, board or category differ from their row
    extra: int = 0  # entries of rows that are gone, hidden or deleted
    examples: list[str] | None = None

    @property
    def total(self) -> int:
        return self.missing + self.stale + self.extra


def _max_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return int(cursor.fetchone()[0])


def repair(*, fix: bool = True, chunk: int = 20_000, progress=None) -> Drift:
    """Compare every entry with its row (checksum, board, category), in chunks of ids; remake
    what differs unless ``fix`` is False. ``progress(n)`` is called with rows checked."""
    index = engine()
    drift = Drift(examples=[])
    with index.connection.cursor() as cursor:
        if index.connection.vendor == "sqlite":
            _sqlite_functions(index.connection)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLE}")
        top_key = int(cursor.fetchone()[0])
        plans = [
            ("post", POST_CRC, POST_SOURCE, "p.id", post_key, False),
            ("comment", COMMENT_CRC, COMMENT_SOURCE, "c.id", comment_key, True),
        ]
        for kind, crc_sql, source_sql, column, key, comment in plans:
            top = max(_max_id(cursor, f"board_{kind}"), top_key // 2 + 1)
            for first in range(1, top + 1, chunk):
                last = min(first + chunk - 1, top)
                cursor.execute(crc_sql, [first, last])
                expected = {key(pk): (crc, b, c) for pk, crc, b, c in cursor.fetchall()}
                stored = {
                    k: v
                    for k, v in index.stored(key(first), key(last)).items()
                    if k % 2 == int(comment)
                }
                missing = [k for k in expected if k not in stored]
                stale = [k for k in expected if k in stored and stored[k] != expected[k]]
                extra = [k for k in stored if k not in expected]
                drift.missing += len(missing)
                drift.stale += len(stale)
                drift.extra += len(extra)
                for label, keys in (("missing", missing), ("stale", stale), ("extra", extra)):
                    drift.examples += [f"{kind} {k // 2}: {label}" for k in keys[:5]]
                if fix and (missing or stale or extra):
                    index.delete(extra)
                    remake = sorted(missing + stale)
                    if len(remake) > len(expected) // 2:  # most of the chunk: read it whole
                        where, ids = f"{column} BETWEEN %s AND %s", [first, last]
                        wanted = set(remake)
                        rows = _sources(cursor, source_sql, where, ids, comment=comment)
                        rows = [row for row in rows if row[0] in wanted]
                        for start in range(0, len(rows), CHUNK):
                            index.put(rows[start : start + CHUNK], fresh=not stored)
                        remake = []
                    for start in range(0, len(remake), CHUNK):
                        ids = [k // 2 for k in remake[start : start + CHUNK]]
                        where = f"{column} IN ({_marks(ids)})"
                        rows = _sources(cursor, source_sql, where, ids, comment=comment)
                        index.put(rows)
                if progress:
                    progress(last - first + 1)
    if fix and drift.total:
        _bump()
    return drift


def rebuild(*, progress=None) -> Drift:
    """Empty the index and fill it from the tables (on MariaDB, the full-text index is built once
    at the end, much faster than row by row)."""
    index = engine()
    index.drop()
    mariadb = isinstance(index, Mroonga)
    index.create(fulltext=not mariadb)
    drift = repair(progress=progress, chunk=50_000)
    if mariadb:
        index.add_fulltext()
    _bump()
    return drift


def _sqlite_functions(connection) -> None:
    """MariaDB's CRC32 and CONCAT_WS, for the checksums on SQLite."""
    connection.ensure_connection()
    raw = connection.connection
    raw.create_function(
        "CRC32",
        1,
        lambda s: zlib.crc32(s if isinstance(s, bytes) else str(s).encode()),
        deterministic=True,
    )
    raw.create_function(
        "CONCAT_WS",
        -1,
        lambda sep, *parts: sep.join("" if p is None else str(p) for p in parts),
        deterministic=True,
    )
    raw.create_function("CHAR", 1, chr, deterministic=True)


# --- Setting it up -------------------------------------------------------------------------------

MROONGA_MISSING = (
    "Search on MariaDB needs the Mroonga storage engine: install the server's plugin package "
    "(Debian/Ubuntu: apt-get install mariadb-plugin-mroonga; `make migrate` and .ci/run do it "
    "for a local server), then as a MariaDB administrator run "
    "mysql < /usr/share/mysql/mroonga/install.sql (or INSTALL SONAME 'ha_mroonga' and "
    "CREATE FUNCTION mroonga_command RETURNS STRING SONAME 'ha_mroonga.so'). Error: {error}"
)


def ensure_mroonga(connection) -> None:
    """Load Mroonga and its ``mroonga_command`` function into the server when they are missing
    (an administrator's account can; otherwise the error says what to run)."""
    from django.db import DatabaseError

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.engines "
            "WHERE engine = 'Mroonga' AND support IN ('YES', 'DEFAULT')"
        )
        try:
            if not cursor.fetchone()[0]:
                cursor.execute("INSTALL SONAME 'ha_mroonga'")
            try:
                cursor.execute("SELECT mroonga_command('status')")
                cursor.fetchall()
            except DatabaseError:
                cursor.execute(
                    "CREATE FUNCTION IF NOT EXISTS mroonga_command RETURNS STRING "
                    "SONAME 'ha_mroonga.so'"
                )
        except DatabaseError as error:
            raise RuntimeError(MROONGA_MISSING.format(error=error)) from error
