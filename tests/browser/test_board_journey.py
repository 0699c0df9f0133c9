"""A member's journey through the board in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, SubCategoryFactory, UserFactory, make_comment

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_write_edit_history_comment_vote_search(page, live_server):
    SubCategoryFactory(name="tech")
    member = UserFactory(username="journey")
    log_in(page, live_server, member.username)

    page.goto(f"{live_server.url}/board/")
    page.get_by_role("link", name="Write a post").click()
    page.get_by_label("Title").fill("Playwright was here")
    page.get_by_label("Content").fill("First **draft**")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name="Playwright was here")).to_be_visible()
    post_url = page.url

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Content").fill("Second draft, much better")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Second draft, much better")).to_be_visible()

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Version 2")).to_be_visible()
    expect(page.locator("ins", has_text="much better")).to_be_visible()
    expect(page.locator("del", has_text="First **")).to_be_visible()

    page.goto(post_url)
    page.get_by_role("textbox", name="Comment").fill("A comment from the browser")
    page.get_by_role("button", name="Comment").click()
    expect(page.get_by_text("A comment from the browser")).to_be_visible()

    page.evaluate("window.__noReload = true")
    expect(page.get_by_text("0 votes")).to_be_visible()
    page.get_by_role("button", name="Vote for this post").click()
    expect(page.get_by_text("1 vote", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Take back vote")).to_be_visible()
    assert page.evaluate("window.__noReload") is True  # same document: no reload happened

    page.goto(f"{live_server.url}/board/")
    page.get_by_label("Search").fill("Playwright")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Playwright was here")).to_be_visible()


def test_author_of_a_commented_post_cannot_delete_it(page, live_server):
    from board.services import create_post

    author = UserFactory()
    post = create_post(user=author, category=SubCategoryFactory(), title="Keep me", content="x")
    make_comment(post=post)
    log_in(page, live_server, author.username)
    page.goto(f"{live_server.url}/board/p/{post.pk}/")
    expect(page.get_by_role("heading", name="Keep me")).to_be_visible()
    expect(page.get_by_role("button", name="Delete post")).to_have_count(0)
    expect(page.get_by_text("A post with comments cannot be deleted.")).to_be_visible()
    response = page.request.post(
        f"{live_server.url}/board/p/{post.pk}/delete/",
        headers={"X-CSRFToken": _csrf(page)},
    )
    assert response.status == 403
    page.goto(f"{live_server.url}/board/p/{post.pk}/")
    expect(page).to_have_title(re.compile("Keep me"))


def _csrf(page):
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
