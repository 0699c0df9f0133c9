"""Numbers on the money pages, grouped by thousands: ``{{ amount|thousands }}`` → 12,300.

The same as ``humanize``'s ``intcomma`` for the whole numbers and Decimals these pages show (the
separator is a comma in Korean and English alike), at a fraction of its cost: ``intcomma`` goes
through the locale machinery once per number, and a portfolio of fifty holdings shows 350."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def thousands(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return value
    return f"{value:,}"
