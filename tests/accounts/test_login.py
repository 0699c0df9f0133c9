import pytest
from django.test import Client

from accounts.models import LoginRecord

LOGIN_URL = "/accounts/login/"


def log_in(client, username, password, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_log_in_records_time_ip_and_browser(client, user, password):
    response = log_in(
        client,
        user.username,
        password,
        HTTP_USER_AGENT="TestBrowser/1.0",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    record = LoginRecord.objects.get(user=user)
    assert (record.ip, record.user_agent) == ("203.0.113.9", "TestBrowser/1.0")
    page = client.get("/accounts/me/").content.decode()
    assert "203.0.113.9" in page and ">Unknown browser<" in page


GALAXY = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)


@pytest.mark.django_db
def test_log_in_history_names_the_browser_system_and_device_in_words(client, user, password):
    log_in(client, user.username, password, HTTP_USER_AGENT=GALAXY)
    LoginRecord.objects.create(user=user, user_agent="")
    LoginRecord.objects.create(user=user, user_agent="%%%")
    page = client.get("/accounts/me/").content.decode()
    assert ">Chrome Mobile 120 · Android 14 · Samsung SM-S918N</span>" in page
    assert f'title="{GALAXY}"' in page  # the whole header, for whoever wants it
    assert ">Unknown browser</td>" in page and ">—</td>" in page
    assert ">Mozilla" not in page


@pytest.mark.django_db
def test_log_in_with_email_or_any_case_username(user, password):
    assert log_in(Client(), user.email.upper(), password).status_code == 302
    assert log_in(Client(), user.username.upper(), password).status_code == 302


@pytest.mark.django_db
def test_wrong_password_says_so_and_records_nothing(client, user):
    response = log_in(client, user.username, "wrong-password")
    assert response.status_code == 400
    assert "Wrong username or password." in response.content.decode()
    assert not LoginRecord.objects.exists()


@pytest.mark.django_db
def test_eleventh_failure_from_one_address_is_refused_with_a_message(client, password):
    # Different accounts, so only the per-address limit applies.
    from tests.factories import UserFactory

    people = UserFactory.create_batch(11)
    for person in people[:10]:
        assert log_in(client, person.username, "wrong-password").status_code == 400
    response = log_in(client, people[10].username, password)
    assert response.status_code == 429
    assert "Too many failed log-ins from your network" in response.content.decode()
    assert not LoginRecord.objects.exists()
    # Another address is not affected.
    assert (
        log_in(Client(REMOTE_ADDR="198.51.100.7"), people[10].username, password).status_code == 302
    )


@pytest.mark.django_db
def test_failures_per_account_are_limited_across_addresses(user, password):
    for n in range(5):
        log_in(Client(REMOTE_ADDR=f"198.51.100.{n}"), user.username, "wrong-password")
    response = log_in(Client(REMOTE_ADDR="198.51.100.99"), user.username, password)
    assert response.status_code == 429
    assert "Too many failed log-ins for this account" in response.content.decode()


@pytest.mark.django_db
def test_success_clears_the_account_failures(client, user, password):
    for _ in range(4):
        log_in(client, user.username, "wrong-password")
    assert log_in(client, user.username, password).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, user.username, "wrong-password")
    assert log_in(client, user.username, password).status_code == 302


@pytest.mark.django_db
def test_log_out_needs_a_post(user_client):
    assert user_client.get("/accounts/logout/").status_code == 405
    assert user_client.post("/accounts/logout/").status_code == 302
    assert user_client.get("/accounts/me/").status_code == 302


@pytest.mark.django_db
def test_pages_of_my_account_need_a_log_in(client):
    for url in [
        "/accounts/me/",
        "/accounts/me/edit/",
        "/accounts/me/password/",
        "/accounts/me/delete/",
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_history_pages_are_not_broken_by_bad_page_numbers(user_client):
    for page in ["abc", "-1", "999999999999999999999"]:  # no such page: the site's 404
        assert user_client.get(f"/accounts/me/?page={page}").status_code == 404
