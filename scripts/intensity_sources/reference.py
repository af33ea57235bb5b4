"""PUE by provider and year, named constants and everyday equivalents.

Figures published in a raw dataset are read from it (Green Algorithms' PUE default and reference
values, the Teads GPU idle ratio); the few that exist only in reports are hand-curated in
`scripts/reference_values.csv`, each with its source id and a note saying where the number is.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from . import hardware
from .codes import SCRIPTS
from .rawcsv import RawDataError, RawRow, fmt, read_csv
from .table import Table

GA = "green-algorithms/green-algorithms-tool/data/latest"
CURATED = SCRIPTS / "reference_values.csv"
UNKNOWN_PUE_YEAR = 2024  # Green Algorithms cites the Uptime Institute 2024 survey for "Unknown"

# Green Algorithms referenceValues.csv variable -> (our name, unit)
GA_EQUIVALENTS = {
    "passengerCar_US_perkm": ("car_g_co2e_per_km", "gCO2e/km"),
    "passengerCar_EU_perkm": ("car_eu_g_co2e_per_km", "gCO2e/km"),
    "train_perkm": ("train_g_co2e_per_km", "gCO2e/km"),
    "flight_economy_perkm": ("flight_economy_g_co2e_per_km", "gCO2e/km"),
    "treeYear": ("tree_year_g_co2e", "gCO2e absorbed per tree-year"),
    "tree_month": ("tree_month_g_co2e", "gCO2e absorbed per tree-month"),
    "flight_NY-SF": ("flight_new_york_san_francisco_g_co2e", "gCO2e per passenger"),
    "flight_PAR-LON": ("flight_paris_london_g_co2e", "gCO2e per passenger"),
    "flight_NYC-MEL": ("flight_new_york_melbourne_g_co2e", "gCO2e per passenger"),
    "streaming_netflix_perhour": ("video_streaming_g_co2e_per_hour", "gCO2e/h"),
}


def _curated(kind: str) -> list[RawRow]:
    return [
        row
        for row in read_csv(
            CURATED,
            ("table", "name", "year", "value", "value_low", "value_high", "unit", "source", "note"),
            label="scripts/reference_values.csv",
        )
        if row.get("table") == kind
    ]


def region_pues() -> dict[str, tuple[str, str, str]]:
    """'provider:region' -> (pue, year, source) from the curated list."""
    return {
        row.get("name"): (fmt(row.number("value")), row.get("year"), row.get("source"))
        for row in _curated("region_pue")
    }


def pue(raw: Path) -> Table:
    rows, origin = [], []
    for row in _curated("pue"):
        value = row.number("value")
        if not 1 <= value <= 3:
            raise RawDataError(row.file, row.line, "value", f"PUE {value} outside 1-3")
        scope = "default" if row.get("name") in ("onprem", "unknown") else "fleet"
        rows.append((row.get("name"), row.get("year"), fmt(value), scope, row.get("source")))
        origin.append((row.file, row.line))
    for row in read_csv(
        raw / f"{GA}/defaults_PUE.csv", ("provider", "PUE", "source"), label=f"{GA}/defaults_PUE.csv", skip_lines=1
    ):
        if row.get("provider") == "Unknown":
            rows.append(("unknown", str(UNKNOWN_PUE_YEAR), fmt(row.number("PUE")), "default", "green-algorithms"))
            origin.append((row.file, row.line))
    return Table(
        "pue",
        tuple(rows),
        "Data-centre PUE by provider and year (provider-reported fleet figures where "
        "published), the industry average for an unknown data centre and the on-premises default",
        tuple(sorted({r[4] for r in rows})),
        {"pue": "ratio (total facility / IT energy)"},
        tuple(origin),
    )


def _ga_reference(raw: Path) -> dict[str, RawRow]:
    file = f"{GA}/referenceValues.csv"
    return {row.get("variable"): row for row in read_csv(raw / file, ("variable", "value"), label=file, skip_lines=1)}


def _ga_any(raw: Path, name: str, column: str) -> Decimal:
    file = f"{GA}/{name}"
    for row in read_csv(raw / file, ("model", column), label=file, skip_lines=1):
        if row.get("model") == "Any":
            return row.number(column)
    raise RawDataError(file, None, "model", "no 'Any' default row")


def constants(raw: Path, cpus: Table) -> Table:
    rows, origin = [], []
    for row in _curated("constants"):
        rows.append(
            (
                row.get("name"),
                fmt(row.number("value")),
                fmt(row.number("value_low", required=False)),
                fmt(row.number("value_high", required=False)),
                row.get("unit"),
                row.get("source"),
            )
        )
        origin.append((row.file, row.line))
    idle, idle_low, idle_high = hardware.gpu_idle_fraction(raw)
    rows += [
        (
            "default_cpu_w_per_core",
            fmt(_ga_any(raw, "TDP_cpu.csv", "TDP_per_core")),
            "",
            "",
            "W per core",
            "green-algorithms",
        ),
        (
            "default_gpu_tdp_w",
            fmt(_ga_any(raw, "TDP_gpu.csv", "TDP_per_core")),
            *(fmt(v) for v in hardware.gpu_tdp_spread(raw)),
            "W (unknown GPU: Green Algorithms' default; range: 10th-90th percentile of the gpus table)",
            "green-algorithms",
        ),
        (
            "default_gpu_idle_fraction",
            fmt(idle, 4),
            fmt(idle_low, 4),
            fmt(idle_high, 4),
            "fraction of TDP",
            "teads-ec2",
        ),
    ]
    origin += [(f"{GA}/TDP_cpu.csv", 0), (f"{GA}/TDP_gpu.csv", 0), (hardware.TEADS, 0)]
    per_thread, per_thread_low, per_thread_high = hardware.tdp_per_thread(cpus)
    rows.append(
        (
            "default_cpu_tdp_w_per_thread",
            fmt(per_thread, 3),
            fmt(per_thread_low, 3),
            fmt(per_thread_high, 3),
            "W of TDP per hardware thread (median, 10th-90th percentile of cpus.csv rows with threads)",
            "green-algorithms",
        )
    )
    origin.append(("cpus.csv", 0))

    memory = _ga_reference(raw).get("memoryPower")
    if memory is not None:
        rows.append(
            ("memory_w_per_gb_green_algorithms", fmt(memory.number("value")), "", "", "W per GiB", "green-algorithms")
        )
        origin.append((memory.file, memory.line))
    return Table(
        "constants",
        tuple(rows),
        "Named model constants with low/high where sources disagree",
        tuple(sorted({r[5] for r in rows})),
        {"value": "see the unit column"},
        tuple(origin),
    )


def equivalents(raw: Path) -> Table:
    rows, origin = [], []
    reference = _ga_reference(raw)
    for variable, (name, unit) in GA_EQUIVALENTS.items():
        row = reference.get(variable)
        if row is None:
            raise RawDataError(f"{GA}/referenceValues.csv", None, "variable", f"no {variable!r} row")
        rows.append((name, fmt(row.number("value")), unit, "", "green-algorithms"))
        origin.append((row.file, row.line))
    for row in _curated("equivalents"):
        rows.append((row.get("name"), fmt(row.number("value")), row.get("unit"), row.get("year"), row.get("source")))
        origin.append((row.file, row.line))
    return Table(
        "equivalents",
        tuple(rows),
        "Everyday equivalents for reports (car km, household days, phone charges, TV hours...)",
        tuple(sorted({r[4] for r in rows})),
        {"value": "see the unit column"},
        tuple(origin),
    )
