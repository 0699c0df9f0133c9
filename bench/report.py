"""The benchmark's table: one row per scenario beside the ceilings, with targets and pass/miss."""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS, MISS, ERROR, NONE = "pass", "MISS", "ERROR", "—"


@dataclass(frozen=True)
class Target:
    """What a row must reach. Ratios are of the read or write ceiling's requests per second."""

    text: str
    read_ratio: float | None = None
    write_ratio: float | None = None
    p99_ms: float | None = None  # p99 must be below
    rate: float | None = None  # at least this many per second
    ms: float | None = None  # median and p99 below (times, not rates)


@dataclass
class Row:
    name: str
    rate: float | None = None
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    read_ratio: float | None = None
    write_ratio: float | None = None
    target: Target | None = None
    note: str = ""
    error: str = ""
    extra: dict = field(default_factory=dict)

    def relate(self, read_ceiling: float | None, write_ceiling: float | None) -> Row:
        if self.rate is not None and self.unit == "req/s":
            if read_ceiling:
                self.read_ratio = self.rate / read_ceiling
            if write_ceiling and self.target and self.target.write_ratio is not None:
                self.write_ratio = self.rate / write_ceiling
        return self

    @property
    def status(self) -> str:
        if self.error:
            return ERROR
        if self.target is None:
            return NONE
        t = self.target
        checks = []
        if t.read_ratio is not None:
            checks.append(self.read_ratio is not None and self.read_ratio >= t.read_ratio)
        if t.write_ratio is not None:
            checks.append(self.write_ratio is not None and self.write_ratio >= t.write_ratio)
        if t.p99_ms is not None:
            checks.append(self.p99_ms is not None and self.p99_ms < t.p99_ms)
        if t.rate is not None:
            checks.append(self.rate is not None and self.rate >= t.rate)
        if t.ms is not None:
            checks.append(
                self.p50_ms is not None
                and self.p99_ms is not None
                and self.p50_ms < t.ms
                and self.p99_ms < t.ms
            )
        return PASS if all(checks) else MISS  # no checks: judged by error alone


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


COLUMNS = ("scenario", "rate", "p50 ms", "p99 ms", "÷ read ceiling", "÷ write ceiling")
COLUMNS += ("target", "result", "note")


def table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] + ["---:"] * 5 + ["---", "---", "---"]) + "|",
    ]
    for row in rows:
        rate = f"{_number(row.rate)} {row.unit}" if row.rate is not None else ""
        note = "; ".join(part for part in (row.error, row.note) if part).replace("|", "/")
        cells = [
            row.name,
            rate,
            _number(row.p50_ms, 1),
            _number(row.p99_ms, 1),
            _ratio(row.read_ratio),
            _ratio(row.write_ratio),
            row.target.text if row.target else "",
            f"**{row.status}**" if row.status in (MISS, ERROR) else row.status,
            note.replace("\n", " "),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine(
    *, mariadb: str, redis: str, workers: int, threads: int, scale: float, when=None
) -> str:
    model, cpus = platform.processor() or "unknown CPU", os.cpu_count()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown RAM"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.0f} GB RAM"
                break
    except OSError:
        pass
    when = when or dt.datetime.now().astimezone()
    return (
        f"{cpus} x {model}, {ram}; MariaDB {mariadb}; Redis {redis}; "
        f"gunicorn {workers} workers x {threads} threads; scale {scale:g}; "
        f"{when:%Y-%m-%d %H:%M %Z}"
    )


def render(rows: list[Row], *, header: str, audit: str = "") -> str:
    parts = [f"# okcow bench\n\n{header}\n", table(rows)]
    if audit:
        parts.append("\n`manage.py audit` after the order benchmarks:\n\n```\n" + audit + "\n```")
    passed = sum(r.status == PASS for r in rows)
    failed = [r.name for r in rows if r.status in (MISS, ERROR)]
    parts.append(
        f"\n{passed} targets met"
        + (f"; missed or failed: {', '.join(failed)}." if failed else "; nothing missed.")
    )
    return "\n".join(parts) + "\n"


def as_dicts(rows: list[Row]) -> list[dict]:
    return [{**asdict(row), "status": row.status} for row in rows]
