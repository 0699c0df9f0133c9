"""Seeding a large board for the benchmark (`manage.py seed_scale`): categories, posts with their
versions, comments with theirs, votes, and the stored counts.

Python cannot make ten million rows in minutes, so the database makes them: each stage is one
``INSERT … SELECT`` per chunk over a run of numbers (MariaDB's SEQUENCE engine; a recursive CTE on
SQLite), and every value of row ``n`` — author, category, the words of its text, its time — is
arithmetic on ``n`` and CRC32 hashes of it. Nothing crosses the wire and the data is the same on
every run. On SQLite the few MariaDB functions used (ELT, CRC32, POW …) are registered in Python.

The rows look like the services' own: every post has version 0 as written and ~15% have one or two
later edits (the last one is the post; some edits move the post to another board); every comment
has its version 0; votes are unique per (post, person), most on recent posts; counts are
recomputed from the rows at the end, as ``recount_board`` would.

Resumable: a stage's rows take the ids just above what its table held before it started (its first
row is always the first scale person's), in order, a chunk per transaction, so a run counts what
is there and makes only the rest. Resume before the site writes to these tables.
"""

# This module builds SQL from its own constants and numbers only (no input), in long pieces.
# ruff: noqa: S608, E501

from __future__ import annotations

import datetime as dt
import math
import zlib

from django.db import connection, transaction
from django.db.models import Max, Min

from config.scale import Sizes, bulk_load, is_mariadb, progress

from .models import Category, Comment, CommentVersion, Post, PostVersion, PostVote

DAYS = 730
SPAN = DAYS * 86_400  # seconds the posts are spread over

# Boards and sub-categories (the demo's are among them, so the two can share a database).
TREE = [
    (
        ("Q&A", "qna"),
        [
            ("Career", "qna-career"),
            ("Tech", "qna-tech"),
            ("저작권 질문", "qna-rights"),
            ("Money", "qna-money"),
        ],
    ),
    (
        ("Community", "community"),
        [
            ("Life", "community-life"),
            ("News", "community-news"),
            ("유머", "community-humor"),
            ("반려동물", "community-pets"),
            ("여행", "community-travel"),
        ],
    ),
    (
        ("음악", "music"),
        [
            ("K-Pop", "music-kpop"),
            ("인디", "music-indie"),
            ("Jazz", "music-jazz"),
            ("공연 후기", "music-live"),
        ],
    ),
    (
        ("투자", "invest"),
        [
            ("펀드 토론", "invest-funds"),
            ("시장 뉴스", "invest-market"),
            ("초보 질문", "invest-beginners"),
        ],
    ),
    (
        ("개발", "dev"),
        [
            ("Python", "dev-python"),
            ("Django", "dev-django"),
            ("Database", "dev-db"),
            ("프론트엔드", "dev-frontend"),
            ("커리어", "dev-career"),
            ("스터디", "dev-study"),
        ],
    ),
    (
        ("장터", "market"),
        [("삽니다", "market-buy"), ("팝니다", "market-sell"), ("나눔", "market-free")],
    ),
    (
        ("Notice", "notice"),
        [("공지", "notice-news"), ("Events", "notice-events"), ("Feedback", "notice-feedback")],
    ),
]

