"""Parsing of the units users type: durations ("3h", "1h30m", "90s") and times (ISO 8601)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_DURATION_UNITS_S = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)")


def parse_duration_s(text: str) -> float:
    """'3h' -> 10800; '1h30m' -> 5400; '45' -> 45 (seconds); 'HH:MM:SS' -> seconds."""
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    if value.startswith("-"):
        raise ValueError(f"duration must not be negative: {text!r}")
    if ":" in value:
        parts = value.split(":")
        if len(parts) > 3 or not all(re.fullmatch(r"\d+(?:\.\d+)?", p) for p in parts):
            raise ValueError(f"cannot read duration {text!r}; use e.g. 3h, 90m, 1h30m or HH:MM:SS")
        total = 0.0
        for part in parts:
            total = total * 60 + float(part)
        return total
    total, position = 0.0, 0
    for match in _PART.finditer(value):
        if value[position : match.start()].strip():
            break
        number, unit = match.groups()
        if unit not in _DURATION_UNITS_S and unit != "":
            raise ValueError(f"unknown duration unit {unit!r} in {text!r}; use ms, s, m, h, d or w")
        total += float(number) * _DURATION_UNITS_S.get(unit, 1.0)
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError(f"cannot read duration {text!r}; use e.g. 3h, 90m, 1h30m or HH:MM:SS")
    return total


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time; naive values are taken as UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"cannot read time {text!r}; use ISO 8601, e.g. 2024-03-01 or 2024-03-01T14:00Z") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


# Memory: carbon's unit is the decimal GB (10**9 bytes), named `memory_gb` everywhere. Clouds, Slurm
# and DIMMs count in GiB (2**30 bytes); their figures convert here, on the way in.
BYTES_PER_GB = 10**9
BYTES_PER_GIB = 2**30


def gib_to_gb(gib: float) -> float:
    """16 GiB -> 17.179869184 GB."""
    return gib * BYTES_PER_GIB / BYTES_PER_GB


def mib_to_gb(mib: float) -> float:
    """16384 MiB -> 17.179869184 GB."""
    return mib * 2**20 / BYTES_PER_GB
