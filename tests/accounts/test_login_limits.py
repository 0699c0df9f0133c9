"""One failed-log-in limit for every entrance: the site, /admin/login/ and ``authenticate()``,
counted per account (every spelling of it) and per client address."""

import logging

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import metrics
from accounts.models import LoginRecord
from tests.factories import PASSWORD, AdminFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Guess-4711"
ADMIN_LOGIN_URL = "/admin/login/"
ACCOUNT_REFUSAL = "Too many failed log-ins for this account"
ADDRESS_REFUSAL = "Too many failed log-ins from your network"
HOME = "198.51.100.20"  # TRUSTED_PROXY_COUNT is 0: accounts.utils.client_ip reads REMOTE_ADDR
ELSEWHERE = "203.0.113.77"


def site(login, password, ip=HOME):
    """A log-in at the site from a fresh browser (a logged-in one would just be redirected)."""
    client = Client(REMOTE_ADDR=ip)
    response = client.post(reverse("accounts:login"), {"username": login, "password": password})
    return client, response


def admin(login, password, ip=HOME):
    client = Client(REMOTE_ADDR=ip)
    data = {"username": login, "password": password, "next": "/admin/"}
    return client, client.post(ADMIN_LOGIN_URL, data)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_site_refuses(login, message, ip=HOME):
    client, response = site(login, PASSWORD, ip)
    assert response.status_code == 429
    assert message in response.content.decode()
    assert not logged_in(client)


def assert_admin_refuses(login, message, ip=HOME):
    client, response = admin(login, PASSWORD, ip)
    assert response.status_code == 200  # the admin's log-in page again, with the message
    assert message in response.content.decode()
    assert not logged_in(client)


def failed_count(reason: str) -> float:
    return metrics.failed_logins.labels(reason=reason)._value.get()


def spellings(user):
    """Five ways to name one account: three cases of the username, two of the e-mail."""
    name, email = user.username, user.email
    return [name.lower(), name.upper(), name.swapcase(), email, email.upper()]


# --- Per account: every spelling, every entrance, one count ---------------------------------------


def test_five_failures_by_username_and_email_in_any_case_lock_the_account_at_the_site():
    user = UserFactory(username="Daisy")
    for login in spellings(user):
        assert site(login, WRONG)[1].status_code == 400
    assert_site_refuses(user.username, ACCOUNT_REFUSAL)
    assert not LoginRecord.objects.exists()


def test_failures_at_the_site_and_the_admin_add_up_for_one_account():
    user = StaffFactory(username="Marguerite")
    entrances = [site, admin, site, admin, admin]
    for n, (attempt, login) in enumerate(zip(entrances, spellings(user), strict=True)):
        client, _ = attempt(login, WRONG, ip=f"192.0.2.{n}")
        assert not logged_in(client)
    assert_site_refuses(user.email, ACCOUNT_REFUSAL, ip=ELSEWHERE)
    assert_admin_refuses(user.username.lower(), ACCOUNT_REFUSAL, ip=ELSEWHERE)


@pytest.mark.parametrize("factory", [StaffFactory, AdminFactory])
def test_six_failures_at_the_admin_lock_the_account_at_both_entrances(factory):
    user = factory()
    for _ in range(6):
        client, response = admin(user.username, WRONG)
        assert response.status_code == 200 and not logged_in(client)
    assert_admin_refuses(user.username, ACCOUNT_REFUSAL)
    assert_site_refuses(user.email, ACCOUNT_REFUSAL, ip=ELSEWHERE)


def test_a_success_clears_the_account_count_but_not_the_address_count():
    user = UserFactory()
    for _ in range(4):
        site(user.email, WRONG)
    client, response = site(user.username.upper(), PASSWORD)  # another spelling, same account
    assert response.status_code == 302 and logged_in(client)
    for _ in range(4):  # without the reset, the account would now be at 8 of 5
        site(user.email, WRONG)
    site("nobody-1", WRONG)
    site("nobody-2", WRONG)  # the address is now at 10: 4 + 4 + 2, the success did not clear it
    assert_site_refuses(user.username, ADDRESS_REFUSAL)
    client, response = site(user.email, PASSWORD, ip=ELSEWHERE)
    assert response.status_code == 302 and logged_in(client)


# --- Per address ---------------------------------------------------------------------------------


