"""The tokens both engines are handed, the query a search becomes, highlights and the keyboard:
plain Python, the same for SQLite and MariaDB."""

import pytest

from board.search import keyboard, text


def test_korean_runs_become_syllable_pairs_and_other_words_stay_whole():
    assert text.tokens("음악 저작권, 인디음악을 K-pop ID 곡") == [
        "음악", "저작", "작권", "인디", "디음", "음악", "악을", "k", "pop", "id", "곡",
    ]  # fmt: skip


def test_full_width_letters_jamo_and_case_come_to_one_form():
    assert text.tokens("\uff2b\uff30\uff2f\uff30 \uff2b-\uff50\uff4f\uff50") == ["kpop", "k", "pop"]
    assert text.tokens("ㅋㅋㅋ") == text.tokens("ᄏᄏᄏ")  # compatibility and conjoining jamo


def test_titles_carry_their_initial_consonants():
    assert text.initial_tokens("음악 저작권") == ["ᄋᄋ", "ᄋᄌ", "ᄌᄌ", "ᄌᄀ"]
    assert text.initial_tokens("K-pop") == []


@pytest.mark.parametrize(
    ("q", "terms"),
    [
        ("음악", [(("음악",), False)]),
        ("음악을", [(("음악", "악을"), False)]),
        ("roy", [(("roy",), True)]),
        ("id", [(("id",), False)]),
        ('"음악 저작권"', [(("음악", "저작", "작권"), False)]),
        ("+okcow -x", [(("okcow",), True), (("x",), False)]),
        ("음악 음악", [(("음악",), False)]),
    ],
)
def test_a_search_becomes_terms(q, terms):
    query = text.parse(q, max_terms=8)
    assert [(t.tokens, t.prefix) for t in query.terms] == terms


def test_one_syllable_words_are_left_out_and_listed():
    query = text.parse("김 부장 음", max_terms=8)
    assert [t.text for t in query.terms] == ["부장"] and query.too_short == ["김", "음"]


def test_initial_consonant_words_are_marked_as_such():
    (term,) = text.parse("ㅇㅇ", max_terms=8).terms
    assert term.initials and term.tokens == ("ᄋᄋ",)


def test_highlights_mark_what_matched_and_escape_the_rest():
    terms = text.parse("음악 ㅎㄱ", max_terms=8).terms
    spans = text.match_spans("<음악> 후기", terms, initials=True)
    assert text.highlight("<음악> 후기", spans) == "&lt;<mark>음악</mark>&gt; <mark>후기</mark>"


def test_an_excerpt_is_around_the_first_match():
    terms = text.parse("quokka", max_terms=8).terms
    found = text.excerpt("lorem " * 100 + "a quokka here " + "ipsum " * 100, terms)
    assert "a <mark>quokka</mark> here" in found
    assert found.startswith("…") and found.endswith("…") and len(found) < 250


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("dkssud", "안녕"),
        ("dmadkr", "음악"),
        ("dkssudgktpdy", "안녕하세요"),
        ("ekfrdl", "닭이"),
        ("tjdnf dhksfy", "서울 완료"),
        ("RKQT", None),
        ("hello", None),
        ("k-pop", None),
    ],
)
def test_qwerty_typing_read_as_the_korean_layout(typed, meant):
    assert keyboard.qwerty_to_hangul(typed) == meant


def test_korean_layout_typing_read_as_english():
    assert keyboard.hangul_to_qwerty("ㅗ디ㅣㅐ") == "hello"
    assert keyboard.hangul_to_qwerty("안녕") == "dkssud"
    assert keyboard.hangul_to_qwerty("hello") is None
