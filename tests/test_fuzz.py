"""Whatever a person types, the site answers below 500: every query parameter it reads and every
form it has (the site's and the admin's), filled with arbitrary text, huge numbers and impossible
dates. A 500 raises in the test client, so a failure shows the traceback."""

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.forms import MultiWidget
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from board import services as board_services
from investments import market, services
from investments.models import McpiValue
from tests.factories import (
    PASSWORD,
    AdminFactory,
    StaffFactory,
    SubCategoryFactory,
    UserFactory,
    fund_with_copyright,
    investor_with_cash,
    make_comment,
    make_post,
)

pytestmark = pytest.mark.django_db

# Fifteen drawn examples a test, after its explicit ones (``edges`` below): the whole file stays
# well under a minute on SQLite.
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text people type that has broken sites before: NUL, numbers past every column and float,
# digits of other scripts (int() takes them), moments before year 1 in UTC, impossible dates.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "1e309",
    "-1e309",
    "9" * 40,
    "-" + "9" * 40,
    str(2**63),
    str(2**64),
    "-0",
    "0",
    "-1",
    "1",
    "0.5",
    "1,000",
    "NaN",
    "Infinity",
    "0x10",
    "१२३",
    "٣٣",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-13-45",
    "2026-02-30T25:61",
    "0001-01-01",
    "9999-12-31",
    "2026-13-45 99:99",
    "23:59:60",
    "x" * 300,
    "x" * 5001,
    "😀" * 70,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '+a* -b ~c "d" (e) @f',
    "%_\\",
    "{{ request }}{% debug %}",
]
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.datetimes().map(lambda moment: moment.isoformat()[:16]),
)
KEY = st.one_of(st.uuids().map(lambda u: u.hex), TEXT)
# The values every test tries first, in every field at once (drawn values may miss them).
EDGE = [
    "",
    "\x00",
    "1e309",
    "9" * 40,
    "-0",
    "-1",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-13-45",
    "x" * 5001,
]
# Admin forms' fields are known only at run time: their drawn values favour the edges.
FIELD = st.one_of(st.sampled_from(EDGE), TEXT)


def edges(*names, **fixed):
    """Explicit examples: each EDGE value in all of ``names`` at once (``fixed`` gives the test's
    other arguments), run before the drawn ones."""

    def decorate(test):
        for value in reversed(EDGE):
            test = example(**dict.fromkeys(names, value), **fixed)(test)
        return test

    return decorate


def text(*valid):
    """Arbitrary text, or now and then one of the ``valid`` values (so validation gets past the
    first field and reaches the next)."""
    return st.one_of(st.sampled_from(valid), TEXT) if valid else TEXT


def ok(response):
    assert response.status_code < 500, response
    return response


