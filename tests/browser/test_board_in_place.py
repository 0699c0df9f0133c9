"""At a phone and a desktop: a comment updates the count and takes away Delete post without a
reload; deleting asks first; a hidden post shows its notice to staff, who restore it there."""

import re

import pytest
from playwright.sync_api import expect

from board import services
from tests.factories import PASSWORD, StaffFactory, SubCategoryFactory, UserFactory, make_post

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(browser, live_server, username, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*login)"))
    return context, page


@pytest.mark.parametrize("width", [390, 1280])
def test_comment_in_place_then_delete_with_confirmation(live_server, browser, width):
    author = UserFactory(username="writer")
    post = make_post(author=author, category=SubCategoryFactory(), title="In place")
    second = make_post(author=author, category=post.category, title="To delete")
    context, page = _log_in(browser, live_server, "writer", width)

    page.goto(f"{live_server.url}/board/p/{post.pk}/")
    expect(page.get_by_role("link", name="Delete post")).to_be_visible()
    page.get_by_role("textbox", name="Comment").fill("my own first comment")
    page.get_by_role("button", name="Comment").click()
    expect(page.get_by_role("heading", name="Comments (1)")).to_be_visible()
    expect(page.get_by_role("link", name="Delete post")).to_have_count(0)
    expect(page.get_by_text("A post with comments cannot be deleted.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{live_server.url}/board/p/{second.pk}/")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("link", name="Delete post").click()
    expect(page.get_by_role("heading", name="To delete")).to_be_visible()  # dismissed: still here
    assert asked == ["Delete this post? You cannot bring it back."]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Delete post").click()
    expect(page.get_by_text("The post was deleted.")).to_be_visible()
    context.close()


def test_without_javascript_deleting_shows_a_confirmation_page(live_server, browser):
    author = UserFactory(username="nojs")
    post = make_post(author=author, category=SubCategoryFactory(), title="No script")
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("nojs")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/board/p/{post.pk}/")
    page.get_by_role("link", name="Delete post").click()
    expect(page.get_by_role("heading", name="Delete this post?")).to_be_visible()
    page.get_by_role("button", name="Delete post").click()
    expect(page.get_by_text("The post was deleted.")).to_be_visible()
    context.close()


def test_staff_see_a_hidden_post_and_restore_it_in_place(live_server, browser):
    staff = StaffFactory(username="mod")
    post = make_post(category=SubCategoryFactory(), title="Hidden one")
    services.moderate_post(moderator=staff, post_id=post.pk, hide=True, reason="spam")
    context, page = _log_in(browser, live_server, "mod", 390)
    page.goto(f"{live_server.url}/board/p/{post.pk}/")
    expect(page.get_by_text("Moderators hid this post: “spam”.")).to_be_visible()
    page.get_by_label("Reason to restore").fill("not spam")
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(f"{live_server.url}/board/p/{post.pk}/")
    expect(page.locator("#hidden-notice")).to_have_count(0)
    expect(page.get_by_role("button", name="Vote for this post")).to_be_visible()
    page.get_by_role("link", name="Moderation").click()
    expect(page.get_by_role("link", name="Hidden one").first).to_be_visible()
    context.close()
