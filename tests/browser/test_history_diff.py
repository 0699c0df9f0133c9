"""The history page on a phone: a Korean edit reads as marked syllables, and nothing widens it."""

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from board import services
from tests.factories import UserFactory, make_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_korean_edit_shows_inline_at_390_px(browser: Browser, live_server):
    author = UserFactory(username="김철수")
    post = make_post(author=author, title="음악 이야기", content="나는 음악을 좋아해요. " * 20)
    services.edit_post(
        user=author,
        post_id=post.pk,
        category=post.category,
        title="음악 이야기",
        content="나는 음악이 좋아해요. "
        + "나는 음악을 좋아해요. " * 19
        + "https://example.com/"
        + "a" * 200,
    )
    context = browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + reverse("board:post_history", args=[post.pk]))

    expect(page.get_by_role("heading", name="버전 1")).to_be_visible()
    second = page.locator("section.version", has=page.get_by_role("heading", name="버전 2"))
    deleted, added = second.locator("del").first, second.locator("ins").first
    expect(deleted).to_have_text("삭제: 을")  # the label is read aloud, not shown
    expect(added).to_have_text("추가: 이")
    assert added.get_by_text("추가:").bounding_box()["width"] <= 1  # visually hidden
    colours = {
        part: page.evaluate("e => getComputedStyle(e).backgroundColor", locator.element_handle())
        for part, locator in (("del", deleted), ("ins", added), ("kept", second.locator(".diff")))
    }
    assert len(set(colours.values())) == 3, colours  # deleted, added and kept look different
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
