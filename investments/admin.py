"""Staff tools. Funds, copyrights, MCPI values and royalties are projections of the event log, so
they are created through the ledger's services (forms below call them) and never edited in place;
the event log itself is read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from config.admin import BoundedAdmin
from config.validators import validate_moment

from . import services
from .checks import MAX_AMOUNT, LedgerError
from .models import (
    CircuitBreaker,
    Copyright,
    Event,
    Fund,
    Holding,
    Investor,
    Market,
    McpiValue,
    Order,
    Royalty,
    Trade,
)


class ReadOnlyAdmin(BoundedAdmin, admin.ModelAdmin):
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "occurred_at", "type", "stream", "version", "actor")
    list_filter = ("type", "occurred_at")
    search_fields = ("stream", "type", "idempotency_key", "actor__username")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False


class LedgerAddAdmin(ReadOnlyAdmin):
    """Adding goes through a ledger service, so the change is an event like any other."""

    def save_model(self, request, obj, form, change):
        try:
            self.create(request.user, form.cleaned_data)
        except LedgerError as error:
            messages.error(request, error.message)

    def log_addition(self, *args, **kwargs):
        return None

    def response_add(self, request, obj, post_url_continue=None):
        from django.shortcuts import redirect

        return redirect(f"admin:investments_{self.model._meta.model_name}_changelist")


class LedgerForm(forms.ModelForm):
    """Bounds typed values the way the ledger's services do, so a bad one is an error next to its
    field (never a database error): amounts are whole, 1 to ``MAX_AMOUNT``; moments stay within
    the years the site can convert."""

    amount_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.amount_fields:
            field = self.fields.get(name)
            if field is None:  # a read-only page shows the value, nothing to bound
                continue
            field.validators += [MinValueValidator(1), MaxValueValidator(MAX_AMOUNT)]
            field.widget.attrs.update(min=1, max=MAX_AMOUNT)
        for field in self.fields.values():
            if isinstance(field, forms.DateTimeField | forms.SplitDateTimeField):
                field.validators.append(validate_moment)


class FundForm(LedgerForm):
    amount_fields = ("base_price",)

    class Meta:
        model = Fund
        fields = ("name", "base_price")


@admin.register(Fund)
class FundAdmin(LedgerAddAdmin):
    form = FundForm
    list_display = ("name", "base_price", "cash", "shares_outstanding", "royalties_pending")
    search_fields = ("name",)

    def create(self, user, data):
        services.create_fund(actor=user, name=data["name"], base_price=data["base_price"])


class CopyrightForm(LedgerForm):
    amount_fields = ("price",)

    class Meta:
        model = Copyright
        fields = ("fund", "code", "registration_number", "music_id", "title", "artist", "price")


@admin.register(Copyright)
class CopyrightAdmin(LedgerAddAdmin):
    form = CopyrightForm
    list_display = ("title", "artist", "fund", "code", "price", "acquired_at")
    list_filter = ("fund",)
    search_fields = ("title", "artist", "code", "registration_number", "music_id")

    def create(self, user, data):
        services.acquire_copyright(
            actor=user,
            fund_id=data["fund"].pk,
            **{k: data[k] for k in ("code", "registration_number", "music_id", "title", "artist")},
            price=data["price"],
        )


class McpiForm(LedgerForm):
    class Meta:
        model = McpiValue
        fields = ("at", "value")

    def clean_value(self):
        try:
            return services.parse_mcpi(self.cleaned_data["value"])
        except LedgerError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(McpiValue)
class McpiAdmin(LedgerAddAdmin):
    form = McpiForm
    list_display = ("at", "value")
    date_hierarchy = "at"

    def create(self, user, data):
        services.record_mcpi(actor=user, at=data["at"] or timezone.now(), value=data["value"])


class RoyaltyForm(LedgerForm):
    amount_fields = ("amount",)

    class Meta:
        model = Royalty
        fields = ("fund", "amount")


@admin.register(Royalty)
class RoyaltyAdmin(LedgerAddAdmin):
    form = RoyaltyForm
    list_display = ("fund", "amount", "recorded_at", "distributed")
    list_filter = ("distributed", "fund")

    def create(self, user, data):
        services.record_royalty(actor=user, fund_id=data["fund"].pk, amount=data["amount"])


@admin.register(Investor)
class InvestorAdmin(ReadOnlyAdmin):
    list_display = ("user", "cash_available", "cash_reserved")
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return False


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ("investor", "fund", "held", "reserved", "cost_basis")
    list_filter = ("fund",)

    def has_add_permission(self, request):
        return False


class MarketReadOnly(ReadOnlyAdmin):
    def has_add_permission(self, request):
        return False


@admin.register(Order)
class OrderAdmin(MarketReadOnly):
    list_display = ("id", "fund", "investor", "side", "price", "quantity", "remaining", "status")
    list_filter = ("status", "side", "fund", "placed_at")
    search_fields = ("investor__user__username",)


@admin.register(Trade)
class TradeAdmin(MarketReadOnly):
    list_display = ("id", "fund", "price", "quantity", "buyer", "seller", "executed_at")
    list_filter = ("fund", "executed_at")


@admin.register(Market)
class MarketAdmin(MarketReadOnly):
    list_display = ("fund", "last_price", "previous_close", "day", "day_value")


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(MarketReadOnly):
    list_display = ("id", "day", "levels_fired", "halted_until")
