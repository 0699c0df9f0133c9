"""HTTP only: parse, check permission, call one service or selector, render."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from . import market, selectors, services
from .checks import LedgerError
from .forms import (
    AmountForm,
    CancelForm,
    DepositForm,
    MomentForm,
    OrderForm,
    RedeemForm,
    SubscribeForm,
    WithdrawForm,
)
from .matcher import Unconfirmed
from .models import Fund, Investor


def index(request):
    funds, mcpi, previous_mcpi = selectors.fund_list()
    return render(
        request,
        "investments/index.html",
        {"funds": funds, "mcpi": mcpi, "previous_mcpi": previous_mcpi},
    )


def fund_detail(request, fund_id: int):
    fund = get_object_or_404(Fund.objects.prefetch_related("copyrights"), pk=fund_id)
    context = selectors.fund_detail(fund=fund, range_key=request.GET.get("range"))
    return render(request, "investments/fund_detail.html", context)


def _investor(request) -> Investor:
    """The person's investor account, opened on first visit (reads don't take the ledger lock)."""
    investor = Investor.objects.filter(user=request.user).first()
    return investor or services.register_investor(user=request.user)


@login_required
def portfolio(request):
    investor = _investor(request)
    since = selectors.opened_at(investor)
    # ?range= alone (the chart's links) is no moment asked for.
    form = MomentForm(request.GET if "at" in request.GET else None, since=since)
    at = form.cleaned_data["at"] if form.is_bound and form.is_valid() else None
    status = 400 if form.is_bound and not form.is_valid() else 200
    portfolio = selectors.portfolio(investor=investor, at=at)
    chart, shown = selectors.portfolio_chart(
        investor=investor, since=since, portfolio=portfolio, range_key=request.GET.get("range")
    )
    return render(
        request,
        "investments/portfolio.html",
        {
            "portfolio": portfolio,
            "past": at is not None,
            "form": form if form.is_bound else MomentForm(since=since),
            "chart": chart,
            "period": shown,
        },
        status=status,
    )


@login_required
def history(request):
    investor = _investor(request)
    try:
        before = int(request.GET.get("before", "")) or None
    except ValueError:
        before = None
    if before is not None and not 0 < before < 2**63:
        before = None
    rows, next_before = selectors.history(investor=investor, before=before)
    return render(request, "investments/history.html", {"rows": rows, "next_before": next_before})


MONEY_ACTIONS = {
    "deposit": (_("Deposit cash"), DepositForm, _("Deposit")),
    "withdraw": (_("Withdraw cash"), WithdrawForm, _("Withdraw")),
    "subscribe": (_("Buy fund shares"), SubscribeForm, _("Subscribe")),
    "redeem": (_("Redeem fund shares"), RedeemForm, _("Redeem")),
}


def _run(action: str, user, data: dict):
    key = data["idempotency_key"]
    if action in ("deposit", "withdraw"):
        command = services.deposit if action == "deposit" else services.withdraw
        return command(user=user, amount=data["amount"], idempotency_key=key)
    if action == "subscribe":
        return services.subscribe(
            user=user, fund_id=data["fund"], amount=data["amount"], idempotency_key=key
        )
    return services.redeem(
        user=user, fund_id=data["fund"], shares=data["shares"], idempotency_key=key
    )


@login_required
@require_http_methods(["GET", "POST"])
def money(request, action: str):
    title, form_class, submit = MONEY_ACTIONS[action]
    if form_class is WithdrawForm:
        investor = _viewer(request)
        extra = {"available": investor.cash_available if investor else 0}
    elif issubclass(form_class, AmountForm):
        extra = {}
    else:
        extra = {"funds": Fund.objects.all()}
    if not request.user.can_write:
        return _money_page(
            request,
            title,
            form_class(**extra),
            submit,
            status=403,
            refusal=gettext("Your account cannot move money right now."),
        )
    if request.method == "GET":
        # ?fund= from a fund's page; ?amount= / ?shares= from the Preview button (no JavaScript)
        initial = {name: request.GET.get(name) for name in ("fund", "amount", "shares")}
        form = form_class(initial={k: v for k, v in initial.items() if v}, **extra)
        if request.htmx and "fund" in form.fields:
            quote = _quote(request, form, request.GET)
            return render(request, "investments/money_form.html#quote", {"quote": quote})
        return _money_page(request, title, form, submit)
    form = form_class(request.POST, **extra)
    if form.is_valid():
        _investor(request)
        try:
            outcome = _run(action, request.user, form.cleaned_data)
        except LedgerError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            if not outcome.replayed:
                messages.success(request, selectors.describe(outcome.event))
            return redirect("investments:portfolio")
    return _money_page(request, title, form, submit, status=400)


def _quote(request, form, data) -> selectors.Quote | None:
    """Subscribe and redeem show the fund's NAV, your cash or shares, and what the typed amount
    would get — from whatever of the form is readable so far."""
    if "fund" not in form.fields:
        return None
    choices = form.fields["fund"].choices
    fund_id = str(data.get("fund") or form.initial.get("fund") or "")
    if fund_id not in {str(value) for value, _label in choices}:
        fund_id = str(choices[0][0]) if choices else None
    fund = Fund.objects.filter(pk=fund_id).first() if fund_id else None
    if fund is None:
        return None
    typed = _readable(form, data, ("amount", "shares"))
    return selectors.quote(investor=_viewer(request), fund=fund, **typed)


def _money_page(request, title, form, submit, status=200, refusal=None):
    data = form.data if form.is_bound else request.GET
    return render(
        request,
        "investments/money_form.html",
        {
            "title": title,
            "form": form,
            "submit": submit,
            "refusal": refusal,
            "quote": _quote(request, form, data),
        },
        status=status,
    )


# --- the market -----------------------------------------------------------------------------------


def _viewer(request) -> Investor | None:
    if not request.user.is_authenticated:
        return None
    return Investor.objects.filter(user=request.user).first()


def _market_context(request, fund, form=None, with_chart=True, **extra):
    context = selectors.market_page(fund=fund, investor=_viewer(request), with_chart=with_chart)
    if form is not None:
        facts = context["order_facts"]
        form.describe(facts)
        data = form.data if form.is_bound else request.GET
        context.update(form=form, order_quote=_order_quote(facts, form, data))
    context.update(extra)
    return context


def _order_quote(facts, form, data) -> selectors.OrderQuote | None:
    side = data.get("side") if data.get("side") in ("buy", "sell") else "buy"
    typed = _readable(form, data, ("price", "quantity"))
    return selectors.order_quote(
        market=facts, side=side, price=typed.get("price"), quantity=typed.get("quantity")
    )


def _readable(form, data, names) -> dict:
    """The fields of ``names`` that read as valid so far (a preview while the form is typed)."""
    typed = {}
    for name in names:
        if name in form.fields and data.get(name):
            with contextlib.suppress(ValidationError):
                typed[name] = form.fields[name].clean(data[name])
    return typed


def market_page(request, fund_id: int):
    """``?side=&price=&quantity=`` (the Preview button without JavaScript) fill the form."""
    fund = get_object_or_404(Fund, pk=fund_id)
    typed = {
        name: request.GET[name] for name in ("side", "price", "quantity") if request.GET.get(name)
    }
    form = OrderForm(initial=typed)
    return render(request, "investments/market.html", _market_context(request, fund, form=form))


def order_quote(request, fund_id: int):
    """The order form's cost-with-fee preview alone, asked for by HTMX as the order is typed."""
    fund = get_object_or_404(Fund, pk=fund_id)
    facts = selectors.order_facts(fund=fund, investor=_viewer(request))
    form = OrderForm()
    context = {
        "fund": fund,
        "order_facts": facts,
        "order_quote": _order_quote(facts, form, request.GET),
    }
    return render(request, "investments/market.html#order_quote", context)


