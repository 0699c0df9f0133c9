"""The investments admin speaks plainly: named models and fields (in Korean too), a message
after each addition that says what happens next, bad values next to their field, a Distribute
action, and a fund page that says what the fund is worth."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from investments import services
from investments.models import Fund, McpiValue, Royalty
from tests.factories import fund_with_copyright, investor_with_cash

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def fund(admin_user):
    fund = fund_with_copyright(staff=admin_user, name="Ballads", base_price=10_000)
    holder = investor_with_cash(50_000)
    services.subscribe(user=holder, fund_id=fund.pk, amount=30_000)
    services.acquire_copyright(
        actor=admin_user,
        fund_id=fund.pk,
        code="K-1",
        registration_number="R-1",
        music_id="M-1",
        title="봄날",
        artist="BTS",
        price=20_000,
    )
    return fund


def test_models_have_proper_names(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "Royalties" in body and "MCPI values" in body
    assert "Royaltys" not in body and "Mcpi values" not in body


def test_the_korean_admin_names_models_and_columns(admin_user, fund):
    client = Client(headers={"Accept-Language": "ko"})
    client.force_login(admin_user)
    body = client.get("/admin/investments/fund/").content.decode()
    assert "현재 주당 NAV" in body and "보유자" in body
    body = client.get("/admin/investments/royalty/").content.decode()
    assert "저작권료" in body and "Royalt" not in body


def test_adding_a_royalty_says_what_happens_next(admin_client, fund):
    response = admin_client.post(
        "/admin/investments/royalty/add/", {"fund": fund.pk, "amount": "1200000"}, follow=True
    )
    [(level, text)] = _messages(response)
    assert level == "success"
    assert text.startswith("Royalty of ₩1,200,000 for Ballads recorded;")
    assert Royalty.objects.get().amount == 1_200_000


@pytest.mark.parametrize("amount", ["-5", "0", "1.5", "9" * 30])
def test_a_bad_royalty_is_an_error_next_to_the_amount(admin_client, fund, amount):
    response = admin_client.post(
        "/admin/investments/royalty/add/", {"fund": fund.pk, "amount": amount}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"]
    assert not Royalty.objects.exists()


def test_adding_an_mcpi_value_says_so(admin_client):
    response = admin_client.post(
        "/admin/investments/mcpivalue/add/",
        {"at_0": "2026-01-02", "at_1": "09:00:00", "value": "101.5"},
        follow=True,
    )
    [(level, text)] = _messages(response)
    assert level == "success" and text.startswith("MCPI 101.5") and McpiValue.objects.exists()


def test_distributing_from_the_list(admin_client, fund, admin_user):
    first = services.record_royalty(actor=admin_user, fund_id=fund.pk, amount=3_000)
    second = services.record_royalty(actor=admin_user, fund_id=fund.pk, amount=6_000)
    services.distribute_royalties(ids=[first.pk])
    response = admin_client.post(
        "/admin/investments/royalty/",
        {"action": "distribute", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert _messages(response) == [
        ("success", "1 royalty distributed to its holders."),
        ("warning", "1 royalty was distributed already; nothing changed for it."),
    ]
    assert Royalty.objects.filter(distributed=True).count() == 2


def test_the_fund_page_says_what_the_fund_is_worth(admin_client, fund):
    body = admin_client.get("/admin/investments/fund/").content.decode()
    assert "NAV per share now" in body and "Holders" in body
    page = admin_client.get(f"/admin/investments/fund/{fund.pk}/change/").content.decode()
    fund = Fund.objects.get(pk=fund.pk)
    assert "Fund value now" in page and "₩" in page
    assert fund.copyrights.get().title in page  # its copyrights listed on its page


def test_a_deleted_person_is_not_shown_as_active(admin_client, user):
    accounts.delete_account(user=user)
    body = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    row = body.split(f"deleted-{user.pk}")[1].split("</tr>")[0]
    assert "Deleted" in row and "Active" not in row
