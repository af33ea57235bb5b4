"""Totals of a priced job table by user, account, partition, project, month and state, with the
shares that point at waste: jobs that failed, and memory requested but never used.

CO2e is only ever summed within one emission-factor basis (lifecycle, operational, direct,
marginal): a lifecycle kilogram and a direct (combustion-only) kilogram are different
quantities, so a log whose jobs were priced on several bases gets one total per basis and no
grand total. Energy has no basis and is summed over every job.
"""

from __future__ import annotations

from typing import Any

from carbon.batch.engine import FAILED_STATES

DIMENSIONS = ("user", "account", "partition", "project", "month", "state")
ENERGY_SUMS = ("energy_kwh", "energy_kwh_low", "energy_kwh_high")
CO2E_SUMS = ("co2e_kg", "co2e_kg_low", "co2e_kg_high", "unused_memory_co2e_kg")
UNKNOWN_BASIS = "basis unknown"
TOTALS_COLUMNS = ("state", "intensity_basis", *ENERGY_SUMS, *CO2E_SUMS)  # what totals() reads


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


def _bases(results: Any) -> Any:
    return results["intensity_basis"].fillna(UNKNOWN_BASIS).astype(str)


def basis_totals(results: Any) -> dict[str, float]:
    """CO2e sums and waste shares (by how jobs ended, and unused memory) of jobs that share one
    basis. `results`: a pandas table or a dict of columns (carbon.batch.columns)."""
    import numpy as np

    co2e_kg = _floats(results, "co2e_kg")
    co2e = float(np.nansum(co2e_kg))
    unused = float(np.nansum(_floats(results, "unused_memory_co2e_kg")))

    def share(part: float) -> float:
        return part / co2e if co2e > 0 else 0.0

    # The states numbered once (a million jobs hold a handful), then each ending is a lookup, and
    # none at all for an ending no job had.
    codes, states_seen = _state_codes(results["state"])
    ended: dict[str, float] = {}
    for name, (states, _) in ENDINGS.items():
        mine = [code for code, state in enumerate(states_seen) if state in states]
        if mine:
            ending = np.zeros(len(states_seen) + 1, dtype=bool)  # the last entry: code -1, no state
            ending[mine] = True
            part = float(np.nansum(co2e_kg[ending[codes]]))
        else:
            part = 0.0  # what the sum of no job is
        ended[f"{name}_co2e_kg"], ended[f"{name}_share"] = part, share(part)
    return {
        "jobs": len(co2e_kg),
        **{name: float(np.nansum(_floats(results, name))) for name in (*ENERGY_SUMS, *CO2E_SUMS)},
        **ended,
        "unused_memory_share": share(unused),
    }


def _floats(results: Any, name: str) -> Any:
    import numpy as np

    return np.asarray(results[name], dtype=float)


def _state_codes(states: Any) -> tuple[Any, list[Any]]:
    from carbon.batch.columns import Coded

    if isinstance(states, Coded):
        return states.codes, states.texts
    return _numbered(_as_column(states))


def totals(results: Any) -> dict[str, Any]:
    """{jobs, energy sums over every job, by_basis: {basis: basis_totals}}; no CO2e across bases.
    `results`: a pandas table or a dict of columns (carbon.batch.columns)."""
    import numpy as np

    return {
        "jobs": len(results["co2e_kg"]),
        **{name: float(np.nansum(_floats(results, name))) for name in ENERGY_SUMS},
        "by_basis": _per_basis(results, basis_totals),
    }


def _per_basis(results: Any, total: Any) -> dict[str, Any]:
    """{basis: total(its jobs)}, in basis order. Only the columns summed are split by basis (each
    group would otherwise copy every column), and not at all when every job has one basis (the
    usual run): a million jobs' copy is 64 MB at the end of the run, its peak."""
    import numpy as np

    from carbon.batch.columns import Coded, take

    names = ["state", *ENERGY_SUMS, *CO2E_SUMS]
    basis = results["intensity_basis"]
    if isinstance(basis, Coded):
        texts = [*basis.texts, UNKNOWN_BASIS]
        codes, bases = np.where(basis.codes < 0, len(basis.texts), basis.codes), np.array(texts, dtype=object)
    else:
        import pandas as pd

        column = _bases(results)
        if len(column) and (column == column.iloc[0]).all():  # compared in place: no texts built
            return {column.iloc[0]: total({name: results[name] for name in names})}
        codes, uniques = pd.factorize(column)
        bases = np.array(uniques, dtype=object)
    present: Any = np.flatnonzero(np.bincount(codes, minlength=len(bases))) if len(codes) else []
    if len(present) == 1:
        return {bases[present[0]]: total({name: results[name] for name in names})}
    groups = {}
    for code in sorted(present, key=lambda code: bases[code]):
        rows = np.flatnonzero(codes == code)
        groups[bases[code]] = total({name: take(_as_column(results[name]), rows) for name in names})
    return groups


