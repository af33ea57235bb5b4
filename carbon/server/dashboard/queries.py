"""What the aggregate pages read: two GROUP BY queries over `daily_rollups` (kept up to date on
ingest), never a scan of runs or interval records. Every query is filtered by organisation first.

- by day: (day, basis, kind) sums -> totals per basis, trends by day and month, components;
- by dimension: (project, kind, group, basis, region, hardware, user, account) sums -> every
  breakdown (projects, experiments, batch imports, region, hardware, user, account) and the
  provider comparison, folded here from at most a few thousand rows.

Both are memoised per process in a `RollupCache`, keyed by the scope and by the database's data
version (the newest interval record, batch job and rollup row ids: every ingest adds one), so a
page after an ingest reads fresh sums and a page between ingests costs no GROUP BY at all.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from operator import add, itemgetter
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from carbon.model import Bounds
from carbon.server.dashboard.figures import BasisTotal, basis_name, ordered
from carbon.server.models import BatchJob, DailyRollup, IntervalRecord

R = DailyRollup
COMPONENTS = ("cpu", "gpu", "ram", "other")
SUMMED = (
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
DIMENSIONS = ("project_id", "kind", "group_id", "basis", "region", "hardware", "user", "account")


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


class Rollup:
    """A scope's rollup sums, by day and by dimension (each row: its keys, `count` and SUMMED), with
    the folds the pages ask for computed once per read (a cached Rollup serves them all)."""

    def __init__(self, days: Sequence[dict[str, Any]], groups: Sequence[dict[str, Any]]) -> None:
        self.days = tuple(days)
        self.groups = tuple(groups)
        self._breakdowns: dict[tuple[str, str | None], list[dict[str, Any]]] = {}

    @cached_property
    def totals(self) -> list[BasisTotal]:
        return basis_totals(self)

    @cached_property
    def by_day(self) -> list[dict[str, Any]]:
        return by_day(self)

    @cached_property
    def by_month(self) -> list[dict[str, Any]]:
        return by_month(self.by_day)

    def breakdown(self, dimension: str, kind: str | None = None) -> list[dict[str, Any]]:
        """breakdown() of this rollup; fresh row dicts each call, so a page may annotate them."""
        rows = self._breakdowns.get((dimension, kind))
        if rows is None:
            rows = self._breakdowns[(dimension, kind)] = breakdown(self, dimension, kind)
        return [dict(row) for row in rows]


def _sums() -> list[Any]:
    return [func.sum(R.count).label("count"), *(func.sum(getattr(R, name)).label(name) for name in SUMMED)]


def _rows(session: Session, query: Select[Any], keys: Sequence[str]) -> tuple[dict[str, Any], ...]:
    result = []
    width = len(keys)
    for row in session.execute(query):
        values = dict(zip(keys, row))
        values["count"] = int(row[width] or 0)
        values.update(zip(SUMMED, [float(v or 0.0) for v in row[width + 1 :]]))
        result.append(values)
    return tuple(result)


def read_rollup(session: Session, scope: Scope) -> Rollup:
    day_keys = (R.day, R.basis, R.kind)
    days = scope.where(select(*day_keys, *_sums()).group_by(*day_keys))
    group_keys = [getattr(R, name) for name in DIMENSIONS]
    groups = scope.where(select(*group_keys, *_sums()).group_by(*group_keys))
    return Rollup(_rows(session, days, ("day", "basis", "kind")), _rows(session, groups, DIMENSIONS))


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever ingest adds data: the newest ids of the tables it appends to (each an
    index seek, not a scan)."""
    return tuple(
        session.execute(
            select(
                select(func.max(IntervalRecord.id)).scalar_subquery(),
                select(func.max(BatchJob.id)).scalar_subquery(),
                select(func.max(R.id)).scalar_subquery(),
            )
        ).one()
    )


class RollupCache:
    """The last `size` scopes' Rollup, each valid while the data version it was read at holds and
    for at most `max_age_s` (on PostgreSQL a concurrent ingest may commit a lower id after a higher
    one; the age bounds how long a page can miss it)."""

    def __init__(self, size: int = 64, max_age_s: float = 30.0) -> None:
        self.size = size
        self.max_age_s = max_age_s
        self._items: OrderedDict[Scope, tuple[tuple[Any, ...], float, Rollup]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, scope: Scope, read: Callable[[Session, Scope], Rollup] = read_rollup) -> Rollup:
        version = data_version(session)
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(scope)
            if hit is not None and hit[0] == version and now - hit[1] < self.max_age_s:
                self._items.move_to_end(scope)
                return hit[2]
        rollup = read(session, scope)
        with self._lock:
            self._items[scope] = (version, now, rollup)
            self._items.move_to_end(scope)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return rollup