# Most used first: a word's rank is drawn from a Zipf law, so "royalty" finds most posts and the
# tail few. Two-syllable Korean words (음악, 투자) are among them: search finds them inside longer
# words and with their particles.
WORDS = """
royalty music 저작권 음악 투자 market 추천 질문 오늘 정말 album 생각 시장 수익 사람들 question Django 데이터 share price 앨범 공연
뉴스 playlist Python 콘서트 아이돌 개발자 developer 후기 review 이번주 weekly 수익률 dividend 배당 거래 trade 주문 발라드
ballad jazz 재즈 indie 인디 hiphop 트로트 career 커리어 interview 면접 salary 연봉 company 회사 Seoul 서울 Busan 부산
travel 여행 고양이 강아지 반려동물 pets coffee 카페 restaurant 맛집 weekend 주말 database 데이터베이스 MariaDB Redis index
인덱스 query 쿼리 cache 캐시 performance 성능 benchmark pagination keyset frontend 프론트엔드 HTMX template 템플릿
Markdown 마크다운 streaming 스트리밍 음원 chart 차트 Billboard 빌보드 composer 작곡가 lyricist 작사가 arrangement 편곡
vinyl 레코드 festival 페스티벌 ticket 티켓 giveaway 나눔 secondhand 중고 headphones 헤드폰 speaker 스피커 guitar 기타
piano 피아노 drums 드럼 synthesizer 신디사이저 orchestra 오케스트라 symphony 교향곡 soundtrack 사운드트랙 remaster 리마스터
settlement 정산 thanks 감사합니다 please 부탁드립니다 beginner 처음 newbie 초보 expert 고수 tips 꿀팁 notice 공지 event
이벤트 update 업데이트 bug 버그 feedback 피드백 copyright 저작인접권 publisher 퍼블리셔 catalogue 카탈로그 license 라이선스
""".split()  # noqa: SIM905 - a list of words reads best as words
# Each in about one post in five thousand, to search for something rare.
RARE = """
quokka xylophone zeppelin kaleidoscope aurora 오로라 무지개떡 bandoneon theremin 해금산조 marimba ocarina
가야금병창 harpsichord glockenspiel 아쟁독주 sitar 단소연주 cajón 장구장단 didgeridoo 태평소 mandolin 거문고 banjo 대금독주
ukulele 꽹과리 accordion 비파연주
""".split()  # noqa: SIM905 - a list of words reads best as words
CODE = 'print("hello, okcow")'
# After a load bigger than this the search index is built again whole (on MariaDB its full-text
# index once at the end, much faster than row by row); a smaller one only adds what is missing.
REBUILD_SEARCH_OVER = 50_000


def _literal(text: str) -> str:
    assert "'" not in text and "\\" not in text, text
    return f"'{text}'"


# --- SQL pieces: row number ``n`` (an SQL expression) in, SQL expression out ----------------------


def _hash(n: str, stream: int) -> str:
    """A 32-bit hash of row ``n`` for one of 128 independent streams."""
    return f"CRC32(CAST(({n}) * 128 + {stream} AS UNSIGNED))"


def _unit(n: str, stream: int) -> str:
    return f"({_hash(n, stream)} * {_real(2**-32)})"


def _real(x: float) -> str:
    """A floating-point literal: MariaDB does exact (slow) decimal arithmetic on ``1.5``."""
    return f"{x:.17e}"


def _below(n: str, stream: int, size: int) -> str:
    """An integer in [0, size), evenly."""
    return f"({_hash(n, stream)} % {size})"


def _skewed(n: str, stream: int, size: int, power: float) -> str:
    """An integer in [0, size), small ones more often as ``power`` grows."""
    return f"FLOOR({size} * POW({_unit(n, stream)}, {_real(power)}))"


def _pick(options: list[str], index: str) -> str:
    if len(options) > 100 and not is_mariadb():  # SQLite: at most 127 arguments
        parts = [
            _pick(options[i : i + 100], f"({index}) % 100") for i in range(0, len(options), 100)
        ]
        return _pick(parts, f"FLOOR(({index}) / 100)")
    return f"ELT(1 + {index}, {', '.join(options)})"


_WORDS = [_literal(w) for w in WORDS]  # fmt: skip
_RARE = [_literal(w) for w in RARE]


def _word(n: str, stream: int) -> str:
    """A word whose rank follows Zipf's law: rank = e^(u·ln(L+1)) - 1."""
    log = _real(math.log(len(WORDS) + 1))
    rank = f"LEAST({len(WORDS) - 1}, FLOOR(EXP({_unit(n, stream)} * {log})) - 1)"
    return _pick(_WORDS, rank)


def _words(n: str, stream: int, least: int, most: int) -> str:
    """``least``…``most`` words; uses streams ``stream``…``stream + most``."""
    count = f"({least} + {_below(n, stream, most - least + 1)})"
    parts = [_word(n, stream + 1)]
    for i in range(1, most):
        word = f"CONCAT(' ', {_word(n, stream + 1 + i)})"
        parts.append(word if i < least else f"CASE WHEN {count} > {i} THEN {word} ELSE '' END")
    return f"CONCAT({', '.join(parts)})"


def _sometimes(n: str, stream: int, percent: int, sql: str) -> str:
    return f"CASE WHEN {_below(n, stream, 100)} < {percent} THEN {sql} ELSE '' END"


NL = "'\n'"
PARAGRAPH = "'\n\n'"


def _title(n: str) -> str:
    return _words(n, 0, 2, 9)


