"""CodeCarbon's `emissions.csv`: its columns, one row built from a carbon Estimate, and the appender.

Columns and their order are those of CodeCarbon 3.x's `EmissionsData` dataclass, which its CSV
writer turns into the header (`codecarbon/output_methods/emissions_data.py`; checked against the
file CodeCarbon 3.3.2 writes: 2.x's columns plus water_consumed, the utilisation columns,
ram_used_gb and wue). Units as its output documentation gives them (`docs/edit/output.rst`, `docs/reference/output.md`): duration in
seconds, emissions in kg CO2e, emissions_rate in kg/s, *_power in W, *_energy and
energy_consumed in kWh (PUE included, as CodeCarbon multiplies each component's energy by the PUE),
ram_total_size in GB, country_iso_code as ISO 3166-1 alpha-3, on_cloud "Y"/"N". carbon models no
water use: water_consumed is 0 at WUE 0, which is also CodeCarbon's default; RAM utilisation is not
measured and is left empty rather than guessed.

The figures are carbon's (one Estimate, the one arithmetic); this module only lays them out.
"""

from __future__ import annotations

import csv
import io
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from carbon.errors import UserInputError
from carbon.model import Estimate
from carbon.units import J_PER_KWH

COLUMNS: tuple[str, ...] = (
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "water_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "codecarbon_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "cpu_utilization_percent",
    "gpu_utilization_percent",
    "ram_utilization_percent",
    "ram_used_gb",
    "on_cloud",
    "pue",
    "wue",
)


def alpha3(iso2: str | None) -> str:
    """ISO 3166-1 alpha-3 of an alpha-2 code, from the bundled countries table ('' when unknown)."""
    if not iso2:
        return ""
    from carbon.bundle import rows_for

    rows = rows_for("countries", iso2.upper())
    return rows[-1]["iso3"] if rows else ""


def country_name(iso2: str | None) -> str:
    if not iso2:
        return ""
    from carbon.bundle import rows_for

    rows = rows_for("countries", iso2.upper())
    return rows[-1]["name"] if rows else ""


def row(
    estimate: Estimate,
    *,
    project_name: str,
    run_id: str,
    experiment_id: str,
    tracking_mode: str,
    carbon_version: str,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """One CodeCarbon row from a run's summary Estimate (pure: no clock unless `timestamp` is None)."""
    duration_s = estimate.usage.duration_s if estimate.usage else 0.0
    pue = estimate.pue.central
    energy = estimate.energy
    emissions_kg = estimate.co2e_kg.central

    def mean_power_w(kwh: float) -> float:
        return kwh * J_PER_KWH / duration_s if duration_s > 0 else 0.0

    location = estimate.location
    hardware = estimate.hardware
    on_cloud = location.provider is not None
    gpu_count = hardware.gpu_count if hardware else 0
    when = timestamp or datetime.now()
    return {
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "project_name": project_name,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "duration": duration_s,
        "emissions": emissions_kg,
        "emissions_rate": emissions_kg / duration_s if duration_s > 0 else 0.0,
        "cpu_power": mean_power_w(energy.cpu_kwh.central),
        "gpu_power": mean_power_w(energy.gpu_kwh.central),
        "ram_power": mean_power_w(energy.ram_kwh.central),
        "cpu_energy": energy.cpu_kwh.central * pue,
        "gpu_energy": energy.gpu_kwh.central * pue,
        "ram_energy": energy.ram_kwh.central * pue,
        "energy_consumed": estimate.energy_kwh.central,
        "water_consumed": 0.0,
        "country_name": country_name(location.country),
        "country_iso_code": alpha3(location.country),
        "region": (location.subdivision or "") if not on_cloud else "",
        "cloud_provider": location.provider or "",
        "cloud_region": location.region.split(":", 1)[1] if on_cloud else "",
        "os": platform.platform(),
        "python_version": platform.python_version(),
        "codecarbon_version": f"carbon {carbon_version}",
        "cpu_count": hardware.vcpus if hardware and hardware.vcpus else "",
        "cpu_model": (hardware.cpu_model or "") if hardware else "",
        "gpu_count": gpu_count or "",
        "gpu_model": f"{gpu_count:g} x {hardware.gpu_model}" if gpu_count and hardware and hardware.gpu_model else "",
        "longitude": location.longitude if location.longitude is not None else "",
        "latitude": location.latitude if location.latitude is not None else "",
        "ram_total_size": hardware.memory_gb if hardware and hardware.memory_gb else "",
        "tracking_mode": tracking_mode,
        "cpu_utilization_percent": _percent(estimate.usage.cpu_util if estimate.usage else None),
        "gpu_utilization_percent": _percent(estimate.usage.gpu_util if estimate.usage else None),
        "ram_utilization_percent": "",
        "ram_used_gb": "",
        "on_cloud": "Y" if on_cloud else "N",
        "pue": pue,
        "wue": 0.0,
    }


def _percent(fraction: float | None) -> float | str:
    """A utilisation fraction as CodeCarbon's percent; empty when carbon does not know it."""
    return "" if fraction is None else fraction * 100.0


def _line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


HEADER = _line(list(COLUMNS))


class EmissionsCsv:
    """Appends rows to `<output_dir>/<output_file>`, header first when the file is new.

    Checked at construction (before any work) that the folder can be written. A file with another
    header (an older or newer CodeCarbon, or another tool) is never appended to nor overwritten:
    like CodeCarbon, it is moved aside to `<name>.bak` (`.bak1`, ... if taken) and a new file started.
    """

    def __init__(self, output_dir: str | os.PathLike[str], output_file: str) -> None:
        self.path = Path(output_dir) / output_file
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserInputError(f"cannot create output_dir {self.path.parent}: {error.strerror or error}") from None
        if not os.access(self.path.parent, os.W_OK):
            raise UserInputError(f"cannot write emissions file in {self.path.parent}: permission denied")

    def _set_aside_foreign(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                first = handle.readline()
        except FileNotFoundError:
            return
        if first in ("", HEADER):
            return
        suffix, number = ".bak", 0
        while self.path.with_name(self.path.name + suffix).exists():
            number += 1
            suffix = f".bak{number}"
        self.path.rename(self.path.with_name(self.path.name + suffix))

    def append(self, values: dict[str, Any]) -> None:
        self._set_aside_foreign()
        new = not self.path.exists() or self.path.stat().st_size == 0
        text = (HEADER if new else "") + _line([values[column] for column in COLUMNS])
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            handle.write(text)
