"""A name someone stopped using (renamed, deleted) is held for them for USERNAME_REUSE_DAYS: nobody
else may sign up with it or rename to it, so an old post never seems to point at someone new."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import FreedUsername, User
from tests.factories import PASSWORD, UserFactory

from .test_signup import signup

pytestmark = pytest.mark.django_db

HELD = "This username was in use until recently; it can be taken again after "


def _rename(client, user, name):
    return client.post(
        "/accounts/me/edit/", {"username": name, "email": user.email or "x@example.com", "bio": ""}
    )


@pytest.fixture
def renamed(user_client, user):
    """``user`` was 민지 and is now 민지2."""
    user.username = "민지"
    user.save()
    assert _rename(user_client, user, "민지2").status_code == 302
    return user


def test_a_name_given_up_cannot_be_signed_up_by_someone_else(renamed):
    response = signup(Client(), username="민지")
    assert response.status_code == 400
    [message] = response.context["form"].errors["username"]
    assert message.startswith(HELD)
    assert message in response.content.decode()  # next to the field
    assert not User.objects.filter(username="민지").exclude(pk=renamed.pk).exists()


def test_any_case_of_it_is_held(user_client, user):
    user.username = "Minji"
    user.save()
    _rename(user_client, user, "someone-else")
    assert "username" in signup(Client(), username="MINJI").context["form"].errors


def test_nor_can_someone_else_rename_to_it(client, renamed):
    other = UserFactory()
    client.force_login(other)
    response = _rename(client, other, "민지")
    assert response.status_code == 400
    assert response.context["form"].errors["username"][0].startswith(HELD)


def test_its_owner_may_take_it_back(user_client, renamed):
    assert _rename(user_client, renamed, "민지").status_code == 302
    renamed.refresh_from_db()
    assert renamed.username == "민지"
    assert not FreedUsername.objects.filter(key="민지").exists()
    assert FreedUsername.objects.get(key="민지2").user == renamed  # the name left is held now


def test_after_the_period_anyone_may_take_it(renamed, settings):
    settings.USERNAME_REUSE_DAYS = 30
    FreedUsername.objects.filter(key="민지").update(
        freed_at=timezone.now() - dt.timedelta(days=30, minutes=1)
    )
    assert signup(Client(), username="민지").status_code == 302


def test_a_deleted_account_holds_its_name_too(client, user):
    services.delete_account(user=user)
    response = signup(client, username=user.username)
    assert response.context["form"].errors["username"][0].startswith(HELD)


def test_the_service_refuses_too_when_the_form_check_was_passed_meanwhile(renamed):
    with pytest.raises(services.AccountError) as refused:
        services.register_user(username="민지", email="late@example.com", password=PASSWORD)
    assert refused.value.field == "username"
    assert not User.objects.filter(email="late@example.com").exists()


def test_renaming_records_the_old_name_for_its_owner_however_it_happens(user):
    """The profile form and the admin's change page both call ``services.renamed``."""
    old = user.username
    services.renamed(user, old=old, new="renamed-by-admin")
    freed = FreedUsername.objects.get(key=old.lower())
    assert (freed.username, freed.user) == (old, user)
    services.renamed(user, old="same", new="SAME")  # a change of case frees nothing
    assert not FreedUsername.objects.filter(key="same").exists()


@pytest.mark.korean
def test_the_korean_message(renamed):
    response = signup(Client(), username="민지")
    assert "최근까지 사용된 이름" in response.context["form"].errors["username"][0]
