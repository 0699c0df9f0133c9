"""Staff deleting someone else's post or comment is moderation: a reason, and a ModerationAction
row like a hide. Authors delete their own without either; members cannot delete others'."""

import pytest
from django.test import Client
from django.urls import reverse

from board import services
from board.models import Category, Comment, ModerationAction, Post
from tests.factories import AdminFactory, make_comment, make_post

pytestmark = pytest.mark.django_db

REQUIRED = "This field is required."


def post_delete(client, post, **data):
    """Delete, confirmed (as the confirmation page, or the button with JavaScript, sends it)."""
    return client.post(reverse("board:post_delete", args=[post.pk]), {"confirm": "yes", **data})


def comment_delete(client, comment, **data):
    url = reverse("board:comment_delete", args=[comment.pk])
    return client.post(url, {"confirm": "yes", **data})


def assert_reason_asked(response, url):
    """The confirmation page again, 400, with the error next to its reason field and a form that
    posts back to the delete URL."""
    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": [REQUIRED]}
    body = response.content.decode()
    assert response.request["PATH_INFO"] == url
    assert f'<form method="post" action="{url}"' in body and 'name="reason"' in body
    assert REQUIRED in body


# --- Posts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_staff_deleting_someone_elses_post_without_a_reason_is_asked_for_one(
    client, staff, post, reason
):
    client.force_login(staff)
    data = {} if reason is None else {"reason": reason}
    response = post_delete(client, post, **data)
    assert_reason_asked(response, reverse("board:post_delete", args=[post.pk]))
    post.refresh_from_db()
    assert post.is_active and post.hidden_reason == ""
    assert not ModerationAction.objects.exists()


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_deleting_someone_elses_post_with_a_reason_records_a_delete(
    client, post, staff, role, django_capture_on_commit_callbacks
):
    moderator = staff if role == "staff" else AdminFactory()
    client.force_login(moderator)
    assert client.get(reverse("board:post", args=[post.pk])).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = post_delete(client, post, reason="spam link")
    assert response.status_code == 302 and response.url == reverse("board:index")
    post.refresh_from_db()
    assert not post.is_active and post.hidden_reason == "spam link"
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.post, action.comment, action.reason) == (
        ModerationAction.Action.DELETE,
        moderator,
        post,
        None,
        "spam link",
    )
    assert Category.objects.get(pk=post.category_id).post_count == 0
    # gone for people; staff still see it, marked hidden, to restore it
    assert client.get(reverse("board:post", args=[post.pk])).context["hidden"] is True
    assert Client().get(reverse("board:post", args=[post.pk])).status_code == 404
    log = client.get(reverse("board:moderation_log")).content.decode()
    assert '<span class="badge danger">Delete</span>' in log and "spam link" in log
    assert f'<a href="{reverse("board:post", args=[post.pk])}">{post.title}</a>' in log


def test_staff_may_delete_someone_elses_post_that_has_comments(client, staff, post):
    make_comment(post=post)
    client.force_login(staff)
    assert post_delete(client, post, reason="off topic").status_code == 302
    assert not Post.objects.get(pk=post.pk).is_active
    assert ModerationAction.objects.get().action == ModerationAction.Action.DELETE


def test_the_service_refuses_a_staff_delete_without_a_reason(staff, post):
    with pytest.raises(ValueError, match="reason"):
        services.delete_post(user=staff, post_id=post.pk, reason=" ")
    assert Post.objects.get(pk=post.pk).is_active
    assert not ModerationAction.objects.exists()


@pytest.mark.parametrize("author_fixture", ["user", "staff"])
def test_an_author_deletes_their_own_post_without_a_reason_or_a_record(
    client, request, sub, author_fixture
):
    author = request.getfixturevalue(author_fixture)
    post = make_post(author=author, category=sub)
    client.force_login(author)
    assert post_delete(client, post).status_code == 302
    post.refresh_from_db()
    assert not post.is_active and post.hidden_reason == ""
    assert not ModerationAction.objects.exists()


@pytest.mark.parametrize("data", [{}, {"reason": "I do not like it"}])
def test_a_member_cannot_delete_someone_elses_post(client, other, post, data):
    client.force_login(other)
    assert post_delete(client, post, **data).status_code == 403
    assert Post.objects.get(pk=post.pk).is_active
    assert not ModerationAction.objects.exists()


# --- Comments ------------------------------------------------------------------------------------


@pytest.fixture
def comment(post, other):
    return make_comment(post=post, author=other, content="rude words")


@pytest.mark.parametrize("reason", [None, "  "])
def test_staff_deleting_someone_elses_comment_without_a_reason_is_asked_for_one(
    client, staff, comment, reason
):
    client.force_login(staff)
    data = {} if reason is None else {"reason": reason}
    response = comment_delete(client, comment, **data)
    assert_reason_asked(response, reverse("board:comment_delete", args=[comment.pk]))
    assert Comment.objects.get(pk=comment.pk).is_active
    assert Post.objects.get(pk=comment.post_id).comment_count == 1
    assert not ModerationAction.objects.exists()


def test_staff_deleting_someone_elses_comment_with_a_reason_records_a_delete(
    client, staff, comment, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = comment_delete(client, comment, reason="insults")
    assert response.status_code == 302
    assert response.url == reverse("board:post", args=[comment.post_id])
    comment.refresh_from_db()
    assert not comment.is_active and comment.hidden_reason == "insults"
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.comment, action.post, action.reason) == (
        ModerationAction.Action.DELETE,
        staff,
        comment,
        None,
        "insults",
    )
    assert Post.objects.get(pk=comment.post_id).comment_count == 0
    page = client.get(reverse("board:post", args=[comment.post_id])).content.decode()
    assert "rude words" not in page


def test_an_author_deletes_their_own_comment_without_a_reason_or_a_record(client, other, comment):
    client.force_login(other)
    assert comment_delete(client, comment).status_code == 302
    comment.refresh_from_db()
    assert not comment.is_active and comment.hidden_reason == ""
    assert not ModerationAction.objects.exists()


@pytest.mark.parametrize("data", [{}, {"reason": "I do not like it"}])
def test_a_member_cannot_delete_someone_elses_comment(client, user, comment, data):
    client.force_login(user)  # the post's author, not the comment's
    assert comment_delete(client, comment, **data).status_code == 403
    assert Comment.objects.get(pk=comment.pk).is_active
    assert not ModerationAction.objects.exists()


# --- The buttons on the post page ----------------------------------------------------------------


def test_staff_see_delete_beside_hide_for_others_content_and_members_do_not(
    client, staff, other, comment
):
    post = comment.post
    post_url = reverse("board:post_delete", args=[post.pk])
    comment_url = reverse("board:comment_delete", args=[comment.pk])
    page_url = reverse("board:post", args=[post.pk])

    client.force_login(staff)
    body = client.get(page_url).content.decode()
    assert f'class="button danger" formaction="{post_url}"' in body
    assert f'class="button small danger" formaction="{comment_url}"' in body

    client.force_login(other)  # wrote the comment, not the post
    body = client.get(page_url).content.decode()
    assert post_url not in body and "Delete post" not in body
    assert f'href="{comment_url}"' in body and "formaction" not in body

    client.force_login(post.author)
    body = client.get(page_url).content.decode()
    assert f'href="{comment_url}"' not in body and "formaction" not in body