def _content(n: str) -> str:
    """Markdown: a paragraph, sometimes bold or a list or code, another paragraph, rare bits."""
    return "CONCAT(" + ", ".join([
        _words(n, 10, 5, 14), "'.'",
        _sometimes(n, 25, 30, f"CONCAT({PARAGRAPH}, '**', {_word(n, 26)}, '** ', {_words(n, 27, 3, 8)}, '.')"),
        _sometimes(n, 36, 20, f"CONCAT({PARAGRAPH}, '- ', {_words(n, 37, 1, 3)}, {NL}, '- ', {_words(n, 41, 1, 3)}, {NL}, '- ', {_words(n, 45, 1, 3)})"),
        _sometimes(n, 49, 5, f"CONCAT({PARAGRAPH}, '```', {NL}, {_literal(CODE)}, {NL}, '```')"),
        PARAGRAPH, _words(n, 50, 4, 20), "'.'",
        _sometimes(n, 71, 25, f"CONCAT({PARAGRAPH}, {_words(n, 72, 8, 24)}, '.')"),
        _sometimes(n, 97, 2, f"CONCAT(' ', {_pick(_RARE, _below(n, 98, len(RARE)))})"),
        _sometimes(n, 99, 30, f"CONCAT({PARAGRAPH}, '곡번호 K', {_below(n, 100, 200_000)})"),
    ]) + ")"  # fmt: skip


