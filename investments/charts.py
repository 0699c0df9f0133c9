"""Charts as server-rendered SVG, drawn the way trading apps draw them: a series of moments and
values becomes a chart model (nice y ticks, date ticks, gridlines, the last value marked, a
read-out per point, volume bars) that ``templates/investments/_chart.html`` only places.

Pure Python, no queries: the selectors read the series, this lays them out. Labels are made
here in the active language and time zone (Korea time), so a model is built per request, never
cached across languages."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy

from . import formatting

# The drawing's own units (its viewBox): the SVG is as wide as its box and keeps this shape. Text
# is laid out for ``FONT`` units, its size on a phone (about 11 px at 390 px); site.css makes it
# smaller in units on wider screens, where the same units are drawn larger.
WIDTH = 600
FONT = 19
MOST_POINTS = 60  # a point every 10 units at most: each has its own hover region
MOST_X_TICKS = 5  # and fewer when their labels would not fit side by side at 390 px
MOST_BUCKETS = 30

# --- ranges ------------------------------------------------------------------------------------

RANGES = {"1m": 1, "3m": 3, "1y": 12, "all": None}  # months back from the end; None: everything
RANGE_LABELS = {
    "1m": pgettext_lazy("chart range", "1M"),
    "3m": pgettext_lazy("chart range", "3M"),
    "1y": pgettext_lazy("chart range", "1Y"),
    "all": pgettext_lazy("chart range", "All"),
}


@dataclass
class Period:
    """The range a chart shows (``?range=``): its key, its bounds and the links to the others."""

    key: str
    start: datetime
    end: datetime

    @property
    def choices(self) -> list[tuple[str, str, bool]]:
        return [(key, str(label), key == self.key) for key, label in RANGE_LABELS.items()]


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment ``months`` calendar months earlier, in Korea time (the 31st
    becomes the month's last day)."""
    local = timezone.localtime(moment)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, _month_length(year, month + 1))
    return local.replace(year=year, month=month + 1, day=day)


def period(requested, *, first: datetime, end: datetime, default: str | None = None) -> Period:
    """The range asked for, or — anything else, or nothing — the default: three months when the
    data (from ``first``) is older than that, else all of it. A range never starts before
    ``first``: there is nothing to draw there."""
    if default is None:
        default = "3m" if first < months_before(end, 3) else "all"
    key = requested if isinstance(requested, str) and requested in RANGES else default
    months = RANGES[key]
    start = first if months is None else max(first, months_before(end, months))
    return Period(key=key, start=min(start, end), end=end)


# --- nice numbers ------------------------------------------------------------------------------


def nice_ticks(low, high, *, most: int = 6, least: int = 4, unit=None) -> list[Decimal]:
    """Evenly spaced round values covering ``low``..``high``: a step of 1, 2 or 5 times a power
    of ten, 4 to 6 of them. A flat series gets a band around its value; a series that never goes
    below zero gets no negative tick. ``unit``: the smallest step (1 for whole won)."""
    low, high = Decimal(low), Decimal(high)
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(high) / 50 or Decimal(1000 if unit == 1 else 1)
        low, high = (low - pad if low - pad >= 0 or low < 0 else Decimal(0)), high + pad
    span = high - low
    exponent = math.floor(math.log10(span / most))
    for e in range(exponent - 1, exponent + 3):
        for m in (1, 2, 5):
            step = Decimal(m).scaleb(e)
            if unit is not None and step < unit:
                continue
            lo = (low / step).to_integral_value(ROUND_FLOOR) * step
            hi = (high / step).to_integral_value(ROUND_CEILING) * step
            count = int((hi - lo) / step) + 1
            if count > most:
                continue
            grow_up = True
            while count < least:
                if grow_up or (lo - step < 0 <= low):
                    hi += step
                else:
                    lo -= step
                grow_up = not grow_up
                count += 1
            return [lo + step * i for i in range(count)]
    raise AssertionError("unreachable: a step of 10^(e+2) covers the span in 2 ticks")


def _decimals(ticks: Sequence[Decimal]) -> int:
    """Places the ticks' labels need: those of their step."""
    if len(ticks) < 2:
        return 0
    return max(0, -(ticks[1] - ticks[0]).normalize().as_tuple().exponent)


# --- time --------------------------------------------------------------------------------------

