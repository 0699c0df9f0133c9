"""Bounds on what people type, applied before a value reaches arithmetic or the database."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Python's datetimes end at years 1 and 9999, and a time zone's offset can push a moment past
# either end when it is converted (0001-01-01 in Seoul is before year 1 in UTC): keep far inside.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def validate_moment(value) -> None:
    """Refuse a date or moment outside the years the site can store and convert."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _("Enter a date between the years %(first)s and %(last)s."),
            code="out_of_range",
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )


class MomentField(forms.DateTimeField):
    """A date and time, within the years ``validate_moment`` allows."""

    default_validators = [validate_moment]