class _Plan:
    """The SQL of one seeding: sizes, people, categories and the start time baked in."""

    def __init__(self, sizes: Sizes, users: list[int], subs: list[Category], start: dt.datetime):
        self.sizes = sizes
        self.people = len(users)
        self.contiguous = users == list(range(users[0], users[0] + len(users)))
        self.first_user = users[0]
        self.subs = subs
        self.start = start.strftime("%Y-%m-%d %H:%M:%S")

    # --- vendor differences ---------------------------------------------------------------------

    def numbers(self, first: int, last: int) -> str:
        """A table of one column ``seq`` holding first…last."""
        if is_mariadb():
            return f"seq_{first}_to_{last}"
        return (
            f"(WITH RECURSIVE s(seq) AS (SELECT {first} UNION ALL SELECT seq + 1 FROM s "
            f"WHERE seq < {last}) SELECT seq FROM s)"
        )

    def at(self, seconds: str) -> str:
        """The start time plus ``seconds``."""
        if is_mariadb():
            return f"(TIMESTAMP'{self.start}' + INTERVAL ({seconds}) SECOND)"
        return f"datetime('{self.start}', '+' || ({seconds}) || ' seconds')"

    def person(self, index: str) -> str:
        if self.contiguous:
            return f"({self.first_user} + {index})"
        return f"(SELECT id FROM scale_people WHERE idx = {index})"

    # --- posts ----------------------------------------------------------------------------------

    def post_seconds(self, n: str) -> str:
        """Posts spread evenly over the span, jittered within their slot; post 1 at the start."""
        posts = self.sizes.posts
        slot = _real(SPAN / posts)
        return (
            f"FLOOR((({n}) - 1) * {slot} + {_below(n, 110, max(SPAN // posts, 1))} * (({n}) > 1))"
        )

    def edits(self, n: str) -> str:
        """0 for most posts, 1 for 10%, 2 for 5%."""
        h = _below(n, 111, 100)
        return f"(CASE WHEN {h} < 10 THEN 1 WHEN {h} < 15 THEN 2 ELSE 0 END)"

    def category_index(self, n: str, version: str) -> str:
        first = _skewed(n, 112, len(self.subs), 1.4)
        moved = _below(n, 113, len(self.subs))
        return (
            f"(CASE WHEN {version} >= 2 AND {_below(n, 114, 3)} = 0 THEN {moved} ELSE {first} END)"
        )

    def author(self, n: str) -> str:
        return self.person(f"(CASE WHEN {n} = 1 THEN 0 ELSE {_skewed(n, 115, self.people, 2)} END)")

    def version_sql(self, first: int, last: int, base: int) -> str:
        """Every version of posts ``first``…``last``: as written, then each edit."""
        n, k = "p.seq", "v.seq"
        title = _title(n)
        content = _content(n)
        edited_title = f"CASE WHEN {k} >= 2 THEN CONCAT('[수정] ', {title}) ELSE {title} END"
        edited_content = (
            f"CONCAT({content}, "
            f"CASE WHEN {k} >= 1 THEN CONCAT({PARAGRAPH}, '**Edit:** ', {_words(n, 116, 3, 8)}) ELSE '' END, "
            f"CASE WHEN {k} >= 2 THEN CONCAT({PARAGRAPH}, '**수정 2:** ', {_words(n, 117, 2, 6)}) ELSE '' END)"
        )
        category = _pick([str(c.pk) for c in self.subs], self.category_index(n, k))
        at = self.at(f"{self.post_seconds(n)} + {k} * (600 + {_below(n, 118, 86_400)})")
        return (
            f"INSERT INTO board_postversion (post_id, version, title, content, category_id, editor_id, created_at) "
            f"SELECT {base} + {n}, {k}, {edited_title}, {edited_content}, {category}, {self.author(n)}, {at} "
            f"FROM {self.numbers(first, last)} AS p JOIN {self.numbers(0, 2)} AS v ON v.seq <= {self.edits(n)}"
        )

    def post_sql(self, first: int, last: int, base: int) -> str:
        """Posts ``first``…``last`` as their last version says, with created/updated times."""
        n = f"(v.post_id - {base})"
        board = _pick([str(c.board_id) for c in self.subs], self.category_index(n, "v.version"))
        return (
            "INSERT INTO board_post (id, category_id, board_id, author_id, title, content, created_at, updated_at, is_active, hidden_reason, comment_count, vote_count) "
            f"SELECT v.post_id, v.category_id, {board}, v.editor_id, v.title, v.content, "
            f"{self.at(self.post_seconds(n))}, CASE WHEN v.version > 0 THEN v.created_at END, "
            f"{_below(n, 119, 200)} > 0, CASE WHEN {_below(n, 119, 200)} > 0 THEN '' ELSE 'deleted by staff' END, 0, 0 "
            f"FROM board_postversion v WHERE v.post_id BETWEEN {base + first} AND {base + last} "
            f"AND v.version = {self.edits(n)}"
        )

    # --- comments -------------------------------------------------------------------------------

    def comment_post(self, j: str) -> str:
        """A post written a little before comment ``j``, recent ones far more often."""
        posts = self.sizes.posts
        now = f"CEILING(({j}) * {_real(posts / self.sizes.comments)})"
        back = f"FLOOR(LEAST({now}, 5000) * POW({_unit(j, 1)}, 4))"
        return f"({now} - {back})"

    def comment_sql(self, first: int, last: int, base: int, post_base: int) -> str:
        j = "c.seq"
        post = self.comment_post(j)
        own = f"FLOOR((({j}) - 1) * {_real(SPAN / self.sizes.comments)})"
        seconds = f"GREATEST({own}, {self.post_seconds(post)} + 60 + {_below(j, 2, 3_600)})"
        content = "CONCAT(" + ", ".join([
            _words(j, 10, 2, 12),
            _sometimes(j, 3, 25, "'!'"),
            _sometimes(j, 4, 20, f"CONCAT({PARAGRAPH}, '> ', {_words(j, 30, 2, 6)})"),
            _sometimes(j, 5, 15, f"CONCAT(' **', {_word(j, 40)}, '**')"),
            _sometimes(j, 6, 10, f"CONCAT({PARAGRAPH}, {_words(j, 50, 5, 16)}, '.')"),
        ]) + ")"  # fmt: skip
        author = self.person(
            f"(CASE WHEN {j} = 1 THEN 0 ELSE {_skewed(j, 7, self.people, 1.5)} END)"
        )
        return (
            "INSERT INTO board_comment (id, post_id, author_id, content, created_at, updated_at, is_active, hidden_reason, vote_count) "
            f"SELECT {base} + {j}, {post_base} + {post}, {author}, {content}, {self.at(seconds)}, "
            f"NULL, {_below(j, 8, 50)} > 0, '', 0 FROM {self.numbers(first, last)} AS c"
        )

    @staticmethod
    def comment_version_sql(first: int, last: int, base: int) -> str:
        return (
            "INSERT INTO board_commentversion (comment_id, version, content, editor_id, created_at) "
            f"SELECT id, 0, content, author_id, created_at FROM board_comment "
            f"WHERE id BETWEEN {base + first} AND {base + last}"
        )

    # --- votes ----------------------------------------------------------------------------------

    def vote_sql(self, first: int, last: int, base: int, post_base: int) -> str:
        """Vote ``j`` is person ``j mod P``'s vote in stratum ``j div P`` of the posts. The strata
        are disjoint and narrow towards the newest posts, so a person votes once per stratum
        (never twice on a post) and recent posts get most votes; within a stratum a few posts
        get most of them."""
        j, people, posts = "w.seq", self.people, self.sizes.posts
        strata = math.ceil(self.sizes.votes / people)
        assert strata <= posts, "more votes than people x posts"
        stratum = (
            f"FLOOR((({j}) - 1) DIV {people})" if is_mariadb() else f"((({j}) - 1) / {people})"
        )

        def edge(k: str) -> str:
            return f"({k} + FLOOR({posts - strata} * (1 - POW(GREATEST(0e0, 1 - ({k}) * {_real(1 / strata)}), 1.5e0))))"

        low, high = edge(stratum), edge(f"({stratum} + 1)")
        post = f"({low} + 1 + FLOOR(({high} - {low}) * POW({_unit(j, 1)}, 2.5e0)))"
        seconds = f"LEAST({SPAN}, {self.post_seconds(post)} + {_below(j, 2, 3 * 86_400)})"
        return (
            "INSERT INTO board_postvote (id, post_id, user_id, created_at) "
            f"SELECT {base} + {j}, {post_base} + {post}, {self.person(f'((({j}) - 1) % {people})')}, "
            f"{self.at(seconds)} FROM {self.numbers(first, last)} AS w"
        )


