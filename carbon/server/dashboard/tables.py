"""The tables a page shows, as data: the same object renders as HTML and exports as CSV or JSON,
so every table on every page can be downloaded with exactly the figures shown.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# How a column's cells are shown on the page; exports always carry the raw value.
KINDS = ("text", "count", "duration_s", "mass_kg", "energy_kwh", "intensity", "power_w", "datetime")


@dataclass(frozen=True)
class Column:
    """A column: its key in each row, its heading, and how the page formats it. A `ranged` column's
    rows also hold `<key>_low` and `<key>_high`, shown beside the central value and exported too."""

    key: str
    label: str
    kind: str = "text"
    ranged: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    @property
    def export_keys(self) -> tuple[str, ...]:
        return (self.key, f"{self.key}_low", f"{self.key}_high") if self.ranged else (self.key,)


@dataclass(frozen=True)
class Table:
    """A named table of a page; `name` is its file name in the export URLs (`<page>/tables/<name>.csv`).
    `links` maps a column key to the key of the row's URL for that cell (the page links it)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[dict[str, Any]]
    note: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    shown: bool = True  # False: exported only (a chart's data, too long to lay out as a table)

    @property
    def export_keys(self) -> list[str]:
        return [key for column in self.columns for key in column.export_keys]


def to_csv(table: Table) -> str:
    """One header line of keys (units in the names), then one line per row; empty for None."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = table.export_keys
    writer.writerow(keys)
    for row in table.rows:
        writer.writerow(["" if row.get(key) is None else _plain(row.get(key)) for key in keys])
    return out.getvalue()


def to_json(table: Table) -> str:
    """`{"table", "title", "columns": [...], "rows": [{key: value}]}`, numbers as numbers."""
    keys = table.export_keys
    payload = {
        "table": table.name,
        "title": table.title,
        "columns": keys,
        "rows": [{key: _plain(row.get(key)) for key in keys} for row in table.rows],
    }
    return json.dumps(payload, default=str, allow_nan=False, indent=1)


def _plain(value: Any) -> Any:
    """Datetimes as ISO 8601; everything else as it is."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
