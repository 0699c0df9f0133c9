"""Posts' Markdown: tables render (and scroll inside themselves), images never reach the page
and the author is told, their address kept as a link."""

import pytest
from django.urls import reverse

from board.markup import render_markdown, without_images
from board.models import Post
from tests.factories import make_post

TABLE = "| 곡 | 저작권료 |\n|:---|---:|\n| 봄날 | 1,000원 |"


def test_a_markdown_table_renders_aligned_inside_a_table_wrap():
    html = render_markdown(TABLE)
    assert html.startswith('<div class="table-wrap"><table>') and html.endswith("</table></div>")
    assert '<th align="left">곡</th>' in html and '<td align="right">1,000원</td>' in html
    assert "style=" not in html  # the CSP allows no inline style


def test_a_table_typed_as_text_or_html_attributes_stay_harmless():
    assert render_markdown("&lt;table&gt;") == "<p>&lt;table&gt;</p>"
    html = render_markdown('<table onclick="x()"><tr><td style="color:red">1</td></tr></table>')
    assert "onclick" not in html and "style" not in html


def test_an_image_never_reaches_the_page_and_its_address_stays_a_link():
    html = render_markdown('![차트](https://example.com/chart.png) <img src="/x.png" alt="x">')
    assert "<img" not in html
    assert '<a href="https://example.com/chart.png" rel="noopener noreferrer">차트</a>' in html


def test_images_become_links_in_the_text_but_code_is_left_as_written():
    text = '![차트](https://x.kr/a.png "제목") ![](https://x.kr/b.png) <img src="c.png" alt="씨">'
    assert without_images(text) == (
        '[차트](https://x.kr/a.png "제목") [https://x.kr/b.png](https://x.kr/b.png) [씨](c.png)',
        3,
    )
    assert without_images("`![예시](a.png)`\n\n```\n![예시](a.png)\n```") == (
        "`![예시](a.png)`\n\n```\n![예시](a.png)\n```",
        0,
    )


@pytest.mark.django_db
def test_the_post_form_says_the_image_was_removed_next_to_the_content(user_client, sub):
    url = reverse("board:post_create")
    form = {"category": sub.pk, "title": "차트", "content": "보세요 ![차트](https://x.kr/a.png)"}
    response = user_client.post(url, form)
    assert response.status_code == 400 and not Post.objects.exists()
    errors = response.context["form"].errors
    assert errors["content"] == [
        "Images are not supported; the image was removed and its address kept as a link. "
        "Check the text and publish again."
    ]
    body = response.content.decode()
    assert "보세요 [차트](https://x.kr/a.png)</textarea>" in body  # the text, image now a link

    response = user_client.post(url, {**form, "content": "보세요 [차트](https://x.kr/a.png)"})
    assert response.status_code == 302
    page = user_client.get(response.url).content.decode()
    assert '<a href="https://x.kr/a.png" rel="noopener noreferrer">차트</a>' in page
    assert "<img" not in page


@pytest.mark.django_db
def test_the_image_message_speaks_korean_and_counts(user_client, sub, user):
    post = make_post(author=user, category=sub)
    response = user_client.post(
        reverse("board:post_edit", args=[post.pk]),
        {"category": sub.pk, "title": "t", "content": "![a](a.png) ![b](b.png)"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert "이미지는 올릴 수 없어요" in response.content.decode()
    assert "2개" in response.context["form"].errors["content"][0]
