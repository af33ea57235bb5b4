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


# How jobs ended that did not complete, each kept apart: a time limit or an out-of-memory kill asks
# for a different fix than a crash. "failed" is every other failed ending (FAILED, BOOT_FAIL, DEADLINE).
ENDINGS: dict[str, tuple[tuple[str, ...], str]] = {
    "timeout": (("TIMEOUT",), "timed out"),
    "out_of_memory": (("OUT_OF_MEMORY",), "out of memory"),
    "node_fail": (("NODE_FAIL",), "node failure"),
    "preempted": (("PREEMPTED",), "preempted"),
    "cancelled": (("CANCELLED",), "cancelled"),
}
ENDINGS["failed"] = (
    tuple(s for s in FAILED_STATES if not any(s in states for states, _ in ENDINGS.values())),
    "failed",
)


def totals(results: Any) -> dict[str, float]:
    co2e = float(results["co2e_kg"].sum())
    unused = float(results["unused_memory_co2e_kg"].sum())

    def share(part: float) -> float:
        return part / co2e if co2e > 0 else 0.0

    ended: dict[str, float] = {}
    for name, (states, _) in ENDINGS.items():
        part = float(results.loc[results["state"].isin(states), "co2e_kg"].sum())
        ended[f"{name}_co2e_kg"], ended[f"{name}_share"] = part, share(part)
    return {
        "jobs": len(results),
        **{name: float(results[name].sum()) for name in _SUMS},
        **ended,
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
    return (
        f"{summary['jobs']} jobs: {summary['energy_kwh']:.4g} kWh "
        f"({summary['energy_kwh_low']:.4g}-{summary['energy_kwh_high']:.4g}), "
        f"{summary['co2e_kg']:.4g} kg CO2e ({summary['co2e_kg_low']:.4g}-{summary['co2e_kg_high']:.4g}); "
        f"{_endings(summary)}, memory requested but unused {summary['unused_memory_share']:.1%} of the CO2e"
    )


def _endings(summary: dict[str, float]) -> str:
    """Failed and cancelled always; the other endings when some job had them."""
    shown = [
        f"{label} {summary[f'{name}_share']:.1%}"
        for name, (_, label) in sorted(ENDINGS.items(), key=lambda item: item[0] != "failed")
        if name in ("failed", "cancelled") or summary[f"{name}_co2e_kg"] > 0
    ]
    return "jobs " + ", ".join(shown)