# --- running it -----------------------------------------------------------------------------------


def seed(sizes: Sizes, users: list[int]) -> None:
    """Fill the board to ``sizes``; see the module docstring."""
    subs = _categories()
    if not is_mariadb():
        _register_functions()
    post_base = _base(Post, "author_id", users[0])
    first = Post.objects.filter(pk=post_base + 1).values_list("created_at", flat=True).first()
    start = first or _midnight_utc(DAYS + 1)
    plan = _Plan(sizes, users, subs, start)
    with _people_table(plan, users):
        added = _stage(
            Post, sizes.posts, post_base, 20_000, "posts (with versions)", plan, post_base
        )
        comment_base = _base(Comment, "author_id", users[0])
        added += _stage(
            Comment,
            sizes.comments,
            comment_base,
            100_000,
            "comments (with versions)",
            plan,
            post_base,
        )
        texts = added  # posts and comments: what the search index holds
        vote_base = _base(PostVote, "user_id", users[0])
        added += _stage(PostVote, sizes.votes, vote_base, 250_000, "post votes", plan, post_base)
    _search_index(texts)
    if added or not _counts_right(post_base, sizes.posts):
        _recount(post_base, sizes.posts)
    if added > REBUILD_SEARCH_OVER and is_mariadb():  # fresh statistics for the planner
        with connection.cursor() as cursor:
            for model in (Post, PostVersion, Comment, CommentVersion, PostVote, Category):
                cursor.execute(f"ANALYZE TABLE {model._meta.db_table}")
                cursor.fetchall()


def _categories() -> list[Category]:
    """The tree, made once; returns the sub-categories in a fixed order."""
    subs = []
    for position, ((name, slug), children) in enumerate(TREE):
        board, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
        for child_position, (child_name, child_slug) in enumerate(children):
            sub, _ = Category.objects.get_or_create(
                slug=child_slug,
                defaults={"name": child_name, "parent": board, "position": child_position},
            )
            subs.append(sub)
    return subs


def _midnight_utc(days_ago: int) -> dt.datetime:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=days_ago)


def _base(model, person_field: str, first_person: int) -> int:
    """The id below the first seeded row (the first scale person's, by construction), or the
    table's last id when nothing is seeded yet."""
    seeded = model.objects.filter(**{person_field: first_person}).aggregate(n=Min("pk"))["n"]
    if seeded is not None:
        return seeded - 1
    return model.objects.aggregate(n=Max("pk"))["n"] or 0


def _stage(model, total: int, base: int, chunk: int, desc: str, plan: _Plan, post_base: int) -> int:
    """Rows base+1 … base+total of ``model``, a chunk per transaction, from where it stopped.

    Where it stopped is the highest id above ``base``, not a count: chunks commit in id order, and
    the site may since have deleted seeded rows (a vote toggled off) or added its own after them
    (ids past the range: the stage is complete)."""
    last = model.objects.filter(pk__gt=base).aggregate(n=Max("pk"))["n"] or base
    have = min(last, base + total) - base
    if have >= total:
        return 0
    bar = progress(total, desc, initial=have)
    with connection.cursor() as cursor:
        for first in range(have + 1, total + 1, chunk):
            last = min(first + chunk - 1, total)
            with transaction.atomic(), bulk_load():
                if model is Post:
                    cursor.execute(plan.version_sql(first, last, base))
                    cursor.execute(plan.post_sql(first, last, base))
                elif model is Comment:
                    cursor.execute(plan.comment_sql(first, last, base, post_base))
                    cursor.execute(plan.comment_version_sql(first, last, base))
                else:
                    cursor.execute(plan.vote_sql(first, last, base, post_base))
            bar.update(last - first + 1)
    bar.close()
    return total - have


