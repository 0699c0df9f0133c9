"""A search is text, never query syntax: operators, wildcards and SQL only separate words
(board.search.text.parse), on SQLite's FTS5 and MariaDB's Mroonga alike."""

import pytest
from django.urls import reverse

from board import selectors
from board.models import Post
from tests.factories import SubCategoryFactory, make_post

ODD = [
    "-1",
    "+okcow",
    "+a +b",
    "okcow-",
    "-okcow",
    "%",
    "\x00",
    "x'); DROP TABLE board_post;--",
    '"unbalanced',
    "a*",
    "~x",
    "@2",
    "(",
    ")",
    "<>",
]
ONLY_OPERATORS = ["%", "(", ")", "<>", '"', "+-*~@", "'); --", "_"]
NO_WORD = "Type a word to search for: letters or digits."


def list_urls(sub):
    return [
        reverse("board:index"),
        reverse("board:category", args=[sub.slug]),
        reverse("board:category", args=[sub.parent.slug]),
    ]


# --- Through the pages ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("q", ODD)
def test_odd_input_answers_200_on_every_list_and_deletes_nothing(client, q):
    sub = SubCategoryFactory()
    post = make_post(category=sub, title="okcow release notes")
    for url in list_urls(sub):
        response = client.get(url, {"q": q})
        assert response.status_code == 200, url
    assert list(Post.objects.values_list("pk", "is_active")) == [(post.pk, True)]


@pytest.mark.django_db(transaction=True)  # the search index is written after the commit
@pytest.mark.parametrize("q", ["+okcow", "okcow-", "-okcow", '"okcow', "okcow*", "(okcow)"])
def test_operators_are_dropped_and_the_words_still_find_the_post(client, q):
    sub = SubCategoryFactory()
    hit = make_post(category=sub, title="okcow release notes", content="what changed")
    miss = make_post(category=sub, title="Something else", content="nothing here")
    for url in list_urls(sub):
        response = client.get(url, {"q": q})
        body = response.content.decode()
        assert response.status_code == 200
        assert reverse("board:post", args=[hit.pk]) in body, url
        assert reverse("board:post", args=[miss.pk]) not in body, url
        assert response.context["page"].total == 1
        assert response.context["search_error"] is None


@pytest.mark.django_db(transaction=True)
def test_several_words_with_operators_between_them_must_all_match(client):
    sub = SubCategoryFactory()
    both = make_post(category=sub, title="okcow release", content="royalty notes")
    make_post(category=sub, title="okcow only", content="nothing")
    for q in ["+okcow +royalty", "okcow-royalty", '"okcow" (royalty)', "okcow;royalty--"]:
        page = client.get(reverse("board:index"), {"q": q}).context["page"]
        assert [h.post.pk for h in page.items] == [both.pk], q


@pytest.mark.django_db
@pytest.mark.parametrize("q", ONLY_OPERATORS)
def test_a_search_without_a_word_says_so_next_to_the_field(client, q):
    sub = SubCategoryFactory()
    make_post(category=sub, title="okcow release notes")
    for url in list_urls(sub):
        response = client.get(url, {"q": q})
        assert response.status_code == 200
        body = response.content.decode()
        assert 'aria-invalid="true" aria-describedby="q-error"' in body
        assert f'<p id="q-error" class="errorlist" role="alert">{NO_WORD}</p>' in body
        assert response.context["page"].items == []


@pytest.mark.django_db
def test_control_characters_alone_are_no_search_at_all(client):
    make_post(title="okcow release notes")
    response = client.get(reverse("board:index"), {"q": "\x00\x01\x1b"})
    assert response.status_code == 200
    assert response.context["q"] == "" and response.context["search_error"] is None
    assert "okcow release notes" in response.content.decode()  # the plain list


@pytest.mark.django_db(transaction=True)
def test_an_overlong_search_is_cut_to_its_bound_and_still_answers(client):
    sub = SubCategoryFactory()
    hit = make_post(category=sub, title="okcow release notes")
    for url in list_urls(sub):
        response = client.get(url, {"q": "okcow " * 1000})
        assert response.status_code == 200
        assert len(response.context["q"]) <= selectors.SEARCH_MAX_LENGTH
        assert [h.post.pk for h in response.context["page"].items] == [hit.pk]
    for q in ["x" * 5000, "+-" * 2500, "a " * 2500]:
        assert client.get(reverse("board:index"), {"q": q}).status_code == 200


# --- The selectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("-1", ["1"]),
        ("+okcow", ["okcow"]),
        ("+a +b", ["a", "b"]),
        ("okcow-", ["okcow"]),
        ("-okcow", ["okcow"]),
        ('"unbalanced', ["unbalanced"]),
        ("a*", ["a"]),
        ("~x", ["x"]),
        ("@2", ["2"]),
        ("x'); DROP TABLE board_post;--", ["x", "DROP", "TABLE", "board", "post"]),
        ("okcow-release+notes", ["okcow", "release", "notes"]),
        ("안녕하세요 세계", ["안녕하세요", "세계"]),
        ("café <au> lait", ["café", "au", "lait"]),
    ],
)
def test_search_words_keeps_words_and_drops_operators(q, words):
    assert selectors.search_words(q) == words


@pytest.mark.parametrize("q", ["%", "\x00", "(", ")", "<>", '"', "+-*~@<>()", "_", "", "   "])
def test_search_words_finds_no_word_in_operators_alone(q):
    assert selectors.search_words(q) == []


def test_search_words_keeps_at_most_eight_words():
    words = [f"w{n}" for n in range(20)]
    assert selectors.search_words(" ".join(words)) == words[: selectors.SEARCH_MAX_WORDS]
    assert selectors.SEARCH_MAX_WORDS == 8


def test_search_text_drops_control_characters_and_is_bounded():
    assert selectors.search_text("\x00okcow\x1b ") == "okcow"
    # Spaces of every kind (ideographic from a Korean keyboard, no-break, tab) and control
    # characters separate words rather than joining them.
    for space in ["\u3000", "\u00a0", "\t", "\x00", "\n"]:
        assert selectors.search_text(f"okcow{space}release") == "okcow release"
    assert selectors.search_text("+okcow -x") == "+okcow -x"  # text as typed; words come later
    for q in ["x" * 5000, "okcow " * 1000, "\x00" * 5000 + "y" * 5000]:
        assert len(selectors.search_text(q)) <= selectors.SEARCH_MAX_LENGTH == 200


@pytest.mark.django_db
@pytest.mark.parametrize("q", [*ONLY_OPERATORS, "\x00%"])
def test_search_refuses_a_search_without_a_word(q):
    with pytest.raises(selectors.SearchError, match="Type a word"):
        selectors.search(q=q)
