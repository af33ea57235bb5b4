"""Checks every built table against the contract before anything is written.

An error names the raw file and line the bad row came from (or the output row when a check spans
rows), and the column, so that a broken upstream file is found from the message alone.
"""

from __future__ import annotations

from carbon.hardware_names import cpu_key, gpu_key

from .rawcsv import RawDataError
from .sources import SOURCES
from .table import SCHEMA, Table

MAX_INTENSITY = 2000.0
BASES = {"lifecycle", "operational", "direct"}
PROVIDERS = {"aws", "gcp", "azure"}
REQUIRED_CONSTANTS = {
    "server_lifespan_h",
    "memory_w_per_gb",
    "default_cpu_w_per_core",
    "default_gpu_tdp_w",
    "default_gpu_idle_fraction",
    "default_min_w_per_vcpu",
    "default_max_w_per_vcpu",
    "default_cpu_tdp_w_per_thread",
}
REQUIRED_EQUIVALENTS = {"car_g_co2e_per_km", "tv_kwh_per_hour", "us_household_kwh_per_day", "smartphone_charge_kwh"}


class _Row:
    def __init__(self, table: Table, index: int):
        self.table, self.index = table, index
        self.values = dict(zip(table.columns, table.rows[index]))

    def error(self, column: str, message: str) -> RawDataError:
        where = f"{self.table.file} row {self.index + 2}"
        if self.table.origin and self.table.origin[self.index][1]:
            file, line = self.table.origin[self.index]
            return RawDataError(file, line, column, f"{message} (building {where})")
        if self.table.origin:
            return RawDataError(self.table.origin[self.index][0], None, column, f"{message} (building {where})")
        return RawDataError(self.table.file, self.index + 2, column, message)

    def number(self, column: str, low: float | None = None, high: float | None = None, required: bool = True):
        text = self.values[column]
        if text == "":
            if required:
                raise self.error(column, "empty value where a number is required")
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not a number") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(column, f"{text} is outside {low:g}-{high:g}")
        return value


def _check_rows(table: Table) -> None:
    columns, key_columns, intensity_columns = SCHEMA[table.name]
    seen: dict[tuple[str, ...], int] = {}
    for index, cells in enumerate(table.rows):
        if len(cells) != len(columns):
            raise RawDataError(table.file, index + 2, None, f"{len(cells)} values for {len(columns)} columns")
        row = _Row(table, index)
        key = tuple(row.values[k] for k in key_columns)
        if any(part == "" for part in key) and table.name not in ("pue",):
            raise row.error(key_columns[key.index("")], "empty key value")
        if key in seen:
            raise row.error(key_columns[-1], f"duplicate key {key} (also row {seen[key] + 2} of {table.file})")
        seen[key] = index
        for column in intensity_columns:
            row.number(column, 0.0, MAX_INTENSITY)
        if "basis" in columns and row.values["basis"] not in BASES:
            raise row.error("basis", f"{row.values['basis']!r} is not one of {sorted(BASES)}")
        for column in ("source", "pue_source"):
            if column in columns and row.values[column] and row.values[column] not in SOURCES:
                raise row.error(column, f"source id {row.values[column]!r} is not in the sources map")
        if "year" in columns:
            row.number("year", 1990, 2100, required=table.name not in ("pue", "equivalents"))
        if "month" in columns:
            row.number("month", 1, 12)
        _check_specific(table.name, row)


def _check_specific(name: str, row: _Row) -> None:
    v = row.values
    if name == "cloud_region_intensity":
        row.number("cfe_fraction", 0, 1, required=False)
    elif name == "cloud_regions":
        if v["provider"] not in PROVIDERS:
            raise row.error("provider", f"{v['provider']!r} is not one of {sorted(PROVIDERS)}")
        row.number("latitude", -90, 90, required=False)
        row.number("longitude", -180, 180, required=False)
        row.number("pue", 1, 3)
    elif name in ("cpus", "gpus"):
        expected = (cpu_key if name == "cpus" else gpu_key)(v["model"])
        if v["key"] != expected:
            raise row.error("key", f"key {v['key']!r} differs from the normal form {expected!r}")
        row.number("tdp_w", 0.5, 2000)
        if name == "cpus":
            cores, threads = (
                row.number("cores", 1, 1024, required=False),
                row.number("threads", 1, 2048, required=False),
            )
            if cores and threads and threads < cores:
                raise row.error("threads", f"{threads:g} threads for {cores:g} cores")
    elif name == "microarchitectures":
        # Plausible per-thread figures: SPECpower servers idle at 0.1-5 W and peak at 0.5-15 W a thread.
        idle = [row.number(c, 0.1, 5) for c in ("min_low", "min_w_per_thread", "min_high")]
        full = [row.number(c, 0.5, 15) for c in ("max_low", "max_w_per_thread", "max_high")]
        if not (idle[0] <= idle[1] <= idle[2] and full[0] <= full[1] <= full[2]):
            raise row.error("min_w_per_thread", "central outside its low-high range")
        if idle[1] >= full[1]:
            raise row.error("max_w_per_thread", f"full load {full[1]} W not above idle {idle[1]} W")
    elif name == "pue":
        row.number("pue", 1, 3)
    elif name == "constants":
        value = row.number("value")
        low, high = row.number("value_low", required=False), row.number("value_high", required=False)
        if (low is not None and low > value) or (high is not None and high < value):
            raise row.error("value", f"{value} is not within its low-high range")


def check(tables: list[Table]) -> None:
    by_name = {t.name: t for t in tables}
    for table in tables:
        _check_rows(table)
    zones = {r[0] for r in by_name["countries"].rows} | {r[0] for r in by_name["subdivisions"].rows}
    regions = by_name["cloud_regions"]
    for index in range(len(regions.rows)):
        row = _Row(regions, index)
        if row.values["zone"] not in zones:
            raise row.error(
                "zone",
                f"zone {row.values['zone']!r} of {row.values['provider']}:{row.values['region']} "
                "has no country or subdivision intensity",
            )
    known = {(r[0], r[1]) for r in regions.rows}
    published = by_name["cloud_region_intensity"]
    for index, cells in enumerate(published.rows):
        if (cells[0], cells[1]) not in known:
            raise _Row(published, index).error("region", f"{cells[0]}:{cells[1]} is not in cloud_regions")
    for name, required in (("constants", REQUIRED_CONSTANTS), ("equivalents", REQUIRED_EQUIVALENTS)):
        missing = required - {r[0] for r in by_name[name].rows}
        if missing:
            raise RawDataError(f"{name}.csv", None, "name", f"required names missing: {sorted(missing)}")
