"""Drive one scenario with wrk on loopback and read its JSON summary (bench/wrk.lua)."""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("wrk.lua")
MARKER = "WRKJSON "


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int  # status >= 400 (wrk counts those) plus socket errors and timeouts
    raw: dict

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failure_share(self) -> float:
        return self.failures / self.requests if self.requests else 1.0


def lua_string(text: str) -> str:
    """A Lua string literal for any text (bytes above ASCII become decimal escapes)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or byte < 32 or byte > 126:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_data(requests: list[Request], run_id: str) -> str:
    rows = []
    for r in requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in r.headers.items())
        body = lua_string(r.body) if r.body is not None else "nil"
        rows.append(f"{{{lua_string(r.method)}, {lua_string(r.path)}, {{{headers}}}, {body}}}")
    # Lua allows 65,536 constants per function: the rows go in a function per thousand (kept in a
    # table: a line may not start with "(" in Lua 5.1, and a function has at most 200 locals).
    parts = [
        "parts[#parts + 1] = function() return {\n" + ",\n".join(rows[i : i + 1_000]) + "\n} end"
        for i in range(0, len(rows), 1_000)
    ]
    return (
        "local parts, requests = {}, {}\n"
        + "\n".join(parts)
        + "\nfor _, part in ipairs(parts) do\n"
        "  for _, r in ipairs(part()) do requests[#requests + 1] = r end\n"
        "end\n"
        f"return {{run_id = {lua_string(run_id)}, requests = requests}}\n"
    )


def parse(output: str) -> Result:
    """The summary line printed by wrk.lua's done()."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError(f"wrk printed no summary:\n{output[-2000:]}")
    errors = raw["errors"]
    failures = sum(errors.values())
    return Result(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        failures=failures,
        raw=raw,
    )


def run(
    base_url: str,
    requests: list[Request],
    *,
    duration: float,
    connections: int,
    threads: int,
    workdir: Path,
    name: str,
) -> Result:
    if not requests:
        raise ValueError("no requests to send")
    data = workdir / f"{name}.lua"
    data.write_text(lua_data(requests, f"{name}-{secrets.token_hex(4)}"))
    threads = max(1, min(threads, connections))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(data),
        str(threads),
    ]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)
