import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import StateChange, User


def logged_in_client(user, password):
    client = Client()
    assert (
        client.post(
            "/accounts/login/", {"username": user.username, "password": password}
        ).status_code
        == 302
    )
    return client


@pytest.mark.django_db
def test_block_ends_the_session_at_the_next_request(user, staff, password):
    client = logged_in_client(user, password)
    services.change_state(user_id=user.pk, state=User.State.BLOCKED, reason="spam", by=staff)
    response = client.get("/accounts/me/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "This account is blocked: spam" in response.content.decode()
    response = Client().post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 400
    assert "This account is blocked: spam" in response.content.decode()


@pytest.mark.django_db
def test_suspension_holds_until_its_end(user, staff, password):
    until = timezone.now() + datetime.timedelta(days=3)
    services.change_state(
        user_id=user.pk, state=User.State.SUSPENDED, until=until, reason="cool off", by=staff
    )
    response = Client().post("/accounts/login/", {"username": user.username, "password": password})
    assert "suspended until" in response.content.decode()
    User.objects.filter(pk=user.pk).update(suspended_until=timezone.now() - datetime.timedelta(1))
    logged_in_client(user, password)


@pytest.mark.django_db
def test_suspension_needs_a_future_end_and_a_reason(user, staff):
    with pytest.raises(services.AccountError, match="end in the future"):
        services.change_state(
            user_id=user.pk,
            state="suspended",
            reason="x",
            by=staff,
            until=timezone.now() - datetime.timedelta(minutes=1),
        )
    with pytest.raises(services.AccountError, match="reason"):
        services.change_state(user_id=user.pk, state="blocked", reason="  ", by=staff)
    assert not StateChange.objects.exists()


@pytest.mark.django_db
def test_state_history_keeps_every_change_with_its_author(user, staff, password):
    services.change_state(user_id=user.pk, state="blocked", reason="spam", by=staff)
    services.change_state(user_id=user.pk, state="active", reason="appeal accepted", by=staff)
    history = list(user.state_changes.values_list("state", "reason", "set_by"))
    assert history == [("active", "appeal accepted", staff.pk), ("blocked", "spam", staff.pk)]
    page = logged_in_client(user, password).get("/accounts/me/").content.decode()
    assert "appeal accepted" in page
