import pytest
from django.contrib.auth import get_user_model

User = get_user_model()

SIGNUP_URL = "/accounts/signup/"


def signup(client, **overrides):
    data = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password1": "plum-tree-harbour-77",
        "password2": "plum-tree-harbour-77",
        **overrides,
    }
    return client.post(SIGNUP_URL, data)


@pytest.mark.django_db
def test_korean_username_signs_up_and_is_logged_in(client):
    response = signup(client, username="김철수", email="chulsoo@example.com")
    assert response.status_code == 302
    user = User.objects.get(username="김철수")
    assert user.role == User.Role.MEMBER and not user.is_staff
    assert user.password.startswith("argon2$")
    assert client.get("/accounts/me/").context["user"] == user
    assert user.logins.count() == 1


@pytest.mark.django_db
def test_email_is_unique_case_insensitively(client, user):
    user.email = "alice@example.com"
    user.save()
    response = signup(client, email="Alice@Example.com")
    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [
        "An account with this email already exists."
    ]
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_username_is_unique_case_insensitively(client, user):
    response = signup(client, username=user.username.upper())
    assert response.status_code == 400
    assert "username" in response.context["form"].errors


@pytest.mark.django_db
def test_every_broken_rule_is_reported_at_once(client):
    response = signup(
        client,
        username="bad name!",
        email="not-an-email",
        password1="password",
        password2="different",
    )
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert set(errors) == {"username", "email", "password1", "password2"}
    assert "The two passwords do not match." in errors["password2"]
    assert "This password is too common." in errors["password1"]
    # The errors are tied to their fields for screen readers.
    assert b'aria-invalid="true"' in response.content
    assert b'id="id_password2_error"' in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_password_like_the_username_is_refused(client):
    response = signup(
        client, username="harbourlights", password1="harbourlights1", password2="harbourlights1"
    )
    assert (
        "The password is too similar to the username."
        in (response.context["form"].errors["password1"])
    )


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["username", "email", "password1", "password2"])
def test_missing_fields_are_reported_not_crashed(client, field):
    response = signup(client, **{field: ""})
    assert response.status_code == 400
    assert response.context["form"].errors[field] == ["This field is required."]


@pytest.mark.django_db
def test_huge_input_is_refused_with_messages(client):
    response = signup(client, username="x" * 5000, email=("y" * 5000) + "@example.com")
    assert response.status_code == 400
    assert {"username", "email"} <= set(response.context["form"].errors)


@pytest.mark.django_db
def test_signups_per_address_are_limited(client, settings):
    settings.SIGNUP_LIMIT_PER_IP = 2
    for n in range(2):
        assert signup(client, username=f"p{n}", email=f"p{n}@example.com").status_code == 302
        client.logout()
    response = signup(client, username="p3", email="p3@example.com")
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert User.objects.count() == 2
