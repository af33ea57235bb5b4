"""A built table: its rows as strings, the columns the schema fixes, and its manifest facts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

# The contract of docs/data-schema.md: table -> (columns, key columns, intensity columns in g/kWh).
SCHEMA: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "countries": (
        ("iso2", "iso3", "name", "year", "intensity_g_per_kwh", "basis", "source"),
        ("iso2", "year"),
        ("intensity_g_per_kwh",),
    ),
    "countries_monthly": (
        ("iso2", "year", "month", "intensity_g_per_kwh", "basis", "source"),
        ("iso2", "year", "month"),
        ("intensity_g_per_kwh",),
    ),
    "subdivisions": (
        ("iso3166_2", "country_iso2", "name", "year", "intensity_g_per_kwh", "basis", "source"),
        ("iso3166_2", "year"),
        ("intensity_g_per_kwh",),
    ),
    "subdivisions_monthly": (
        ("iso3166_2", "year", "month", "intensity_g_per_kwh", "basis", "source"),
        ("iso3166_2", "year", "month"),
        ("intensity_g_per_kwh",),
    ),
    "grid_hourly": (
        ("zone", "timestamp_utc", "intensity_g_per_kwh", "basis", "source"),
        ("zone", "timestamp_utc"),
        ("intensity_g_per_kwh",),
    ),
    "egrid_subregions": (
        ("subregion", "name", "year", "co2e_g_per_kwh", "co2_g_per_kwh", "basis", "source"),
        ("subregion", "year"),
        ("co2e_g_per_kwh", "co2_g_per_kwh"),
    ),
    "subdivision_aliases": (("former_code", "iso3166_2", "source"), ("former_code",), ()),
    "cloud_regions": (
        (
            "provider",
            "region",
            "location_name",
            "country_iso2",
            "subdivision_iso3166_2",
            "latitude",
            "longitude",
            "zone",
            "pue",
            "pue_scope",
            "pue_year",
            "pue_source",
        ),
        ("provider", "region"),
        (),
    ),
    "cloud_region_intensity": (
        ("provider", "region", "year", "grid_intensity_g_per_kwh", "cfe_fraction", "basis", "source"),
        ("provider", "region", "year"),
        ("grid_intensity_g_per_kwh",),
    ),
    "cpus": (
        ("model", "key", "tdp_w", "cores", "threads", "counts_source", "microarchitecture", "source"),
        ("key",),
        (),
    ),
    "microarchitectures": (
        (
            "microarchitecture",
            "min_w_per_thread",
            "min_low",
            "min_high",
            "max_w_per_thread",
            "max_low",
            "max_high",
            "gb_per_chip",
            "runs",
            "ccf_min_w_per_thread",
            "ccf_max_w_per_thread",
            "method",
            "note",
            "source",
        ),
        ("microarchitecture",),
        (),
    ),
    "gpus": (
        ("model", "key", "tdp_w", "idle_w", "memory_gb", "gpus_per_board", "board_tdp_w", "source"),
        ("key",),
        (),
    ),
    "pue": (("provider", "year", "pue", "scope", "source"), ("provider", "year"), ()),
    "equivalents": (("name", "value", "unit", "year", "source"), ("name",), ()),
    "constants": (("name", "value", "value_low", "value_high", "unit", "source"), ("name",), ()),
    "embodied": (
        (
            "provider",
            "instance_type",
            "instance_vcpus",
            "platform_vcpus",
            "platform_embodied_kg",
            "platform_embodied_kg_low",
            "platform_embodied_kg_high",
            "source",
        ),
        ("provider", "instance_type"),
        (),
    ),
}


@dataclass(frozen=True)
class Table:
    """Rows are tuples of strings in SCHEMA column order; `origin` maps a row to its raw file and line."""

    name: str
    rows: tuple[tuple[str, ...], ...]
    description: str
    sources: tuple[str, ...]
    units: dict[str, str]
    origin: tuple[tuple[str, int], ...] = field(default=(), compare=False)
    # Raw rows the builder left out on purpose, with the rule: written to the manifest entry.
    dropped: dict[str, Any] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()  # what the manifest should say about the build (disagreements, drops)

    @property
    def columns(self) -> tuple[str, ...]:
        return SCHEMA[self.name][0]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def sorted(self) -> Table:
        """Rows in key order (numbers compared as numbers), so that output never depends on input order."""
        keys = [self.columns.index(k) for k in SCHEMA[self.name][1]]
        order = sorted(range(len(self.rows)), key=lambda i: tuple(_sort_key(self.rows[i][k]) for k in keys))
        origin = tuple(self.origin[i] for i in order) if self.origin else ()
        return Table(
            self.name,
            tuple(self.rows[i] for i in order),
            self.description,
            self.sources,
            self.units,
            origin,
            self.dropped,
            self.notes,
        )

    def render(self) -> bytes:
        handle = io.StringIO()
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return handle.getvalue().encode("utf-8")

    def years(self) -> str:
        if "year" in self.columns:
            index = self.columns.index("year")
            years = sorted({int(r[index]) for r in self.rows if r[index]})
        elif "timestamp_utc" in self.columns:
            index = self.columns.index("timestamp_utc")
            years = sorted({int(r[index][:4]) for r in self.rows})
        else:
            return ""
        if not years:
            return ""
        return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def _sort_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)
