"""Embodied emissions of each priced job (`carbon batch --embodied`): the same formula as
`carbon estimate --embodied` (carbon.embodied.amortised), over the results table at once.

A job's share of its host is its allocated vCPUs over the host's (more than 1 for a job spread
over several hosts). Jobs whose hardware is not a cloud instance type with a published
coefficient get no figure (NaN), and the summary says how many.
"""

from __future__ import annotations

from typing import Any

from carbon.embodied import NoEmbodiedFigure, amortised, lookup

COLUMNS = ("embodied_co2e_kg", "embodied_co2e_kg_low", "embodied_co2e_kg_high")


def add_embodied(results: Any, lifetime_h: float) -> Any:
    """`results` (the engine's output) with the three embodied columns added."""
    import numpy as np
    import pandas as pd

    provider = (
        results["region"].astype(object).map(lambda r: r.split(":", 1)[0] if isinstance(r, str) and ":" in r else None)
    )
    keys = pd.MultiIndex.from_arrays([provider, results["hardware_used"].astype(object)])
    codes, distinct = pd.factorize(keys)
    host = np.full((len(distinct), 4), np.nan)  # central, low, high kg; host vCPUs
    for index, (name, instance_type) in enumerate(distinct):
        if not (isinstance(name, str) and isinstance(instance_type, str)):
            continue  # off the cloud, or no hardware named (pandas gives NaN for None)
        try:
            row = lookup(name, instance_type)
        except NoEmbodiedFigure:
            continue
        host[index] = (*row.platform_embodied_kg.as_tuple(), row.platform_vcpus)
    per_job = host[codes] if len(codes) else np.empty((0, 4))
    duration_h = results["duration_s"].to_numpy(dtype=float) / 3600.0
    share = results["cpus"].to_numpy(dtype=float) / per_job[:, 3]
    out = results.copy()
    for column, position in zip(COLUMNS, range(3)):
        out[column] = amortised(per_job[:, position], duration_h, lifetime_h, share)
    return out


def totals_text(results: Any, lifetime_h: float) -> str:
    """One line for the batch report: the embodied total and its range, apart from the operational."""
    priced = results["embodied_co2e_kg"].notna()
    kg = [float(results[column].sum()) for column in COLUMNS]
    missing = int((~priced).sum())
    note = f"; {missing} job(s) without a cloud instance type have none" if missing else ""
    return (
        f"embodied: {kg[0]:.4g} kg CO2e ({kg[1]:.4g}-{kg[2]:.4g}) over {int(priced.sum())} job(s), "
        f"manufacturing amortised over {lifetime_h / 8760:.3g} years, not included above{note}"
    )
