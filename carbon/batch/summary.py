"""Totals of a priced job table by user, account, partition, project, month and state, with the
shares that point at waste: jobs that failed, and memory requested but never used."""

from __future__ import annotations

from typing import Any

from carbon.batch.engine import FAILED_STATES

DIMENSIONS = ("user", "account", "partition", "project", "month", "state")
_SUMS = (
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "unused_memory_co2e_kg",
)


def totals(results: Any) -> dict[str, float]:
    co2e = float(results["co2e_kg"].sum())
    failed = float(results.loc[results["state"].isin(FAILED_STATES), "co2e_kg"].sum())
    cancelled = float(results.loc[results["state"].eq("CANCELLED"), "co2e_kg"].sum())
    unused = float(results["unused_memory_co2e_kg"].sum())

    def share(part: float) -> float:
        return part / co2e if co2e > 0 else 0.0

    return {
        "jobs": len(results),
        **{name: float(results[name].sum()) for name in _SUMS},
        "failed_co2e_kg": failed,
        "failed_share": share(failed),
        "cancelled_co2e_kg": cancelled,
        "cancelled_share": share(cancelled),
        "unused_memory_share": share(unused),
    }


def by_dimension(results: Any) -> Any:
    """One long table: dimension, key, jobs, the sums, and each key's share of the CO2e."""
    import pandas as pd

    frame = results.assign(month=results["start"].dt.strftime("%Y-%m"), jobs=1)
    total = float(frame["co2e_kg"].sum())
    parts = []
    for dimension in DIMENSIONS:
        grouped = (
            frame.assign(key=frame[dimension].fillna("(none)").astype(str))
            .groupby("key", sort=True)[["jobs", *_SUMS]]
            .sum()
            .reset_index()
        )
        grouped.insert(0, "dimension", dimension)
        grouped["co2e_share"] = grouped["co2e_kg"] / total if total > 0 else 0.0
        parts.append(grouped)
    return pd.concat(parts, ignore_index=True)


def text(summary: dict[str, float]) -> str:
    from carbon.units import ENERGY_KWH, MASS_KG, quantity

    def energy(name: str) -> str:
        return quantity(summary[name], ENERGY_KWH)

    def mass(name: str) -> str:
        return quantity(summary[name], MASS_KG)

    return (
        f"{summary['jobs']:,} jobs: {energy('energy_kwh')} "
        f"({energy('energy_kwh_low')} - {energy('energy_kwh_high')}), "
        f"{mass('co2e_kg')} CO2e ({mass('co2e_kg_low')} - {mass('co2e_kg_high')}); "
        f"failed jobs {summary['failed_share']:.1%}, cancelled {summary['cancelled_share']:.1%}, "
        f"memory requested but unused {summary['unused_memory_share']:.1%} of the CO2e"
    )
