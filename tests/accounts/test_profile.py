import pytest
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory


@pytest.mark.django_db
def test_change_password_needs_the_old_one(user_client, user, password):
    response = user_client.post(
        "/accounts/me/password/",
        {
            "old_password": "not-it",
            "new_password1": "new-lantern-river-5",
            "new_password2": "new-lantern-river-5",
        },
    )
    assert response.status_code == 400
    assert "old_password" in response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.django_db
def test_change_password_keeps_this_session_and_ends_others(user, password):
    this, other = Client(), Client()
    this.post("/accounts/login/", {"username": user.username, "password": password})
    other.post("/accounts/login/", {"username": user.username, "password": password})
    response = this.post(
        "/accounts/me/password/",
        {
            "old_password": password,
            "new_password1": "new-lantern-river-5",
            "new_password2": "new-lantern-river-5",
        },
    )
    assert response.status_code == 302
    assert this.get("/accounts/me/").status_code == 200
    assert other.get("/accounts/me/").status_code == 302
    assert (
        Client()
        .post("/accounts/login/", {"username": user.username, "password": "new-lantern-river-5"})
        .status_code
        == 302
    )


@pytest.mark.django_db
def test_edit_profile_saves_and_lowercases_email(user_client, user):
    response = user_client.post(
        "/accounts/me/edit/",
        {"username": "새이름", "email": "New@Example.COM", "bio": "I like jazz."},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.username, user.email, user.bio) == ("새이름", "new@example.com", "I like jazz.")


@pytest.mark.django_db
def test_edit_profile_refuses_taken_names_without_changing_anything(user_client, user):
    other = UserFactory(email="taken@example.com")
    response = user_client.post(
        "/accounts/me/edit/",
        {"username": other.username.upper(), "email": "TAKEN@example.com", "bio": ""},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"username", "email"}
    assert User.objects.get(pk=user.pk).username == user.username


@pytest.mark.django_db
def test_keeping_my_own_email_is_fine(user_client, user):
    response = user_client.post(
        "/accounts/me/edit/", {"username": user.username, "email": user.email.upper(), "bio": ""}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_delete_account_needs_password_and_confirmation(user_client, user):
    response = user_client.post("/accounts/me/delete/", {"password": "nope"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"password", "confirm"}
    user.refresh_from_db()
    assert not user.is_deleted


@pytest.mark.django_db
def test_deleted_account_cannot_log_in_and_shows_as_deleted_user(user_client, user, password):
    username = user.username
    response = user_client.post("/accounts/me/delete/", {"password": password, "confirm": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_deleted and str(user) == "deleted user"
    assert user.email is None
    assert user_client.get("/accounts/me/").status_code == 302
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 400
    assert Client().get(f"/accounts/u/{username}/").status_code == 404
    # The name and email are free again.
    UserFactory(username=username, email=f"{username}@example.com")


@pytest.mark.django_db
def test_public_profile_shows_the_person(client, user):
    response = client.get(f"/accounts/u/{user.username}/")
    assert response.status_code == 200
    assert user.username in response.content.decode()
    assert client.get("/accounts/u/nobody-here/").status_code == 404


@pytest.mark.django_db
def test_role_sets_django_permission_flags():
    member = UserFactory()
    staff = UserFactory(role=User.Role.STAFF)
    admin = UserFactory(role=User.Role.ADMIN)
    assert (member.is_staff, member.is_superuser) == (False, False)
    assert (staff.is_staff, staff.is_superuser) == (True, False)
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert User.objects.create_superuser("root", "root@example.com", "pw").role == User.Role.ADMIN
