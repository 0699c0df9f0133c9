import csv
import io

import pytest

from board import services
from board.models import Comment
from tests.factories import UserFactory, make_comment, make_post


@pytest.mark.django_db
def test_anyone_sees_a_comments_history_with_diffs_and_csv(client):
    author = UserFactory()
    post = make_post(author=author)
    comment = make_comment(post=post, author=author, content="first words")
    services.edit_comment(user=author, comment_id=comment.pk, content="second words")

    page = client.get(f"/board/comments/{comment.pk}/history/").content.decode()
    assert "Version 1" in page and "Version 2" in page
    assert ">first</del>" in page and ">second</ins> words" in page

    response = client.get(f"/board/comments/{comment.pk}/history.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["version", "created_at", "editor", "content"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
        ("1", author.username, "first words"),
        ("2", author.username, "second words"),
    ]
    assert (
        f"/board/comments/{comment.pk}/history/"
        in client.get(f"/board/p/{post.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_history_of_a_deleted_or_missing_comment_is_404(client):
    author = UserFactory()
    comment = make_comment(post=make_post(author=author), author=author)
    services.delete_comment(user=author, comment_id=comment.pk)
    assert client.get(f"/board/comments/{comment.pk}/history/").status_code == 404
    assert client.get(f"/board/comments/{comment.pk}/history.csv").status_code == 404
    assert client.get("/board/comments/999999/history/").status_code == 404


@pytest.mark.django_db
def test_staff_restore_a_hidden_comment_from_the_moderation_page(staff_client, staff):
    comment = make_comment(post=make_post(), content="rude words")
    services.moderate_comment(moderator=staff, comment_id=comment.pk, hide=True, reason="rude")

    page = staff_client.get("/board/moderation/").content.decode()
    assert "Hidden comments" in page and "rude words" in page

    response = staff_client.post(
        f"/board/comments/{comment.pk}/moderate/", {"reason": "appeal", "action": "restore"}
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.is_active
    assert (
        "rude words"
        not in staff_client.get("/board/moderation/").content.decode().split("Hidden comments")[1]
    )
    assert Comment.objects.get(pk=comment.pk).post.comment_count == 1
