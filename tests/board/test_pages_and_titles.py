"""Lists answer a page that does not exist with the site's 404, never quietly page 1; a search
says what it searched for; counts read as words (1 post, 2 posts)."""

import pytest
from django.urls import reverse

from board import services
from tests.factories import SubCategoryFactory, UserFactory, make_comment, make_post

# The search index is not transactional on MariaDB (Mroonga): each test commits and is flushed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lists(django_capture_on_commit_callbacks):
    sub = SubCategoryFactory(name="음악 이야기")
    with django_capture_on_commit_callbacks(execute=True):  # the search index, after commits
        for n in range(21):  # two pages
            make_post(category=sub, title=f"음악 {n}")
    return {
        "board list": reverse("board:index"),
        "board": reverse("board:category", args=[sub.parent.slug]),
        "category": reverse("board:category", args=[sub.slug]),
        "search": reverse("board:index") + "?q=음악",
        "search in a category": reverse("board:category", args=[sub.slug]) + "?q=음악",
    }


def with_page(url: str, page: str) -> str:
    return url + ("&" if "?" in url else "?") + f"page={page}"


def test_every_list_has_its_pages_and_a_404_past_the_last(client, lists):
    for name, url in lists.items():
        assert client.get(url).status_code == 200, name
        assert client.get(with_page(url, "1")).status_code == 200, name
        second = client.get(with_page(url, "2"))
        assert second.status_code == 200 and "page 2 of 2" in second.content.decode(), name
        response = client.get(with_page(url, "3"))
        assert response.status_code == 404, name
        assert "Page not found" in response.content.decode(), name  # the site's own 404 page
        assert client.get(with_page(url, "999")).status_code == 404, name


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "\uff12", "99999999999999999999"])
def test_a_page_that_is_not_a_page_number_is_a_404(client, lists, page):
    for name, url in lists.items():
        assert client.get(with_page(url, page)).status_code == 404, (name, page)


def test_an_empty_list_still_has_its_first_page(client):
    assert client.get(reverse("board:index")).status_code == 200
    assert client.get(reverse("board:index"), {"page": ""}).status_code == 200
    assert client.get(reverse("board:index"), {"page": "2"}).status_code == 404
    assert client.get(reverse("board:index"), {"q": "없는단어"}).status_code == 200


def test_my_log_in_history_pages_404_past_the_last_and_for_non_numbers(user_client):
    assert user_client.get(reverse("accounts:me")).status_code == 200
    assert user_client.get(reverse("accounts:me"), {"page": "1"}).status_code == 200
    for page in ["2", "abc", "0"]:
        assert user_client.get(reverse("accounts:me"), {"page": page}).status_code == 404, page


def test_a_search_is_titled_by_what_was_searched(client, lists):
    body = client.get(lists["search"]).content.decode()
    assert "<title>Search: 음악 · " in body and "<h1>Search: 음악</h1>" in body
    body = client.get(lists["search in a category"]).content.decode()
    assert "<h1>Search in 음악 이야기: 음악</h1>" in body
    body = client.get(lists["search"], HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    quoted = "\u2018음악\u2019"  # in curly single quotes
    assert f"<title>{quoted} 검색 결과 · " in body and f"<h1>{quoted} 검색 결과</h1>" in body
    assert "<title>Board · " in client.get(lists["board list"]).content.decode()


def test_one_of_a_thing_is_counted_in_the_singular(client, django_capture_on_commit_callbacks):
    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        post = make_post(author=author, title="음악 하나", content="음악")
        make_comment(post=post, content="댓글")
        services.vote_post(user=author, post_id=post.pk)
    pages = [
        client.get(reverse("board:index")).content.decode(),
        client.get(reverse("board:index"), {"q": "음악"}).content.decode(),
        client.get(reverse("board:post", args=[post.pk])).content.decode(),
    ]
    assert "1 post ·" in pages[0] and "1 result ·" in pages[1]
    assert "1 comment · 1 vote" in pages[1] and "1 vote<" in pages[2]
    for body in pages:
        for wrong in ("1 posts", "1 results", "1 comments", "1 votes"):
            assert wrong not in body
