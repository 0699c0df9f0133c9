"""The history downloads open in Excel as written: Korean intact, times as the pages show them."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from board import services
from board.models import CommentVersion, PostVersion
from tests.factories import UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 12, 5, 5, 3, tzinfo=dt.UTC)  # 14:03 in Seoul


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_posts_history_csv_starts_with_a_bom_and_gives_korea_time(client):
    author = UserFactory(username="김철수")
    post = make_post(author=author, title="음악 이야기", content="음악을 좋아해요")
    services.edit_post(
        user=author, post_id=post.pk, category=post.category, title="음악", content="음악이 좋아요"
    )
    PostVersion.objects.filter(post=post).update(created_at=AT)

    response = client.get(reverse("board:post_history_csv", args=[post.pk]))
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="post-{post.pk}-history.csv"'
    header, first, second = rows(response)
    assert header == ["version", "created_at", "editor", "category", "title", "content"]
    assert first[:3] == ["1", "2026-12-05 14:03:00+09:00", "김철수"]  # numbered as on the page
    assert second[0] == "2" and second[4:] == ["음악", "음악이 좋아요"]


def test_a_comments_history_csv_starts_with_a_bom_and_gives_korea_time(client):
    author = UserFactory()
    comment = make_comment(post=make_post(author=author), author=author, content="축하해요!")
    CommentVersion.objects.filter(comment=comment).update(created_at=AT)

    response = client.get(reverse("board:comment_history_csv", args=[comment.pk]))
    assert response.content.startswith("\ufeff".encode())
    assert response["Content-Disposition"] == (
        f'attachment; filename="comment-{comment.pk}-history.csv"'
    )
    assert rows(response)[1] == ["1", "2026-12-05 14:03:00+09:00", author.username, "축하해요!"]
