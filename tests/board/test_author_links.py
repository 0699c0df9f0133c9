"""A person's name links to their profile wherever the board shows it; a deleted person's does
not (their profile is gone)."""

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from board import services
from tests.factories import UserFactory, make_comment, make_post

# The search index is not transactional on MariaDB (Mroonga): each test commits and is flushed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the search index, after commits
        author, reader = UserFactory(username="김철수"), UserFactory(username="이영희")
        post = make_post(author=author, title="음악 이야기", content="음악을 좋아해요")
        services.edit_post(
            user=author, post_id=post.pk, category=post.category, title="음악", content="음악!"
        )
        comment = make_comment(post=post, author=reader, content="음악 추천해요")
    return {"author": author, "reader": reader, "post": post, "comment": comment}


def link(name: str) -> str:
    return f'<a class="person" href="{reverse("accounts:profile", args=[name])}">{name}</a>'


def pages(w) -> dict[str, str]:
    post, comment = w["post"], w["comment"]
    return {
        "list": reverse("board:index"),
        "category": reverse("board:category", args=[post.category.slug]),
        "post": reverse("board:post", args=[post.pk]),
        "history": reverse("board:post_history", args=[post.pk]),
        "comment history": reverse("board:comment_history", args=[comment.pk]),
        "search": reverse("board:index") + "?q=음악",
    }


def test_authors_link_to_their_profiles_on_every_board_page(client, world):
    for name, url in pages(world).items():
        body = client.get(url).content.decode()
        shown = "이영희" if name == "comment history" else "김철수"
        assert link(shown) in body, name
    assert link("이영희") in client.get(pages(world)["post"]).content.decode()  # the comment's
    assert client.get(reverse("accounts:profile", args=["김철수"])).status_code == 200


def test_the_comment_edit_page_links_the_editor(client, world):
    client.force_login(world["reader"])
    body = client.get(reverse("board:comment_edit", args=[world["comment"].pk])).content
    assert link("이영희") in body.decode()


def test_a_deleted_person_is_named_but_not_linked(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.delete_account(user=world["author"])
    for name, url in pages(world).items():
        if name == "comment history":
            continue
        body = client.get(url).content.decode()
        assert '<span class="person">deleted user</span>' in body, name
        assert f"/accounts/u/deleted-{world['author'].pk}/" not in body, name
