"""One function per ledger action. Each runs in one transaction (retried on deadlock), locks in
one order — the ledger sequence row, then funds by ascending id, then investors by ascending id —
appends its event and updates the projections inline."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from config.db import atomic_with_retry
from config.locks import exclusive

from . import metrics
from .domain import events, rules
from .domain.state import postings
from .models import (
    Copyright,
    Event,
    Fund,
    FundPosting,
    Holding,
    Investor,
    LedgerSequence,
    McpiValue,
    Posting,
    Royalty,
)

MAX_AMOUNT = 10**15


class LedgerError(Exception):
    """A command refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Outcome:
    event: Event
    replayed: bool = False  # True when the idempotency key had been used: nothing changed


# --- the event log ------------------------------------------------------------------------------


def _lock_sequence() -> LedgerSequence:
    try:
        return LedgerSequence.objects.select_for_update().get(pk=1)
    except LedgerSequence.DoesNotExist:
        try:
            with transaction.atomic():
                LedgerSequence.objects.create(pk=1, last=0)
        except IntegrityError:
            pass
        return LedgerSequence.objects.select_for_update().get(pk=1)


def _existing(idempotency_key: str | None, *, actor: User, type_: str) -> Event | None:
    """The event an earlier submit of this form made, if any. A key is bound to the person and
    the action it was made for: used by someone else, or on another form, it is refused."""
    if not idempotency_key:
        return None
    done = Event.objects.filter(idempotency_key=idempotency_key).first()
    if done is not None and (done.actor_id != actor.pk or done.type != type_):
        raise LedgerError("This form was already used. Reload the page and try again.")
    return done