def market_part(request, fund_id: int, part: str):
    """The book or my open orders alone, polled by HTMX every two seconds."""
    fund = get_object_or_404(Fund, pk=fund_id)
    context = _market_context(request, fund, with_chart=False)
    return render(request, f"investments/market.html#{part}", context)


def _market_refusal(request, fund, form, cancel_error=None):
    return render(
        request,
        "investments/market.html",
        _market_context(request, fund, form=form, cancel_error=cancel_error),
        status=400,
    )


@login_required
@require_http_methods(["POST"])
def place_order(request, fund_id: int):
    form = OrderForm(request.POST)
    if not request.user.can_write:
        form.is_valid()
        form.add_error(None, gettext("Your account cannot move money right now."))
    elif form.is_valid():
        data = form.cleaned_data
        try:
            order = market.place_order(
                user=request.user,
                fund_id=fund_id,
                side=data["side"],
                price=data["price"],
                quantity=data["quantity"],
                idempotency_key=data["idempotency_key"],
            )
        except Unconfirmed as waiting:
            messages.info(request, waiting.message)
            return redirect("investments:market", fund_id=fund_id)
        except LedgerError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            filled = order.quantity - order.remaining
            placed = {
                "side": order.get_side_display(),
                "quantity": f"{order.quantity:,}",
                "price": f"{order.price:,}",
                "filled": f"{filled:,}",
            }
            text = (
                gettext("Order placed: %(side)s %(quantity)s at %(price)s; %(filled)s traded.")
                if filled
                else gettext("Order placed: %(side)s %(quantity)s at %(price)s.")
            )
            messages.success(request, text % placed)
            return redirect("investments:market", fund_id=fund_id)
    return _market_refusal(request, get_object_or_404(Fund, pk=fund_id), form)


@login_required
@require_http_methods(["POST"])
def cancel_order(request, fund_id: int):
    fund = get_object_or_404(Fund, pk=fund_id)
    form = CancelForm(request.POST)
    error_text = gettext("You have no such order.")
    if form.is_valid():
        try:
            market.cancel_order(user=request.user, order_id=form.cleaned_data["order"])
        except Unconfirmed as waiting:
            messages.info(request, waiting.message)
            return redirect("investments:market", fund_id=fund.pk)
        except LedgerError as error:
            error_text = error.message
        else:
            messages.success(request, gettext("Order cancelled; what it held is released."))
            return redirect("investments:market", fund_id=fund.pk)
    return _market_refusal(request, fund, OrderForm(), cancel_error=error_text)
