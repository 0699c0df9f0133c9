"""The money pages' number filters: ``{% load numbers %}``, then ``|thousands``, ``|won``,
``|nav``, ``|signed_won``, ``|percent``, ``|trend`` and ``|shares`` (``investments.formatting``)."""

from django import template

from investments import formatting

register = template.Library()

for name in ("thousands", "won", "nav", "signed_won", "percent", "trend", "shares"):
    register.filter(name, getattr(formatting, name))
