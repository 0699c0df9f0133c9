"""A renamed or deleted author shows with the new name at once on every cached board page: the
post, the posts they commented on, the lists, their profile."""

import pytest
from django.urls import reverse

from accounts import services as accounts
from tests.factories import UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(client):
    author = UserFactory(username="oldname")
    own = make_post(author=author, title="Own post")
    elsewhere = make_post(title="Someone else's post")
    make_comment(post=elsewhere, author=author, content="A comment")
    urls = [
        reverse("board:post", args=[own.pk]),
        reverse("board:post", args=[elsewhere.pk]),
        reverse("board:index"),
        reverse("accounts:profile", args=["oldname"]),
    ]
    for url in urls:  # every page is cached now, with the old name
        assert "oldname" in client.get(url).content.decode()
    return author, urls[:3]


def test_a_rename_shows_at_once(client, pages, django_capture_on_commit_callbacks):
    author, urls = pages
    with django_capture_on_commit_callbacks(execute=True):
        accounts.update_profile(user=author, username="newname", email=author.email, bio="")
    for url in urls:
        body = client.get(url).content.decode()
        assert "newname" in body and "oldname" not in body, url
    assert client.get(reverse("accounts:profile", args=["newname"])).status_code == 200


def test_a_deleted_author_shows_as_deleted_at_once(
    client, pages, django_capture_on_commit_callbacks
):
    author, urls = pages
    with django_capture_on_commit_callbacks(execute=True):
        accounts.delete_account(user=author)
    for url in urls:
        body = client.get(url).content.decode()
        assert "oldname" not in body and "deleted user" in body, url


def test_saving_anything_else_keeps_the_cache(pages, django_capture_on_commit_callbacks):
    author, _ = pages
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        author.last_login = author.date_joined
        author.save(update_fields=["last_login"])
    assert callbacks == []