def logged_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashes(settings):
    """Argon2 is slow on purpose and every log-in, password change and account deletion checks a
    password: hash with MD5 here (Argon2 stays listed, so the factories' hashes still verify)."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *django_settings.PASSWORD_HASHERS,
    ]


def _quick_password(person):
    person.set_password(PASSWORD)
    person.save(update_fields=["password"])
    return person


MEMBER, BOSS = "fuzz-member", "fuzz-boss"


@pytest.fixture
def world(db):
    """A member with cash, shares, a post, a comment and an open order; a staff member; an
    admin; a fund on the market."""
    staff = StaffFactory()
    fund = fund_with_copyright(staff=staff, base_price=10_000)
    member = investor_with_cash(10**9, username=MEMBER)
    services.subscribe(user=member, fund_id=fund.pk, amount=100_000)
    order = market.place_order(user=member, fund_id=fund.pk, side="buy", price=9_000, quantity=1)
    sub = SubCategoryFactory()
    post = make_post(author=member, category=sub)
    comment = make_comment(post=post, author=member)
    for person in (member, staff):
        _quick_password(person)
    return {
        "member": member,
        "staff": staff,
        "admin": _quick_password(AdminFactory(username=BOSS)),
        "fund": fund,
        "order": order,
        "sub": sub,
        "post": post,
        "comment": comment,
    }


@pytest.fixture
def member_client(world):
    return logged_in(world["member"])


@pytest.fixture
def staff_client(world):
    return logged_in(world["staff"])


@pytest.fixture
def admin_client(world):
    return logged_in(world["admin"])


def fresh_limits():
    """Rate limits would answer a polite 429 after a few examples; start each with none."""
    cache.clear()


# --- Query parameters -----------------------------------------------------------------------------


@FUZZ
@edges("q", "page")
@given(q=TEXT, page=TEXT)
def test_board_lists_answer_any_search_and_page(world, q, page):
    fresh_limits()
    client = Client()
    for url in (
        reverse("board:index"),
        reverse("board:category", args=[world["sub"].slug]),
        reverse("board:category", args=[world["sub"].parent.slug]),
    ):
        response = ok(client.get(url, {"q": q, "page": page}))
        if page in ("", "1"):
            assert response.status_code == 200
        elif not (page.isascii() and page.isdigit()) or int(page) == 0:
            assert response.status_code == 404  # not a page number: no such page
        else:
            assert response.status_code in (200, 404)  # 404 past the last page


@FUZZ
@edges("page")
@given(page=TEXT)
def test_post_page_and_my_page_answer_any_page(world, member_client, page):
    ok(Client().get(reverse("board:post", args=[world["post"].pk]), {"page": page}))
    ok(member_client.get(reverse("board:post", args=[world["post"].pk]), {"page": page}))
    ok(member_client.get(reverse("accounts:me"), {"page": page}))


@FUZZ
@edges("at", "before", "fund")
@given(at=TEXT, before=TEXT, fund=TEXT)
def test_investment_pages_answer_any_moment_before_and_fund(member_client, at, before, fund):
    response = ok(member_client.get(reverse("investments:portfolio"), {"at": at}))
    assert response.status_code in (200, 400)
    ok(member_client.get(reverse("investments:history"), {"before": before}))
    for name in ("deposit", "subscribe", "redeem"):
        ok(member_client.get(reverse(f"investments:{name}"), {"fund": fund}))


@FUZZ
@example(pk=0)
@example(pk=10**18 - 1)
@given(pk=st.integers(min_value=0, max_value=10**18 - 1))
def test_any_id_in_a_board_address_is_found_or_not_found(member_client, pk):
    for name in ("post", "post_history", "post_history_csv", "comment_history"):
        response = ok(member_client.get(reverse(f"board:{name}", args=[pk])))
        assert response.status_code in (200, 404)
    for name in ("post_vote", "comment_vote"):
        assert ok(member_client.post(reverse(f"board:{name}", args=[pk]))).status_code in (
            302,
            404,
        )


@FUZZ
@example(pk=0)
@example(pk=2**63)
@example(pk=2**64)
@given(pk=st.integers(min_value=0, max_value=2**64))
def test_fund_pages_answer_any_id(member_client, pk):
    for part in ("", "market/", "market/book/", "market/mine/"):
        response = ok(member_client.get(f"/investments/funds/{pk}/{part}"))
        assert response.status_code in (200, 404)


REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


@settings(FUZZ, max_examples=30)
@edges("q", "o", "p", model=McpiValue)
@given(model=st.sampled_from(REGISTERED), q=TEXT, o=TEXT, p=TEXT)
def test_admin_lists_answer_any_search_order_and_page(admin_client, model, q, o, p):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    ok(admin_client.get(url, {"q": q, "o": o, "p": p}))


DATE_HIERARCHY = [
    (model, model_admin.date_hierarchy)
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
]


@FUZZ
@edges("year", "month", "day")
@given(year=TEXT, month=TEXT, day=TEXT)
def test_admin_date_drill_down_answers_any_date(admin_client, year, month, day):
    for model, field in DATE_HIERARCHY:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        params = {f"{field}__year": year, f"{field}__month": month, f"{field}__day": day}
        ok(admin_client.get(url, params))


# --- The site's forms -----------------------------------------------------------------------------


@FUZZ
@edges("username", "email", "p1", "p2")
@given(username=text("newperson"), email=text("new@example.com"), p1=TEXT, p2=TEXT)
def test_sign_up_answers_any_input(db, username, email, p1, p2):
    fresh_limits()
    data = {"username": username, "email": email, "password1": p1, "password2": p2}
    ok(Client().post(reverse("accounts:signup"), data))


@FUZZ
@edges("username", "password")
@given(username=text(MEMBER, BOSS), password=text(PASSWORD))
def test_log_in_answers_any_input_on_the_site_and_in_the_admin(world, username, password):
    fresh_limits()
    data = {"username": username, "password": password}
    ok(Client().post(reverse("accounts:login"), data))
    ok(Client().post("/admin/login/", data))


@FUZZ
@edges("username", "email", "bio")
@given(username=TEXT, email=TEXT, bio=TEXT)
def test_profile_edit_answers_any_input(member_client, username, email, bio):
    data = {"username": username, "email": email, "bio": bio}
    ok(member_client.post(reverse("accounts:edit_profile"), data))


@FUZZ
@edges("old", "new1", "new2")
@given(old=text(PASSWORD), new1=TEXT, new2=TEXT)
def test_password_change_answers_any_input(member_client, old, new1, new2):
    data = {"old_password": old, "new_password1": new1, "new_password2": new2}
    ok(member_client.post(reverse("accounts:password_change"), data))


@FUZZ
@edges("password", "confirm")
@given(password=TEXT, confirm=text("on"))
def test_account_deletion_answers_any_input(member_client, password, confirm):
    ok(member_client.post(reverse("accounts:delete"), {"password": password, "confirm": confirm}))


@FUZZ
@edges("category", "title", "content", valid_category=True)
@given(category=TEXT, title=TEXT, content=TEXT, valid_category=st.booleans())
def test_post_create_and_edit_answer_any_input(
    world, member_client, category, title, content, valid_category
):
    fresh_limits()
    data = {
        "category": str(world["sub"].pk) if valid_category else category,
        "title": title,
        "content": content,
    }
    ok(member_client.post(reverse("board:post_create"), data))
    ok(member_client.post(reverse("board:post_edit", args=[world["post"].pk]), data))


@FUZZ
@edges("content", htmx=True)
@given(content=TEXT, htmx=st.booleans())
def test_comment_create_and_edit_answer_any_input(world, member_client, content, htmx):
    fresh_limits()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = {"content": content}
    ok(
        member_client.post(
            reverse("board:comment_create", args=[world["post"].pk]), data, **headers
        )
    )
    ok(member_client.post(reverse("board:comment_edit", args=[world["comment"].pk]), data))


@FUZZ
@edges("reason", "action")
@given(reason=TEXT, action=text("hide", "restore"))
def test_moderation_and_deleting_others_content_answer_any_reason(
    world, staff_client, reason, action
):
    post, comment = world["post"], world["comment"]
    data = {"reason": reason, "action": action}
    ok(staff_client.post(reverse("board:post_moderate", args=[post.pk]), data))
    ok(staff_client.post(reverse("board:comment_moderate", args=[comment.pk]), data))
    ok(staff_client.post(reverse("board:comment_delete", args=[comment.pk]), data))
    board_services.COMMENT_LIMIT.reset(str(world["member"].pk))


@FUZZ
@edges("amount", name="deposit", key="edge-deposit")
@edges("amount", name="withdraw", key="edge-withdraw")
@given(name=st.sampled_from(["deposit", "withdraw"]), amount=TEXT, key=KEY)
def test_deposit_and_withdraw_answer_any_amount(member_client, name, amount, key):
    data = {"amount": amount, "idempotency_key": key}
    response = ok(member_client.post(reverse(f"investments:{name}"), data))
    assert response.status_code in (302, 400)


@FUZZ
@edges("number", "fund", name="subscribe", key="edge-subscribe", real=True)
@edges("number", "fund", name="redeem", key="edge-redeem", real=False)
@given(
    name=st.sampled_from(["subscribe", "redeem"]),
    fund=TEXT,
    number=TEXT,
    key=KEY,
    real=st.booleans(),
)
def test_subscribe_and_redeem_answer_any_input(world, member_client, name, fund, number, key, real):
    data = {
        "fund": str(world["fund"].pk) if real else fund,
        "amount": number,
        "shares": number,
        "idempotency_key": key,
    }
    response = ok(member_client.post(reverse(f"investments:{name}"), data))
    assert response.status_code in (302, 400)


@FUZZ
@edges("side", "price", "quantity", "key")
@edges("price", "quantity", side="buy", key="edge-order")
@given(side=text("buy", "sell"), price=text("9000", "10000"), quantity=text("1"), key=KEY)
def test_placing_an_order_answers_any_input(world, member_client, side, price, quantity, key):
    data = {"side": side, "price": price, "quantity": quantity, "idempotency_key": key}
    url = reverse("investments:order", args=[world["fund"].pk])
    assert ok(member_client.post(url, data)).status_code in (302, 400)


@FUZZ
@edges("order")
@given(order=TEXT)
def test_cancelling_an_order_answers_any_input(world, member_client, order):
    url = reverse("investments:cancel", args=[world["fund"].pk])
    assert ok(member_client.post(url, {"order": order})).status_code in (302, 400)


# --- The admin's forms ----------------------------------------------------------------------------


def _registered(permission):
    """Registered models whose admin offers ``permission`` to a superuser."""
    person = type("Boss", (), {"is_active": True, "is_staff": True, "is_superuser": True})()
    person.has_perm = lambda *args, **kwargs: True
    request = RequestFactory().get("/admin/")
    request.user = person
    found = []
    for model, model_admin in admin.site._registry.items():
        if getattr(model_admin, f"has_{permission}_permission")(request):
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label)


ADDABLE = _registered("add")
CHANGEABLE = _registered("change")


def form_fields(response) -> dict[str, object]:
    """The names the admin page's form posts, each with the value it shows (so a fuzzed post
    changes some fields and keeps the others), plus the inlines' management forms."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        bound = form[name]
        value = bound.value()
        if isinstance(field.widget, MultiWidget):
            parts = field.widget.decompress(value) if value else [""] * len(field.widget.widgets)
            for suffix, part in zip(field.widget.widgets_names, parts, strict=True):
                data[bound.html_name + suffix] = "" if part is None else str(part)
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)
    for inline in response.context.get("inline_admin_formsets", []):
        prefix = inline.formset.prefix
        for key, count in (("TOTAL", 0), ("INITIAL", 0), ("MIN_NUM", 0), ("MAX_NUM", 1000)):
            data[f"{prefix}-{key}_FORMS"] = str(count)
    return data


