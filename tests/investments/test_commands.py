import io

import pytest
from django.core.management import CommandError, call_command

from accounts import demo as accounts_demo
from investments import demo, services
from investments.models import Event, Fund, Investor, McpiValue, Order, Royalty, Trade
from tests.factories import StaffFactory, fund_with_copyright, investor_with_cash

from .helpers import assert_invariants

pytestmark = pytest.mark.django_db


def test_audit_passes_on_a_clean_ledger_and_fails_on_tampering():
    user = investor_with_cash(500)
    call_command("audit", stdout=io.StringIO())
    Investor.objects.filter(user=user).update(cash_available=501)
    out = io.StringIO()
    # Seen twice: against the replay of the log and against the sum of the postings.
    with pytest.raises(CommandError, match="2 difference"):
        call_command("audit", stdout=out)
    assert "replay" in out.getvalue()
    assert "postings of investor" in out.getvalue()
    call_command("rebuild_projections", stdout=io.StringIO())
    call_command("audit", stdout=io.StringIO())
    assert Investor.objects.get(user=user).cash_available == 500


def test_record_mcpi_one_value_and_csv(tmp_path):
    call_command("record_mcpi", "--at", "2025-01-01", "--value", "101.5", stdout=io.StringIO())
    path = tmp_path / "mcpi.csv"
    path.write_text("at,value\n2025-02-01,102\n2025-03-01T12:00,99.25\n")
    call_command("record_mcpi", "--csv", str(path), stdout=io.StringIO())
    assert [str(v) for v in McpiValue.objects.values_list("value", flat=True)] == [
        "101.5000",
        "102.0000",
        "99.2500",
    ]
    with pytest.raises(CommandError):
        call_command("record_mcpi", "--value", "-3", stdout=io.StringIO())


def test_distribute_royalties_command():
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=100)
    user = investor_with_cash(1_000)
    services.subscribe(user=user, fund_id=fund.pk, amount=1_000)
    services.record_royalty(actor=staff, fund_id=fund.pk, amount=77)
    out = io.StringIO()
    call_command("distribute_royalties", stdout=out)
    assert "Distributed 1" in out.getvalue()
    assert Royalty.objects.get().distributed
    assert Investor.objects.get(user=user).cash_available == 77


def test_demo_data_loads_once_and_passes_audit():
    out = io.StringIO()
    people = accounts_demo.load(out)
    demo.load(out, people)
    events = Event.objects.count()
    demo.load(out, accounts_demo.load(out))
    assert Event.objects.count() == events
    assert Fund.objects.count() == 2
    assert McpiValue.objects.count() > 100
    for fund in Fund.objects.all():
        assert Trade.objects.filter(fund=fund).count() >= 6
        assert Order.objects.filter(fund=fund, status="open", side="buy").exists()
        assert Order.objects.filter(fund=fund, status="open", side="sell").exists()
    call_command("audit", stdout=io.StringIO())
    assert_invariants()


def test_market_admin_pages_are_read_only(admin_client):
    out = io.StringIO()
    demo.load(out, accounts_demo.load(out))
    for model in ("order", "trade", "market", "circuitbreaker"):
        assert admin_client.get(f"/admin/investments/{model}/").status_code == 200
    order = Order.objects.first()
    page = admin_client.get(f"/admin/investments/order/{order.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.get("/admin/investments/order/?status__exact=open").status_code == 200


def test_event_admin_is_read_only(admin_client):
    user = investor_with_cash(5)
    event = Event.objects.filter(actor=user).first()
    response = admin_client.get(f"/admin/investments/event/{event.pk}/change/")
    assert response.status_code == 200
    admin_client.post(f"/admin/investments/event/{event.pk}/delete/", {"post": "yes"})
    assert Event.objects.filter(pk=event.pk).exists()
    listing = admin_client.get("/admin/investments/event/?q=investor")
    assert listing.status_code == 200


def test_staff_add_a_fund_through_admin(admin_client):
    response = admin_client.post(
        "/admin/investments/fund/add/", {"name": "Trot Legends", "base_price": "2000"}
    )
    assert response.status_code == 302
    assert Event.objects.filter(type="fund_created", payload__name="Trot Legends").exists()
