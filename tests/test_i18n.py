"""Korean first, English too: the default language, the switch, the catalogue, the pages a person
can reach showing no English in Korean, dates in the locale's format, caches kept per language."""

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from board import services as board_services
from investments import market
from investments import services as money
from tests.factories import (
    PASSWORD,
    BoardFactory,
    StaffFactory,
    SubCategoryFactory,
    UserFactory,
    make_comment,
    make_post,
)

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"

pytestmark = pytest.mark.korean


# --- the catalogue ---------------------------------------------------------------------------


def _entries(text: str) -> list[dict]:
    """The entries of a .po file as {"flags", "msgid", "msgstr": [...]}, strings unquoted."""
    entries = []
    for block in text.strip().split("\n\n"):
        entry = {"flags": "", "msgid": "", "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            elif m := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line):
                key = m.group(1)
                value = m.group(2)
                if key.startswith("msgstr"):
                    entry["msgstr"].append(value)
                elif key == "msgid":
                    entry["msgid"] = value
            elif line.startswith('"') and key:
                if key.startswith("msgstr"):
                    entry["msgstr"][-1] += line[1:-1]
                elif key == "msgid":
                    entry["msgid"] += line[1:-1]
        entries.append(entry)
    return entries


def test_the_korean_catalogue_has_no_untranslated_or_fuzzy_entry():
    entries = _entries(PO.read_text(encoding="utf-8"))
    messages = [e for e in entries if e["msgid"]]  # the header has an empty msgid
    assert len(messages) > 300
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"]) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


# --- the language: Korean unless asked, English one click away -------------------------------


def test_the_site_speaks_korean_by_default_with_the_lang_attribute(client, db):
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="ko">' in body
    assert "게시판" in body and "로그인" in body


def test_accept_language_en_gives_english(client, db):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Talk music. Own music." in body and "Log in" in body
    assert response["Content-Language"] == "en"


def test_the_switch_is_a_post_form_with_csrf_that_keeps_english_across_pages(db):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("board:index")).content.decode()
    switch = r'<form method="post" action="([^"]+)"[^>]*language-switch.*?</form>'
    form = re.search(switch, page, re.S)
    assert form and form.group(1) == reverse("set_language")
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert 'name="next" value="/board/"' in form.group(0)
    assert 'name="language" value="en"' in form.group(0)
    token = browser.cookies["csrftoken"].value
    answer = browser.post(
        reverse("set_language"),
        {"language": "en", "next": "/board/", "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302 and answer["Location"] == "/board/"
    body = browser.get(reverse("investments:index")).content.decode()
    assert '<html lang="en">' in body and "Music royalty funds" in body
    # And back: the English page offers Korean.
    assert 'name="language" value="ko"' in body and ">한국어</button>" in body


def test_dates_are_in_the_locales_format(client, db):
    person = UserFactory(username="김철수", date_joined=dt.datetime(2026, 12, 2, 3, tzinfo=dt.UTC))
    url = reverse("accounts:profile", args=[person.username])
    assert "2026년 12월 2일" in client.get(url).content.decode()
    assert "Dec. 2, 2026" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


# --- no English left on a Korean page --------------------------------------------------------

# Words that stay as they are in Korean: the site's name, index and figure names, file types.
ALLOWED = {"okcow", "MCPI", "NAV", "CSV", "IP", "ID"}
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'\u2019]*(?:[ \t\-]+[A-Za-z][A-Za-z'\u2019]*)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SHOWN_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}


class _ShownText(HTMLParser):
    """The text a person sees or hears: text outside scripts and styles, and labelling
    attributes. Text marked as another language (``lang="en"``: the switch's "English") is
    meant to be in it, and left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []  # the open elements whose text is not shown or not Korean

    def handle_starttag(self, tag, attrs):
        lang = dict(attrs).get("lang")
        if tag in ("script", "style") or (tag != "html" and lang and not lang.startswith("ko")):
            self._hidden.append(tag)
            return
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def english_left(html: str, allowed: set[str]) -> list[str]:
    """Runs of English words in a page's shown text, but for the allowed ones."""
    parser = _ShownText()
    parser.feed(html)
    found = []
    for part in parser.parts:
        for run in _ENGLISH_RUN.findall(_EMAIL.sub(" ", part)):
            words = [w for w in re.split(r"[ \t\-]+", run) if w not in allowed]
            if words:
                found.append(run)
    return found


