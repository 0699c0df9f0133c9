"""A newcomer's first visit, in a real browser: sign up, log in, history, password, log in again."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_log_in_see_history_change_password_log_in_again(page: Page, live_server):
    base = live_server.url
    page.goto(base)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("김철수")
    page.get_by_label("Email").fill("chulsoo@example.com")
    page.get_by_label("Password", exact=True).fill("plum-tree-harbour-77")
    page.get_by_label("Password again").fill("plum-tree-harbour-77")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Welcome to okcow, 김철수!")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()

    log_in(page, base, "김철수", "plum-tree-harbour-77")
    page.get_by_role("link", name="김철수").click()
    history = page.get_by_role("table", name="Log-in history")
    expect(history.get_by_role("row")).to_have_count(3)  # header + sign-up + this log-in
    expect(history).to_contain_text("127.0.0.1")

    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill("plum-tree-harbour-77")
    page.get_by_label("New password", exact=True).fill("violet-canyon-echo-31")
    page.get_by_label("New password confirmation").fill("violet-canyon-echo-31")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "김철수", "plum-tree-harbour-77")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    log_in(page, base, "김철수", "violet-canyon-echo-31")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="김철수")).to_be_visible()


def test_sign_up_errors_appear_next_to_their_fields(page: Page, live_server):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Username").fill("someone")
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Password again").fill("different")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("This password is too common.")).to_be_visible()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    expect(page.get_by_label("Password again")).to_have_attribute("aria-invalid", "true")
