"""How numbers read on the money pages and in "My history", the same way everywhere (the
template filters of ``investments/templatetags/numbers.py`` are these functions).

- ``{{ n|thousands }}`` → 12,300 (a count: shares, holders);
- ``{{ amount|won }}`` → 12,300원 (₩12,300 in English): cash, prices, values, fees (a Decimal
  is cut to 2 places, and shown whole when it is whole);
- ``{{ nav|nav }}`` → 10,857.15원: a NAV per share, cut (never rounded up) to 2 places, as Korean
  funds print their 기준가 — the NAV itself is kept to 4 places (``domain.rules``);
- ``{{ gain|signed_won }}`` → +1,200원 / -1,200원 (a real minus sign) / 0원;
- ``{{ change|percent }}`` → +1.25% / -0.40% / 0.00% (no sign when nothing moved);
- ``{{ change|trend }}`` → ``up`` / ``down`` / ``flat``: the class colouring a change (rise red,
  fall blue, no change neutral, as Korean markets do);
- ``{{ n|shares }}`` → 3주 (3 shares).

``thousands`` is ``humanize``'s ``intcomma`` for the whole numbers and Decimals these pages show,
at a fraction of its cost (``intcomma`` goes through the locale machinery once per number, and a
portfolio of fifty holdings shows 350). Anything not a number passes through unchanged."""

from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext, ngettext

MINUS = "\u2212"  # a real minus sign, as wide as the plus
NAV_SHOWN = Decimal("0.01")


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, Decimal))


def thousands(value):
    if not _number(value):
        return value
    return f"{value:,}"


def won(value):
    """Whole won as they are; a Decimal (a NAV-derived price) cut to 2 places, or whole if it is."""
    if not _number(value):
        return value
    if isinstance(value, Decimal):
        value = value.quantize(NAV_SHOWN, rounding=ROUND_DOWN)
        if value == value.to_integral_value():
            value = int(value)
    if value < 0:
        return MINUS + gettext("₩%(amount)s") % {"amount": f"{-value:,}"}
    return gettext("₩%(amount)s") % {"amount": f"{value:,}"}


def nav(value):
    if not _number(value):
        return value
    shown = Decimal(value).quantize(NAV_SHOWN, rounding=ROUND_DOWN)
    if shown < 0:
        return MINUS + gettext("₩%(amount)s") % {"amount": f"{-shown:,}"}
    return gettext("₩%(amount)s") % {"amount": f"{shown:,}"}


def signed_won(value):
    if not _number(value):
        return value
    return f"+{won(value)}" if value > 0 else won(value)


def percent(value):
    if not _number(value):
        return value
    shown = Decimal(value).quantize(NAV_SHOWN)
    if shown > 0:
        return f"+{shown}%"
    if shown < 0:
        return f"{MINUS}{-shown}%"
    return f"{abs(shown)}%"


def trend(value) -> str:
    if not _number(value) or Decimal(value).quantize(NAV_SHOWN) == 0:
        return "flat"
    return "up" if value > 0 else "down"


def shares(value):
    if not _number(value):
        return value
    return ngettext("%(count)s share", "%(count)s shares", value) % {"count": f"{value:,}"}
