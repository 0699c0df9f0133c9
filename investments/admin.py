"""Staff tools. Funds, copyrights, MCPI values and royalties are projections of the event log, so
they are created through the ledger's services (forms below call them) and never edited in place;
the event log itself is read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Count, Q
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.admin import BoundedAdmin
from config.validators import validate_moment

from . import formatting, services
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
        """``create`` calls the service and returns what to tell the staff member."""
        try:
            done = self.create(request.user, form.cleaned_data)
        except LedgerError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done)

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


class CopyrightInline(admin.TabularInline):
    model = Copyright
    fields = ("title", "artist", "code", "price", "acquired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class RoyaltyInline(CopyrightInline):
    model = Royalty
    fields = ("amount", "recorded_at", "distributed")
    readonly_fields = fields


@admin.register(Fund)
class FundAdmin(LedgerAddAdmin):
    """The list and the page say what the fund is worth now; copyrights and royalties are
    listed on its page (each added on its own admin page, through the ledger)."""

    form = FundForm
    list_display = ("name", "nav_now", "won_cash", "shares", "holders", "won_pending")
    search_fields = ("name",)
    readonly_fields = ("nav_now", "value_now", "won_cash", "shares", "holders", "won_pending")
    inlines = (CopyrightInline, RoyaltyInline)

    def get_queryset(self, request):
        held = Count("holdings", filter=Q(holdings__held__gt=0) | Q(holdings__reserved__gt=0))
        return (
            super().get_queryset(request).annotate(holder_count=held).prefetch_related("copyrights")
        )

    def get_fields(self, request, obj=None):
        return ("name", "base_price", *self.readonly_fields) if obj else ("name", "base_price")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj else ()

    @admin.display(description=_("NAV per share now"))
    def nav_now(self, fund):
        return formatting.nav(services.fund_nav(fund))

    @admin.display(description=_("Fund value now"))
    def value_now(self, fund):
        return formatting.won(services.fund_value(fund))

    @admin.display(description=_("cash"), ordering="cash")
    def won_cash(self, fund):
        return formatting.won(fund.cash)

    @admin.display(description=_("shares outstanding"), ordering="shares_outstanding")
    def shares(self, fund):
        return formatting.thousands(fund.shares_outstanding)

    @admin.display(description=_("Holders"), ordering="holder_count")
    def holders(self, fund):
        return formatting.thousands(fund.holder_count)

    @admin.display(description=_("royalties pending"), ordering="royalties_pending")
    def won_pending(self, fund):
        return formatting.won(fund.royalties_pending)

    def create(self, user, data):
        fund = services.create_fund(actor=user, name=data["name"], base_price=data["base_price"])
        return gettext("Fund “%(name)s” created at %(price)s a share; add its copyrights next.") % {
            "name": fund.name,
            "price": formatting.won(fund.base_price),
        }


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
        return gettext("“%(title)s” bought for %(fund)s at %(price)s.") % {
            "title": data["title"],
            "fund": data["fund"].name,
            "price": formatting.won(data["price"]),
        }


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
        at = data["at"] or timezone.now()
        services.record_mcpi(actor=user, at=at, value=data["value"])
        return gettext(
            "MCPI %(value)s recorded for %(at)s; every fund's NAV follows it from then on."
        ) % {
            "value": data["value"],
            "at": formats.date_format(timezone.localtime(at), "DATETIME_FORMAT"),
        }


class RoyaltyForm(LedgerForm):
    amount_fields = ("amount",)

    class Meta:
        model = Royalty
        fields = ("fund", "amount")


@admin.register(Royalty)
class RoyaltyAdmin(LedgerAddAdmin):
    form = RoyaltyForm
    list_display = ("fund", "won_amount", "recorded_at", "distributed")
    list_filter = ("distributed", "fund")
    actions = ("distribute",)

    @admin.display(description=_("amount"), ordering="amount")
    def won_amount(self, royalty):
        return formatting.won(royalty.amount)

    def create(self, user, data):
        services.record_royalty(actor=user, fund_id=data["fund"].pk, amount=data["amount"])
        return gettext(
            "Royalty of %(amount)s for %(fund)s recorded; the holders of this moment get it "
            "when it is distributed (the action on this list, or manage.py distribute_royalties)."
        ) % {"amount": formatting.won(data["amount"]), "fund": data["fund"].name}

    @admin.action(description=_("Distribute the selected royalties to their holders"))
    def distribute(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True))
        paid = services.distribute_royalties(ids=chosen)
        if paid:
            self.message_user(
                request,
                ngettext(
                    "%(count)d royalty distributed to its holders.",
                    "%(count)d royalties distributed to their holders.",
                    paid,
                )
                % {"count": paid},
                messages.SUCCESS,
            )
        if skipped := len(chosen) - paid:
            self.message_user(
                request,
                ngettext(
                    "%(count)d royalty was distributed already; nothing changed for it.",
                    "%(count)d royalties were distributed already; nothing changed for them.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


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