def _as_column(column: Any) -> Any:
    """A pandas column's values (texts as an object array), or a column of a dict as it is."""
    return column.to_numpy() if hasattr(column, "to_numpy") else column


def _numbered(values: Any, rows: int = 65_536) -> tuple[Any, list[Any]]:
    """pd.factorize's (codes, uniques) of a column with few distinct values, hashed `rows` at a
    time: pandas sizes its hash table to the whole column (42 MB at a million jobs, at the end of
    the run, its memory peak) however few values it holds."""
    import numpy as np
    import pandas as pd

    codes = np.empty(len(values), dtype=np.int64)
    seen: dict[Any, int] = {}
    for first in range(0, len(values), rows):
        part, uniques = pd.factorize(values[first : first + rows])
        # A part's code -> the column's; -1 (missing) stays -1 through the appended last entry.
        codes[first : first + rows] = np.array([*(seen.setdefault(u, len(seen)) for u in uniques), -1])[part]
    return codes, list(seen)


def by_dimension(results: Any) -> Any:
    """One long table: dimension, key, intensity_basis, jobs, the sums, and each row's share of
    its basis's CO2e (shares add up to 1 within a dimension and a basis)."""
    import pandas as pd

    frame = results.assign(month=results["start"].dt.strftime("%Y-%m"), jobs=1, intensity_basis=_bases(results))
    basis_co2e = frame.groupby("intensity_basis")["co2e_kg"].sum()
    parts = []
    for dimension in DIMENSIONS:
        grouped = (
            frame.assign(key=frame[dimension].fillna("(none)").astype(str))
            .groupby(["key", "intensity_basis"], sort=True)[["jobs", *ENERGY_SUMS, *CO2E_SUMS]]
            .sum()
            .reset_index()
        )
        grouped.insert(0, "dimension", dimension)
        total = grouped["intensity_basis"].map(basis_co2e)
        grouped["co2e_share"] = (grouped["co2e_kg"] / total.where(total > 0)).fillna(0.0)
        parts.append(grouped)
    return pd.concat(parts, ignore_index=True)


def text(summary: dict[str, Any]) -> str:
    """One line for the energy, then one line of CO2e per basis (never a sum across bases)."""
    from carbon.units import ENERGY_KWH, MASS_KG, quantity

    def energy(value: float) -> str:
        return quantity(value, ENERGY_KWH)

    def mass(value: float) -> str:
        return quantity(value, MASS_KG)

    lines = [
        f"{summary['jobs']:,} jobs: {energy(summary['energy_kwh'])} "
        f"({energy(summary['energy_kwh_low'])} - {energy(summary['energy_kwh_high'])})"
    ]
    bases = summary["by_basis"]
    if len(bases) > 1:
        lines.append(f"CO2e on {len(bases)} emission-factor bases, one total each (not summed across bases):")
    for basis, part in bases.items():
        line = (
            f"{'  ' if len(bases) > 1 else ''}{basis}: {mass(part['co2e_kg'])} CO2e "
            f"({mass(part['co2e_kg_low'])} - {mass(part['co2e_kg_high'])}) over {part['jobs']:,} jobs"
        )
        if "failed_share" in part:  # a streamed run keeps sums only
            line += f"; {_endings(part)}, memory requested but unused {part['unused_memory_share']:.1%} of the CO2e"
        lines.append(line)
    return "\n".join(lines)


def what_if_text(results: Any, where: str) -> str:
    """The what-if total per basis; its difference from the jobs as they ran only over the jobs
    that ran on that basis too (never a difference across bases)."""
    import pandas as pd

    from carbon.units import MASS_KG, quantity

    before = _bases(results)
    after = results["what_if_intensity_basis"].fillna(UNKNOWN_BASIS).astype(str)
    parts = []
    for basis in sorted(set(after)):
        rows = after == basis
        text = f"{quantity(float(results.loc[rows, 'what_if_co2e_kg'].sum()), MASS_KG)} CO2e {basis}"
        same = rows & (before == basis)
        if same.any():
            change = float(results.loc[same, "what_if_co2e_kg"].sum() - results.loc[same, "co2e_kg"].sum())
            text += (
                f" ({quantity(change, MASS_KG, signed=True)} for the {int(same.sum()):,} jobs that ran on {basis} too)"
            )
        other = rows & ~same
        if other.any():
            ran_on = ", ".join(sorted(pd.unique(before[other])))
            text += f"; {int(other.sum()):,} jobs not compared (they ran on {ran_on})"
        parts.append(text)
    return f"what if {where}: " + "; ".join(parts)


def _endings(summary: dict[str, float]) -> str:
    """Failed and cancelled always; the other endings when some job had them."""
    shown = [
        f"{label} {summary[f'{name}_share']:.1%}"
        for name, (_, label) in sorted(ENDINGS.items(), key=lambda item: item[0] != "failed")
        if name in ("failed", "cancelled") or summary[f"{name}_co2e_kg"] > 0
    ]
    return "jobs " + ", ".join(shown)
