"""The MCPI circuit breaker: a sharp fall of the index halts trading (-8%: 20 minutes, -15%: 20
more, -20%: the rest of the day; ``MARKET_CIRCUIT_BREAKER``). Checked when an MCPI value is
recorded; a halt that is due ends at the next market command. The breaker row is read plainly by
every order and locked only to change it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from config.db import select_rows

from . import eventstore
from .checks import market_rules
from .domain import events, rules
from .eventstore import NewEvent
from .models import CircuitBreaker, McpiValue


def lock() -> CircuitBreaker:
    """The breaker row, locked until the transaction ends (created on first use)."""
    breaker = CircuitBreaker.objects.select_for_update().filter(pk=1).first()
    return breaker or CircuitBreaker.objects.create(pk=1)


def halted_until(moment: dt.datetime | None = None) -> dt.datetime | None:
    """When the current halt ends, or None when trading is open (read-only)."""
    moment = moment or timezone.now()
    until = CircuitBreaker.objects.filter(pk=1).values_list("halted_until", flat=True).first()
    return until if until and until > moment else None


def halt_at(moment: dt.datetime) -> dt.datetime | None:
    """When the halt in force at ``moment`` ends, or None when trading is open there (a halt that
    is due is ended first, as ``resume_if_due``). One plain read when nothing is due."""
    rows = select_rows(CircuitBreaker, ["halted_until"], where={"id": 1})
    until = rows[0][0] if rows else None
    if until and until <= moment:
        until = resume_if_due(moment).halted_until
    return until if until and until > moment else None


def resume_if_due(moment: dt.datetime) -> CircuitBreaker:
    """The breaker as it stands at ``moment``, after ending a halt that is due."""
    breaker = CircuitBreaker.objects.filter(pk=1).first()
    if breaker is None or not breaker.halted_until or breaker.halted_until > moment:
        return breaker or CircuitBreaker(pk=1)
    breaker = lock()
    if breaker.halted_until and breaker.halted_until <= moment:
        eventstore.append(
            NewEvent(
                events.MARKET_RESUMED,
                events.CIRCUIT_STREAM,
                {"at": moment.isoformat(), "halted_until": breaker.halted_until.isoformat()},
                at=moment,
            ),
        )
        breaker.refresh_from_db()
    return breaker


def previous_mcpi_close(moment: dt.datetime) -> Decimal | None:
    start = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    row = McpiValue.objects.filter(at__lt=start).order_by("-at").first()
    return row.value if row else None


def check_circuit(*, at: dt.datetime, value: Decimal) -> None:
    """Called when an MCPI value is recorded (inside its transaction, the breaker row locked):
    fire the highest level the fall reaches that has not fired today."""
    previous = previous_mcpi_close(at)
    breaker = resume_if_due(at)
    if not previous:
        return
    fall = rules.fall_percent(previous, value)
    day = timezone.localdate(at)
    r = market_rules()
    level = r.breaker_level(fall, breaker.levels_fired if breaker.day == day else 0)
    if not level:
        return
    until = r.halt_end(level, timezone.localtime(at))
    eventstore.append(
        NewEvent(
            events.MARKET_HALTED,
            events.CIRCUIT_STREAM,
            {
                "level": level,
                "day": day.isoformat(),
                "fall": str(fall.quantize(Decimal("0.01"))),
                "at": at.isoformat(),
                "until": until.isoformat(),
            },
            at=at,
        ),
    )