# --- folding: pure functions of the rows ----------------------------------------------------------


_FIGURES = itemgetter(*SUMMED)


def _finish(values: dict[str, Any]) -> dict[str, Any]:
    values["it_kwh"] = sum(values[f"{c}_kwh"] for c in COMPONENTS)
    return values


def fold(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Sum rows by `keys` (plus the basis: figures of different bases are never added together).
    Each result: the keys, basis, runs, jobs, SUMMED and it_kwh. (Sums kept as lists added with
    map(): this runs over every rollup group of a page, several times.)"""
    sums: dict[tuple[Any, ...], list[float]] = {}
    counts: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        key = (*(row[k] for k in keys), basis_name(row["basis"]))
        known = sums.get(key)
        if known is None:
            sums[key] = list(_FIGURES(row))
            counts[key] = [0, 0]
        else:
            sums[key] = list(map(add, known, _FIGURES(row)))
        counts[key][row["kind"] != "run"] += row["count"]
    return [
        _finish(
            {
                **dict(zip(keys, key)),
                "basis": key[-1],
                "runs": counts[key][0],
                "jobs": counts[key][1],
                **dict(zip(SUMMED, figures)),
            }
        )
        for key, figures in sums.items()
    ]


def bounds_of(values: dict[str, Any], key: str) -> Bounds:
    """`values[key]` with `<key>_low` and `<key>_high` as Bounds (float sums can leave the central a
    hair outside its ends; clamp rather than fail)."""
    central = values[key]
    return Bounds(central, min(values[f"{key}_low"], central), max(values[f"{key}_high"], central))


def basis_totals(rollup: Rollup) -> list[BasisTotal]:
    """One total per emission-factor basis, largest CO2e first."""
    days: dict[str, list[date]] = {}
    for row in rollup.days:
        days.setdefault(basis_name(row["basis"]), []).append(row["day"])
    totals = []
    for values in fold(rollup.days, ()):
        basis = values["basis"]
        totals.append(
            BasisTotal(
                basis=basis,
                runs=values["runs"],
                jobs=values["jobs"],
                energy_kwh=bounds_of(values, "energy_kwh"),
                co2e_kg=bounds_of(values, "co2e_kg"),
                it_kwh=values["it_kwh"],
                components_kwh={c: values[f"{c}_kwh"] for c in COMPONENTS},
                first_day=min(days[basis]),
                last_day=max(days[basis]),
            )
        )
    return ordered(totals)


def by_day(rollup: Rollup) -> list[dict[str, Any]]:
    return sorted(fold(rollup.days, ("day",)), key=lambda row: (row["day"], row["basis"]))


def by_month(day_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Day rows (from by_day) folded into calendar months, per basis."""
    months: dict[tuple[str, str], dict[str, Any]] = {}
    for row in day_rows:
        key = (f"{row['day']:%Y-%m}", row["basis"])
        month = months.get(key)
        if month is None:
            month = months[key] = {"month": key[0], "basis": key[1], "runs": 0, "jobs": 0, **dict.fromkeys(SUMMED, 0.0)}
        for name in ("runs", "jobs", *SUMMED):
            month[name] += row[name]
    return [_finish(months[key]) for key in sorted(months)]


def breakdown(rollup: Rollup, dimension: str, kind: str | None = None) -> list[dict[str, Any]]:
    """Rows {<dimension>, basis, figures} for one dimension (optionally one kind), largest CO2e first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown breakdown dimension {dimension!r}")
    rows = rollup.groups if kind is None else [row for row in rollup.groups if row["kind"] == kind]
    result = fold(rows, (dimension,))
    result.sort(key=lambda row: (-row["co2e_kg"], str(row[dimension]), row["basis"]))
    return result


def components(totals: Sequence[BasisTotal]) -> list[dict[str, Any]]:
    """IT energy (before PUE) by component, per basis, from the totals."""
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
        provider, sep, _ = (row["region"] or "").partition(":")
        if sep and provider:
            result[provider] = result.get(provider, 0.0) + row["it_kwh"]
    return result
