"""One function per ledger action (cash, funds, copyrights, the MCPI, royalties). Each runs in one
transaction (retried on deadlock), locks in one order — the person's investor row, then the fund,
then the holding — and appends its event through ``eventstore``, which locks what else the event
changes, takes the ledger sequence last and projects the event inline. A command that reads the
ledger as of its own place in it (the next id, a royalty's holders of record) takes the sequence
early, after its own rows (``eventstore.lock``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from config.db import atomic_with_retry
from config.locks import exclusive

from . import checks, circuit, eventstore
from .checks import LedgerError
from .domain import events, rules
from .eventstore import NewEvent
from .formatting import nav as nav_shown
from .formatting import shares as shares_shown
from .formatting import won
from .models import (
    Copyright,
    Event,
    Fund,
    Holding,
    Investor,
    McpiValue,
    Royalty,
)


@dataclass
class Outcome:
    event: Event
    replayed: bool = False  # True when the idempotency key had been used: nothing changed


# --- input checks -------------------------------------------------------------------------------


def _amount(value, *, field: str = "amount") -> int:
    return checks.whole(value, field=field, noun="amount")


def _next_id(model) -> int:
    """The next id of a table whose rows only ledger events create (under ``eventstore.lock``)."""
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _investor_for(user: User) -> Investor:
    investor = Investor.objects.select_for_update().filter(user=user).first()
    if investor is None:
        raise LedgerError(gettext("Open an investor account first."))
    return investor


def _fund(fund_id) -> Fund:
    fund = Fund.objects.select_for_update().filter(pk=fund_id).first()
    if fund is None:
        raise LedgerError(gettext("No such fund."), field="fund")
    return fund


def deposited_on_day(investor: Investor, moment: datetime) -> int:
    """What the investor deposited on ``moment``'s day, in the site's time zone (Korea)."""
    start = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    payloads = Event.objects.filter(
        stream=events.investor_stream(investor.pk),
        type=events.CASH_DEPOSITED,
        occurred_at__gte=start,
        occurred_at__lt=start + timedelta(days=1),
    ).values_list("payload", flat=True)
    return sum(p["amount"] for p in payloads)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# --- live valuation (on the projections) ------------------------------------------------------


def mcpi_at(moment: datetime) -> Decimal | None:
    row = McpiValue.objects.filter(at__lte=moment).order_by("-at").first()
    return row.value if row else None


def fund_value(fund: Fund, moment: datetime | None = None) -> Decimal:
    owned = [(c.price, c.mcpi_at_acquisition) for c in fund.copyrights.all()]
    return rules.fund_value(fund.cash, owned, mcpi_at(moment or timezone.now()))


def fund_nav(fund: Fund, moment: datetime | None = None) -> Decimal:
    return rules.nav_per_share(
        fund_value=fund_value(fund, moment),
        shares=fund.shares_outstanding,
        base_price=fund.base_price,
    )


# --- commands -----------------------------------------------------------------------------------


@atomic_with_retry
def register_investor(*, user: User, at: datetime | None = None) -> Investor:
    eventstore.lock()
    existing = Investor.objects.filter(user=user).first()
    if existing:
        return existing
    investor_id = _next_id(Investor)
    eventstore.append(
        NewEvent(
            events.INVESTOR_REGISTERED,
            events.investor_stream(investor_id),
            {"investor_id": investor_id, "user_id": user.pk},
            actor_id=user.pk,
            at=at,
        ),
    )
    return Investor.objects.get(pk=investor_id)


def _money_command(event_type: str):
    """Common frame of a command by an investor that appends one ``event_type`` event: one retried
    transaction, the person's investor row locked first, idempotency (``eventstore.once``). The
    command gets the locked investor and returns the event's stream and payload."""

    def decorate(fn):
        @atomic_with_retry
        def run(user: User, idempotency_key: str | None, kwargs: dict) -> Event:
            checks.writer(user)
            stream, payload = fn(investor=_investor_for(user), **kwargs)
            (event,) = eventstore.append(
                NewEvent(
                    event_type,
                    stream,
                    payload,
                    actor_id=user.pk,
                    at=kwargs.get("at"),
                    idempotency_key=idempotency_key,
                ),
            )
            return event

        @functools.wraps(fn)
        def command(*, user: User, idempotency_key: str | None = None, **kwargs) -> Outcome:
            event, done = eventstore.once(
                idempotency_key,
                actor=user,
                type_=event_type,
                command=lambda: run(user, idempotency_key, kwargs),
            )
            return Outcome(event=done, replayed=True) if done else Outcome(event=event)

        return command

    return decorate