@pytest.fixture
def korean_world(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the search index, after commits
        return build_korean_world()


def build_korean_world():
    """Everything the main pages show, written in Korean (people, boards, posts, a fund with a
    copyright, trades and open orders) so that any English left on them is the site's own."""
    staff = StaffFactory(username="운영자")
    author = UserFactory(username="김철수")
    reader = UserFactory(username="이영희")
    board = BoardFactory(name="커뮤니티", slug="community")
    sub = SubCategoryFactory(name="음악 이야기", slug="music-talk", parent=board)
    post = make_post(
        author=author, category=sub, title="음악 저작권료 펀드 후기", content="첫 *배당* 받았어요."
    )
    board_services.edit_post(
        user=author, post_id=post.pk, category=sub, title=post.title, content="두 번째 버전이에요."
    )
    comment = make_comment(post=post, author=reader, content="축하해요!")
    make_comment(post=post, author=author, content="고마워요.")

    # A fund with four months behind it, so its charts and the buyer's portfolio chart have a
    # history to draw: a weekly MCPI, subscriptions at the start, a copyright, a royalty.
    now = timezone.now()
    opened = now - dt.timedelta(days=120)
    for week in range(18):
        value = 100 + week % 5 + week // 3  # a rise with small dips
        money.record_mcpi(actor=staff, at=opened - dt.timedelta(days=1, weeks=-week), value=value)
    money.record_mcpi(actor=staff, at=now - dt.timedelta(hours=2), value="104")
    fund = money.create_fund(actor=staff, name="케이팝 명곡 펀드", base_price=10_000, at=opened)
    seller = UserFactory(username="박민수")
    buyer = UserFactory(username="최지우")
    for person, amount in ((seller, 1_000_000), (buyer, 200_000)):
        money.register_investor(user=person, at=opened - dt.timedelta(hours=2))
        money.deposit(user=person, amount=amount, at=opened - dt.timedelta(hours=1))
        money.subscribe(user=person, fund_id=fund.pk, amount=amount, at=opened)
    money.acquire_copyright(
        actor=staff,
        fund_id=fund.pk,
        code="KOMCA-0001",
        registration_number="12345",
        music_id="M-0001",
        title="봄날",
        artist="방탄소년단",
        price=300_000,
        at=opened + dt.timedelta(days=2),
    )
    royalty = opened + dt.timedelta(days=70)
    money.record_royalty(actor=staff, fund_id=fund.pk, amount=40_000, at=royalty)
    money.distribute_royalties(at=royalty + dt.timedelta(hours=1))
    money.deposit(user=buyer, amount=500_000, at=now - dt.timedelta(days=3))
    market.place_order(user=seller, fund_id=fund.pk, side="sell", price=10_000, quantity=5)
    market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=10_000, quantity=3)
    market.place_order(user=buyer, fund_id=fund.pk, side="buy", price=9_900, quantity=2)
    return {
        "staff": staff,
        "author": author,
        "reader": reader,
        "sub": sub,
        "post": post,
        "comment": comment,
        "fund": fund,
        "seller": seller,
        "buyer": buyer,
    }


def _pages(w) -> list[tuple[object, str, str, dict | None]]:
    """(who is logged in, method, url, form) for the pages a person can reach."""
    post, fund, comment = w["post"], w["fund"], w["comment"]
    anyone = None
    return [
        (anyone, "get", reverse("home"), None),
        (anyone, "get", reverse("board:index"), None),
        (anyone, "get", reverse("board:category", args=[w["sub"].slug]), None),
        (anyone, "get", reverse("board:category", args=["community"]), None),
        (anyone, "get", reverse("board:post", args=[post.pk]), None),
        (anyone, "get", reverse("board:post_history", args=[post.pk]), None),
        (anyone, "get", reverse("board:comment_history", args=[comment.pk]), None),
        (anyone, "get", reverse("board:index") + "?q=음악", None),
        (anyone, "get", reverse("board:index") + "?q=없는단어", None),
        (anyone, "get", reverse("board:category", args=[w["sub"].slug]) + "?q=음", None),
        (anyone, "get", reverse("accounts:login"), None),
        (anyone, "post", reverse("accounts:login"), {"username": "김철수", "password": "x"}),
        (anyone, "get", reverse("accounts:signup"), None),
        (anyone, "post", reverse("accounts:signup"), {"username": "", "password1": "1"}),
        (anyone, "get", reverse("accounts:profile", args=["김철수"]), None),
        (anyone, "get", reverse("investments:index"), None),
        (anyone, "get", reverse("investments:fund", args=[fund.pk]), None),
        (anyone, "get", reverse("investments:market", args=[fund.pk]), None),
        ("author", "get", reverse("board:post", args=[post.pk]), None),
        ("author", "get", reverse("board:post_create"), None),
        ("author", "post", reverse("board:post_create"), {"title": "", "content": ""}),
        ("author", "get", reverse("board:post_edit", args=[post.pk]), None),
        ("reader", "get", reverse("board:comment_edit", args=[comment.pk]), None),
        ("reader", "get", reverse("board:post_edit", args=[post.pk]), None),  # 403
        (anyone, "get", reverse("board:post", args=[post.pk + 1000]), None),  # 404
        (anyone, "get", "/no/such/page/", None),  # 404
        ("author", "get", reverse("accounts:me"), None),
        ("author", "get", reverse("accounts:edit_profile"), None),
        ("author", "get", reverse("accounts:password_change"), None),
        ("author", "get", reverse("accounts:delete"), None),
        ("staff", "get", reverse("board:post", args=[post.pk]), None),
        ("staff", "get", reverse("board:moderation_log"), None),
        ("buyer", "get", reverse("investments:portfolio"), None),
        ("buyer", "get", reverse("investments:portfolio") + "?at=2026-01-01T09:00", None),
        ("buyer", "get", reverse("investments:history"), None),
        ("buyer", "get", reverse("investments:market", args=[fund.pk]), None),
        ("buyer", "get", reverse("investments:deposit"), None),
        ("buyer", "post", reverse("investments:deposit"), {"amount": "-5"}),
        ("buyer", "get", reverse("investments:withdraw"), None),
        ("buyer", "get", reverse("investments:subscribe") + f"?fund={fund.pk}", None),
        ("buyer", "get", reverse("investments:redeem"), None),
        ("seller", "get", reverse("investments:portfolio"), None),
        ("seller", "get", reverse("investments:history"), None),
        ("seller", "post", reverse("investments:withdraw"), {"amount": "999999999"}),
        (
            "seller",
            "post",
            reverse("investments:order", args=[fund.pk]),
            {"side": "buy", "price": "150", "quantity": "1"},
        ),
    ]


