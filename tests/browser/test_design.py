"""One design for every page, in a real browser: at a desktop (1280 px) and a phone (390 px) width,
in Korean and in English, no page scrolls sideways (not even with a long unbroken title or URL),
and no Korean page shows English.

With ``OKCOW_SCREENSHOTS=<folder>`` the same journey saves screenshots of the main pages there:
``make screenshots`` writes the ones the README shows (docs/screenshots)."""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from investments import market
from investments import services as money
from tests.factories import PASSWORD, make_comment, make_post
from tests.test_i18n import ALLOWED, build_korean_world, english_left

pytestmark = [pytest.mark.browser, pytest.mark.korean, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}
SCREENSHOTS = os.environ.get("OKCOW_SCREENSHOTS")
# The pages the README shows, by the name of their file.
SHOWN = {"board", "post", "fund", "market", "portfolio", "subscribe"}
LONG_URL = "https://example.com/" + "a" * 300
# Words on these pages that are a person's own (a link in a post), not the site's
OWN_WORDS = {"https", "example", "com", "a" * 300, "KOMCA", "M"}


@pytest.fixture
def world():
    w = build_korean_world()
    # What widens a careless page: an unbroken title and URL, a long comment word, a wide table.
    w["long_post"] = make_post(
        author=w["author"],
        category=w["sub"],
        title="아주긴제목" * 30,
        content=LONG_URL + "\n\n| 곡 | 저작권료 |\n|---|---|\n| 봄날 | 1,000원 |",
    )
    make_comment(post=w["long_post"], author=w["reader"], content="ㅋ" * 400)
    money.deposit(user=w["buyer"], amount=1_000_000)
    money.subscribe(user=w["buyer"], fund_id=w["fund"].pk, amount=200_000)
    market.place_order(user=w["buyer"], fund_id=w["fund"].pk, side="sell", price=10_100, quantity=1)
    return w


def _pages(w) -> list[tuple[str, str]]:
    fund, post = w["fund"], w["post"]
    return [
        ("home", reverse("home")),
        ("board", reverse("board:index")),
        ("category", reverse("board:category", args=[w["sub"].slug])),
        ("post", reverse("board:post", args=[post.pk])),
        ("long-post", reverse("board:post", args=[w["long_post"].pk])),
        ("history", reverse("board:post_history", args=[post.pk])),
        ("search", reverse("board:index") + "?q=음악"),
        ("write", reverse("board:post_create")),
        ("profile", reverse("accounts:profile", args=["김철수"])),
        ("me", reverse("accounts:me")),
        ("funds", reverse("investments:index")),
        ("fund", reverse("investments:fund", args=[fund.pk])),
        ("market", reverse("investments:market", args=[fund.pk])),
        ("portfolio", reverse("investments:portfolio")),
        ("history-money", reverse("investments:history")),
        ("deposit", reverse("investments:deposit")),
        ("subscribe", reverse("investments:subscribe") + f"?fund={fund.pk}"),
        ("redeem", reverse("investments:redeem")),
        ("not-found", "/no/such/page/"),
    ]


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_main_page_fits_the_screen_and_speaks_the_language(
    browser: Browser, korean_browser: Browser, live_server, world, language, device
):
    width = WIDTHS[device]
    browser = korean_browser if language == "ko" else browser
    context = browser.new_context(
        locale="ko-KR" if language == "ko" else "en-US",
        viewport={"width": width, "height": 900},
        device_scale_factor=2 if SCREENSHOTS and device == "phone" else 1,
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("accounts:login"))
    page.locator("input[name=username]").fill(world["buyer"].username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".account-name")).to_have_text(world["buyer"].username)

    too_wide, english = {}, {}
    for name, path in _pages(world):
        page.goto(live_server.url + path)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            too_wide[name] = scroll_width
        if language == "ko" and (left := english_left(page.content(), ALLOWED | OWN_WORDS)):
            english[name] = left
        if SCREENSHOTS and name in SHOWN:
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / f"{name}-{device}-{language}.png"
            page.screenshot(path=shot, full_page=True)
    context.close()
    assert too_wide == {}, f"pages wider than {width} px: {too_wide}"
    assert english == {}, f"English on Korean pages: {english}"