def _append(
    *,
    sequence: LedgerSequence,
    type_: str,
    stream: str,
    payload: dict,
    actor: User | None,
    at: datetime | None,
    idempotency_key: str | None = None,
) -> Event:
    events.check(type_, payload)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    last = (
        Event.objects.filter(stream=stream)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    event = Event.objects.create(
        sequence=sequence.last,
        stream=stream,
        version=(last or 0) + 1,
        type=type_,
        payload=payload,
        occurred_at=at or timezone.now(),
        actor=actor,
        idempotency_key=idempotency_key or None,
    )
    project(event)
    write_postings(event)
    metrics.record(event)
    return event


def write_postings(event: Event) -> None:
    """The event's changes to each balance, as deltas, for time travel (``Posting``)."""
    moved = postings(event.type, event.payload)
    at = {"sequence": event.sequence, "occurred_at": event.occurred_at}
    Posting.objects.bulk_create(Posting(**at, **row) for row in moved.holders)
    FundPosting.objects.bulk_create(FundPosting(**at, **row) for row in moved.funds)


def project(event: Event) -> None:
    """Apply one event to the live projection tables (the DB twin of ``State.apply``)."""
    from . import market

    p, t = event.payload, event.type
    if t == events.INVESTOR_REGISTERED:
        Investor.objects.create(pk=p["investor_id"], user_id=p["user_id"])
    elif t == events.CASH_DEPOSITED:
        Investor.objects.filter(pk=p["investor_id"]).update(
            cash_available=F("cash_available") + p["amount"]
        )
    elif t == events.CASH_WITHDRAWN:
        Investor.objects.filter(pk=p["investor_id"]).update(
            cash_available=F("cash_available") - p["amount"]
        )
    elif t == events.FUND_CREATED:
        Fund.objects.create(
            pk=p["fund_id"],
            name=p["name"],
            base_price=p["base_price"],
            created_at=datetime.fromisoformat(p["created_at"]),
        )
    elif t == events.COPYRIGHT_ACQUIRED:
        Fund.objects.filter(pk=p["fund_id"]).update(cash=F("cash") - p["price"])
        Copyright.objects.create(
            pk=p["copyright_id"],
            fund_id=p["fund_id"],
            code=p["code"],
            registration_number=p["registration_number"],
            music_id=p["music_id"],
            title=p["title"],
            artist=p["artist"],
            price=p["price"],
            acquired_at=datetime.fromisoformat(p["acquired_at"]),
            mcpi_at_acquisition=Decimal(p["mcpi"]),
        )
    elif t == events.MCPI_RECORDED:
        McpiValue.objects.update_or_create(
            at=datetime.fromisoformat(p["at"]), defaults={"value": Decimal(p["value"])}
        )
    elif t == events.SHARES_SUBSCRIBED:
        Investor.objects.filter(pk=p["investor_id"]).update(
            cash_available=F("cash_available") - p["cost"]
        )
        Fund.objects.filter(pk=p["fund_id"]).update(
            cash=F("cash") + p["cost"], shares_outstanding=F("shares_outstanding") + p["shares"]
        )
        holding, _ = Holding.objects.get_or_create(
            investor_id=p["investor_id"], fund_id=p["fund_id"]
        )
        Holding.objects.filter(pk=holding.pk).update(
            held=F("held") + p["shares"], cost_basis=F("cost_basis") + p["cost"]
        )
    elif t == events.SHARES_REDEEMED:
        Investor.objects.filter(pk=p["investor_id"]).update(
            cash_available=F("cash_available") + p["proceeds"]
        )
        Fund.objects.filter(pk=p["fund_id"]).update(
            cash=F("cash") - p["proceeds"], shares_outstanding=F("shares_outstanding") - p["shares"]
        )
        Holding.objects.filter(investor_id=p["investor_id"], fund_id=p["fund_id"]).update(
            held=F("held") - p["shares"], cost_basis=F("cost_basis") - p["cost_released"]
        )
    elif t == events.ROYALTY_RECEIVED:
        Fund.objects.filter(pk=p["fund_id"]).update(
            royalties_pending=F("royalties_pending") + p["amount"]
        )
        Royalty.objects.create(
            pk=p["royalty_id"],
            fund_id=p["fund_id"],
            amount=p["amount"],
            recorded_at=datetime.fromisoformat(p["recorded_at"]),
        )
    elif t == events.ROYALTY_DISTRIBUTED:
        Fund.objects.filter(pk=p["fund_id"]).update(
            royalties_pending=F("royalties_pending") - p["amount"],
            cash=F("cash") + p["remainder"],
        )
        for investor_id, amount in sorted(p["allocations"].items(), key=lambda i: int(i[0])):
            Investor.objects.filter(pk=int(investor_id)).update(
                cash_available=F("cash_available") + amount
            )
        Royalty.objects.filter(pk=p["royalty_id"]).update(distributed=True)
    elif t in events.MARKET_TYPES:
        market.project(event)
    else:
        raise ValueError(f"unknown event type {t!r}")


# --- input checks -------------------------------------------------------------------------------


def _amount(value, *, field: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError("Enter a whole number.", field=field)
    if value <= 0:
        raise LedgerError("Enter an amount greater than zero.", field=field)
    if value > MAX_AMOUNT:
        raise LedgerError("That amount is too large.", field=field)
    return value


def _writer(user: User) -> None:
    if not user.can_write:
        raise LedgerError("Your account cannot move money right now.")


def _next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _investor_for(user: User) -> Investor:
    investor = Investor.objects.select_for_update().filter(user=user).first()
    if investor is None:
        raise LedgerError("Open an investor account first.")
    return investor


def _fund(fund_id) -> Fund:
    fund = Fund.objects.select_for_update().filter(pk=fund_id).first()
    if fund is None:
        raise LedgerError("No such fund.", field="fund")
    return fund


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
    sequence = _lock_sequence()
    existing = Investor.objects.filter(user=user).first()
    if existing:
        return existing
    investor_id = _next_id(Investor)
    _append(
        sequence=sequence,
        type_=events.INVESTOR_REGISTERED,
        stream=events.investor_stream(investor_id),
        payload={"investor_id": investor_id, "user_id": user.pk},
        actor=user,
        at=at,
    )
    return Investor.objects.get(pk=investor_id)


def _money_command(event_type: str):
    """Common frame of a command that appends one ``event_type`` event: one retried transaction,
    the sequence lock, idempotency. The command returns the event's stream and payload."""

    def decorate(fn):
        @atomic_with_retry
        @functools.wraps(fn)
        def command(*, user: User, idempotency_key: str | None = None, **kwargs) -> Outcome:
            _writer(user)
            sequence = _lock_sequence()
            done = _existing(idempotency_key, actor=user, type_=event_type)
            if done is not None:
                return Outcome(event=done, replayed=True)
            stream, payload = fn(user=user, **kwargs)
            event = _append(
                sequence=sequence,
                type_=event_type,
                stream=stream,
                payload=payload,
                actor=user,
                at=kwargs.get("at"),
                idempotency_key=idempotency_key,
            )
            return Outcome(event=event)

        return command

    return decorate


@_money_command(events.CASH_DEPOSITED)
def deposit(*, user: User, amount: int, at: datetime | None = None):
    """Put cash into the investor's account."""
    amount = _amount(amount)
    investor = _investor_for(user)
    return (
        events.investor_stream(investor.pk),
        {"investor_id": investor.pk, "amount": amount},
    )


@_money_command(events.CASH_WITHDRAWN)
def withdraw(*, user: User, amount: int, at: datetime | None = None):
    """Take cash out; never below zero."""
    amount = _amount(amount)
    investor = _investor_for(user)
    if amount > investor.cash_available:
        raise LedgerError(
            f"You have {investor.cash_available:,} available; you cannot withdraw more.",
            field="amount",
        )
    return (
        events.investor_stream(investor.pk),
        {"investor_id": investor.pk, "amount": amount},
    )


@_money_command(events.SHARES_SUBSCRIBED)
def subscribe(*, user: User, fund_id: int, amount: int, at: datetime | None = None):
    """Buy floor(amount / NAV) whole shares at this moment's NAV; the remainder stays as cash."""
    amount = _amount(amount)
    fund = _fund(fund_id)  # fund before investor
    investor = _investor_for(user)
    if amount > investor.cash_available:
        raise LedgerError(f"You have {investor.cash_available:,} available.", field="amount")
    nav = fund_nav(fund, at)
    if nav <= 0:
        raise LedgerError("This fund has no value to buy into.", field="fund")
    shares = rules.shares_for(amount, nav)
    if shares == 0:
        raise LedgerError(f"One share costs {nav}; enter at least that.", field="amount")
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
def redeem(*, user: User, fund_id: int, shares: int, at: datetime | None = None):
    """Return shares for floor(shares x NAV) cash, paid from fund cash."""
    shares = _amount(shares, field="shares")
    fund = _fund(fund_id)
    investor = _investor_for(user)
    holding = Holding.objects.select_for_update().filter(investor=investor, fund=fund).first()
    if holding is None or holding.held < shares:
        raise LedgerError(
            f"You hold {holding.held if holding else 0:,} shares of this fund.", field="shares"
        )
    nav = fund_nav(fund, at)
    proceeds = rules.proceeds_of(shares, nav)
    if proceeds > fund.cash:
        raise LedgerError(
            f"The fund has only {fund.cash:,} in cash and cannot pay {proceeds:,} now; "
            "try fewer shares or later.",
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


def _staff(actor: User) -> None:
    if not actor.is_staff:
        raise LedgerError("Only staff can do this.")


@atomic_with_retry
def create_fund(*, actor: User, name: str, base_price: int, at: datetime | None = None) -> Fund:
    _staff(actor)
    base_price = _amount(base_price, field="base_price")
    sequence = _lock_sequence()
    if Fund.objects.filter(name=name).exists():
        raise LedgerError("A fund with this name exists.", field="name")
    fund_id = _next_id(Fund)
    moment = at or timezone.now()
    _append(
        sequence=sequence,
        type_=events.FUND_CREATED,
        stream=events.fund_stream(fund_id),
        payload={
            "fund_id": fund_id,
            "name": name,
            "base_price": base_price,
            "created_at": _iso(moment),
        },
        actor=actor,
        at=moment,
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
    _staff(actor)
    price = _amount(price, field="price")
    sequence = _lock_sequence()
    fund = _fund(fund_id)
    moment = at or timezone.now()
    if Copyright.objects.filter(code=code).exists():
        raise LedgerError("This copyright is already owned.", field="code")
    if price > fund.cash:
        raise LedgerError(f"The fund has only {fund.cash:,} in cash.", field="price")
    mcpi = mcpi_at(moment)
    if mcpi is None:
        raise LedgerError("Record an MCPI value first.")
    copyright_id = _next_id(Copyright)
    _append(
        sequence=sequence,
        type_=events.COPYRIGHT_ACQUIRED,
        stream=events.fund_stream(fund.pk),
        payload={
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
        actor=actor,
        at=moment,
    )
    return Copyright.objects.get(pk=copyright_id)


def parse_mcpi(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise LedgerError("Enter a number.", field="value") from error
    if not number.is_finite() or number <= 0 or number >= Decimal("1e9"):
        raise LedgerError("Enter a positive index value.", field="value")
    return number.quantize(Decimal("0.0001"))


@atomic_with_retry
def record_mcpi(*, actor: User | None, at: datetime, value) -> McpiValue:
    value = parse_mcpi(value)
    sequence = _lock_sequence()
    _append(
        sequence=sequence,
        type_=events.MCPI_RECORDED,
        stream=events.MCPI_STREAM,
        payload={"at": _iso(at), "value": str(value)},
        actor=actor,
        at=at,
    )
    from . import market

    market.check_circuit(sequence=sequence, at=at, value=value)
    return McpiValue.objects.get(at=at)


@atomic_with_retry
def record_royalty(*, actor: User, fund_id: int, amount: int, at: datetime | None = None):
    """A fund received royalties; who gets them is fixed now, by shares held at this moment."""
    _staff(actor)
    amount = _amount(amount)
    sequence = _lock_sequence()
    fund = _fund(fund_id)
    moment = at or timezone.now()
    royalty_id = _next_id(Royalty)
    _append(
        sequence=sequence,
        type_=events.ROYALTY_RECEIVED,
        stream=events.fund_stream(fund.pk),
        payload={
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
        actor=actor,
        at=moment,
    )
    return Royalty.objects.get(pk=royalty_id)


@atomic_with_retry
def _distribute_one(*, royalty_id: int, at: datetime | None = None) -> bool:
    sequence = _lock_sequence()
    royalty = Royalty.objects.select_for_update().get(pk=royalty_id)
    if royalty.distributed:
        return False
    recorded = Event.objects.get(
        type=events.ROYALTY_RECEIVED,
        payload__royalty_id=royalty_id,
        stream=events.fund_stream(royalty.fund_id),
    )
    allocations, remainder = rules.royalty_allocation(royalty.amount, recorded.payload["holders"])
    _append(
        sequence=sequence,
        type_=events.ROYALTY_DISTRIBUTED,
        stream=events.fund_stream(royalty.fund_id),
        payload={
            "royalty_id": royalty.pk,
            "fund_id": royalty.fund_id,
            "amount": royalty.amount,
            "allocations": allocations,
            "remainder": remainder,
        },
        actor=None,
        at=at,
    )
    return True


def distribute_royalties(*, at: datetime | None = None) -> int:
    """Pay every pending royalty to the holders of record. Safe on two servers at once: the
    shared-cache lock keeps a second job out, and each royalty row is locked and checked too."""
    done = 0
    with exclusive("investments:distribute-royalties", timeout=600):
        for royalty_id in (
            Royalty.objects.filter(distributed=False).order_by("pk").values_list("pk", flat=True)
        ):
            done += _distribute_one(royalty_id=royalty_id, at=at)
    return done