def test_ten_failures_from_one_address_over_many_accounts_refuse_the_next_right_password():
    people = UserFactory.create_batch(3)
    logins = [p.username for p in people] * 2 + [p.email for p in people] + ["ghost"]
    for login in logins:  # 10 failures, at most 3 per account: no account limit is reached
        site(login, WRONG)
    target = StaffFactory()
    assert_site_refuses(target.username, ADDRESS_REFUSAL)
    assert_admin_refuses(target.username, ADDRESS_REFUSAL)
    assert not LoginRecord.objects.exists()
    # Another address is not affected, at either entrance.
    client, response = site(target.username, PASSWORD, ip=ELSEWHERE)
    assert response.status_code == 302 and logged_in(client)
    client, response = admin(target.email, PASSWORD, ip=ELSEWHERE)
    assert response.status_code == 302 and logged_in(client)


def test_unknown_usernames_and_emails_count_against_the_address_at_both_entrances():
    for n in range(5):
        site(f"no-such-user-{n}", WRONG)
        admin(f"no-such-{n}@example.com", WRONG)
    user = UserFactory()
    assert_site_refuses(user.username, ADDRESS_REFUSAL)
    client, response = site(user.username, PASSWORD, ip=ELSEWHERE)
    assert response.status_code == 302 and logged_in(client)


# --- authenticate() itself -----------------------------------------------------------------------


def test_authenticate_obeys_the_account_limit_whatever_the_entrance():
    user = UserFactory()
    for _ in range(3):
        site(user.username, WRONG)
    for n in range(2):
        request = RequestFactory().post("/", REMOTE_ADDR=f"192.0.2.{n}")
        assert authenticate(request, username=user.email, password=WRONG) is None
    request = RequestFactory().post("/", REMOTE_ADDR=ELSEWHERE)
    assert authenticate(request, username=user.username, password=PASSWORD) is None
    assert ACCOUNT_REFUSAL in request.login_refusal
    assert authenticate(None, username=user.username, password=PASSWORD) is None
    assert_site_refuses(user.username, ACCOUNT_REFUSAL, ip=ELSEWHERE)


def test_authenticate_obeys_the_address_limit():
    for n in range(10):
        site(f"ghost-{n}", WRONG)
    user = UserFactory()
    here = RequestFactory().post("/", REMOTE_ADDR=HOME)
    assert authenticate(here, username=user.username, password=PASSWORD) is None
    assert ADDRESS_REFUSAL in here.login_refusal
    there = RequestFactory().post("/", REMOTE_ADDR=ELSEWHERE)
    assert authenticate(there, username=user.username, password=PASSWORD) == user


# --- Metrics and logs ----------------------------------------------------------------------------


def test_failures_and_refusals_are_counted_under_their_reasons():
    user = UserFactory()
    wrong, limited = failed_count("wrong_password"), failed_count("rate_limited")
    for _ in range(5):
        site(user.username, WRONG)
    assert failed_count("wrong_password") == wrong + 5
    assert failed_count("rate_limited") == limited
    site(user.username, PASSWORD)
    admin(user.username, WRONG)
    assert failed_count("rate_limited") == limited + 2
    assert failed_count("wrong_password") == wrong + 5  # a refused attempt is not a guess


def test_a_failure_and_a_refusal_are_logged_as_warnings_without_the_password(caplog):
    user = UserFactory()
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            site(user.username, WRONG)
        site(user.username, PASSWORD)
    ours = [r for r in caplog.records if r.name == "accounts.login_limits"]
    assert {r.levelno for r in ours} == {logging.WARNING}
    messages = [r.getMessage() for r in ours]
    assert messages.count("log-in failed: wrong name or password") == 5
    assert messages.count("log-in refused: too many failures for the account") == 1
    assert all(r.account_id == user.pk and r.ip == HOME for r in ours)
    everything = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    assert WRONG not in everything and PASSWORD not in everything


def test_an_address_refusal_is_logged_as_such(caplog):
    for n in range(10):
        site(f"ghost-{n}", WRONG)
    user = UserFactory()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="accounts.login_limits"):
        site(user.username, PASSWORD)
    assert [r.getMessage() for r in caplog.records if r.name == "accounts.login_limits"] == [
        "log-in refused: too many failures for the address"
    ]


def test_a_username_with_an_at_sign_logs_in_and_its_failures_count_on_the_account(db, password):
    person = UserFactory(username="ann@home", email="ann@example.com")
    assert authenticate(None, username="ANN@home", password=password) == person
    for _ in range(5):
        assert authenticate(None, username="ann@home", password="wrong") is None
    assert authenticate(None, username="ann@example.com", password=password) is None  # limited
