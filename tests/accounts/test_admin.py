import pytest

from accounts.models import LoginRecord, User
from tests.factories import UserFactory


@pytest.mark.django_db
def test_staff_search_and_filter_people(staff_client):
    UserFactory(username="findme", state=User.State.BLOCKED)
    UserFactory(username="other")
    response = staff_client.get("/admin/accounts/user/", {"q": "findme"})
    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["findme"]
    response = staff_client.get("/admin/accounts/user/", {"state__exact": "blocked"})
    assert [u.username for u in response.context["cl"].result_list] == ["findme"]


@pytest.mark.django_db
def test_admin_block_action_asks_for_a_reason_then_records_it(staff_client, staff):
    target = UserFactory()
    data = {"action": "block", "_selected_action": [target.pk]}
    response = staff_client.post("/admin/accounts/user/", data)
    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    response = staff_client.post("/admin/accounts/user/", {**data, "apply": "1", "reason": ""})
    assert response.context["form"].errors["reason"]
    target.refresh_from_db()
    assert target.state == User.State.ACTIVE

    staff_client.post("/admin/accounts/user/", {**data, "apply": "1", "reason": "abuse"})
    target.refresh_from_db()
    assert (target.state, target.state_reason) == (User.State.BLOCKED, "abuse")
    change = target.state_changes.get()
    assert (change.reason, change.set_by) == ("abuse", staff)


@pytest.mark.django_db
def test_admin_suspend_needs_an_end(staff_client):
    target = UserFactory()
    data = {"action": "suspend", "_selected_action": [target.pk], "apply": "1", "reason": "r"}
    response = staff_client.post("/admin/accounts/user/", data)
    assert response.context["form"].errors["until"]
    staff_client.post("/admin/accounts/user/", {**data, "until": "2099-01-01 10:00"})
    target.refresh_from_db()
    assert target.state == User.State.SUSPENDED and target.suspended_until.year == 2099


@pytest.mark.django_db
def test_staff_see_anyones_login_history_and_state_history(staff_client):
    target = UserFactory()
    LoginRecord.objects.create(user=target, ip="192.0.2.44", user_agent="Agent/9")
    page = staff_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert "192.0.2.44" in page and "Agent/9" in page
    response = staff_client.get("/admin/accounts/loginrecord/", {"q": target.username})
    assert response.status_code == 200 and "192.0.2.44" in response.content.decode()


@pytest.mark.django_db
def test_members_cannot_reach_the_admin(user_client):
    response = user_client.get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response.url