def fuzzed(data, draw):
    """``data`` with a drawn subset of its fields replaced by arbitrary text."""
    names = sorted(data)
    chosen = draw(st.sets(st.sampled_from(names), min_size=1)) if names else set()
    return {name: draw(FIELD, label=name) if name in chosen else data[name] for name in names}


class AdminForm:
    """The fields of one admin form page, read once per test (every example posts to it)."""

    def __init__(self, client, url):
        self.client, self.url = client, url
        page = ok(client.get(url))
        assert page.status_code == 200
        self.fields = form_fields(page)

    def post_fuzzed(self, draw):
        values = fuzzed(self.fields, draw)
        return ok(self.client.post(self.url, {**values, "_save": "Save"}))


@pytest.fixture
def admin_forms(admin_client):
    cache_ = {}

    def form(url):
        if url not in cache_:
            cache_[url] = AdminForm(admin_client, url)
        return cache_[url]

    return form


@pytest.mark.parametrize("model", ADDABLE, ids=lambda model: model._meta.label)
@FUZZ
@given(data=st.data())
def test_admin_add_forms_answer_any_input(model, admin_forms, data):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    admin_forms(url).post_fuzzed(data.draw)


@pytest.fixture
def object_to_change(world):
    made = {}

    def get(model):
        label = model._meta.label
        if label not in made:
            made[label] = {
                "accounts.User": lambda: UserFactory(),
                "auth.Group": lambda: Group.objects.create(name="Editors"),
                "board.Category": lambda: world["sub"],
                "board.Post": lambda: world["post"],
                "board.Comment": lambda: world["comment"],
            }[label]()
        return made[label]

    return get


