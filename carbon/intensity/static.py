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
from carbon.intensity.base import IntensityValue, NoBundledIntensity
from carbon.model import Bounds, Source
from carbon.provenance import describe
from carbon.units import floor_hour, utc


@dataclass(frozen=True)
class _Row:
    """One bundled table row's figure with the basis and source it is stated on."""

    value: float
    basis: str
    source: str


EGRID_PREFIX = "US-EGRID-"  # eGRID subregions as zones: US-EGRID-CAMX (direct basis, annual only)


def _table_of(zone: str, kind: str) -> str:
    """Countries (and WORLD) are keyed by ISO alpha-2, sub-national grids by ISO 3166-2 ('US-CA')."""
    return ("subdivisions" if "-" in zone else "countries") + kind


@derived
def _yearly(zone: str) -> dict[int, _Row]:
    if zone.startswith(EGRID_PREFIX):
        return {
            int(row["year"]): _Row(float(row["co2e_g_per_kwh"]), row["basis"], row["source"])
            for row in rows_for("egrid_subregions", zone[len(EGRID_PREFIX) :])
        }
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
            raise NoBundledIntensity(f"no bundled intensity for zone {zone!r}")
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
        # eGRID has no months: its range is the US grid's months, relative (annual_range).
        months_zone = "US" if zone.startswith(EGRID_PREFIX) else zone
        annual = {y: r.value for y, r in series.items()}
        bounds, spread = annual_range(months_zone, used, row.value, row.basis, annual, months_zone != zone)
        return IntensityValue(
            zone=zone,
            start=datetime(used, 1, 1, tzinfo=timezone.utc),
            granularity="year",
            intensity_g_per_kwh=bounds,
            basis=row.basis,
            source=_source(row, used, f"zone {zone}, annual mean, {note}, range: {spread}"),
        )

    def at(self, zone: str, time: datetime) -> IntensityValue:
        time = utc(time)
        if has_hourly(zone):
            hour = floor_hour(time)
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
        start, end = utc(start), utc(end)
        values: list[IntensityValue] = []
        cursor = start
        while cursor < end:
            value = self.at(zone, cursor)
            values.append(value)
            cursor = _next_boundary(cursor, value.granularity)
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
        _source(first, used, f"zone {zone}, mean of {len(values)} hours, {note}, range: hours of {used}"),
    )


YEARS_AROUND = 2  # an annual-only figure is ranged by the source's figures this many years either side


def annual_range(
    zone: str | None,
    used: int,
    value: float,
    basis: str,
    annual: dict[int, float],
    relative_months: bool = False,
) -> tuple[Bounds, str]:
    """The range of an annual figure and the words that say what it is.

    A job that ran at an unknown time of the year saw one month's grid, not the mean: where the
    zone's months of that year are in the bundle (same basis), the range is the lowest..highest
    month, widened to the annual value where the source's annual figure lies outside its own
    months (Ember: 196 of 2,266 zone-years). A source with one annual figure only is ranged by
    the zone's months relative to their mean (`relative_months`: a provider's figure, or months
    on another basis), else by the source's own annual figures within YEARS_AROUND years.
    Zero width only when nothing else is known; the label says so."""
    rows = [r for (y, _), r in _monthly(zone).items() if y == used] if zone else []
    months = [r.value for r in rows]
    if months and not relative_months and all(r.basis == basis for r in rows):
        low, high = min(months), max(months)
        if low <= value <= high:
            return Bounds(value, low, high), f"months of {used}"
        return Bounds(value, min(low, value), max(high, value)), f"months of {used}, widened to the annual value"
    if months:
        reference = sum(months) / len(months)
        if reference > 0:
            low_ratio, high_ratio = min(1.0, min(months) / reference), max(1.0, max(months) / reference)
            return Bounds(value, value * low_ratio, value * high_ratio), (
                f"source gives one annual figure: ± spread of grid zone {zone}'s months of {used} "
                f"relative to their mean ({low_ratio - 1:+.0%}/{high_ratio - 1:+.0%})"
            )
    near = sorted(y for y in annual if abs(y - used) <= YEARS_AROUND)
    if len(near) > 1:
        figures = [annual[y] for y in near]
        return Bounds(value, min(value, *figures), max(value, *figures)), (
            f"source gives one annual figure: ± spread of its annual figures {near[0]}-{near[-1]}"
        )
    return Bounds.exact(value), "source gives one annual figure and no months or other years: no range"


def _next_boundary(cursor: datetime, granularity: str) -> datetime:
    """The start of the hour, month or year after the one holding `cursor`. Stepping from the cursor,
    not from the value's own period, matters: past the bundle's last period the value is an earlier
    year's, and stepping to the end of that year would never pass the cursor (an endless loop)."""
    if granularity == "hour":
        from datetime import timedelta

        return cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if granularity == "month":
        first = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (
            first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)
        )
    return datetime(cursor.year + 1, 1, 1, tzinfo=timezone.utc)


@derived
def _published(provider: str, region: str) -> dict[int, dict[str, str]]:
    """Year -> row of a provider region's published intensity; once per bundle, since the service
    asks for it on every estimate of a cloud region."""
    return {
        int(r["year"]): r
        for r in rows_for("cloud_region_intensity", provider)
        if r["region"] == region and r["grid_intensity_g_per_kwh"]
    }


def provider_published(
    provider: str, region: str, year: int | None = None, grid_zone: str | None = None
) -> IntensityValue | None:
    """The provider's own published grid intensity for a region (Google publishes it by year).

    Its range is the spread of `grid_zone`'s months that year, relative to the zone's annual value
    (the provider publishes no months), else the spread of the provider's own annual figures."""
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
    value = float(row["grid_intensity_g_per_kwh"])
    own_years = {y: float(r["grid_intensity_g_per_kwh"]) for y, r in rows.items() if r["basis"] == row["basis"]}
    bounds, spread = annual_range(grid_zone, used, value, row["basis"], own_years, relative_months=True)
    note += f", range: {spread}"
    if row.get("cfe_fraction"):
        note += f"; provider's carbon-free-energy share {float(row['cfe_fraction']):.0%} (not applied: location-based)"
    return IntensityValue(
        zone=f"{provider}:{region}",
        start=datetime(used, 1, 1, tzinfo=timezone.utc),
        granularity="year",
        intensity_g_per_kwh=bounds,
        basis=row["basis"],
        source=Source("intensity", dataset, used, licence, "provider-published", note),
    )