# (unit, how many): the steps of a time axis and of volume buckets, smallest first.
STEPS = [
    *(("second", n) for n in (1, 5, 10, 15, 30)),
    *(("minute", n) for n in (1, 2, 5, 10, 15, 30)),
    *(("hour", n) for n in (1, 2, 3, 6, 12)),
    *(("day", n) for n in (1, 2, 7, 14)),
    *(("month", n) for n in (1, 2, 3, 6, 12, 24, 60)),
]
SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 2_629_746}
MONDAY = date(2001, 1, 1)  # weeks start on Mondays


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_current_timezone())


def floor_to(moment: datetime, step: tuple[str, int]) -> datetime:
    """The start of the step (a 5-minute slot, a day, a week, a quarter…) ``moment`` falls in,
    in Korea time."""
    unit, n = step
    local = timezone.localtime(moment)
    if unit == "month":
        index = (local.year * 12 + local.month - 1) // n * n
        return _local_midnight(date(index // 12, index % 12 + 1, 1))
    if unit == "day":
        days = (local.date() - MONDAY).days // n * n
        return _local_midnight(MONDAY + timedelta(days=days))
    midnight = _local_midnight(local.date())
    seconds = int((local - midnight).total_seconds()) // (SECONDS[unit] * n) * (SECONDS[unit] * n)
    return midnight + timedelta(seconds=seconds)


def step_after(moment: datetime, step: tuple[str, int]) -> datetime:
    """The next step's start after a step's start."""
    unit, n = step
    if unit == "month":
        local = timezone.localtime(moment)
        index = local.year * 12 + local.month - 1 + n
        return _local_midnight(date(index // 12, index % 12 + 1, 1))
    if unit == "day":
        return _local_midnight(timezone.localtime(moment).date() + timedelta(days=n))
    return moment + timedelta(seconds=SECONDS[unit] * n)


def _starts(start: datetime, end: datetime, step, most: int) -> list[datetime] | None:
    """The steps' starts within ``start``..``end``, or None when there are more than ``most``."""
    found, at = [], floor_to(start, step)
    if at < start:
        at = step_after(at, step)
    while at <= end:
        found.append(at)
        if len(found) > most:
            return None
        at = step_after(at, step)
    return found


def time_ticks(start: datetime, end: datetime, width: float = WIDTH - 120):
    """``(moment, label)`` of round moments within the range — minutes, hours, days, weeks,
    months or years: the smallest step whose labels, at most ``MOST_X_TICKS`` of them, fit side
    by side in ``width`` (at a phone's text size)."""
    span = (end - start).total_seconds()
    for step in STEPS:
        if SECONDS[step[0]] * step[1] * MOST_X_TICKS < span:
            continue
        found = _starts(start, end, step, MOST_X_TICKS)
        if found is None:
            continue
        ticks = [(at, _tick_label(at, step)) for at in found]
        if sum(text_width(label) + FONT * 1.5 for _, label in ticks) <= width:
            return ticks
    return []


def _tick_label(moment: datetime, step) -> str:
    """A tick's label says what is new at it: the time, or at midnight the day, or on a month's
    first day (months apart) the month, or in January the year."""
    unit, _ = step
    local = timezone.localtime(moment)
    if unit in ("second", "minute", "hour") and local.time() != time():
        return formats.date_format(local, "H:i:s" if unit == "second" else "H:i")
    if unit != "month":
        # Translators: a day on a chart's time axis, in Django's date format ("Dec 2"; 12월 2일).
        return formats.date_format(local, pgettext("chart axis, a day", "M j"))
    if local.month != 1:
        # Translators: a month on a chart's time axis ("Dec"; 12월).
        return formats.date_format(local, pgettext("chart axis, a month", "M"))
    # Translators: a year on a chart's time axis ("2026"; 2026년).
    return formats.date_format(local, pgettext("chart axis, a year", "Y"))


def when(moment: datetime, *, with_time: bool) -> str:
    """A point's moment as the pages write moments (DATE_FORMAT / DATETIME_FORMAT)."""
    local = timezone.localtime(moment)
    return formats.date_format(local, "DATETIME_FORMAT" if with_time else "DATE_FORMAT")


# The spacing of sampled moments: each at most twice the one before, so a range gets 29 to 58.
GRID = [
    *(timedelta(minutes=n) for n in (1, 2, 3, 5, 10, 15, 20, 30)),
    *(timedelta(hours=n) for n in (1, 2, 3, 4, 6, 8, 12)),
    *(timedelta(days=n) for n in (1, 2, 3, 4, 5, 7, 10, 14, 21, 30, 45, 60, 90, 180, 365)),
]
EPOCH = datetime(2000, 1, 3, tzinfo=timezone.get_fixed_timezone(540))  # a Monday, Korea time


def grid(start: datetime, end: datetime, most: int = MOST_POINTS - 2) -> list[datetime]:
    """Evenly spaced moments strictly between ``start`` and ``end``, at most ``most``, on round
    multiples of their spacing (from a Monday's midnight, Korea time): the same moments request
    after request while the range moves on, so what was worked out for them can be kept."""
    span = end - start
    step = next((g for g in GRID if span / g <= most), None)
    if step is None or span <= timedelta(0):
        return []
    at = EPOCH + ((start - EPOCH) // step + 1) * step
    moments = []
    while at < end:
        moments.append(at)
        at += step
    return moments


# --- series ------------------------------------------------------------------------------------


@dataclass
class Point:
    at: datetime
    value: Decimal | int
    volume: int | None = None


def thin(points: Sequence[Point], most: int = MOST_POINTS) -> list[Point]:
    """At most ``most`` points: the first, and the last point of each of ``most - 1`` equal
    slices of the time after it (the close of each period)."""
    if len(points) <= most:
        return list(points)
    first, last = points[0].at, points[-1].at
    slice_ = (last - first) / (most - 1)
    kept: dict[int, Point] = {}
    for p in points[1:]:
        kept[min(most - 2, int((p.at - first) / slice_))] = p
    return [points[0], *(kept[k] for k in sorted(kept))]


def buckets(trades: Iterable[tuple[datetime, int, int]], most: int = MOST_BUCKETS):
    """Trades ``(moment, price, quantity)``, oldest first, as periods: the last price and the
    quantity traded in each period that had a trade, each a ``Point`` at its period's middle;
    the period (a second to years, as the axis steps) is the smallest giving at most ``most``.
    Returns ``(points, step, start, end)``: the periods' step and the bounds of the periods."""
    trades = list(trades)
    if not trades:
        return [], None, None, None
    first, last = trades[0][0], trades[-1][0]
    span = (last - first).total_seconds()
    for step in STEPS:
        if SECONDS[step[0]] * step[1] * most < span:
            continue
        start = floor_to(first, step)
        if _starts(start, last, step, most) is not None:
            break
    periods: dict[datetime, list] = {}
    for at, price, quantity in trades:
        slot = floor_to(at, step)
        if slot in periods:
            periods[slot][0] = price
            periods[slot][1] += quantity
        else:
            periods[slot] = [price, quantity]
    points = []
    for slot, (price, quantity) in periods.items():
        middle = slot + (step_after(slot, step) - slot) / 2
        points.append(Point(at=middle, value=price, volume=quantity))
    end = step_after(floor_to(last, step), step)
    return points, step, floor_to(first, step), end


def direction(first, last) -> str:
    """``up`` / ``down`` / ``flat``: the change over the range, coloured as Korean markets do."""
    return formatting.trend(Decimal(last) - Decimal(first))


# --- the chart model ---------------------------------------------------------------------------

KINDS = {
    # kind: (tick label, point label, smallest tick step)
    "won": (formatting.won, formatting.won, 1),
    "nav": (formatting.won, formatting.nav, Decimal("0.01")),
    "index": (formatting.thousands, None, Decimal("0.01")),
}


def _point_label(kind: str, value) -> str:
    if kind == "index":
        return formatting.thousands(Decimal(value).quantize(Decimal("0.01")))
    return KINDS[kind][1](value)


def _tick_text(kind: str, tick: Decimal, places: int) -> str:
    shown = tick.quantize(Decimal(1).scaleb(-places))
    return KINDS[kind][0](int(shown) if places == 0 else shown)


def text_width(text: str, size: float = FONT) -> float:
    """About how wide ``text`` is drawn at ``size``, in bold, erring wide (measured in DejaVu
    Sans, one of the widest: a digit 0.7 em, Hangul 0.95 em)."""
    width = 0.0
    for ch in text:
        if ch in ",.:' ":
            width += 0.38
        elif "\uac00" <= ch <= "\ud7a3" or "\u3130" <= ch <= "\u318f":
            width += 0.95
        elif ch in "₩%":
            width += 1.1
        elif ch in "+" or ch == formatting.MINUS:
            width += 0.84
        elif ch.isupper():
            width += 0.77
        else:
            width += 0.7
    return width * size


@dataclass
class Tick:
    at: float  # x or y in the drawing's units
    label: str
    anchor: str = "middle"


@dataclass
class Hit:
    """A point's hover region (its native tooltip is ``title``)."""

    x: float
    width: float
    title: str


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    direction: str


@dataclass
class Row:
    when: str
    value: str
    volume: str | None


@dataclass
class Chart:
    label: str
    kind: str
    start: datetime
    end: datetime
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    line: str
    area: str
    direction: str
    first_label: str
    last_label: str
    change_label: str
    summary: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    x_label_y: float
    last_x: float
    last_y: float
    tag_x: float
    tag_y: float
    tag_width: float
    tag_height: float
    hits: list[Hit]
    rows: list[Row]
    points: int
    bars: list[Bar] = field(default_factory=list)
    volume_top: float | None = None
    volume_bottom: float | None = None
    volume_label: str = ""
    change_name: str = ""  # what the change is, when it is not plain (a total's gain)
    band_bottom: float = 0.0  # where the hover regions end: under the volume bars, if any
    font: int = FONT

    @property
    def has_volume(self) -> bool:
        return self.volume_top is not None

    @property
    def axis_x(self) -> float:
        """Where the value labels start, right of the plot."""
        return self.right + 6

    @property
    def tag_text_x(self) -> float:
        return self.tag_x + 5

    @property
    def tag_middle(self) -> float:
        return self.tag_y + self.tag_height / 2

    @property
    def hit_height(self) -> float:
        return self.band_bottom - self.top


def _y_ticks(points: Sequence[Point], kind: str) -> list[Decimal]:
    values = [Decimal(p.value) for p in points]
    return nice_ticks(min(values), max(values), unit=KINDS[kind][2])


def room_for(points: Sequence[Point], kind: str) -> float:
    """How wide the value axis on the right must be for these points' labels (charts that are
    compared side by side take the widest, so their plots line up)."""
    if not points:
        return 0
    ticks = _y_ticks(points, kind)
    places = _decimals(ticks)
    texts = [_tick_text(kind, t, places) for t in ticks]
    texts.append(_point_label(kind, points[-1].value))
    return max(text_width(t) for t in texts) + 18


def build(
    points: Sequence[Point],
    *,
    label: str,
    kind: str = "won",
    start: datetime | None = None,
    end: datetime | None = None,
    step: tuple[str, int] | None = None,
    room: float | None = None,
    flows=None,
) -> Chart | None:
    """The chart of ``points`` (oldest first; a ``volume`` on them draws volume bars) over
    ``start``..``end`` (the points' own span when not given). ``kind`` says how values read:
    ``won`` (prices, totals), ``nav`` (a NAV per share, 10,857.15원) or ``index`` (the MCPI).
    ``step``: the period each point stands for (volume buckets); ``room``: the value axis's
    width at least (``room_for``); ``flows``: money the owner put in (or, negative, took out)
    over the range — a total's change is then its gain, flows left out, in won and as a share
    of what it started with plus what was put in. None when there is no point."""
    points = list(points)
    if not points:
        return None
    start = start or points[0].at
    end = end or points[-1].at
    if end <= start:  # one moment: an hour either side of it
        start, end = start - timedelta(hours=1), end + timedelta(hours=1)
    has_volume = any(p.volume is not None for p in points)
    height = 380 if has_volume else 300
    left, top = 10.0, 14.0
    right = WIDTH - max(room or 0, room_for(points, kind))
    bottom = 250.0 if has_volume else 258.0
    ticks = _y_ticks(points, kind)
    lo, hi, places = ticks[0], ticks[-1], _decimals(ticks)
    seconds = (end - start).total_seconds()

    def x_of(at: datetime) -> float:
        return left + (at - start).total_seconds() / seconds * (right - left)

    def y_of(value) -> float:
        return bottom - float((Decimal(value) - lo) / (hi - lo)) * (bottom - top)

    xs = [x_of(p.at) for p in points]
    ys = [y_of(p.value) for p in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    area = f"M{xs[0]:.1f},{bottom:.1f} L{line.replace(' ', ' L')} L{xs[-1]:.1f},{bottom:.1f} Z"
    if len(points) == 1:  # a dot: a line of no length with round caps
        line, area = f"{xs[0]:.1f},{ys[0]:.1f} {xs[0]:.1f},{ys[0]:.1f}", ""
    x_ticks = []
    for at, text in time_ticks(start, end, right - left):
        half = text_width(text) / 2  # a label near an edge moves in rather than be cut
        x_ticks.append(Tick(at=min(max(x_of(at), left + half), right - half), label=text))

    first, last = points[0], points[-1]
    last_label = _point_label(kind, last.value)
    change_label = _change(kind, first.value, last.value, flows)
    with_time = seconds <= 7 * 86400 or (step is not None and SECONDS[step[0]] * step[1] < 86400)
    tag_height = FONT * 1.45
    chart = Chart(
        label=label,
        kind=kind,
        start=start,
        end=end,
        width=WIDTH,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        line=line,
        area=area,
        direction=direction(first.value, Decimal(last.value) - (flows or 0)),
        first_label=_point_label(kind, first.value),
        last_label=last_label,
        change_label=change_label,
        summary="",
        y_ticks=[
            Tick(at=y_of(t), label=_tick_text(kind, t, places), anchor="start") for t in ticks
        ],
        x_ticks=x_ticks,
        x_label_y=height - 12.0,
        last_x=xs[-1],
        last_y=ys[-1],
        tag_x=right + 4,
        tag_y=min(max(ys[-1] - tag_height / 2, 0), bottom - tag_height / 2),
        tag_width=text_width(last_label) + 10,
        tag_height=tag_height,
        hits=[],
        rows=[],
        points=len(points),
        band_bottom=bottom,
        change_name=gettext("Gain") if flows is not None else "",
    )
    if has_volume:
        _add_volume(chart, points, xs, step, seconds)
    _add_read_outs(chart, points, xs, step, with_time)
    chart.summary = gettext(
        "%(label)s from %(start)s to %(end)s: first %(first)s, last %(last)s (%(change)s)"
    ) % {
        "label": label,
        "start": when(start, with_time=with_time),
        "end": when(end, with_time=with_time),
        "first": chart.first_label,
        "last": last_label,
        "change": change_label,
    }
    return chart


def _add_volume(chart: Chart, points, xs, step, seconds: float) -> None:
    """Bars of each point's volume in a band under the line, coloured by the point's change
    from the one before, the tallest as high as the band."""
    chart.volume_top, chart.volume_bottom = 266.0, 334.0
    chart.band_bottom = chart.volume_bottom
    tallest = max(p.volume or 0 for p in points)
    if not tallest:
        return
    plot = chart.right - chart.left
    if step is not None:
        period = step_after(floor_to(points[0].at, step), step) - floor_to(points[0].at, step)
        slot = period.total_seconds() / seconds * plot
    else:
        slot = min((b - a for a, b in itertools.pairwise(xs)), default=plot / 10)
    width = max(2.0, min(slot * 0.7, 40.0))
    previous = None
    for p, x in zip(points, xs, strict=True):
        if p.volume:
            height = p.volume / tallest * (chart.volume_bottom - chart.volume_top)
            chart.bars.append(
                Bar(
                    x=x - width / 2,
                    y=chart.volume_bottom - height,
                    width=width,
                    height=height,
                    direction="flat" if previous is None else direction(previous, p.value),
                )
            )
        previous = p.value
    chart.volume_label = formatting.shares(tallest)


def _add_read_outs(chart: Chart, points, xs, step, with_time: bool) -> None:
    """Each point's hover region (from half-way to the point before to half-way to the next,
    with its moment and value as its tooltip) and its row of the table, newest first."""
    for i, (p, x) in enumerate(zip(points, xs, strict=True)):
        lo_x = chart.left if i == 0 else (xs[i - 1] + x) / 2
        hi_x = chart.right if i == len(points) - 1 else (x + xs[i + 1]) / 2
        moment = when(p.at if step is None else floor_to(p.at, step), with_time=with_time)
        value = _point_label(chart.kind, p.value)
        volume = formatting.shares(p.volume) if p.volume is not None else None
        shown = {"when": moment, "value": value, "volume": volume}
        title = (
            gettext("%(when)s: %(value)s") % shown
            if volume is None
            else gettext("%(when)s: %(value)s, volume %(volume)s") % shown
        )
        chart.hits.append(Hit(x=lo_x, width=max(hi_x - lo_x, 1.0), title=title))
        chart.rows.append(Row(when=moment, value=value, volume=volume))
    chart.rows.reverse()


def _change(kind: str, first, last, flows=None) -> str:
    """The change over the range: a percentage, or the difference when it started at zero; with
    ``flows`` (see ``build``), the gain in won and its percentage."""
    first, last = Decimal(first), Decimal(last)
    if flows is not None:
        gain, base = last - first - flows, first + max(flows, 0)
        return (
            f"{formatting.signed_won(gain)} ({formatting.percent(gain * 100 / base)})"
            if base
            else formatting.signed_won(gain)
        )
    if first:
        return formatting.percent((last - first) * 100 / first)
    if kind == "index":
        return formatting.thousands((last - first).quantize(Decimal("0.01")))
    return formatting.signed_won(last - first)
