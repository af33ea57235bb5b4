"""Factors for the distinct keys of a job table, looked up once each through the core API.

A million jobs have a handful of regions, years, months and kinds of hardware: the engine asks
this object for each distinct key (the same `carbon.pricing` / `carbon.power` calls the offline
estimate makes) and joins the answers back onto the jobs as arrays. Hourly series are kept as
dense arrays with their running integral, so any interval's mean is two lookups.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from carbon.batch.hardware import HardwareMap
from carbon.batch.hardware import resolve as resolve_hardware
from carbon.intensity.base import IntensityValue
from carbon.model import Bounds, Hardware, Location

_MISSING = object()


@dataclass(frozen=True)
class HourlySeries:
    """One zone's hourly intensity as a dense array from `first_hour` (hours since the epoch)."""

    first_hour: int
    values: Any  # g/kWh per hour, NaN where the table has no value
    integral: Any  # running integral of values over seconds, len(values) + 1
    missing: Any  # running count of missing hours, len(values) + 1
    basis: str
    source: str


@dataclass
class Factors:
    """Per-run memo of core lookups (not shared between runs: no global state)."""

    hardware_map: HardwareMap = field(default_factory=HardwareMap)
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # Chunks priced on two threads share the memo: a key is looked up once, by whichever asks
    # first (re-entrant: an intensity lookup asks whether the zone is hourly).
    _lock: Any = field(default_factory=threading.RLock)

    def _memo(self, key: tuple[Any, ...], compute: Any) -> Any:
        found = self._cache.get(key, _MISSING)
        if found is _MISSING:
            with self._lock:
                found = self._cache.get(key, _MISSING)
                if found is _MISSING:
                    found = self._cache[key] = compute()
        return found

    def location(self, region: str) -> Location | str:
        """The Location, or the reason it cannot be used."""

        def compute() -> Location | str:
            from carbon.regions import UnknownRegion, resolve

            try:
                return resolve(region)
            except UnknownRegion as error:
                return f"unknown region {region!r}" + (f": {error}" if "did you mean" in str(error) else "")

        return self._memo(("location", region), compute)

    def hardware(self, hint: str | None, partition: str | None, location: Location) -> tuple[Hardware | None, str]:
        return self._memo(
            ("hardware", hint, partition, location.provider),
            lambda: resolve_hardware(hint, partition, location, self.hardware_map),
        )

    def power(self, hardware: Hardware | None, vcpus: float, gpus: int, gpu_model: str | None) -> Any:
        """carbon.power's PowerModel for a job's share of the hardware: its own CPU and GPU count
        (the log's GPU model where the hardware names none); memory is applied per job."""

        def compute() -> Any:
            from carbon.power import power_model

            parts = replace(hardware or Hardware(), vcpus=vcpus, gpu_count=gpus, memory_gb=None)
            if gpu_model and not parts.gpu_model:
                parts = replace(parts, gpu_model=gpu_model)
            return power_model(parts)

        return self._memo(("power", hardware, vcpus, gpus, gpu_model), compute)

    def pue(self, location: Location, year: int) -> Bounds:
        from carbon.pricing import pue_for

        return self._memo(("pue", location.region, year), lambda: pue_for(location, year)[0])

    def hourly_zone(self, location: Location) -> bool:
        """Whether the hour is the finest data for this location (no provider-published figure)."""

        def compute() -> bool:
            from carbon.intensity.static import has_hourly, provider_published

            if (
                location.provider
                and provider_published(location.provider, location.region.split(":", 1)[1]) is not None
            ):
                return False
            return has_hourly(location.zone)

        return self._memo(("hourly?", location.region), compute)

    def intensity(self, location: Location, year: int, month: int | None) -> IntensityValue | str:
        """The offline estimate's intensity for a year (month None) or a month; or why there is none."""

        def compute() -> IntensityValue | str:
            from carbon.intensity.base import IntensityError
            from carbon.pricing import intensity_for

            try:
                if month is None or self.hourly_zone(location):
                    # An hourly zone's month lookup would return one hour: use its year instead.
                    return intensity_for(location, year=year)
                return intensity_for(location, start=datetime(year, month, 1, tzinfo=timezone.utc))
            except IntensityError as error:
                return f"no intensity for {location.region}: {error}"

        return self._memo(("intensity", location.region, year, month), compute)

    def hourly(self, zone: str) -> HourlySeries | None:
        def compute() -> HourlySeries | None:
            import numpy as np

            from carbon.bundle import table

            rows = [r for r in table("grid_hourly") if r["zone"] == zone]
            if not rows:
                return None
            # Parsed without pandas, which a Parquet batch run otherwise never imports (a year is
            # 8,760 rows): naive times are UTC, as the column's name says.
            stamps = (datetime.fromisoformat(r["timestamp_utc"].replace("Z", "+00:00")) for r in rows)  # 3.10: no Z
            seconds = [(t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() for t in stamps]
            hours = np.floor_divide(np.array(seconds), 3600.0).astype(np.int64)
            first = int(hours.min())
            values = np.full(int(hours.max()) - first + 1, np.nan)
            values[hours - first] = np.array([float(r["intensity_g_per_kwh"]) for r in rows])
            missing = np.isnan(values)
            integral = np.concatenate([[0.0], np.cumsum(np.where(missing, 0.0, values) * 3600.0)])
            counts = np.concatenate([[0], np.cumsum(missing)])
            return HourlySeries(first, values, integral, counts, rows[0]["basis"], rows[0]["source"])

        return self._memo(("hourly", zone), compute)
