"""Intensity from the bundled tables: always available, never touches the network.

Resolution is the finest the data has for the zone and time: the hour (balancing-authority
series in `grid_hourly`), else the month, else the year. An annual value carries the spread of
that year's monthly values as its range where the data has months, because a job that ran at an
unknown time of the year saw one of them, not the mean.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timezone

from carbon.bundle import derived, rows_for, table_text
from carbon.intensity.base import IntensityError, IntensityValue
from carbon.model import Bounds, Source
from carbon.provenance import describe


@dataclass(frozen=True)
class _Row:
    value: float
    basis: str
    source: str


def _utc(time: datetime) -> datetime:
    return time.replace(tzinfo=timezone.utc) if time.tzinfo is None else time.astimezone(timezone.utc)


def _table_of(zone: str, kind: str) -> str:
    """Countries (and WORLD) are keyed by ISO alpha-2, sub-national grids by ISO 3166-2 ('US-CA')."""
    return ("subdivisions" if "-" in zone else "countries") + kind


@derived
def _yearly(zone: str) -> dict[int, _Row]:
    return {
        int(row["year"]): _Row(float(row["intensity_g_per_kwh"]), row["basis"], row["source"])
        for row in rows_for(_table_of(zone, ""), zone)
    }


@derived
def _monthly(zone: str) -> dict[tuple[int, int], _Row]:
    return {
        (int(row["year"]), int(row["month"])): _Row(float(row["intensity_g_per_kwh"]), row["basis"], row["source"])
        for row in rows_for(_table_of(zone, "_monthly"), zone)
    }


@derived
def _hourly(zone: str) -> dict[datetime, _Row]:
    result: dict[datetime, _Row] = {}
    for row in rows_for("grid_hourly", zone):
        hour = datetime.strptime(row["timestamp_utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        result[hour] = _Row(float(row["intensity_g_per_kwh"]), row["basis"], row["source"])
    return result


def has_hourly(zone: str) -> bool:
    # Hourly series exist only for balancing-authority zones; checking the name first keeps
    # ordinary lookups from reading the large hourly table.
    return "-BA-" in zone and bool(_hourly(zone))


def _source(row: _Row, year: int, detail: str) -> Source:
    dataset, _, licence = describe(row.source)
    return Source("intensity", dataset, year, licence, "dataset", detail)


class BundledSource:
    """The bundled tables as an IntensitySource (the last link of every fallback chain)."""

    name = "bundled"

    def year(self, zone: str, year: int | None = None) -> IntensityValue:
        series = _yearly(zone)
        if not series and has_hourly(zone):
            return _year_from_hours(zone, year)
        if not series:
            raise IntensityError(f"no bundled intensity for zone {zone!r}")
        years = sorted(series)
        if year is None:
            used, note = years[-1], f"latest year available ({years[-1]})"
        elif year in series:
            used, note = year, f"year {year}"
        elif year > years[-1]:
            used, note = years[-1], f"{year} asked; {years[-1]} is the latest year available"
        elif year < years[0]:
            used, note = years[0], f"{year} asked; {years[0]} is the earliest year available"
        else:
            used = years[bisect.bisect_right(years, year) - 1]
            note = f"{year} asked; nearest earlier year {used} used"
        row = series[used]
        months = [r.value for (y, _), r in _monthly(zone).items() if y == used and r.basis == row.basis]
        if months:
            bounds = Bounds(row.value, min(row.value, *months), max(row.value, *months))
            spread = f", range = lowest..highest month of {used}"
        else:
            bounds, spread = Bounds.exact(row.value), ""
        return IntensityValue(
            zone=zone,
            start=datetime(used, 1, 1, tzinfo=timezone.utc),
            granularity="year",
            intensity_g_per_kwh=bounds,
            basis=row.basis,
            source=_source(row, used, f"zone {zone}, annual mean, {note}{spread}"),
        )

    def at(self, zone: str, time: datetime) -> IntensityValue:
        time = _utc(time)
        if has_hourly(zone):
            hour = time.replace(minute=0, second=0, microsecond=0)
            row = _hourly(zone).get(hour)
            if row is not None:
                return IntensityValue(
                    zone,
                    hour,
                    "hour",
                    Bounds.exact(row.value),
                    row.basis,
                    _source(row, hour.year, f"zone {zone}, hour {hour:%Y-%m-%dT%H:00Z}"),
                )
        row = _monthly(zone).get((time.year, time.month))
        if row is not None:
            start = datetime(time.year, time.month, 1, tzinfo=timezone.utc)
            return IntensityValue(
                zone,
                start,
                "month",
                Bounds.exact(row.value),
                row.basis,
                _source(row, time.year, f"zone {zone}, month {time:%Y-%m}"),
            )
        return self.year(zone, time.year)

    def series(self, zone: str, start: datetime, end: datetime) -> list[IntensityValue]:
        """One value per period of the finest granularity available, covering [start, end)."""
        start, end = _utc(start), _utc(end)
        values: list[IntensityValue] = []
        cursor = start
        while cursor < end:
            value = self.at(zone, cursor)
            values.append(value)
            cursor = _period_end(value)
        return values


def hourly_zones() -> list[str]:
    """Zones with an hourly series (balancing authorities), for listings; lookups use has_hourly."""
    return sorted({line.split(",", 1)[0] for line in table_text("grid_hourly").splitlines() if line})


@derived
def _year_from_hours(zone: str, year: int | None) -> IntensityValue:
    """An hourly-only zone's annual value: the mean of its hours, ranged by the lowest and highest hour.

    Cached: averaging a zone-year is 8,760 rows of Python, and batch runs ask for it per zone and year."""
    hours = _hourly(zone)
    years = sorted({hour.year for hour in hours})
    used = (
        years[-1]
        if year is None or year > years[-1]
        else (years[0] if year < years[0] else max(y for y in years if y <= year))
    )
    values = [row.value for hour, row in hours.items() if hour.year == used]
    first = next(row for hour, row in hours.items() if hour.year == used)
    mean = sum(values) / len(values)
    note = f"year {used}" + (f" ({year} asked)" if year not in (None, used) else "")
    return IntensityValue(
        zone,
        datetime(used, 1, 1, tzinfo=timezone.utc),
        "year",
        Bounds(mean, min(values), max(values)),
        first.basis,
        _source(first, used, f"zone {zone}, mean of {len(values)} hours, {note}, range = lowest..highest hour"),
    )


def _period_end(value: IntensityValue) -> datetime:
    start = value.start
    if value.granularity == "hour":
        from datetime import timedelta

        return start + timedelta(hours=1)
    if value.granularity == "month":
        return (
            start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        )
    return start.replace(year=start.year + 1)


@derived
def _published(provider: str, region: str) -> dict[int, dict[str, str]]:
    """Year -> row of a provider region's published intensity; once per bundle, since the service
    asks for it on every estimate of a cloud region."""
    return {
        int(r["year"]): r
        for r in rows_for("cloud_region_intensity", provider)
        if r["region"] == region and r["grid_intensity_g_per_kwh"]
    }


def provider_published(provider: str, region: str, year: int | None = None) -> IntensityValue | None:
    """The provider's own published grid intensity for a region (Google publishes it by year)."""
    rows = _published(provider, region)
    if not rows:
        return None
    years = sorted(rows)
    if year is None or year > years[-1]:
        used = years[-1]
    elif year in rows:
        used = year
    elif year < years[0]:
        used = years[0]
    else:
        used = years[bisect.bisect_right(years, year) - 1]
    row = rows[used]
    dataset, _, licence = describe(row["source"])
    note = f"{provider}:{region}, {used}" + (f" ({year} asked)" if year not in (None, used) else "")
    if row.get("cfe_fraction"):
        note += f"; provider's carbon-free-energy share {float(row['cfe_fraction']):.0%} (not applied: location-based)"
    return IntensityValue(
        zone=f"{provider}:{region}",
        start=datetime(used, 1, 1, tzinfo=timezone.utc),
        granularity="year",
        intensity_g_per_kwh=Bounds.exact(float(row["grid_intensity_g_per_kwh"])),
        basis=row["basis"],
        source=Source("intensity", dataset, used, licence, "provider-published", note),
    )
