"""Hourly 2022 intensity of 8 US balancing authorities (EIA-930 generation with IPCC AR5 lifecycle
factors, as published by HPE's SustainDC). Hours without a value are skipped, not filled.

Hours whose total generation is below MIN_SHARE_OF_MEDIAN of the authority's median hour are
dropped too: they are reporting gaps, not grids (PJM has five hours of ~300 MWh against a median
of 93,831 MWh, priced at 43-47 g/kWh because only a few plants reported). No real hour in the
2022 data comes near the threshold: the lowest kept hour of any authority is 42 % of its median.
The count per zone goes into the manifest entry's `dropped`.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .rawcsv import fmt, read_csv
from .table import Table

FOLDER = "eia930-hourly-2022/data/CarbonIntensity"
AUTHORITIES = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")
FUELS = ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH")  # net generation, MWh in the hour
MIN_SHARE_OF_MEDIAN = 0.25


def _hour(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    moment = moment.astimezone(timezone.utc)
    if moment.minute or moment.second:
        raise ValueError("not on the hour")
    return moment.strftime("%Y-%m-%dT%H:00:00Z")


def _authority(raw: Path, authority: str) -> list[tuple[str, Any, float, tuple[str, int]]]:
    """(hour, intensity, total generation MWh, origin) for each hour with a value."""
    file = f"{FOLDER}/{authority}_NG_&_avgCI.csv"
    hours = []
    for row in read_csv(raw / file, ("timestamp", "avg_CI", *FUELS), label=file):
        value = row.number("avg_CI", required=False)
        if value is None:
            continue
        try:
            hour = _hour(row.get("timestamp"))
        except ValueError as error:
            raise row.error("timestamp", f"{row.get('timestamp')!r} is not an hourly UTC timestamp ({error})") from None
        generation = sum(float(row.number(fuel, required=False) or 0) for fuel in FUELS)
        hours.append((hour, value, generation, (row.file, row.line)))
    return hours


def outliers(generation_mwh: list[float]) -> list[bool]:
    """Which hours report under MIN_SHARE_OF_MEDIAN of the median hour's generation."""
    if not generation_mwh:
        return []
    floor = MIN_SHARE_OF_MEDIAN * statistics.median(generation_mwh)
    return [total < floor for total in generation_mwh]


def build(raw: Path) -> Table:
    rows, origin, dropped = [], [], {}
    for authority in AUTHORITIES:
        zone = f"US-BA-{authority}"
        hours = _authority(raw, authority)
        flags = outliers([generation for _, _, generation, _ in hours])
        if any(flags):
            dropped[zone] = sum(flags)
        for (hour, value, _, where), outlier in zip(hours, flags):
            if not outlier:
                rows.append((zone, hour, fmt(value, 3), "lifecycle", "eia930-2022"))
                origin.append(where)
    rule = f"hours with total generation under {MIN_SHARE_OF_MEDIAN:.0%} of the zone's median hour (reporting gaps)"
    return Table(
        "grid_hourly",
        tuple(rows),
        "Hourly 2022 grid carbon intensity of 8 US balancing authorities (zones US-BA-<EIA code>, hour-beginning UTC)",
        ("eia930-2022",),
        {"intensity_g_per_kwh": "gCO2e/kWh (lifecycle, IPCC AR5 median factors)"},
        tuple(origin),
        {"rule": rule, "hours": dropped} if dropped else {},
    )