class _people_table:
    """When the people's ids have gaps, a temporary table maps 0…P-1 to them."""

    def __init__(self, plan: _Plan, users: list[int]):
        self.plan, self.users = plan, users

    def __enter__(self):
        if not self.plan.contiguous:
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMPORARY TABLE scale_people (idx INTEGER PRIMARY KEY, id BIGINT)"
                )
                cursor.executemany(
                    "INSERT INTO scale_people (idx, id) VALUES (%s, %s)",
                    list(enumerate(self.users)),
                )

    def __exit__(self, *exc):
        if not self.plan.contiguous:
            with connection.cursor() as cursor:
                cursor.execute(
                    "DROP TEMPORARY TABLE scale_people"
                    if is_mariadb()
                    else "DROP TABLE temp.scale_people"
                )


# --- The search index: built after the load ------------------------------------------------------


def _search_index(added: int) -> None:
    """Entries for the rows just made: the whole index again after a big load (a progress bar per
    row checked), else only the missing ones."""
    from .search import index

    if added > REBUILD_SEARCH_OVER:
        total = Post.objects.count() + Comment.objects.count()
        bar = progress(total, "search index (posts, then comments)")
        index.rebuild(progress=bar.update)
        bar.close()
    else:
        index.repair()


# --- stored counts --------------------------------------------------------------------------------


def _counts_right(post_base: int, posts: int) -> bool:
    window = f"BETWEEN {post_base + 1} AND {post_base + posts}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COALESCE(SUM(comment_count), 0) FROM board_post WHERE id {window}), "
            f"(SELECT COUNT(*) FROM board_comment WHERE is_active AND post_id {window}), "
            f"(SELECT COALESCE(SUM(vote_count), 0) FROM board_post WHERE id {window}), "
            f"(SELECT COUNT(*) FROM board_postvote WHERE post_id {window}), "
            "(SELECT SUM(post_count) FROM board_category), "
            "(SELECT COUNT(*) FROM board_post WHERE is_active)"
        )
        a, b, c, d, e, f = cursor.fetchone()
    return (a, c, e) == (b, d, f)


def _recount(post_base: int, posts: int, chunk: int = 50_000) -> None:
    """The seeded posts' comment and vote counts, and every category's post count, from rows."""
    bar = progress(posts, "post counts")
    with connection.cursor() as cursor:
        for first in range(post_base + 1, post_base + posts + 1, chunk):
            last = min(first + chunk - 1, post_base + posts)
            with transaction.atomic():
                cursor.execute(
                    "UPDATE board_post SET "
                    "comment_count = (SELECT COUNT(*) FROM board_comment c "
                    "WHERE c.post_id = board_post.id AND c.is_active), "
                    "vote_count = (SELECT COUNT(*) FROM board_postvote v "
                    "WHERE v.post_id = board_post.id) "
                    f"WHERE id BETWEEN {first} AND {last}"
                )
            bar.update(last - first + 1)
        bar.close()
        with transaction.atomic():
            cursor.execute(
                "UPDATE board_category SET post_count = (SELECT COUNT(*) FROM board_post p "
                "WHERE p.category_id = board_category.id AND p.is_active)"
            )


def _register_functions() -> None:
    """The MariaDB functions the SQL above uses, for SQLite (small seedings and tests)."""
    connection.ensure_connection()
    functions = {
        "ELT": lambda i, *options: options[int(i) - 1] if 1 <= int(i) <= len(options) else None,
        "CONCAT": lambda *parts: "".join(str(p) for p in parts),
        "CRC32": lambda value: zlib.crc32(str(int(value)).encode()),
        "POW": math.pow,
        "EXP": math.exp,
        "FLOOR": lambda x: math.floor(x),
        "CEILING": lambda x: math.ceil(x),
        "GREATEST": max,
        "LEAST": min,
    }
    for name, fn in functions.items():
        connection.connection.create_function(name, -1, fn, deterministic=True)