@_money_command(events.CASH_DEPOSITED)
def deposit(*, investor: Investor, amount: int, at: datetime | None = None):
    """Put cash into the investor's account, within ``DEPOSIT_MAX_PER_DEPOSIT`` at once and
    ``DEPOSIT_MAX_PER_DAY`` in a day (Korea time). The investor row is locked: two deposits at
    once cannot both pass the day's limit."""
    amount = _amount(amount)
    at_most = settings.DEPOSIT_MAX_PER_DEPOSIT
    if amount > at_most:
        raise LedgerError(
            gettext("You can deposit at most %(limit)s at a time.") % {"limit": won(at_most)},
            field="amount",
        )
    left = settings.DEPOSIT_MAX_PER_DAY - deposited_on_day(investor, at or timezone.now())
    if amount > left:
        raise LedgerError(
            gettext("You can deposit %(limit)s a day; %(left)s more today.")
            % {"limit": won(settings.DEPOSIT_MAX_PER_DAY), "left": won(max(left, 0))},
            field="amount",
        )
    return (
        events.investor_stream(investor.pk),
        {"investor_id": investor.pk, "amount": amount},
    )


@_money_command(events.CASH_WITHDRAWN)
def withdraw(*, investor: Investor, amount: int, at: datetime | None = None):
    """Take cash out; never below zero."""
    amount = _amount(amount)
    if amount > investor.cash_available:
        raise LedgerError(
            gettext("You have %(cash)s available; you cannot withdraw more.")
            % {"cash": won(investor.cash_available)},
            field="amount",
        )
    return (
        events.investor_stream(investor.pk),
        {"investor_id": investor.pk, "amount": amount},
    )


@_money_command(events.SHARES_SUBSCRIBED)
def subscribe(*, investor: Investor, fund_id: int, amount: int, at: datetime | None = None):
    """Buy floor(amount / NAV) whole shares at this moment's NAV; the remainder stays as cash."""
    amount = _amount(amount)
    fund = _fund(fund_id)
    if amount > investor.cash_available:
        raise LedgerError(
            gettext("You have %(cash)s available.") % {"cash": won(investor.cash_available)},
            field="amount",
        )
    nav = fund_nav(fund, at)
    if nav <= 0:
        raise LedgerError(gettext("This fund has no value to buy into."), field="fund")
    shares = rules.shares_for(amount, nav)
    if shares == 0:
        raise LedgerError(
            gettext("One share costs %(nav)s; enter at least that.") % {"nav": nav_shown(nav)},
            field="amount",
        )
    cost = rules.cost_of(shares, nav)
    return (
        events.investor_stream(investor.pk),
        {
            "investor_id": investor.pk,
            "fund_id": fund.pk,
            "amount": amount,
            "shares": shares,
            "cost": cost,
            "nav": str(nav),
        },
    )


@_money_command(events.SHARES_REDEEMED)
def redeem(*, investor: Investor, fund_id: int, shares: int, at: datetime | None = None):
    """Return shares for floor(shares x NAV) cash, paid from fund cash."""
    shares = _amount(shares, field="shares")
    fund = _fund(fund_id)
    holding = Holding.objects.select_for_update().filter(investor=investor, fund=fund).first()
    if holding is None or holding.held < shares:
        raise LedgerError(
            gettext("You hold %(shares)s of this fund.")
            % {"shares": shares_shown(holding.held if holding else 0)},
            field="shares",
        )
    nav = fund_nav(fund, at)
    proceeds = rules.proceeds_of(shares, nav)
    if proceeds > fund.cash:
        raise LedgerError(
            gettext(
                "The fund has only %(cash)s in cash and cannot pay %(proceeds)s now; "
                "try fewer shares or later."
            )
            % {"cash": won(fund.cash), "proceeds": won(proceeds)},
            field="shares",
        )
    released = rules.cost_released(
        cost_basis=holding.cost_basis,
        shares_held=holding.held + holding.reserved,
        shares_leaving=shares,
    )
    return (
        events.investor_stream(investor.pk),
        {
            "investor_id": investor.pk,
            "fund_id": fund.pk,
            "shares": shares,
            "proceeds": proceeds,
            "nav": str(nav),
            "cost_released": released,
        },
    )


@atomic_with_retry
def create_fund(*, actor: User, name: str, base_price: int, at: datetime | None = None) -> Fund:
    checks.staff(actor)
    base_price = _amount(base_price, field="base_price")
    eventstore.lock()
    if Fund.objects.filter(name=name).exists():
        raise LedgerError(gettext("A fund with this name exists."), field="name")
    fund_id = _next_id(Fund)
    moment = at or timezone.now()
    eventstore.append(
        NewEvent(
            events.FUND_CREATED,
            events.fund_stream(fund_id),
            {
                "fund_id": fund_id,
                "name": name,
                "base_price": base_price,
                "created_at": _iso(moment),
            },
            actor_id=actor.pk,
            at=moment,
        ),
    )
    return Fund.objects.get(pk=fund_id)


