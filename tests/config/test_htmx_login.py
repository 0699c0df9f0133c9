"""An HTMX request that needs a log-in sends the browser to the log-in page (HX-Redirect) and back
to the page the person was on, instead of swapping the log-in page into the part it updates."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.factories import make_post

pytestmark = pytest.mark.django_db


def _next(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == reverse("accounts:login")
    return parse_qs(parts.query)["next"][0]


def test_voting_logged_out_by_htmx_goes_to_the_login_and_back_to_the_post(client):
    post = make_post()
    page = f"http://testserver{reverse('board:post', args=[post.pk])}?page=1"
    response = client.post(
        reverse("board:post_vote", args=[post.pk]),
        {"value": "1"},
        headers={"HX-Request": "true", "HX-Current-URL": page},
    )
    assert response.status_code == 200
    assert response.content == b""  # nothing to swap in
    assert _next(response["HX-Redirect"]) == f"{reverse('board:post', args=[post.pk])}?page=1"


def test_without_htmx_it_is_still_a_plain_redirect(client):
    post = make_post()
    response = client.post(reverse("board:post_vote", args=[post.pk]), {"value": "1"})
    assert response.status_code == 302
    assert "HX-Redirect" not in response
    assert _next(response["Location"]) == reverse("board:post_vote", args=[post.pk])


@pytest.mark.parametrize(
    "current", ["https://evil.example/phish", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_a_foreign_current_url_is_never_where_the_login_leads(client, current):
    post = make_post()
    vote = reverse("board:post_vote", args=[post.pk])
    response = client.post(
        vote, {"value": "1"}, headers={"HX-Request": "true", "HX-Current-URL": current}
    )
    assert _next(response["HX-Redirect"]) == vote


def test_other_htmx_redirects_are_left_alone(user_client):
    post = make_post()
    response = user_client.post(
        reverse("board:post_vote", args=[post.pk]), {"value": "1"}, headers={"HX-Request": "true"}
    )
    assert "HX-Redirect" not in response or "login" not in response["HX-Redirect"]