@pytest.mark.parametrize("model", CHANGEABLE, ids=lambda model: model._meta.label)
@FUZZ
@given(data=st.data())
def test_admin_change_forms_answer_any_input(model, object_to_change, admin_forms, data):
    obj = object_to_change(model)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    admin_forms(url).post_fuzzed(data.draw)


def test_the_admin_forms_fuzzed_include_the_ledgers_and_the_people():
    assert {m._meta.label for m in ADDABLE} >= {
        "investments.Fund",
        "investments.Copyright",
        "investments.McpiValue",
        "investments.Royalty",
        "board.Category",
        "accounts.User",
    }
    assert {m._meta.label for m in CHANGEABLE} >= {"accounts.User", "board.Post"}


def test_a_group_with_a_permission_id_beyond_64_bits_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:auth_group_add"), {"name": "Editors", "permissions": ["9" * 40]}
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors["permissions"]
    assert not Group.objects.filter(name="Editors").exists()


@pytest.mark.parametrize("part", ["year", "month", "day"])
def test_a_date_drill_down_beyond_64_bits_is_refused_like_any_bad_date(admin_client, part):
    params = {"occurred_at__year": "2026", "occurred_at__month": "1", "occurred_at__day": "1"}
    params[f"occurred_at__{part}"] = "9" * 40
    response = admin_client.get(reverse("admin:investments_event_changelist"), params)
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


