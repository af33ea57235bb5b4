"""US EPA eGRID2022 subregion output emission rates: lb/MWh converted to g/kWh (direct emissions)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .rawcsv import fmt, read_csv
from .table import Table

FILE = "egrid2022/data/subregion_emissions_annotated.csv"
G_PER_KWH_PER_LB_PER_MWH = Decimal("0.45359237")  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh
YEAR = 2022
ACRONYM, NAME = "eGRID subregion acronym", "eGRID subregion name"


def build(raw: Path) -> Table:
    rows, origin = [], []
    for row in read_csv(raw / FILE, (ACRONYM, NAME, "CO2", "CO2e"), label=FILE):
        co2e, co2 = row.number("CO2e"), row.number("CO2")
        subregion = row.get(ACRONYM)
        if subregion in ("U.S.", "US"):
            subregion = "US"
        rows.append(
            (
                subregion,
                row.get(NAME),
                str(YEAR),
                fmt(co2e * G_PER_KWH_PER_LB_PER_MWH, 3),
                fmt(co2 * G_PER_KWH_PER_LB_PER_MWH, 3),
                "direct",
                "egrid2022",
            )
        )
        origin.append((row.file, row.line))
    return Table(
        "egrid_subregions",
        tuple(rows),
        "EPA eGRID2022 subregion annual output emission rates",
        ("egrid2022",),
        {"co2e_g_per_kwh": "gCO2e/kWh (direct)", "co2_g_per_kwh": "gCO2/kWh (direct)"},
        tuple(origin),
    )
