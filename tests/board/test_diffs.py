"""The history pages' inline diff: words, syllables inside a changed Korean word, marks people
and screen readers can read."""

import pytest
from django.urls import reverse

from board import services
from board.diffs import Part, around_changes, inline_diff
from tests.factories import UserFactory, make_comment, make_post


def marks(parts: list[Part]) -> str:
    """The diff as text: [-deleted-], {+inserted+} and <n> unchanged lines left out."""
    return "".join(
        f"<{p.lines}>"
        if p.op == "skip"
        else {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}[p.op].format(p.text)
        for p in parts
    )


def test_a_korean_particle_edit_marks_only_the_particle():
    assert marks(inline_diff("나는 음악을 좋아해요", "나는 음악이 좋아해요")) == (
        "나는 음악[-을-]{+이+} 좋아해요"
    )


def test_a_korean_syllable_edit_keeps_the_rest_of_the_word():
    assert marks(inline_diff("음악을 좋아해요", "음악을 좋아요")) == "음악을 좋아[-해-]요"


def test_a_different_korean_word_is_replaced_whole_not_scattered():
    assert marks(inline_diff("사과를 먹었다", "바나나를 먹었다")) == (
        "[-사과를-]{+바나나를+} 먹었다"
    )


def test_english_is_compared_word_by_word_and_punctuation_apart():
    assert marks(inline_diff("The quick fox.", "The slow fox!")) == (
        "The [-quick-]{+slow+} fox[-.-]{+!+}"
    )


def test_a_rewritten_phrase_reads_as_one_change_and_lines_stay_apart():
    assert marks(inline_diff("a b c", "x y z")) == "[-a b c-]{+x y z+}"
    assert marks(inline_diff("one\ntwo", "uno\ndos")) == "[-one-]{+uno+}\n[-two-]{+dos+}"


def test_the_first_version_and_an_unchanged_one_are_all_kept_text():
    assert around_changes(inline_diff(None, "줄\n" * 30)) == [Part("equal", "줄\n" * 30)]
    assert inline_diff(None, "처음 쓴 글") == [Part("equal", "처음 쓴 글")]
    assert inline_diff("같은 글", "같은 글") == [Part("equal", "같은 글")]
    assert marks(inline_diff("지운 글", "")) == "[-지운 글-]"


def test_a_one_word_edit_of_a_long_text_shows_the_lines_around_it_not_the_whole_text():
    text = "\n".join(f"{n}번째 줄" for n in range(1, 21))
    parts = around_changes(inline_diff(text, text.replace("10번째", "열번째")))
    assert marks(parts) == (
        "<7>\n8번째 줄\n9번째 줄\n[-10-]{+열+}번째 줄\n11번째 줄\n12번째 줄\n<8>"
    )


@pytest.mark.django_db
def test_the_history_page_numbers_versions_from_1_and_shows_the_diff_and_title(client):
    author = UserFactory()
    post = make_post(author=author, title="음악 이야기", content="나는 음악을 좋아해요")
    services.edit_post(
        user=author,
        post_id=post.pk,
        category=post.category,
        title="음악 이야기 2",
        content="나는 음악이 좋아해요",
    )
    body = client.get(reverse("board:post_history", args=[post.pk])).content.decode()
    assert "Version 1" in body and "Version 2" in body and "Version 0" not in body
    added = '<ins><span class="visually-hidden">added: </span>'
    deleted = '<del><span class="visually-hidden">deleted: </span>'
    assert f"나는 음악{deleted}을</del>{added}이</ins> 좋아해요" in body
    assert f"음악 이야기{added} 2</ins>" in body  # the title's change
    assert "@@" not in body and "+++" not in body


@pytest.mark.django_db
def test_the_diff_labels_speak_korean(client):
    author = UserFactory()
    comment = make_comment(post=make_post(author=author), author=author, content="음악을 들어요")
    services.edit_comment(user=author, comment_id=comment.pk, content="음악이 들려요")
    url = reverse("board:comment_history", args=[comment.pk])
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "버전 1" in body and "버전 2" in body
    assert '<del><span class="visually-hidden">삭제: </span>을</del>' in body
    assert '<ins><span class="visually-hidden">추가: </span>이</ins>' in body


@pytest.mark.django_db
def test_a_version_that_only_changed_the_title_says_the_text_is_unchanged(client):
    author = UserFactory()
    post = make_post(author=author, title="처음 제목", content="본문은 그대로예요")
    services.edit_post(
        user=author, post_id=post.pk, category=post.category, title="새 제목", content=post.content
    )
    body = client.get(reverse("board:post_history", args=[post.pk])).content.decode()
    assert body.count("본문은 그대로예요") == 1 and "The text is unchanged." in body
