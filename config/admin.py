"""What every okcow ModelAdmin shares: typed ids and dates past 64 bits are refused like any other
bad value instead of ending in a 500 (Django converts them with ``int()`` and catches ValueError
only: the date drill-down's ``?<field>__year=`` builds a ``datetime``, and a many-to-many choice
looks its ids up with ``pk__in``, which SQLite refuses with OverflowError)."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import ModelMultipleChoiceField

ID_RANGE = range(-(2**63), 2**63)


class IdChoices(ModelMultipleChoiceField):
    def _check_values(self, value):
        for pk in value or ():
            try:
                bounded = int(str(pk)) in ID_RANGE
            except ValueError:
                bounded = True  # not a number at all: Django's own check says so
            if not bounded:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class BoundedAdmin:
    """Mix into a ModelAdmin (before it): see the module docstring."""

    formfield_overrides = {models.ManyToManyField: {"form_class": IdChoices}}

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except OverflowError as error:  # the admin answers this with its "?e=1" page
            raise IncorrectLookupParameters(error) from error
