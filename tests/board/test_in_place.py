"""What changes in place on a post page: the comment count and the author's buttons after a
comment, comment votes that show they were cast, deletions that ask first, hidden posts that
their author and staff still see, and a moderation log that links to what was moderated."""

import pytest
from django.test import Client
from django.urls import reverse

from board import services
from board.models import Comment, ModerationAction, Post
from tests.factories import UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


# --- After a comment in place --------------------------------------------------------------------


def test_the_authors_comment_updates_the_count_and_takes_away_delete(user_client, post):
    delete_url = reverse("board:post_delete", args=[post.pk])
    page = user_client.get(reverse("board:post", args=[post.pk])).content.decode()
    assert f'href="{delete_url}"' in page and "Comments (0)" in page
    response = user_client.post(
        reverse("board:comment_create", args=[post.pk]), {"content": "first!"}, headers=HTMX
    )
    body = response.content.decode()
    assert '<h2 id="comment-count" hx-swap-oob="true">Comments (1)</h2>' in body
    actions = body.split('id="author-actions" hx-swap-oob="true"')[1].split("</div>")[0]
    assert delete_url not in actions
    assert "A post with comments cannot be deleted." in actions
    assert "first!" in body


def test_someone_elses_comment_updates_the_count_only(client, other, post):
    client.force_login(other)
    body = client.post(
        reverse("board:comment_create", args=[post.pk]), {"content": "hi"}, headers=HTMX
    ).content.decode()
    assert "Comments (1)" in body and "author-actions" not in body


# --- Comment votes -------------------------------------------------------------------------------


def test_a_comment_vote_shows_it_was_cast_and_taken_back(client, other, post):
    comment = make_comment(post=post)
    client.force_login(other)
    url = reverse("board:comment_vote", args=[comment.pk])
    body = client.post(url, headers=HTMX).content.decode()
    assert 'aria-pressed="true"' in body and "Voted" in body
    page = client.get(reverse("board:post", args=[post.pk])).content.decode()
    assert 'aria-pressed="true" aria-label="Take back your vote for this comment"' in page
    body = client.post(url, headers=HTMX).content.decode()
    assert 'aria-pressed="false"' in body


# --- Deleting asks first -------------------------------------------------------------------------


def test_the_delete_buttons_are_danger_and_ask(user_client, post):
    make_comment(post=post, author=post.author)
    post2 = make_post(author=post.author, category=post.category)
    page = user_client.get(reverse("board:post", args=[post2.pk])).content.decode()
    delete = page.split('class="button danger"')[1].split(">")[0]
    assert 'hx-confirm="Delete this post? You cannot bring it back."' in delete
    assert """hx-vals='{"confirm": "yes"}'""" in delete


