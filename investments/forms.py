import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.validators import MomentField

from .checks import MAX_AMOUNT


class MoneyForm(forms.Form):
    """Every money form carries a key made when it is shown: a double submit takes effect once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class AmountForm(MoneyForm):
    amount = forms.IntegerField(label=_("Amount"), min_value=1, max_value=MAX_AMOUNT)


class SubscribeForm(MoneyForm):
    fund = forms.TypedChoiceField(label=_("Fund"), coerce=int)
    amount = forms.IntegerField(label=_("Amount"), min_value=1, max_value=MAX_AMOUNT)

    def __init__(self, *args, funds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = [(f.pk, f.name) for f in funds]


class RedeemForm(SubscribeForm):
    amount = None
    shares = forms.IntegerField(label=_("Shares"), min_value=1, max_value=MAX_AMOUNT)


class MomentForm(forms.Form):
    at = MomentField(
        label=_("Moment"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"],
    )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError(
                _("Pick a moment in the past: the future is not known yet."), code="future"
            )
        return at


class OrderForm(MoneyForm):
    side = forms.ChoiceField(label=_("Side"), choices=[("buy", _("Buy")), ("sell", _("Sell"))])
    price = forms.IntegerField(
        label=_("Price"), min_value=1, max_value=MAX_AMOUNT, help_text=_("In steps of 100.")
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_AMOUNT)


class CancelForm(forms.Form):
    order = forms.IntegerField(min_value=1, max_value=MAX_AMOUNT)
