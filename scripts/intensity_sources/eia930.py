"""Hourly 2022 intensity of 8 US balancing authorities (EIA-930 generation with IPCC AR5 lifecycle
factors, as published by HPE's SustainDC). Hours without a value are skipped, not filled."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .rawcsv import fmt, read_csv
from .table import Table

FOLDER = "eia930-hourly-2022/data/CarbonIntensity"
AUTHORITIES = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")


def _hour(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    moment = moment.astimezone(timezone.utc)
    if moment.minute or moment.second:
        raise ValueError("not on the hour")
    return moment.strftime("%Y-%m-%dT%H:00:00Z")


def build(raw: Path) -> Table:
    rows, origin = [], []
    for authority in AUTHORITIES:
        file = f"{FOLDER}/{authority}_NG_&_avgCI.csv"
        for row in read_csv(raw / file, ("timestamp", "avg_CI"), label=file):
            value = row.number("avg_CI", required=False)
            if value is None:
                continue
            try:
                hour = _hour(row.get("timestamp"))
            except ValueError as error:
                raise row.error(
                    "timestamp", f"{row.get('timestamp')!r} is not an hourly UTC timestamp ({error})"
                ) from None
            rows.append((f"US-BA-{authority}", hour, fmt(value, 3), "lifecycle", "eia930-2022"))
            origin.append((row.file, row.line))
    return Table(
        "grid_hourly",
        tuple(rows),
        "Hourly 2022 grid carbon intensity of 8 US balancing authorities (zones US-BA-<EIA code>, hour-beginning UTC)",
        ("eia930-2022",),
        {"intensity_g_per_kwh": "gCO2e/kWh (lifecycle, IPCC AR5 median factors)"},
        tuple(origin),
    )
