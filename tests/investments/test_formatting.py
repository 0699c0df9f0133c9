"""How numbers read on the money pages: won with separators, NAVs cut to 2 places, signs on
changes with a real minus, no change neutral, shares counted — in Korean and in English."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from investments import formatting as f


@pytest.mark.parametrize(
    ("language", "value", "shown"),
    [
        ("ko", 12_300, "12,300원"),
        ("en", 12_300, "₩12,300"),
        ("ko", 0, "0원"),
        ("ko", -1_200, "\u22121,200원"),
        ("ko", Decimal("10857.1500"), "10,857.15원"),  # a NAV-derived price: 2 places at most
        ("ko", Decimal("10000.0000"), "10,000원"),  # ...and whole when it is whole
        ("ko", 10**15, "1,000,000,000,000,000원"),
    ],
)
def test_won(language, value, shown):
    with translation.override(language):
        assert f.won(value) == shown


def test_a_nav_is_cut_never_rounded_up_and_always_shows_two_places():
    with translation.override("ko"):
        assert f.nav(Decimal("10857.1599")) == "10,857.15원"
        assert f.nav(Decimal("10000")) == "10,000.00원"
    with translation.override("en"):
        assert f.nav(Decimal("1234.5")) == "₩1,234.50"


def test_changes_carry_their_sign_and_no_change_is_neutral():
    with translation.override("ko"):
        assert [f.signed_won(v) for v in (1_200, -1_200, 0)] == ["+1,200원", "\u22121,200원", "0원"]
    assert [f.percent(Decimal(v)) for v in ("1.25", "-0.4", "0", "-0.001")] == [
        "+1.25%",
        "\u22120.40%",
        "0.00%",
        "0.00%",  # what rounds to nothing moved is shown as nothing moved
    ]
    assert [f.trend(Decimal(v)) for v in ("1.25", "-0.4", "0.00", "-0.001")] == [
        "up",
        "down",
        "flat",
        "flat",
    ]


def test_shares_are_counted_in_the_language():
    with translation.override("en"):
        assert (f.shares(1), f.shares(1_000)) == ("1 share", "1,000 shares")
    with translation.override("ko"):
        assert f.shares(1_000) == "1,000주"


def test_what_is_not_a_number_passes_through():
    assert [f.won(None), f.won(""), f.won(True), f.percent("—"), f.trend(None)] == [
        None,
        "",
        True,
        "—",
        "flat",
    ]


def test_the_template_filters_are_these_functions():
    template = Template("{% load numbers %}{{ a|won }} {{ b|nav }} {{ c|percent }} {{ c|trend }}")
    with translation.override("ko"):
        shown = template.render(Context({"a": 5_000, "b": Decimal("9.9999"), "c": Decimal("0")}))
    assert shown == "5,000원 9.99원 0.00% flat"
