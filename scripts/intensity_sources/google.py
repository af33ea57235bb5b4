"""Google Cloud region carbon data: grid intensity and carbon-free-energy share, per region and year.

Values are copied exactly. 2019-2020 files give lifecycle intensity, 2021 onward operational
intensity (Google's own note), so `basis` follows the year.
"""

from __future__ import annotations

from pathlib import Path

from .rawcsv import RawDataError, fmt, read_csv
from .table import Table

FOLDER = "google-region-carbon-info/region-carbon-info/data/yearly"
FIRST_YEAR, LAST_KNOWN_YEAR = 2019, 2024  # later years are read when their file is present
LAST_LIFECYCLE_YEAR = 2020
REGION, CFE = "Google Cloud Region", "Google CFE"


def _intensity_column(year: int) -> str:
    prefix = "Lifecycle grid" if year <= LAST_LIFECYCLE_YEAR else "Grid"
    return f"{prefix} carbon intensity (gCO2eq / kWh)"


def build(raw: Path) -> Table:
    rows, origin = [], []
    end_year = LAST_KNOWN_YEAR + 1
    while (raw / FOLDER / f"{end_year}.csv").exists():
        end_year += 1
    for year in range(FIRST_YEAR, end_year):
        file = f"{FOLDER}/{year}.csv"
        column = _intensity_column(year)
        for row in read_csv(raw / f"{file}", (REGION, "Location", CFE, column), label=file):
            cfe = row.number(CFE, required=False)
            if cfe is not None and not 0 <= cfe <= 1:
                raise RawDataError(row.file, row.line, CFE, f"{cfe} is not a fraction between 0 and 1")
            basis = "lifecycle" if year <= LAST_LIFECYCLE_YEAR else "operational"
            rows.append(
                ("gcp", row.get(REGION), str(year), fmt(row.number(column)), fmt(cfe), basis, "google-region-carbon")
            )
            origin.append((row.file, row.line))
    return Table(
        "cloud_region_intensity",
        tuple(rows),
        "Google's published grid carbon intensity and hourly carbon-free-energy share per Google Cloud region and year",
        ("google-region-carbon",),
        {
            "grid_intensity_g_per_kwh": "gCO2e/kWh (lifecycle 2019-2020, operational 2021+)",
            "cfe_fraction": "fraction 0-1",
        },
        tuple(origin),
    )