def test_no_page_a_person_can_reach_shows_english_in_korean(client, korean_world, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    allowed = ALLOWED | {"KOMCA", "M"}  # the copyright's code and music id
    found = {}
    for who, method, url, form in _pages(korean_world):
        client.logout()
        if who:
            client.force_login(korean_world[who])
        if method == "post":
            form = {**(form or {}), "idempotency_key": "k-" + url}
            response = client.post(url, form, follow=True)
        else:
            response = client.get(url)
        assert response.status_code in (200, 400, 403, 404), (url, response.status_code)
        body = response.content.decode()
        assert '<html lang="ko">' in body, url
        if left := english_left(body, allowed):
            found[f"{who or 'anyone'} {method} {url}"] = left
    assert found == {}


def test_the_check_finds_english_when_there_is_some():
    page = '<p>안녕하세요 <b>Log in</b></p><button aria-label="Vote now">추천</button>'
    page += "<script>let english = 1</script>"
    assert english_left(page, ALLOWED) == ["Log in", "Vote now"]
    assert english_left('<p>한국어 <button lang="en">English</button> 끝</p>', ALLOWED) == []
    assert english_left("<p>okcow · MCPI 104 · a@b.kr</p>", ALLOWED) == []


# --- caches are per language -----------------------------------------------------------------


def test_a_cached_post_page_shows_each_languages_own_text(client, korean_world):
    url = reverse("board:post", args=[korean_world["post"].pk])
    korean = client.get(url).content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    again = client.get(url).content.decode()
    assert "이 글 추천하기" in korean and "댓글 (2)" in korean
    assert "Vote for this post" not in korean
    assert "Vote for this post" in english and "Comments (2)" in english and "댓글 (" not in english
    assert "이 글 추천하기" in again and "Vote for this post" not in again
    assert "음악 저작권료 펀드 후기" in english  # the post itself is the same in both


def test_cached_board_lists_and_menus_show_each_languages_own_text(client, korean_world):
    url = reverse("board:category", args=[korean_world["sub"].slug])
    korean = client.get(url).content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "전체 글" in korean and "작성자" in korean and "All posts" not in korean
    assert "All posts" in english and "Author" in english and "전체 글" not in english
    assert "작성자" in client.get(url).content.decode()


def test_cached_search_results_show_each_languages_own_text(client, korean_world):
    url = reverse("board:index") + "?q=음악"
    korean = client.get(url).content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "검색 결과" in korean and "result" not in korean
    assert re.search(r"\d+ results? · page 1 of 1", english) and "검색 결과" not in english


def test_a_service_message_is_in_the_language_of_the_request(client, korean_world):
    """A ledger refusal raised inside the request speaks the request's language."""
    client.force_login(korean_world["buyer"])
    url = reverse("investments:withdraw")
    form = {"amount": "999999999", "idempotency_key": "w-1"}
    assert "출금 가능 금액은" in client.post(url, form).content.decode()
    form = {"amount": "999999999", "idempotency_key": "w-2"}
    english = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "available; you cannot withdraw more" in english


def test_a_korean_person_can_log_in_and_sees_korean_messages(client, korean_world):
    answer = client.post(
        reverse("accounts:login"), {"username": "김철수", "password": PASSWORD}, follow=True
    )
    assert answer.status_code == 200 and "로그아웃" in answer.content.decode()