@atomic_with_retry
def acquire_copyright(
    *,
    actor: User,
    fund_id: int,
    code: str,
    registration_number: str,
    music_id: str,
    title: str,
    artist: str,
    price: int,
    at: datetime | None = None,
) -> Copyright:
    """Buy a music copyright with fund cash, at the MCPI of that moment."""
    checks.staff(actor)
    price = _amount(price, field="price")
    fund = _fund(fund_id)
    eventstore.lock()
    moment = at or timezone.now()
    if Copyright.objects.filter(code=code).exists():
        raise LedgerError(gettext("This copyright is already owned."), field="code")
    if price > fund.cash:
        raise LedgerError(
            gettext("The fund has only %(cash)s in cash.") % {"cash": won(fund.cash)},
            field="price",
        )
    mcpi = mcpi_at(moment)
    if mcpi is None:
        raise LedgerError(gettext("Record an MCPI value first."))
    copyright_id = _next_id(Copyright)
    eventstore.append(
        NewEvent(
            events.COPYRIGHT_ACQUIRED,
            events.fund_stream(fund.pk),
            {
                "fund_id": fund.pk,
                "copyright_id": copyright_id,
                "code": code,
                "registration_number": registration_number,
                "music_id": music_id,
                "title": title,
                "artist": artist,
                "price": price,
                "acquired_at": _iso(moment),
                "mcpi": str(mcpi),
            },
            actor_id=actor.pk,
            at=moment,
        ),
    )
    return Copyright.objects.get(pk=copyright_id)


def parse_mcpi(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise LedgerError(gettext("Enter a number."), field="value") from error
    if not number.is_finite() or number <= 0 or number >= Decimal("1e9"):
        raise LedgerError(gettext("Enter a positive index value."), field="value")
    return number.quantize(Decimal("0.0001"))


@atomic_with_retry
def record_mcpi(*, actor: User | None, at: datetime, value) -> McpiValue:
    value = parse_mcpi(value)
    circuit.lock()  # records, and the halts they fire, one at a time
    eventstore.append(
        NewEvent(
            events.MCPI_RECORDED,
            events.MCPI_STREAM,
            {"at": _iso(at), "value": str(value)},
            actor_id=actor.pk if actor else None,
            at=at,
        ),
    )
    circuit.check_circuit(at=at, value=value)
    return McpiValue.objects.get(at=at)


@atomic_with_retry
def record_royalty(*, actor: User, fund_id: int, amount: int, at: datetime | None = None):
    """A fund received royalties; who gets them is fixed now, by shares held at this moment."""
    checks.staff(actor)
    amount = _amount(amount)
    fund = _fund(fund_id)
    eventstore.lock()  # the holders of record: everything before this royalty, nothing after
    moment = at or timezone.now()
    royalty_id = _next_id(Royalty)
    eventstore.append(
        NewEvent(
            events.ROYALTY_RECEIVED,
            events.fund_stream(fund.pk),
            {
                "royalty_id": royalty_id,
                "fund_id": fund.pk,
                "amount": amount,
                "recorded_at": _iso(moment),
                "holders": {
                    str(h.investor_id): h.held + h.reserved
                    for h in Holding.objects.filter(fund=fund).order_by("investor_id")
                    if h.held + h.reserved > 0
                },
            },
            actor_id=actor.pk,
            at=moment,
        ),
    )
    return Royalty.objects.get(pk=royalty_id)


@atomic_with_retry
def _distribute_one(*, royalty_id: int, at: datetime | None = None) -> bool:
    royalty = Royalty.objects.select_for_update().get(pk=royalty_id)
    if royalty.distributed:
        return False
    recorded = Event.objects.get(
        type=events.ROYALTY_RECEIVED,
        payload__royalty_id=royalty_id,
        stream=events.fund_stream(royalty.fund_id),
    )
    allocations, remainder = rules.royalty_allocation(royalty.amount, recorded.payload["holders"])
    eventstore.append(
        NewEvent(
            events.ROYALTY_DISTRIBUTED,
            events.fund_stream(royalty.fund_id),
            {
                "royalty_id": royalty.pk,
                "fund_id": royalty.fund_id,
                "amount": royalty.amount,
                "allocations": allocations,
                "remainder": remainder,
            },
            at=at,
        ),
    )
    return True


def distribute_royalties(*, at: datetime | None = None, ids=None) -> int:
    """Pay every pending royalty (or those of ``ids``: the admin's action) to the holders of
    record; returns how many were paid. Safe on two servers at once: the shared-cache lock keeps
    a second job out, and each royalty row is locked and checked too."""
    pending = Royalty.objects.filter(distributed=False)
    if ids is not None:
        pending = pending.filter(pk__in=list(ids))
    done = 0
    with exclusive("investments:distribute-royalties", timeout=600):
        for royalty_id in pending.order_by("pk").values_list("pk", flat=True):
            done += _distribute_one(royalty_id=royalty_id, at=at)
    return done
