import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from board import selectors, services
from board.models import ModerationAction, Post, PostVote
from board.services import post_cache_key, profile_cache_key
from tests.factories import BoardFactory, SubCategoryFactory, UserFactory, make_comment, make_post

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, who):
    client.force_login(who)
    return client


def test_board_list_includes_children_and_shows_row_facts(client, user):
    board = BoardFactory(name="Q&A")
    career = SubCategoryFactory(name="career", parent=board)
    make_post(author=user, category=career, title="Salary talk")
    make_post(category=SubCategoryFactory(), title="Elsewhere")
    response = client.get(reverse("board:category", args=[board.slug]))
    body = response.content.decode()
    assert "Salary talk" in body and "Elsewhere" not in body
    assert user.username in body and "career" in body
    assert "1 post · page 1 of 1 · 20 per page" in body


def test_list_is_newest_first_and_paginates_with_totals(client, sub):
    for n in range(25):
        make_post(category=sub, title=f"post {n:02}")
    first = client.get(reverse("board:index")).content.decode()
    assert first.index("post 24") < first.index("post 23")
    assert "25 posts · page 1 of 2 · 20 per page" in first
    second = client.get(reverse("board:index") + "?page=2").content.decode()
    assert "post 04" in second and "post 05" not in second


@pytest.mark.parametrize(
    ("page", "status"), [("abc", 404), ("-1", 404), ("99999999999999999999", 404), ("", 200)]
)
def test_bad_page_numbers_never_break_the_list(client, page, status):
    assert client.get(reverse("board:index"), {"page": page}).status_code == status


@pytest.mark.django_db(transaction=True)  # the search index is written after the commit
def test_search_matches_title_content_and_author(client):
    sub = SubCategoryFactory()
    alice = UserFactory(username="alicia")
    hit = make_post(author=alice, category=sub, title="Royalties", content="about MCPI")
    miss = make_post(category=sub, title="Other", content="nothing")
    for q in ["royal", "mcpi", "alicia", "Royalties MCPI"]:
        response = client.get(reverse("board:index"), {"q": q})
        body = response.content.decode()
        assert reverse("board:post", args=[hit.pk]) in body, q
        assert reverse("board:post", args=[miss.pk]) not in body, q
        assert response.context["page"].total == 1
    assert client.get(reverse("board:index"), {"q": "royal zebra"}).context["page"].total == 0