DATES = st.one_of(TEXT, st.dates().map(lambda day: day.isoformat()))
TIMES = st.one_of(TEXT, st.times().map(lambda moment: moment.isoformat()))
MCPI = st.one_of(
    TEXT,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
)


@settings(FUZZ, max_examples=30)
@edges("day", "time", "value")
@example(day="0001-01-01", time="00:00:00", value="100")
@example(day="0001-01-01", time="08:59", value="100")
@example(day="9999-12-31", time="23:59:59", value="100")
@example(day="2026-01-01", time="00:00", value="1e309")
@example(day="2026-01-01", time="00:00", value="NaN")
@example(day="2026-01-01", time="00:00", value="9" * 40)
@given(day=DATES, time=TIMES, value=MCPI)
def test_admin_mcpi_form_answers_any_value_and_moment(admin_client, day, time, value):
    before = McpiValue.objects.count()
    url = reverse("admin:investments_mcpivalue_add")
    response = ok(admin_client.post(url, {"at_0": day, "at_1": time, "value": value}))
    if response.status_code == 200:  # refused: the form again, nothing recorded
        assert McpiValue.objects.count() == before


@FUZZ
@edges("reason", "until", action="suspend")
@given(action=st.sampled_from(["suspend", "block", "reactivate"]), reason=TEXT, until=TEXT)
def test_admin_state_actions_answer_any_reason_and_end(world, admin_client, action, reason, until):
    person = UserFactory()
    data = {
        "action": action,
        "_selected_action": [person.pk],
        "apply": "1",
        "reason": reason,
        "until": until,
    }
    ok(admin_client.post(reverse("admin:accounts_user_changelist"), data))
