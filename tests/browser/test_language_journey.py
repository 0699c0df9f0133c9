"""A Korean visitor in a real browser: the site in Korean, sign-up in Korean, then English one
click away and back, with no JavaScript needed for the switch."""

import pytest
from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.browser, pytest.mark.korean, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def korean_page(browser: Browser):
    context = browser.new_context(locale="ko-KR")
    yield context.new_page()
    context.close()


def test_a_korean_visitor_signs_up_in_korean_and_switches_to_english_and_back(
    korean_page, live_server
):
    page = korean_page
    page.goto(live_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    nav = page.get_by_role("navigation", name="주 메뉴")
    nav.get_by_role("link", name="회원가입").click()
    page.get_by_label("사용자 이름").fill("이영희")
    page.get_by_label("이메일").fill("younghee@example.com")
    page.get_by_label("비밀번호", exact=True).fill("plum-tree-harbour-77")
    page.get_by_label("비밀번호 확인").fill("different-harbour-77")
    page.get_by_role("button", name="회원가입").click()
    expect(page.get_by_text("두 비밀번호가 일치하지 않습니다.")).to_be_visible()
    page.get_by_label("비밀번호", exact=True).fill("plum-tree-harbour-77")
    page.get_by_label("비밀번호 확인").fill("plum-tree-harbour-77")
    page.get_by_role("button", name="회원가입").click()
    expect(page.get_by_text("이영희 님, okcow에 오신 것을 환영합니다!")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Investments").click()
    expect(page.get_by_role("heading", name="Music royalty funds")).to_be_visible()

    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="음악 저작권료 펀드")).to_be_visible()


def test_the_switch_works_without_javascript(browser: Browser, live_server):
    context = browser.new_context(locale="ko-KR", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/board/")
    expect(page.get_by_role("heading", name="게시판")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{live_server.url}/board/")
    expect(page.get_by_role("heading", name="Board")).to_be_visible()
    context.close()
