"""The log-in history in words: "Chrome 156 · Android 14 · Samsung SM-S918N" for a raw User-Agent
header, read with ua-parser (the uap-core rules every analytics tool uses)."""

from functools import lru_cache

import ua_parser


@lru_cache(maxsize=2048)
def describe(header: str) -> str:
    """Browser, system and device, as far as the header tells; "" when it tells nothing."""
    if not header:
        return ""
    found = ua_parser.parse(header)
    parts = []
    for thing in (found.user_agent, found.os):
        if thing and thing.family != "Other":
            parts.append(f"{thing.family} {thing.major}" if thing.major else thing.family)
    device = found.device
    if device and device.family not in ("Other", "Spider") and device.family not in parts[-1:]:
        parts.append(device.family)
    return " · ".join(parts)