@pytest.mark.parametrize("method", ["get", "post"])
def test_without_javascript_a_confirmation_page_comes_first(user_client, post, method):
    url = reverse("board:post_delete", args=[post.pk])
    response = getattr(user_client, method)(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete this post?" in body and post.title in body
    assert 'name="confirm" value="yes"' in body and 'class="button danger"' in body
    assert f'href="{reverse("board:post", args=[post.pk])}">Cancel</a>' in body
    assert Post.objects.get(pk=post.pk).is_active


def test_confirmed_it_deletes_and_htmx_is_sent_on(user_client, post, other):
    comment = make_comment(post=make_post(author=other), author=post.author)
    url = reverse("board:comment_delete", args=[comment.pk])
    response = user_client.post(url, {"confirm": "yes"}, headers=HTMX)
    assert response["HX-Redirect"] == reverse("board:post", args=[comment.post_id])
    assert not Comment.objects.get(pk=comment.pk).is_active
    response = user_client.post(reverse("board:post_delete", args=[post.pk]), {"confirm": "yes"})
    assert response.status_code == 302 and not Post.objects.get(pk=post.pk).is_active


def test_staff_confirm_with_the_reason_they_typed(client, staff, post):
    client.force_login(staff)
    url = reverse("board:post_delete", args=[post.pk])
    body = client.post(url, {"reason": "spam"}).content.decode()  # the button, no JavaScript
    assert 'name="reason"' in body and 'value="spam"' in body
    assert Post.objects.get(pk=post.pk).is_active
    client.post(url, {"reason": "spam", "confirm": "yes"})
    assert ModerationAction.objects.get().reason == "spam"


def test_the_author_of_a_post_with_comments_gets_a_403_not_a_confirmation(user_client, post):
    make_comment(post=post)
    assert user_client.get(reverse("board:post_delete", args=[post.pk])).status_code == 403


# --- Hidden posts --------------------------------------------------------------------------------


@pytest.fixture
def hidden(post, staff):
    services.moderate_post(moderator=staff, post_id=post.pk, hide=True, reason="off topic")
    return post


def test_the_author_sees_their_hidden_post_with_a_notice(user_client, hidden):
    response = user_client.get(reverse("board:post", args=[hidden.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Moderators hid this post: “off topic”." in body
    assert "Restore" not in body and "comment-form" not in body and 'form class="vote"' not in body


def test_staff_see_it_and_restore_it_in_place(client, staff, hidden):
    client.force_login(staff)
    url = reverse("board:post", args=[hidden.pk])
    body = client.get(url).content.decode()
    assert 'id="hidden-notice"' in body and 'value="restore"' in body
    response = client.post(
        reverse("board:post_moderate", args=[hidden.pk]),
        {"action": "restore", "reason": "fine after all", "next": url},
    )
    assert response.status_code == 302 and response.url == url
    assert Post.objects.get(pk=hidden.pk).is_active


def test_a_foreign_next_is_ignored(client, staff, hidden):
    client.force_login(staff)
    response = client.post(
        reverse("board:post_moderate", args=[hidden.pk]),
        {"action": "restore", "reason": "ok", "next": "https://evil.example/"},
    )
    assert response.url == reverse("board:moderation_log")


def test_others_still_get_a_404(client, other, hidden):
    assert Client().get(reverse("board:post", args=[hidden.pk])).status_code == 404
    client.force_login(other)
    assert client.get(reverse("board:post", args=[hidden.pk])).status_code == 404


def test_a_post_its_author_deleted_is_gone_for_them_too(user_client, post):
    services.delete_post(user=post.author, post_id=post.pk)
    assert user_client.get(reverse("board:post", args=[post.pk])).status_code == 404


# --- The moderation log --------------------------------------------------------------------------


def test_the_log_links_to_what_was_moderated_and_who_did_it(client, staff, post, other):
    comment = make_comment(post=post, author=other, content="rude words here")
    services.moderate_comment(moderator=staff, comment_id=comment.pk, hide=True, reason="rude")
    client.force_login(staff)
    body = client.get(reverse("board:moderation_log")).content.decode()
    anchor = f"{reverse('board:post', args=[post.pk])}#comment-{comment.pk}"
    assert f'<a href="{anchor}">rude words here</a>' in body
    assert f'href="{reverse("accounts:profile", args=[staff.username])}"' in body
    assert f"a comment on “{post.title}”" in body
    assert "comment " + str(comment.pk) not in body


def test_the_log_has_pages(client, staff, sub):
    author = UserFactory()
    for n in range(51):
        p = make_post(author=author, category=sub, title=f"p{n}")
        services.moderate_post(moderator=staff, post_id=p.pk, hide=True, reason="r")
    client.force_login(staff)
    assert len(client.get(reverse("board:moderation_log")).context["page"].object_list) == 50
    second = client.get(reverse("board:moderation_log"), {"page": "2"})
    assert len(second.context["page"].object_list) == 1
    assert client.get(reverse("board:moderation_log"), {"page": "3"}).status_code == 404


def test_staff_have_a_nav_entry_and_members_do_not(client, staff, other):
    url = reverse("board:moderation_log")
    client.force_login(staff)
    assert f'<a href="{url}"' in client.get(reverse("board:index")).content.decode()
    client.force_login(other)
    assert f'<a href="{url}"' not in client.get(reverse("board:index")).content.decode()
