"""What the pages read. Totals, trends and breakdowns come from `daily_rollups` (kept up to date
on ingest), never from a scan of runs or interval records, so a page's cost follows the number of
rollup rows in its scope, not the number of runs. Every query is filtered by organisation first.

Month totals are folded from the day rows in Python (portable across SQLite and PostgreSQL, and
there are at most a few thousand days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from carbon.model import Bounds
from carbon.server.dashboard.figures import BasisTotal, basis_name, ordered
from carbon.server.models import DailyRollup

R = DailyRollup
COMPONENTS = ("cpu", "gpu", "ram", "other")
# Text dimensions a breakdown can group by (rollup columns; "" means unknown there).
DIMENSIONS = ("region", "hardware", "user", "account", "project_id", "group_id")


@dataclass(frozen=True)
class Scope:
    """Which rollup rows a page sums: an organisation, optionally one project, one kind
    ("run" or "batch") and one group (an experiment's or a batch import's id)."""

    organisation_id: int
    project_id: int | None = None
    kind: str | None = None
    group_id: int | None = None

    def where(self, query: Select[Any]) -> Select[Any]:
        query = query.where(R.organisation_id == self.organisation_id)
        if self.project_id is not None:
            query = query.where(R.project_id == self.project_id)
        if self.kind is not None:
            query = query.where(R.kind == self.kind)
        if self.group_id is not None:
            query = query.where(R.group_id == self.group_id)
        return query


def _sums() -> list[Any]:
    """Runs and jobs counted apart; the energy and CO2e triples; the IT energy (before PUE)."""
    return [
        func.sum(case((R.kind == "run", R.count), else_=0)).label("runs"),
        func.sum(case((R.kind == "batch", R.count), else_=0)).label("jobs"),
        func.sum(R.energy_kwh).label("energy_kwh"),
        func.sum(R.energy_kwh_low).label("energy_kwh_low"),
        func.sum(R.energy_kwh_high).label("energy_kwh_high"),
        func.sum(R.co2e_kg).label("co2e_kg"),
        func.sum(R.co2e_kg_low).label("co2e_kg_low"),
        func.sum(R.co2e_kg_high).label("co2e_kg_high"),
        func.sum(R.cpu_kwh).label("cpu_kwh"),
        func.sum(R.gpu_kwh).label("gpu_kwh"),
        func.sum(R.ram_kwh).label("ram_kwh"),
        func.sum(R.other_kwh).label("other_kwh"),
    ]


def _figures(row: Any) -> dict[str, Any]:
    """A summed row as plain numbers, with `it_kwh` (the components' sum) added."""
    values = {key: float(getattr(row, key) or 0.0) for key in _FIGURE_KEYS}
    values["runs"] = int(row.runs or 0)
    values["jobs"] = int(row.jobs or 0)
    values["it_kwh"] = sum(values[f"{c}_kwh"] for c in COMPONENTS)
    return values


_FIGURE_KEYS = (
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "other_kwh",
)


def _bounds(values: dict[str, Any], key: str) -> Bounds:
    # Sums of floats can leave the central a hair outside its ends; Bounds tolerates 1e-9 relative.
    return Bounds(values[key], min(values[f"{key}_low"], values[key]), max(values[f"{key}_high"], values[key]))


def basis_totals(session: Session, scope: Scope) -> list[BasisTotal]:
    """One total per emission-factor basis in the scope, largest first."""
    query = scope.where(select(R.basis, func.min(R.day), func.max(R.day), *_sums()).group_by(R.basis))
    totals = []
    for row in session.execute(query):
        values = _figures(row)
        totals.append(
            BasisTotal(
                basis=basis_name(row.basis),
                runs=values["runs"],
                jobs=values["jobs"],
                energy_kwh=_bounds(values, "energy_kwh"),
                co2e_kg=_bounds(values, "co2e_kg"),
                it_kwh=values["it_kwh"],
                components_kwh={c: values[f"{c}_kwh"] for c in COMPONENTS},
                first_day=row[1],
                last_day=row[2],
            )
        )
    return ordered(totals)


def by_day(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Rows {day, basis, runs, jobs, energy triple, CO2e triple, ...} ordered by day."""
    query = scope.where(select(R.day, R.basis, *_sums()).group_by(R.day, R.basis).order_by(R.day, R.basis))
    return [{"day": row.day, "basis": basis_name(row.basis), **_figures(row)} for row in session.execute(query)]


def by_month(day_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day rows folded into calendar months (per basis)."""
    months: dict[tuple[str, str], dict[str, Any]] = {}
    for row in day_rows:
        day: date = row["day"]
        key = (f"{day:%Y-%m}", row["basis"])
        month = months.get(key)
        if month is None:
            months[key] = {**row, "month": key[0]}
            del months[key]["day"]
            continue
        for name, value in row.items():
            if name not in ("day", "basis"):
                month[name] += value
    return [months[key] for key in sorted(months)]


def breakdown(session: Session, scope: Scope, dimension: str) -> list[dict[str, Any]]:
    """Rows {<dimension>, basis, figures...} for one rollup dimension, largest CO2e first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown breakdown dimension {dimension!r}")
    column = getattr(R, dimension)
    query = scope.where(select(column, R.basis, *_sums()).group_by(column, R.basis))
    rows = [{dimension: row[0], "basis": basis_name(row.basis), **_figures(row)} for row in session.execute(query)]
    rows.sort(key=lambda row: (-row["co2e_kg"], str(row[dimension]), row["basis"]))
    return rows


def components(totals: Sequence[BasisTotal]) -> list[dict[str, Any]]:
    """IT energy (before PUE) by component, per basis, from the totals already read."""
    return [
        {"component": component, "basis": total.basis, "it_kwh": total.components_kwh.get(component, 0.0)}
        for total in totals
        for component in COMPONENTS
        if total.components_kwh.get(component, 0.0) > 0
    ]


def provider_it_kwh(region_rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """IT energy per cloud provider, from a by-region breakdown (regions are "provider:region")."""
    result: dict[str, float] = {}
    for row in region_rows:
        region = row["region"] or ""
        provider, sep, _ = region.partition(":")
        if sep and provider:
            result[provider] = result.get(provider, 0.0) + row["it_kwh"]
    return result
