"""What every intensity source returns, and the interface they share.

A value always carries its time granularity, its emission-factor basis and its provenance, so
that an hourly operational figure is never silently averaged with an annual lifecycle one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from carbon.errors import CarbonError, DataError
from carbon.model import Bounds, Source

GRANULARITIES = ("hour", "month", "year")
# Plausible grid intensity in g/kWh: the dirtiest grids are near 1,100 (marginal coal a little more);
# a value outside (a negative, 1e9, NaN) is a broken answer, never a measurement.
PLAUSIBLE_G_PER_KWH = (0.0, 2000.0)
BASES = ("lifecycle", "operational", "direct", "marginal")


class IntensityError(CarbonError, LookupError):
    """No value could be had for a zone and time; the message says why.

    The root of intensity lookups, caught by the fallback chain whatever the cause; each failure
    is also in the family of its cause: a live API's (`FetchError`, a NetworkError) or the
    bundle's (`NoBundledIntensity`, a DataError).
    """


class NoBundledIntensity(IntensityError, DataError):
    """The bundled tables have no figure for the zone."""


def implausible(values_g_per_kwh: Sequence[float]) -> str | None:
    """Why these intensities cannot be real (the first one outside the plausible range), else None."""
    low, high = PLAUSIBLE_G_PER_KWH
    for value in values_g_per_kwh:
        if not low <= value <= high:  # False for NaN too
            return f"intensity {value:g} g/kWh is outside the plausible {low:g}-{high:g}"
    return None


@dataclass(frozen=True)
class IntensityValue:
    """One intensity figure for a zone and period, with its range, emission-factor basis and
    source: every source answers in this shape, so pricing never asks where it came from."""

    zone: str
    start: datetime  # beginning of the period the value covers (UTC)
    granularity: str  # "hour", "month" or "year"
    intensity_g_per_kwh: Bounds
    basis: str  # "lifecycle", "operational", "direct"; "marginal" only from marginal sources
    source: Source  # factor="intensity", dataset, year, licence, method, detail (e.g. fallback reason)


class IntensitySource(Protocol):
    """A place intensity comes from: bundled tables, a live API, a cache in front of one."""

    name: str

    def at(self, zone: str, time: datetime) -> IntensityValue:
        """The value covering `time` for `zone`; raises IntensityError when there is none."""
        ...

    def series(self, zone: str, start: datetime, end: datetime) -> Sequence[IntensityValue]:
        """Values covering [start, end), in time order, at the finest granularity the source has."""
        ...
