"""Logged out, pressing Vote goes to the log-in page and, after it, back to the post — the log-in
page is never swapped into the post."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory, make_post

pytestmark = pytest.mark.django_db(transaction=True)


def test_voting_logged_out_leads_to_the_login_and_back(page, live_server):
    post = make_post(title="Vote for me")
    UserFactory(username="voter")
    post_url = f"{live_server.url}/board/p/{post.pk}/"
    page.goto(post_url)
    page.get_by_role("button", name="Vote for this post").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fboard%2Fp%2F"))
    expect(page.locator("form.vote")).to_have_count(0)  # a whole page, not a post with a form in it
    expect(page.locator("h1")).to_have_count(1)
    page.get_by_label("Username or email").fill("voter")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(post_url)
    expect(page.get_by_role("heading", name="Vote for me")).to_be_visible()
