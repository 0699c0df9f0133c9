import uuid

from django import forms
from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.validators import MomentField

from . import formatting
from .checks import MAX_AMOUNT


class WholeField(forms.IntegerField):
    """A whole number of won (or, with ``shown=formatting.shares``, of shares) from 1 to
    ``at_most``, typed on a phone's number pad; a number past the limit is refused with the
    limit written as the pages write it (10,000,000원, not 10000000)."""

    def __init__(self, *, at_most: int = MAX_AMOUNT, shown=formatting.won, **kwargs):
        self.at_most, self.shown = at_most, shown
        kwargs.setdefault("error_messages", {"min_value": _("Enter a number greater than zero.")})
        super().__init__(min_value=1, **kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "numeric", "max": self.at_most}

    def validate(self, value):
        super().validate(value)
        if value is not None and value > self.at_most:
            raise forms.ValidationError(
                gettext("Enter at most %(limit)s.") % {"limit": self.shown(self.at_most)},
                code="max_value",
            )

    def limit(self, at_most: int) -> None:
        self.at_most = at_most
        self.widget.attrs["max"] = at_most


class MoneyForm(forms.Form):
    """Every money form carries a key made when it is shown: a double submit takes effect once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class AmountForm(MoneyForm):
    amount = WholeField(label=_("Amount (won)"))


class DepositForm(AmountForm):
    """At most ``DEPOSIT_MAX_PER_DEPOSIT`` at once (the day's limit is the service's to check)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        amount = self.fields["amount"]
        amount.limit(settings.DEPOSIT_MAX_PER_DEPOSIT)
        amount.help_text = gettext("Up to %(once)s at a time and %(day)s a day.") % {
            "once": formatting.won(settings.DEPOSIT_MAX_PER_DEPOSIT),
            "day": formatting.won(settings.DEPOSIT_MAX_PER_DAY),
        }


class WithdrawForm(AmountForm):
    """Says what is there to withdraw (the service still checks it, under the lock)."""

    def __init__(self, *args, available: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = gettext("You can withdraw up to %(cash)s.") % {
            "cash": formatting.won(available)
        }


class SubscribeForm(MoneyForm):
    fund = forms.TypedChoiceField(label=_("Fund"), coerce=int)
    amount = WholeField(label=_("Amount (won)"))

    def __init__(self, *args, funds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = [(f.pk, f.name) for f in funds]


class RedeemForm(SubscribeForm):
    amount = None
    shares = WholeField(label=_("Shares"), shown=formatting.shares)


class MomentForm(forms.Form):
    at = MomentField(
        label=_("Moment"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"],
    )

    def __init__(self, *args, since=None, **kwargs):
        """``since``: when the account opened — there is nothing to show before it."""
        super().__init__(*args, **kwargs)
        self.since = since
        widget = self.fields["at"].widget
        widget.attrs["max"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        if since is not None:
            widget.attrs["min"] = timezone.localtime(since).strftime("%Y-%m-%dT%H:%M")

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError(
                _("Pick a moment in the past: the future is not known yet."), code="future"
            )
        if self.since is not None and at < self.since:
            opened = formats.date_format(timezone.localtime(self.since), "DATETIME_FORMAT")
            raise forms.ValidationError(
                gettext("Your account opened on %(opened)s; pick a moment after that.")
                % {"opened": opened},
                code="before_account",
            )
        return at


class OrderForm(MoneyForm):
    """Described by ``selectors.order_facts``, the price field steps by the tick within today's
    range and says so; the matcher still checks both (a price typed past the arrows)."""

    side = forms.ChoiceField(label=_("Side"), choices=[("buy", _("Buy")), ("sell", _("Sell"))])
    price = WholeField(label=_("Price (won)"))
    quantity = WholeField(label=_("Quantity"), shown=formatting.shares)

    def describe(self, facts: dict) -> None:
        price = self.fields["price"]
        price.widget.attrs.update(step=facts["tick"], min=facts["low"], max=facts["high"])
        price.help_text = gettext("Today from %(low)s to %(high)s, in steps of %(tick)s.") % {
            "low": formatting.won(facts["low"]),
            "high": formatting.won(facts["high"]),
            "tick": formatting.won(facts["tick"]),
        }


class CancelForm(forms.Form):
    order = forms.IntegerField(min_value=1, max_value=MAX_AMOUNT)