def test_a_search_too_broad_to_answer_in_time_says_so_next_to_the_field(client, monkeypatch):
    def too_broad(**kwargs):
        raise selectors.SearchTooBroad("add a less common word")

    monkeypatch.setattr(selectors, "search", too_broad)
    response = client.get(reverse("board:index"), {"q": "royalty"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-describedby="q-error"' in body
    assert '<p id="q-error" class="errorlist" role="alert">add a less common word</p>' in body
    assert response.context["page"].items == []


def test_post_page_renders_sanitised_markdown(client, user, sub):
    post = make_post(author=user, category=sub, content="**bold** <script>alert(1)</script>")
    body = client.get(reverse("board:post", args=[post.pk])).content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert(1)" not in body


@pytest.mark.parametrize("pk", [999999, 10**17 * 9])
def test_missing_posts_are_404(client, pk):
    assert client.get(reverse("board:post", args=[pk])).status_code == 404
    assert client.get(f"/board/p/{'9' * 30}/").status_code == 404


def test_an_unknown_category_is_404_even_twice_and_a_new_one_appears(
    client, sub, django_capture_on_commit_callbacks
):
    for _ in range(2):
        assert client.get(reverse("board:category", args=["later"])).status_code == 404
    # typed slugs are not cached
    assert cache.get(f"board:category:{selectors.list_version()}:later") is None
    with django_capture_on_commit_callbacks(execute=True):
        SubCategoryFactory(slug="later", parent=sub.parent)
    assert client.get(reverse("board:category", args=["later"])).status_code == 200


def test_deleted_posts_are_404(client, post, staff):
    Post.objects.filter(pk=post.pk).update(is_active=False)
    cache.clear()
    for name in ["board:post", "board:post_history", "board:post_history_csv"]:
        assert client.get(reverse(name, args=[post.pk])).status_code == 404


def test_create_post_plain_post_redirects(client, user, sub):
    response = login(client, user).post(
        reverse("board:post_create"), {"category": sub.pk, "title": "Hi", "content": "There"}
    )
    post = Post.objects.get()
    assert response.status_code == 302 and response.url == reverse("board:post", args=[post.pk])


def test_bad_post_input_shows_every_error_with_400(client, user):
    response = login(client, user).post(
        reverse("board:post_create"), {"category": "nope", "title": " ", "content": "x" * 5001}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"category", "title", "content"}
    assert not Post.objects.exists()


def test_posting_to_a_board_rather_than_a_sub_category_is_refused(client, user):
    board = BoardFactory()
    response = login(client, user).post(
        reverse("board:post_create"), {"category": board.pk, "title": "t", "content": "c"}
    )
    assert response.status_code == 400


def test_edit_then_history_shows_a_diff_and_csv(client, user, post, sub):
    login(client, user).post(
        reverse("board:post_edit", args=[post.pk]),
        {"category": sub.pk, "title": post.title, "content": "Brand new words"},
    )
    body = client.get(reverse("board:post_history", args=[post.pk])).content.decode()
    assert "Brand new words</ins>" in body and "Version 2" in body
    csv = client.get(reverse("board:post_history_csv", args=[post.pk]))
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("version,") and lines[-1].endswith("Brand new words")


def test_vote_plain_post_redirects_and_htmx_returns_the_button(client, other, post):
    login(client, other)
    url = reverse("board:post_vote", args=[post.pk])
    assert client.post(url).status_code == 302
    response = client.post(url, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "0 votes" in body and "Vote" in body
    assert client.post(url, **HTMX).content.decode().count("1 vote") == 1


def test_comment_plain_and_htmx(client, other, post):
    login(client, other)
    url = reverse("board:comment_create", args=[post.pk])
    assert client.post(url, {"content": "plain"}).status_code == 302
    response = client.post(url, {"content": "via htmx"}, **HTMX)
    body = response.content.decode()
    assert (
        "<html" not in body and "via htmx" in body and 'hx-swap-oob="beforeend:#comments"' in body
    )
    bad = client.post(url, {"content": ""}, **HTMX)
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    assert client.post(url, {"content": ""}).status_code == 400
    post.refresh_from_db()
    assert post.comment_count == 2


def test_comment_votes_htmx(client, other, post):
    comment = make_comment(post=post)
    response = login(client, other).post(reverse("board:comment_vote", args=[comment.pk]), **HTMX)
    assert (
        response.status_code == 200
        and '<span class="vote-count">1</span>' in response.content.decode()
    )


# --- Permission matrix -------------------------------------------------------------------------

ROLES = ["author", "other", "staff", "blocked", "anonymous"]


def client_for(client, role, post, request):
    who = {
        "author": post.author,
        "other": request.getfixturevalue("other"),
        "staff": request.getfixturevalue("staff"),
        "blocked": request.getfixturevalue("blocked"),
        "anonymous": None,
    }[role]
    if who:
        client.force_login(who)
    return client


EXPECTED = {
    # role: (create, edit, delete, vote, moderate)
    "author": (302, 302, 302, 302, 403),
    "other": (302, 403, 403, 302, 403),
    "staff": (302, 403, 302, 302, 302),
    # A blocked person's session ends at their next request: they are sent to log in.
    "blocked": (302, 302, 302, 302, 302),
    "anonymous": (302, 302, 302, 302, 302),  # redirected to log in
}


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, role, sub, request):
    posts = [make_post(category=sub) for _ in range(4)]
    author = posts[0].author
    for p in posts:
        Post.objects.filter(pk=p.pk).update(author=author)
    c = client_for(client, role, posts[0], request)
    data = {"category": sub.pk, "title": "changed", "content": "c"}
    got = (
        c.post(reverse("board:post_create"), data).status_code,
        c.post(reverse("board:post_edit", args=[posts[0].pk]), data).status_code,
        c.post(
            reverse("board:post_delete", args=[posts[1].pk]), {"reason": "r", "confirm": "yes"}
        ).status_code,
        c.post(reverse("board:post_vote", args=[posts[2].pk])).status_code,
        c.post(reverse("board:post_moderate", args=[posts[3].pk]), {"reason": "r"}).status_code,
    )
    assert got == EXPECTED[role]
    may = role in ("author", "other", "staff")
    assert Post.objects.filter(title="changed").count() == (
        (1 if may else 0) + (1 if role == "author" else 0)
    )
    assert Post.objects.get(pk=posts[1].pk).is_active == (role not in ("author", "staff"))
    assert PostVote.objects.count() == (1 if may else 0)
    assert Post.objects.get(pk=posts[3].pk).is_active == (role != "staff")


def test_blocked_session_is_ended_with_a_message(client, blocked, post):
    login(client, blocked)
    response = client.post(reverse("board:post_vote", args=[post.pk]), follow=True)
    assert "blocked" in response.content.decode() and not PostVote.objects.exists()


@pytest.mark.parametrize("view", ["post_vote", "comment_create", "post_edit"])
def test_people_who_cannot_write_get_403_with_the_reason(rf, blocked, post, view):
    from django.core.exceptions import PermissionDenied

    from board import views

    request = rf.post("/", {"content": "c"})
    request.user, request.htmx = blocked, False
    with pytest.raises(PermissionDenied, match="blocked"):
        getattr(views, view)(request, pk=post.pk)


@pytest.mark.parametrize("content", ["a comment", ""])
def test_commenting_on_a_missing_or_hidden_post_is_404(client, user, post, staff, content):
    services.moderate_post(moderator=staff, post_id=post.pk, hide=True, reason="spam")
    login(client, user)
    for pk in (post.pk, post.pk + 1000):
        url = reverse("board:comment_create", args=[pk])
        assert client.post(url, {"content": content}).status_code == 404
    assert not post.comments.exists()


def test_moderation_log_is_staff_only(client, staff, other, post):
    login(client, staff).post(reverse("board:post_moderate", args=[post.pk]), {"reason": "spam"})
    assert ModerationAction.objects.get().reason == "spam"
    body = client.get(reverse("board:moderation_log")).content.decode()
    assert "spam" in body and post.title in body
    restore = client.post(
        reverse("board:post_moderate", args=[post.pk]), {"reason": "ok", "action": "restore"}
    )
    assert restore.status_code == 302 and Post.objects.get(pk=post.pk).is_active
    login(client, other)
    assert client.get(reverse("board:moderation_log")).status_code == 403


def test_moderation_needs_a_reason(client, staff, post):
    response = login(client, staff).post(reverse("board:post_moderate", args=[post.pk]), {})
    assert response.status_code == 400 and Post.objects.get(pk=post.pk).is_active


def test_admin_pages_open_for_staff(client, post):
    from tests.factories import AdminFactory

    login(client, AdminFactory())
    for name in ["post", "comment", "category", "postversion", "moderationaction"]:
        assert client.get(reverse(f"admin:board_{name}_changelist")).status_code == 200
    response = client.post(
        reverse("admin:board_post_changelist"),
        {"action": "hide", "_selected_action": [post.pk]},
    )
    assert response.status_code == 302 and not Post.objects.get(pk=post.pk).is_active
    assert ModerationAction.objects.get().action == "hide"


# --- Query counts do not grow with the page --------------------------------------------------


def test_list_page_reads_once_then_comes_from_the_cache(
    client, user, sub, django_assert_num_queries, django_capture_on_commit_callbacks
):
    make_post(category=sub)
    with django_assert_num_queries(5):  # menu: boards, their children; list: total, ids, rows
        client.get(reverse("board:index"))
    with django_assert_num_queries(0):  # both are cached fragments now
        client.get(reverse("board:index"))
    with django_capture_on_commit_callbacks(execute=True):
        services.create_post(user=user, category=sub, title="Fresh news", content="x")
    with django_assert_num_queries(5):  # a new post: a new list version, read again
        body = client.get(reverse("board:index")).content.decode()
    assert "Fresh news" in body
    with django_capture_on_commit_callbacks(execute=True):  # counts alone may lag: still cached
        services.create_comment(
            user=user, post_id=Post.objects.get(title="Fresh news").pk, content="c"
        )
        services.vote_post(user=user, post_id=Post.objects.get(title="Fresh news").pk)
    with django_assert_num_queries(0):
        client.get(reverse("board:index"))


def test_cached_lists_follow_edits_hiding_and_category_changes(
    client, user, sub, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = services.create_post(user=user, category=sub, title="Old title", content="x")
    assert "Old title" in client.get(reverse("board:index")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.edit_post(user=user, post_id=post.pk, title="New title", content="x", category=sub)
    body = client.get(reverse("board:index")).content.decode()
    assert "New title" in body and "Old title" not in body
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_post(user=user, post_id=post.pk)
    assert "New title" not in client.get(reverse("board:index")).content.decode()
    sub.name = "Renamed sub"
    with django_capture_on_commit_callbacks(execute=True):
        sub.save()  # staff rename it in the admin
    assert "Renamed sub" in client.get(reverse("board:index")).content.decode()


def test_post_page_query_count_is_fixed(
    client, post, django_assert_num_queries, django_capture_on_commit_callbacks
):
    make_comment(post=post)
    client.get(reverse("board:post", args=[post.pk]))
    with django_assert_num_queries(0):  # the post and its first comments come from the cache
        client.get(reverse("board:post", args=[post.pk]))
    with django_capture_on_commit_callbacks(execute=True):  # drops the cached page
        for _ in range(25):
            make_comment(post=post)
    client.get(reverse("board:post", args=[post.pk]))
    with django_assert_num_queries(0):
        response = client.get(reverse("board:post", args=[post.pk]))
    assert response.content.count(b'<li id="comment-') == 20
    with django_assert_num_queries(1):  # a later page reads its comments
        response = client.get(reverse("board:post", args=[post.pk]) + "?page=2")
    assert response.content.count(b'<li id="comment-') == 6


def test_post_page_for_a_member_costs_the_person_and_their_vote(
    user_client, post, django_assert_num_queries
):
    make_comment(post=post)
    user_client.get(reverse("board:post", args=[post.pk]))
    with django_assert_num_queries(2):  # the logged-in person, what they voted for
        user_client.get(reverse("board:post", args=[post.pk]))


def test_a_new_comment_shows_on_a_cached_post_page(
    client, post, other, django_capture_on_commit_callbacks
):
    client.get(reverse("board:post", args=[post.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        make_comment(post=post, author=other, content="fresh words")
    assert b"fresh words" in client.get(reverse("board:post", args=[post.pk])).content


# --- Cache ----------------------------------------------------------------------------------


def test_post_detail_is_cached_and_dropped_after_a_write(
    client, post, other, django_capture_on_commit_callbacks
):
    client.get(reverse("board:post", args=[post.pk]))
    assert cache.get(post_cache_key(post.pk)) is not None
    with django_capture_on_commit_callbacks(execute=True):
        make_comment(post=post, author=other)
    assert cache.get(post_cache_key(post.pk)) is None


def test_profile_shows_recent_posts_cached(client, user, post, django_capture_on_commit_callbacks):
    url = reverse("accounts:profile", args=[user.username])
    assert post.title in client.get(url).content.decode()
    assert cache.get(profile_cache_key(user.pk)) is not None
    with django_capture_on_commit_callbacks(execute=True):
        make_post(author=user, category=post.category, title="Fresh one")
    assert "Fresh one" in client.get(url).content.decode()


REDIS_DOWN = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
        },
    }
}


def test_pages_work_when_redis_is_down(client, user, post, other):
    with override_settings(CACHES=REDIS_DOWN):
        # override_settings swaps the cache handler, so this really talks to a dead port.
        assert (
            "RedisCache"
            in type(
                cache._connections.default
                if False
                else __import__("django.core.cache", fromlist=["caches"]).caches["default"]
            ).__name__
        )
        assert client.get(reverse("board:post", args=[post.pk])).status_code == 200
        assert client.get(reverse("accounts:profile", args=[user.username])).status_code == 200
        assert selectors.post_detail(post.pk)["post"].pk == post.pk
        login(client, other)
        assert client.post(reverse("board:post_vote", args=[post.pk])).status_code == 302
    post.refresh_from_db()
    assert post.vote_count == 1


def test_author_cannot_delete_a_commented_post_through_the_site(client, user, post):
    make_comment(post=post)
    response = login(client, user).post(reverse("board:post_delete", args=[post.pk]))
    assert response.status_code == 403
    assert "cannot be deleted" in response.content.decode()
    assert Post.objects.get(pk=post.pk).is_active


def test_comment_edit_keeps_history_and_is_author_only(client, other, post):
    comment = make_comment(post=post, author=other, content="first words")
    url = reverse("board:comment_edit", args=[comment.pk])
    assert login(client, post.author).post(url, {"content": "hijack"}).status_code == 403
    login(client, other)
    assert client.post(url, {"content": ""}).status_code == 400
    assert client.post(url, {"content": "second words"}).status_code == 302
    body = client.get(url).content.decode()
    assert "Version 1" in body and "Version 2" in body
    assert ">first</del>" in body and ">second</ins> words" in body
    assert (
        client.get(reverse("board:post", args=[post.pk])).content.decode().count("second words")
        == 1
    )


def test_deleted_comments_are_404_for_actions(client, other, post):
    comment = make_comment(post=post, author=other)
    login(client, other).post(
        reverse("board:comment_delete", args=[comment.pk]), {"confirm": "yes"}
    )
    for name in ["comment_vote", "comment_delete", "comment_edit"]:
        assert client.post(reverse(f"board:{name}", args=[comment.pk])).status_code == 404
    post.refresh_from_db()
    assert post.comment_count == 0


def test_partial_responses_vary_on_hx_request(client, other, post):
    response = login(client, other).post(reverse("board:post_vote", args=[post.pk]), **HTMX)
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("q", ['+-*"()<>~@', "a", "'; DROP TABLE board_post; --", "x" * 500])
def test_odd_search_strings_never_break_the_list(client, q):
    make_post(category=SubCategoryFactory())
    response = client.get(reverse("board:index"), {"q": q})
    assert response.status_code == 200
    assert Post.objects.count() == 1


def test_sidebar_lists_boards_with_their_children(client):
    board = BoardFactory(name="Community")
    SubCategoryFactory(name="news", parent=board)
    body = client.get(reverse("board:index")).content.decode()
    assert reverse("board:category", args=[board.slug]) in body and ">news</a>" in body


def test_rate_limited_post_shows_the_form_with_a_message(client, user, sub):
    from board.services import POST_LIMIT

    login(client, user)
    data = {"category": sub.pk, "title": "t", "content": "c"}
    for _ in range(POST_LIMIT.limit):
        assert client.post(reverse("board:post_create"), data).status_code == 302
    response = client.post(reverse("board:post_create"), data)
    assert response.status_code == 400 and "Too many posts" in response.content.decode()


def test_business_counters_count_after_commit(user, sub, django_capture_on_commit_callbacks):
    from board import metrics

    before = metrics.POSTS._value.get()
    with django_capture_on_commit_callbacks(execute=True):
        make_post(author=user, category=sub)
    assert metrics.POSTS._value.get() == before + 1


def test_every_demo_page_renders(client):
    from django.core.management import call_command

    call_command("demo_data", stdout=__import__("io").StringIO())
    assert client.get(reverse("board:index")).status_code == 200
    for post in Post.objects.all():
        for name in ["board:post", "board:post_history", "board:post_history_csv"]:
            assert client.get(reverse(name, args=[post.pk])).status_code == 200
        assert client.get(reverse("board:category", args=[post.category.slug])).status_code == 200
        assert (
            client.get(reverse("board:category", args=[post.category.parent.slug])).status_code
            == 200
        )
    assert "안녕하세요" in client.get(reverse("board:index")).content.decode()


def test_staff_hide_a_comment_from_the_post_page(
    client, staff, other, post, django_capture_on_commit_callbacks
):
    comment = make_comment(post=post, author=other, content="rude words")
    login(client, staff)
    assert "Hide comment" in client.get(reverse("board:post", args=[post.pk])).content.decode()
    url = reverse("board:comment_moderate", args=[comment.pk])
    with django_capture_on_commit_callbacks(execute=True):  # drops the cached post page
        assert client.post(url, {"reason": "rude", "action": "hide"}).status_code == 302
    assert "rude words" not in client.get(reverse("board:post", args=[post.pk])).content.decode()
    assert ModerationAction.objects.get().comment_id == comment.pk
    assert client.post(url, {"reason": "again", "action": "hide"}).status_code == 404
    login(client, other)
    assert client.post(url, {"reason": "x", "action": "restore"}).status_code == 403
