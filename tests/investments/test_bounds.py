"""Every date and number a person types is bounded before it reaches arithmetic or the database:
out of range is a message next to the field (or ignored, for a link's parameter), never a 500."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from investments import services
from investments.checks import MAX_AMOUNT, LedgerError
from investments.models import Copyright, Event, Fund, Investor, McpiValue, Royalty
from tests.factories import AdminFactory, StaffFactory, fund_with_copyright, investor_with_cash

pytestmark = pytest.mark.django_db

YEARS = "Enter a date between the years 1900 and 2999."
FUTURE = "Pick a moment in the past: the future is not known yet."


# --- Time travel (the portfolio at a moment) ------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00", "0001-01-01T08:59", "9999-12-31T23:59", "1899-12-31T23:59"],
)
def test_time_travel_outside_the_years_the_site_converts_is_a_message_next_to_the_field(
    user_client, moment
):
    response = user_client.get(reverse("investments:portfolio"), {"at": moment})
    assert response.status_code == 400
    assert response.context["form"].errors["at"] == [YEARS]
    assert response.context["past"] is False
    assert YEARS in response.content.decode()


def test_time_travel_to_the_future_is_refused_with_a_message(user_client):
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    response = user_client.get(
        reverse("investments:portfolio"), {"at": tomorrow.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["at"] == [FUTURE]
    assert response.context["past"] is False


def test_time_travel_to_before_the_account_opened_is_refused_with_a_message(user_client, user):
    services.register_investor(user=user)
    services.deposit(user=user, amount=500)
    response = user_client.get(reverse("investments:portfolio"), {"at": "1900-01-01T09:00"})
    assert response.status_code == 400
    [message] = response.context["form"].errors["at"]
    assert message.startswith("Your account opened on ")
    assert message.endswith("; pick a moment after that.")
    assert response.context["past"] is False
    assert message in response.content.decode()


def test_the_moment_picker_offers_only_the_accounts_lifetime(user_client, user):
    services.register_investor(user=user)
    opened = Event.objects.get(stream=f"investor-{Investor.objects.get(user=user).pk}", version=1)
    page = user_client.get(reverse("investments:portfolio")).content.decode()
    assert f'min="{timezone.localtime(opened.occurred_at):%Y-%m-%dT%H:%M}"' in page
    assert f'max="{timezone.localtime():%Y-%m-%dT%H:%M}"' in page


def test_time_travel_to_a_moment_in_the_accounts_life_shows_it_then(user_client, user):
    start = timezone.now() - dt.timedelta(days=3)
    services.register_investor(user=user, at=start)
    services.deposit(user=user, amount=500, at=start + dt.timedelta(days=1))
    services.deposit(user=user, amount=700)
    moment = timezone.localtime(start + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = user_client.get(reverse("investments:portfolio"), {"at": moment})
    assert response.status_code == 200
    assert response.context["past"] is True
    assert response.context["portfolio"].available == 500


# --- History's "older" link -----------------------------------------------------------------------


@pytest.fixture
def thirty_deposits(user):
    services.register_investor(user=user)
    for n in range(30):
        services.deposit(user=user, amount=n + 1)


@pytest.mark.parametrize("before", ["0", "-1", "99999999999999999999999", str(2**63), "1e9", "x"])
def test_history_with_a_nonsense_before_shows_the_first_page(user_client, thirty_deposits, before):
    first = user_client.get(reverse("investments:history"))
    response = user_client.get(reverse("investments:history"), {"before": before})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    assert response.context["rows"] == first.context["rows"]
    assert response.context["next_before"] == first.context["next_before"]


def test_history_with_the_largest_sane_before_still_pages(user_client, thirty_deposits):
    response = user_client.get(reverse("investments:history"), {"before": str(2**63 - 1)})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 25


# --- Amounts on the site's money forms ------------------------------------------------------------


def test_a_deposit_above_the_limit_at_once_is_refused_next_to_the_field(user_client, user):
    services.register_investor(user=user)
    response = user_client.post(
        reverse("investments:deposit"),
        {"amount": str(settings.DEPOSIT_MAX_PER_DEPOSIT + 1), "idempotency_key": "big"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["Enter at most ₩10,000,000."]
    assert Investor.objects.get(user=user).cash_available == 0
    assert not Event.objects.filter(type="cash_deposited").exists()


def test_the_deposit_form_says_its_limits_and_carries_them(user_client, user):
    services.register_investor(user=user)
    page = user_client.get(reverse("investments:deposit")).content.decode()
    assert "Up to ₩10,000,000 at a time and ₩50,000,000 a day." in page
    assert 'max="10000000"' in page and 'inputmode="numeric"' in page


def test_the_deposit_limits_are_words_in_korean(user_client, user):
    services.register_investor(user=user)
    response = user_client.post(
        reverse("investments:deposit"),
        {"amount": "10000001", "idempotency_key": "big"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert "10,000,000원" in response.content.decode()


def test_a_deposit_of_exactly_the_limit_is_taken(user_client, user):
    services.register_investor(user=user)
    response = user_client.post(
        reverse("investments:deposit"),
        {"amount": str(settings.DEPOSIT_MAX_PER_DEPOSIT), "idempotency_key": "max"},
    )
    assert response.status_code == 302
    assert Investor.objects.get(user=user).cash_available == settings.DEPOSIT_MAX_PER_DEPOSIT


def test_a_deposit_past_the_days_limit_is_refused_and_says_what_is_left(user_client, user):
    services.register_investor(user=user)
    for _ in range(4):
        services.deposit(user=user, amount=10_000_000)
    services.deposit(user=user, amount=9_000_000)
    response = user_client.post(
        reverse("investments:deposit"), {"amount": "1000001", "idempotency_key": "day"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == [
        "You can deposit ₩50,000,000 a day; ₩1,000,000 more today."
    ]
    assert Investor.objects.get(user=user).cash_available == 49_000_000
    services.deposit(user=user, amount=1_000_000)
    assert Investor.objects.get(user=user).cash_available == 50_000_000


def test_the_days_limit_counts_the_day_in_korea_time():
    user = investor_with_cash()
    seoul = dt.timezone(dt.timedelta(hours=9))
    late = dt.datetime(2026, 3, 1, 23, 59, tzinfo=seoul)  # 14:59 UTC
    services.deposit(user=user, amount=10_000_000, at=late - dt.timedelta(hours=3))
    for _ in range(4):
        services.deposit(user=user, amount=10_000_000, at=late)
    with pytest.raises(LedgerError, match="more today") as refused:
        services.deposit(user=user, amount=1, at=late)
    assert refused.value.field == "amount"
    # One minute later it is the next day in Korea (still 1 March in UTC): a new day's limit.
    services.deposit(user=user, amount=10_000_000, at=late + dt.timedelta(minutes=2))
    assert Investor.objects.get(user=user).cash_available == 60_000_000


def test_the_deposit_limits_come_from_the_settings(settings):
    settings.DEPOSIT_MAX_PER_DEPOSIT, settings.DEPOSIT_MAX_PER_DAY = 1_000, 1_500
    user = investor_with_cash()
    services.deposit(user=user, amount=1_000)
    with pytest.raises(LedgerError, match="at most ₩1,000 at a time"):
        services.deposit(user=user, amount=1_001)
    with pytest.raises(LedgerError, match="₩500 more today"):
        services.deposit(user=user, amount=501)


def test_the_service_refuses_an_amount_above_the_maximum():
    user = investor_with_cash()
    with pytest.raises(LedgerError, match="too large") as refused:
        services.deposit(user=user, amount=MAX_AMOUNT + 1)
    assert refused.value.field == "amount"
    assert not Event.objects.filter(type="cash_deposited").exists()


# --- The admin's ledger forms ---------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(AdminFactory())
    return client


def add_url(model) -> str:
    return reverse(f"admin:investments_{model._meta.model_name}_add")


def field_errors(response, name) -> list[str]:
    assert response.status_code == 200, response
    return list(response.context["adminform"].form.errors.get(name, []))


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_admin_mcpi_with_a_date_outside_the_years_is_a_form_error_and_no_row(admin_client, date):
    response = admin_client.post(
        add_url(McpiValue), {"at_0": date, "at_1": "00:00:00", "value": "100"}
    )
    assert field_errors(response, "at") == [YEARS]
    assert YEARS in response.content.decode()
    assert not McpiValue.objects.exists()
    assert not Event.objects.filter(type="mcpi_recorded").exists()


@pytest.mark.parametrize("value", ["0", "-5", "1e9", "NaN", "Infinity"])
def test_admin_mcpi_with_a_bad_value_is_a_form_error_and_no_row(admin_client, value):
    response = admin_client.post(
        add_url(McpiValue), {"at_0": "2026-01-01", "at_1": "00:00:00", "value": value}
    )
    assert field_errors(response, "value")
    assert not McpiValue.objects.exists()


def test_admin_mcpi_with_a_sane_date_and_value_is_recorded(admin_client):
    response = admin_client.post(
        add_url(McpiValue), {"at_0": "2026-01-01", "at_1": "09:30:00", "value": "101.5"}
    )
    assert response.status_code == 302
    assert McpiValue.objects.get().value == 101.5


AMOUNTS = ["0", "-5", str(10**16)]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_admin_royalty_with_an_amount_out_of_range_is_a_form_error_and_no_row(admin_client, amount):
    fund = fund_with_copyright()
    response = admin_client.post(add_url(Royalty), {"fund": str(fund.pk), "amount": amount})
    assert field_errors(response, "amount")
    assert not Royalty.objects.exists()
    assert not Event.objects.filter(type="royalty_received").exists()


@pytest.mark.parametrize("amount", AMOUNTS)
def test_admin_fund_with_a_base_price_out_of_range_is_a_form_error_and_no_row(admin_client, amount):
    response = admin_client.post(add_url(Fund), {"name": "Bounded", "base_price": amount})
    assert field_errors(response, "base_price")
    assert not Fund.objects.filter(name="Bounded").exists()


@pytest.mark.parametrize("amount", AMOUNTS)
def test_admin_copyright_with_a_price_out_of_range_is_a_form_error_and_no_row(admin_client, amount):
    fund = fund_with_copyright()
    data = {
        "fund": str(fund.pk),
        "code": "C",
        "registration_number": "R",
        "music_id": "M",
        "title": "T",
        "artist": "A",
        "price": amount,
    }
    response = admin_client.post(add_url(Copyright), data)
    assert field_errors(response, "price")
    assert not Copyright.objects.exists()


def test_admin_amount_inputs_carry_the_bounds(admin_client):
    page = admin_client.get(add_url(Royalty)).content.decode()
    assert 'min="1"' in page and f'max="{MAX_AMOUNT}"' in page


# --- Staff see a ledger row's page (view only) ----------------------------------------------------


def test_staff_see_the_view_only_pages_of_funds_copyrights_royalties_and_mcpi(client):
    moderator = StaffFactory()
    fund = fund_with_copyright(staff=moderator, base_price=10_000)
    investor = investor_with_cash(100_000)
    services.subscribe(user=investor, fund_id=fund.pk, amount=50_000)
    services.acquire_copyright(
        actor=moderator,
        fund_id=fund.pk,
        code="KOMCA-9",
        registration_number="R",
        music_id="M",
        title="Hype Boy",
        artist="NewJeans",
        price=20_000,
    )
    services.record_royalty(actor=moderator, fund_id=fund.pk, amount=1_234)
    client.force_login(moderator)
    for obj, shown in (
        (fund, "10000"),
        (Copyright.objects.get(), "Hype Boy"),
        (Royalty.objects.get(), "1234"),
        (McpiValue.objects.get(), "100"),
    ):
        url = reverse(f"admin:investments_{obj._meta.model_name}_change", args=[obj.pk])
        response = client.get(url)
        assert response.status_code == 200, url
        form = response.context["adminform"].form
        assert not form.fields, url  # nothing to type on a view-only page
        assert shown in response.content.decode(), url
