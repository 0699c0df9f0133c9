"""Search as a Korean reader uses it, on the embedded default (SQLite, FTS5) and on MariaDB
(Mroonga) alike: CI runs this file on both. The index is written after each write commits, so
these tests commit (transaction=True)."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from board import selectors, services
from board.models import SearchEntry
from board.search import index
from tests.factories import (
    BoardFactory,
    StaffFactory,
    SubCategoryFactory,
    UserFactory,
    make_comment,
)
from tests.factories import make_post as _make_post

pytestmark = pytest.mark.django_db(transaction=True)


def make_post(**fields):
    fields.setdefault("content", "내용")
    return _make_post(**fields)


def found(q, category=None):
    """The posts (p) and comments (c) a search finds, newest first."""
    page = selectors.search(q=q, category=category).page
    return [f"c{h.comment.pk}" if h.comment else f"p{h.post.pk}" for h in page.items]


def p(post):
    return f"p{post.pk}"


@pytest.fixture
def sub():
    return SubCategoryFactory(name="음악 이야기")


# --- What a Korean reader types ------------------------------------------------------------------


def test_a_two_syllable_word_is_found_with_its_particles(sub):
    with_object = make_post(category=sub, title="좋아하는 것", content="음악을 듣는다")
    with_subject = make_post(category=sub, title="오늘", content="음악이 좋다")
    make_post(category=sub, title="상관없는 글", content="미술 이야기")
    assert found("음악") == [p(with_subject), p(with_object)]


def test_a_word_is_found_inside_a_compound(sub):
    compound = make_post(category=sub, title="인디음악 추천", content="밴드")
    make_post(category=sub, title="인디 밴드", content="공연")
    assert found("음악") == [p(compound)]
    assert found("인디음악") == [p(compound)]


def test_the_anchor_title_is_found_by_each_of_its_words(sub):
    post = make_post(category=sub, title="음악 저작권 투자 후기")
    for word in ["음악", "후기", "저작권", "투자", "저작"]:
        assert found(word) == [p(post)], word


def test_a_longer_word_must_hold_its_syllables_together(sub):
    together = make_post(category=sub, title="저작권 질문", content="저작권료")
    apart = make_post(category=sub, title="저작 권리", content="작권")
    assert found("저작권") == [p(together)]
    assert p(apart) not in found("저작권")


def test_english_words_of_any_length_are_found(sub):
    short = make_post(category=sub, title="Login id 분실", content="id를 잊었어요")
    kpop = make_post(category=sub, title="K-pop 앨범", content="새 앨범 리뷰")
    idol = make_post(category=sub, title="idol news", content="아이돌 소식")
    assert found("id") == [p(short)]  # a word of one or two letters is a whole word: not idol
    assert found("K-pop") == [p(kpop)]
    assert found("kpop") == []
    assert found("IDOL") == [p(idol)]  # case does not matter
    assert found("\uff2b\uff30\uff2f\uff30") == []  # full-width KPOP is the same word as kpop …
    assert found("\uff2b-\uff50\uff4f\uff50") == [p(kpop)]  # … as a Korean keyboard types them


def test_an_english_word_of_three_letters_or_more_finds_the_words_it_begins(sub):
    post = make_post(category=sub, title="royalty report", content="정산")
    assert found("roy") == [p(post)]
    assert found("royalties") == []


def test_every_word_must_match(sub):
    both = make_post(category=sub, title="음악 투자", content="royalty 정산")
    make_post(category=sub, title="음악 이야기", content="감상")
    make_post(category=sub, title="투자 이야기", content="royalty")
    assert found("음악 royalty") == [p(both)]
    assert found("음악 투자 정산") == [p(both)]
    assert found("음악 투자 zebra") == []


def test_a_quoted_phrase_must_stand_together(sub):
    phrase = make_post(category=sub, title="음악 저작권 투자 후기")
    apart = make_post(category=sub, title="저작권 이야기", content="음악은 좋아")
    assert sorted(found("음악 저작권")) == sorted([p(phrase), p(apart)])
    assert found('"음악 저작권"') == [p(phrase)]
    assert found("“음악 저작권”") == [p(phrase)]  # typographic quotes too
    assert found('"저작권 음악"') == []


def test_the_author_name_is_searched(sub):
    author = UserFactory(username="김철수")
    post = make_post(author=author, category=sub, title="안녕하세요")
    make_post(category=sub, title="다른 글")
    assert found("김철수") == [p(post)]
    assert found("철수") == [p(post)]


def test_initial_consonants_find_titles(sub):
    music = make_post(category=sub, title="음악 저작권 투자 후기", content="내용")
    make_post(category=sub, title="미술 전시회", content="음악 이야기")  # not in its title
    assert found("ㅇㅇ") == [p(music)]
    assert found("ㅈㅈㄱ") == [p(music)]  # 저작권
    assert found("ㅎㄱ") == [p(music)]  # 후기
    assert found("ㅁㅅ") != [p(music)]


def test_newest_first_posts_and_comments_together(sub):
    old = make_post(category=sub, title="음악 첫 글")
    newer = make_post(category=sub, title="두번째", content="음악")
    comment = make_comment(post=old, content="음악 좋네요")
    assert found("음악") == [f"c{comment.pk}", p(newer), p(old)]


def test_a_search_within_a_board_or_a_category(sub):
    other = SubCategoryFactory(parent=BoardFactory())
    here = make_post(category=sub, title="음악 여기")
    there = make_post(category=other, title="음악 저기")
    assert found("음악", sub) == [p(here)]
    assert found("음악", sub.parent) == [p(here)]
    assert found("음악", other.parent) == [p(there)]
    assert found("음악") == [p(there), p(here)]


# --- Matched words marked, a link to the comment -------------------------------------------------


def test_matched_words_are_marked_in_the_title_and_the_excerpt(client, sub):
    make_post(
        category=sub,
        title="음악 저작권 <b>투자</b> 후기",
        content="긴 서론 " * 60 + "인디음악을 **좋아한다** 그리고 끝.",
    )
    body = client.get(reverse("board:index"), {"q": "음악"}).content.decode()
    assert "<mark>음악</mark> 저작권 &lt;b&gt;투자&lt;/b&gt; 후기" in body
    assert "인디<mark>음악</mark>을 좋아한다" in body  # the excerpt: around the match, plain text
    assert "<b>투자</b>" not in body


def test_a_comment_hit_links_to_the_comment_on_its_page(client, sub):
    post = make_post(category=sub, title="질문")
    for n in range(21):
        make_comment(post=post, content=f"댓글 {n}")
    last = make_comment(post=post, content="음악 추천 부탁")
    body = client.get(reverse("board:index"), {"q": "음악"}).content.decode()
    assert f'href="/board/p/{post.pk}/?page=2#comment-{last.pk}"' in body
    assert "Comment on" in body and "<mark>음악</mark> 추천 부탁" in body


# --- When nothing is found, or the search is too short -------------------------------------------


def test_a_search_typed_in_the_wrong_keyboard_layout_is_offered_as_did_you_mean(client, sub):
    make_post(category=sub, title="음악 추천", content="안녕 여러분")
    for typed, meant in [("dmadkr", "음악"), ("dkssud", "안녕")]:
        response = client.get(reverse("board:index"), {"q": typed})
        assert response.context["search"].suggestion == meant
        assert 'Did you mean <a href="?q=' in response.content.decode()
    assert selectors.search(q="zebra").suggestion is None  # 크두ㅡ… reads as nothing


def test_an_english_word_typed_in_the_korean_layout_is_offered_too(sub):
    make_post(category=sub, title="hello world")
    assert selectors.search(q="ㅗ디ㅣㅐ").suggestion == "hello"


def test_no_result_says_so_and_suggests_what_to_try(client, sub):
    make_post(category=sub, title="음악 이야기")
    response = client.get(reverse("board:category", args=[sub.slug]), {"q": "음악을 zebra"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing holds all of “음악을 zebra”" in body
    assert "Use fewer words" in body
    assert "음악, not 음악을" in body
    assert '<a href="/board/?q=%EC%9D%8C%EC%95%85%EC%9D%84+zebra">' in body  # all posts


def test_a_one_syllable_search_is_explained_next_to_the_field(client, sub):
    make_post(category=sub, title="음 악보")
    response = client.get(reverse("board:index"), {"q": "음"})
    body = response.content.decode()
    assert 'aria-invalid="true" aria-describedby="q-error"' in body
    assert "“음” is too short to search for: a Korean word needs two syllables" in body


def test_a_one_syllable_word_beside_others_is_left_out_and_said_so(client, sub):
    post = make_post(category=sub, title="김 부장님 안녕하세요")
    response = client.get(reverse("board:index"), {"q": "김 부장"})
    assert [h.post.pk for h in response.context["page"].items] == [post.pk]
    assert "Left out: 김" in response.content.decode()
    assert found('"김 부장"') == [p(post)]  # inside a phrase it counts


# --- The index stays true ------------------------------------------------------------------------


def test_an_edit_is_found_at_once_and_the_old_words_are_gone(user, sub):
    post = make_post(author=user, category=sub, title="예전 제목", content="옛날 이야기")
    services.edit_post(user=user, post_id=post.pk, title="새 제목", content="음악", category=sub)
    assert found("음악") == [p(post)]
    assert found("옛날") == []


def test_a_move_takes_the_post_and_its_comments_to_the_new_board(user, sub):
    there = SubCategoryFactory(parent=BoardFactory())
    post = make_post(author=user, category=sub, title="음악 질문")
    comment = make_comment(post=post, content="음악 답변")
    services.edit_post(user=user, post_id=post.pk, title="음악 질문", content="x", category=there)
    assert found("음악", there.parent) == [f"c{comment.pk}", p(post)]
    assert found("음악", sub.parent) == []


def test_hidden_and_deleted_posts_and_comments_are_not_found_and_restored_ones_are(user, sub):
    staff = StaffFactory()
    hidden = make_post(category=sub, title="음악 숨김")
    deleted = make_post(author=user, category=sub, title="음악 삭제")
    thread = make_post(category=sub, title="스레드")
    comment = make_comment(post=thread, content="음악 댓글")
    on_hidden = make_comment(post=hidden, content="음악 댓글 숨겨진 글")
    services.moderate_post(moderator=staff, post_id=hidden.pk, hide=True, reason="spam")
    services.delete_post(user=user, post_id=deleted.pk)
    services.moderate_comment(moderator=staff, comment_id=comment.pk, hide=True, reason="spam")
    assert found("음악") == []
    services.moderate_post(moderator=staff, post_id=hidden.pk, hide=False, reason="ok")
    assert found("음악") == [f"c{on_hidden.pk}", p(hidden)]  # with its comment


def test_a_deleted_comment_is_not_found(sub):
    author = UserFactory()
    post = make_post(category=sub, title="글")
    comment = make_comment(post=post, author=author, content="음악 댓글")
    services.delete_comment(user=author, comment_id=comment.pk)
    assert found("음악") == []


def test_a_rolled_back_write_leaves_no_trace(user, sub):
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        post = make_post(author=user, category=sub, title="음악 롤백")
        make_comment(post=post, content="음악 댓글")
        raise Undo
    kept = make_post(author=user, category=sub, title="남은 글")
    with pytest.raises(Undo), transaction.atomic():
        services.edit_post(user=user, post_id=kept.pk, title="음악", content="x", category=sub)
        raise Undo
    assert found("음악") == []
    assert found("남은") == [p(kept)]
    assert list(SearchEntry.objects.values_list("pk", flat=True)) == [index.post_key(kept.pk)]


def test_a_deleted_account_is_no_longer_found_by_its_name(sub):
    from accounts import services as accounts

    author = UserFactory(username="beatmaker")
    post = make_post(author=author, category=sub, title="비트 공유")
    assert found("beatmaker") == [p(post)]
    accounts.delete_account(user=author)
    assert found("beatmaker") == []
    assert found("비트") == [p(post)]


def test_a_failing_index_write_does_not_fail_the_page_and_repair_mends_it(
    monkeypatch, caplog, user, sub
):
    def broken(**what):
        raise RuntimeError("index down")

    monkeypatch.setattr(index, "sync", broken)
    post = make_post(author=user, category=sub, title="음악 장애")  # commits; no error here
    assert "repair_search" in caplog.text
    monkeypatch.undo()
    assert found("음악") == []
    call_command("repair_search")
    assert found("음악") == [p(post)]


def test_repair_reports_and_fixes_every_kind_of_drift(capsys, sub):
    kept = make_post(category=sub, title="음악 하나")
    stale = make_post(category=sub, title="음악 둘")
    lost = make_post(category=sub, title="음악 셋")
    comment = make_comment(post=kept, content="음악 댓글")
    gone = make_post(category=sub, title="음악 넷")
    with connection.cursor() as cursor:  # drift made behind the services' back
        cursor.execute("UPDATE board_post SET title = %s WHERE id = %s", ["미술 둘", stale.pk])
        cursor.execute("UPDATE board_post SET is_active = %s WHERE id = %s", [False, gone.pk])
    index.engine().delete([index.post_key(lost.pk), index.comment_key(comment.pk)])
    assert found("음악") == [p(stale), p(kept)]  # the index still says the old title
    assert index.post_key(gone.pk) in SearchEntry.objects.values_list("pk", flat=True)
    with pytest.raises(SystemExit) as exit_code:
        call_command("repair_search", "--dry-run")
    assert exit_code.value.code == 1
    report = capsys.readouterr().out
    assert f"post {lost.pk}: missing" in report and f"comment {comment.pk}: missing" in report
    assert f"post {stale.pk}: stale" in report and f"post {gone.pk}: extra" in report
    assert "4 drifted search entries found: 2 missing, 1 stale, 1 left over." in report
    call_command("repair_search")
    assert "4 drifted search entries fixed" in capsys.readouterr().out
    assert found("음악") == [f"c{comment.pk}", p(lost), p(kept)]
    assert found("미술") == [p(stale)]
    call_command("repair_search", "--dry-run")
    assert "0 drifted search entries found" in capsys.readouterr().out


def test_a_rebuild_makes_the_same_index(sub):
    post = make_post(category=sub, title="음악 저작권 투자 후기")
    comment = make_comment(post=post, content="인디음악")
    before = sorted(SearchEntry.objects.values_list("pk", "crc", "title", "body", "initials"))
    call_command("repair_search", "--rebuild")
    after = sorted(SearchEntry.objects.values_list("pk", "crc", "title", "body", "initials"))
    assert after == before
    assert found("음악") == [f"c{comment.pk}", p(post)]


def test_a_sub_category_moved_to_another_board_takes_its_entries(user):
    sub, elsewhere = SubCategoryFactory(), SubCategoryFactory()
    post = make_post(author=user, category=sub, title="음악 이사")
    sub.parent = elsewhere.parent
    sub.save()
    services.rehome_category(category=sub)
    assert found("음악", elsewhere.parent) == [p(post)]


def test_results_are_cached_until_the_index_changes(django_assert_max_num_queries, sub):
    make_post(category=sub, title="음악 캐시")
    assert len(found("음악")) == 1
    with django_assert_max_num_queries(1):  # the rows only: the index is not asked again
        assert len(found("음악")) == 1
    make_post(category=sub, title="음악 새 글")
    assert len(found("음악")) == 2


@pytest.mark.parametrize("q", ['"', "“", '""', '" "', "ㅇ", "1", "가"])
def test_odd_korean_and_quote_input_never_breaks(client, q):
    make_post(title="음악")
    assert client.get(reverse("board:index"), {"q": q}).status_code == 200


def _spread_over_weeks(posts):
    """Date the posts one week apart, newest first, and let the index follow."""
    import datetime as dt

    from django.utils import timezone

    for weeks, post in enumerate(reversed(posts)):
        moment = timezone.now() - dt.timedelta(weeks=weeks)
        type(post).objects.filter(pk=post.pk).update(created_at=moment)
    call_command("repair_search")


def test_a_common_word_asks_only_the_newest_weeks_and_a_rare_one_all(monkeypatch, sub):
    posts = [make_post(category=sub, title=f"음악 {n}") for n in range(30)]
    rare = posts[0]
    type(rare).objects.filter(pk=rare.pk).update(title="quokka 음악")
    _spread_over_weeks(posts)
    asked = []
    search = type(index.engine()).search

    def recording(self, query, scope, weeks, offset, limit):
        asked.append(list(weeks))
        return search(self, query, scope, weeks, offset, limit)

    monkeypatch.setattr(type(index.engine()), "search", recording)
    query = selectors.matching.parse("음악", max_terms=8)
    total, keys = index.find(query, {}, 0, 3, enough=6)
    assert total >= 6 and len(keys) == 3
    assert keys == [index.post_key(p.pk) for p in posts[-1:-4:-1]]  # the newest three
    assert sum(len(w) for w in asked) < 20  # of the 30-odd weeks there are
    asked.clear()
    query = selectors.matching.parse("quokka", max_terms=8)
    assert index.find(query, {}, 0, 20, enough=6) == (1, [index.post_key(rare.pk)])
    assert len({w for weeks in asked for w in weeks}) >= 30  # every week, to be sure


def test_a_deep_page_spans_rounds_and_past_the_last_page_is_no_page(sub):
    posts = [make_post(category=sub, title=f"음악 {n}") for n in range(45)]
    _spread_over_weeks(posts)
    newest = [index.post_key(p.pk) for p in reversed(posts)]
    query = selectors.matching.parse("음악", max_terms=8)
    for offset in (0, 7, 20, 40):
        total, keys = index.find(query, {}, offset, 20, enough=10_001)
        assert total == 45 and keys == newest[offset : offset + 20], offset
    page = selectors.search(q="음악", page=3).page
    assert page.number == 3 and [h.post.pk for h in page.items] == [p.pk for p in posts[4::-1]]
    with pytest.raises(selectors.NoSuchPage):
        selectors.search(q="음악", page=4)


def test_a_search_whose_next_round_would_pass_the_time_limit_asks_for_another_word(
    monkeypatch, client, sub
):
    import time

    from django.test import override_settings

    _spread_over_weeks([make_post(category=sub, title=f"글 {n}") for n in range(30)])
    search = type(index.engine()).search

    def slow(self, *args):  # as slow as a word in every post of a million
        time.sleep(0.15)
        return search(self, *args)

    monkeypatch.setattr(type(index.engine()), "search", slow)
    with override_settings(BOARD_SEARCH_TIME_LIMIT=0.2):
        with pytest.raises(selectors.SearchTooBroad):
            selectors.search(q="zebra")
        body = client.get(reverse("board:index"), {"q": "zebra"}).content.decode()
    assert 'aria-describedby="q-error"' in body and "add a less common word" in body
