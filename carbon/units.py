"""The units users type and read: durations ("3h", "1h30m", "90s") and times (ISO 8601) parsed
strictly, and quantities written for people (3 significant figures, a unit that keeps the number
readable, never exponent notation): one helper, `quantity`, for every summary the tool prints.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from carbon.errors import UserInputError

# Times outside these years are refused: no intensity data reaches them, and the far ends of the
# calendar break date arithmetic (pandas' nanosecond timestamps, time-zone shifts at year 1).
EARLIEST_YEAR = 1970
LATEST_YEAR = 2099

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
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(rf"({_NUMBER})\s*([a-z]+)\s*")
_CLOCK_PART = re.compile(r"\d+(?:\.\d+)?")
_HELP = "use e.g. 3h, 90m, 1h30m, 45 (seconds) or HH:MM:SS"

J_PER_KWH = 3.6e6  # joules in a kilowatt-hour


def utc(time: datetime) -> datetime:
    """`time` in UTC; a naive time is taken as UTC already."""
    return time.replace(tzinfo=timezone.utc) if time.tzinfo is None else time.astimezone(timezone.utc)


def floor_hour(time: datetime) -> datetime:
    """The start of the UTC hour holding `time` (intensities are priced per hour)."""
    return utc(time).replace(minute=0, second=0, microsecond=0)


def parse_duration_s(text: str) -> float:
    """'3h' -> 10800; '1h30m' -> 5400; '45' -> 45 (seconds); 'HH:MM:SS' -> seconds.

    Strict: every number but a lone one carries a unit, so '1.5.5h' or '1h30' is an error
    rather than a guess."""
    value = text.strip().lower()
    if not value:
        raise UserInputError("empty duration; " + _HELP)
    if value.startswith("-"):
        raise UserInputError(f"duration must not be negative: {text!r}")
    if ":" in value:
        total = _clock_s(value, text)
    elif re.fullmatch(_NUMBER, value):
        total = float(value)
    else:
        total, position = 0.0, 0
        for match in _PART.finditer(value):
            if match.start() != position:
                break
            number, unit = match.groups()
            if unit not in _DURATION_UNITS_S:
                raise UserInputError(f"unknown duration unit {unit!r} in {text!r}; use ms, s, m, h, d or w")
            total += float(number) * _DURATION_UNITS_S[unit]
            position = match.end()
        if position != len(value):
            raise UserInputError(f"cannot read duration {text!r}; " + _HELP)
    if not math.isfinite(total):
        raise UserInputError(f"duration {text!r} is too long")
    return total


def _clock_s(value: str, text: str) -> float:
    """[[HH:]MM:]SS: minutes and seconds after the first part below 60."""
    parts = value.split(":")
    if len(parts) > 3 or not all(_CLOCK_PART.fullmatch(p) for p in parts):
        raise UserInputError(f"cannot read duration {text!r}; " + _HELP)
    if any(float(p) >= 60 for p in parts[1:]):
        raise UserInputError(f"cannot read duration {text!r}: minutes and seconds must be below 60")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time; naive values are taken as UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
        result = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except ValueError:
        raise UserInputError(f"cannot read time {text!r}; use ISO 8601, e.g. 2024-03-01 or 2024-03-01T14:00Z") from None
    except OverflowError:  # a time zone shift past year 1 or 9999
        result = None
    if result is None or not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
        raise UserInputError(f"time {text!r} is outside the supported years {EARLIEST_YEAR}-{LATEST_YEAR}")
    return result


def check_year(year: int) -> int:
    """A calendar year within the supported range."""
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise UserInputError(f"year {year} is outside the supported years {EARLIEST_YEAR}-{LATEST_YEAR}")
    return year


# Unit ladders: (unit, size in the base unit), smallest first.
MASS_KG = (("mg", 1e-6), ("g", 1e-3), ("kg", 1.0), ("t", 1e3))
ENERGY_KWH = (("mWh", 1e-6), ("Wh", 1e-3), ("kWh", 1.0), ("MWh", 1e3), ("GWh", 1e6))
LENGTH_KM = (("m", 1e-3), ("km", 1.0))
SMALLEST = 0.01  # below this, in the smallest unit, a figure reads "< 0.01"


def figure(value: float, figures: int = 3, signed: bool = False) -> str:
    """`value` to `figures` significant figures, thousands grouped, never in exponent notation;
    a magnitude below 0.01 reads "< 0.01" (and zero "0")."""
    if math.isnan(value):
        return "not a number"
    if math.isinf(value):
        return ("-" if value < 0 else "+" if signed else "") + "infinite"
    sign = "-" if value < 0 else ("+" if signed else "")
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude < SMALLEST:
        return f"> -{SMALLEST:g}" if value < 0 else f"< {SMALLEST:g}"
    rounded = round(magnitude, figures - 1 - math.floor(math.log10(magnitude)))
    decimals = max(0, figures - 1 - math.floor(math.log10(rounded)))
    return f"{sign}{rounded:,.{decimals}f}"


def quantity(value: float, ladder: tuple[tuple[str, float], ...] = (), unit: str = "", signed: bool = False) -> str:
    """A quantity for people: with a ladder (MASS_KG, ENERGY_KWH, LENGTH_KM), in the largest unit
    that keeps the number at or above 1 (smallest unit for small values); else in `unit` as given.

    >>> quantity(1e6, ENERGY_KWH), quantity(1.37e-6, LENGTH_KM), quantity(0.4, MASS_KG)
    ('1.00 GWh', '< 0.01 m', '400 g')
    """
    if ladder:
        unit, size = ladder[0]
        for name, scale in ladder:
            if math.isfinite(value) and abs(value) >= scale:
                unit, size = name, scale
        value = value / size
    number = figure(value, signed=signed)
    return f"{number} {unit}" if unit else number


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
