"""What experiment trackers (MLflow, Comet) receive from a run: the same names for both.

Pure functions of the tracker's interval records and summary, so that every integration logs the
same figures under the same names and none repeats the arithmetic:

- per interval, at step = the interval's `seq`: `carbon_energy_kwh` (facility energy of the
  interval, PUE included), `carbon_co2e_kg`, `carbon_power_{cpu,gpu,ram}_w` (mean IT power of the
  component over the interval), `carbon_intensity_g_per_kwh`, and the running totals
  `carbon_energy_kwh_total`, `carbon_co2e_kg_total`;
- once, from the first interval: parameters (region, zone, provider, hardware, methods, PUE);
- at the end: the run's totals with their ranges, `carbon_run_energy_kwh`, `carbon_run_co2e_kg`
  (and `_low`, `_high`; `carbon_run_embodied_co2e_kg` too when asked for), and the summary JSON
  and the LaTeX snippet as text artifacts.
"""

from __future__ import annotations

import json
from typing import Any

from carbon.units import J_PER_KWH

COMPONENTS = ("cpu", "gpu", "ram")
SUMMARY_NAME = "carbon_summary.json"
LATEX_NAME = "carbon_summary.tex"


def power_w(energy_kwh: float, duration_s: float) -> float:
    """Mean power over an interval from its energy."""
    return energy_kwh * J_PER_KWH / duration_s if duration_s > 0 else 0.0


def interval_metrics(record: dict[str, Any]) -> dict[str, float]:
    """One interval's figures (without running totals)."""
    breakdown = record["breakdown"]
    metrics = {
        "carbon_energy_kwh": float(record["energy_kwh"]),
        "carbon_co2e_kg": float(record["co2e_kg"]),
        "carbon_intensity_g_per_kwh": float(record["intensity_g_per_kwh"]),
    }
    for component in COMPONENTS:
        metrics[f"carbon_power_{component}_w"] = power_w(breakdown[f"{component}_kwh"], record["duration_s"])
    return metrics


def run_params(record: dict[str, Any]) -> dict[str, str]:
    """Where, on what and how: from the first interval record (the environment is resolved by then)."""
    location = record.get("location") or {}
    params = {
        "carbon_region": record.get("region"),
        "carbon_zone": location.get("zone"),
        "carbon_provider": location.get("provider"),
        "carbon_mode": record.get("mode"),
        "carbon_intensity_basis": record.get("intensity_basis"),
        "carbon_pue": record.get("pue"),
    }
    for key, value in (record.get("hardware") or {}).items():
        params[f"carbon_hardware_{key}"] = value
    for component in COMPONENTS:
        params[f"carbon_{component}_method"] = (record.get("breakdown") or {}).get(f"{component}_method")
    return {key: str(value) for key, value in params.items() if value is not None}


class MetricStream:
    """Adds running totals to each interval's metrics and hands out the parameters once."""

    def __init__(self) -> None:
        self.energy_kwh = 0.0
        self.co2e_kg = 0.0
        self.steps = 0  # intervals seen
        self.params_sent = False

    def interval(self, record: dict[str, Any]) -> tuple[int, dict[str, float], dict[str, str] | None]:
        """(step, metrics, params or None once sent)."""
        metrics = interval_metrics(record)
        self.steps += 1
        self.energy_kwh += metrics["carbon_energy_kwh"]
        self.co2e_kg += metrics["carbon_co2e_kg"]
        metrics["carbon_energy_kwh_total"] = self.energy_kwh
        metrics["carbon_co2e_kg_total"] = self.co2e_kg
        params = None
        if not self.params_sent:
            params, self.params_sent = run_params(record), True
        return int(record["seq"]), metrics, params


def summary_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The run's totals with their low and high ends, from its summary."""
    metrics = {}
    for key in ("energy_kwh", "co2e_kg", "embodied_co2e_kg"):
        for suffix in ("", "_low", "_high"):
            value = summary.get(key + suffix)
            if isinstance(value, (int, float)):
                metrics[f"carbon_run_{key}{suffix}"] = float(value)
    return metrics


def artifacts(summary: dict[str, Any], estimate: Any) -> dict[str, str]:
    """File name -> text: the run summary (the keys of `carbon estimate --format json` plus the run's)
    and the LaTeX paragraph for a paper."""
    from carbon.report import latex

    return {
        SUMMARY_NAME: json.dumps(summary, indent=2, default=str) + "\n",
        LATEX_NAME: latex(estimate),
    }
