"""The instance-catalog table: one row type, validation, deterministic rendering, atomic write.

Every provider builder funnels through here so the three CSVs share one contract
(docs/data-schema.md) and a bad build never leaves a half-written bundle behind.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from carbon import manifest as manifest_mod
from carbon.errors import DataError, NetworkError

COLUMNS = (
    "instance_type",
    "family",
    "vcpus",
    "memory_gib",
    "cpu_microarchitecture",
    "cpu_model",
    "gpu_model",
    "gpu_count",
    "burstable_baseline_fraction",
    "source",
)


# Dataset ids the intensity-data builder also describes in the manifest.
SHARED_SOURCE_IDS = frozenset({"ccf-coefficients", "ccf-app", "teads-ec2", "mlco2-impact"})


class CatalogError(DataError):
    """The built table breaks the contract; nothing was written."""


class ApiError(NetworkError):
    """The provider's API refused or failed (auth, permission, network); nothing was written."""


@dataclass(frozen=True)
class CatalogRow:
    instance_type: str
    family: str
    vcpus: float
    memory_gib: float
    cpu_microarchitecture: str = ""
    cpu_model: str = ""
    gpu_model: str = ""
    gpu_count: float = 0
    burstable_baseline_fraction: float | None = None
    source: str = ""


def fmt_number(value: float | None) -> str:
    """Shortest exact-looking decimal: 16.0 -> '16', 0.75 -> '0.75', 3.8125 -> '3.8125'."""
    if value is None:
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _natural_key(text: str) -> tuple[Any, ...]:
    """'m5.2xlarge' sorts before 'm5.12xlarge': digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower()))


def validate(rows: Iterable[CatalogRow]) -> list[CatalogRow]:
    seen: set[str] = set()
    checked = []
    for row in rows:
        name = row.instance_type
        if not name or name != name.strip():
            raise CatalogError(f"instance type {name!r} is empty or padded")
        if name.lower() in seen:
            raise CatalogError(f"duplicate instance type {name!r}")
        seen.add(name.lower())
        if not row.vcpus > 0:
            raise CatalogError(f"{name}: vcpus must be > 0, got {row.vcpus}")
        if not row.memory_gib > 0:
            raise CatalogError(f"{name}: memory_gib must be > 0, got {row.memory_gib}")
        if row.gpu_count < 0 or (row.gpu_count and not row.gpu_model):
            raise CatalogError(f"{name}: gpu_count {row.gpu_count} without a GPU model")
        baseline = row.burstable_baseline_fraction
        if baseline is not None and not 0 < baseline <= 1:
            raise CatalogError(f"{name}: burstable baseline fraction {baseline} is not in (0, 1]")
        if not row.source:
            raise CatalogError(f"{name}: no source id")
        checked.append(row)
    if not checked:
        raise CatalogError("no rows")
    return sorted(checked, key=lambda r: _natural_key(r.instance_type))


def render(rows: Iterable[CatalogRow]) -> str:
    """The CSV text: validated, sorted, fixed number formatting, LF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in validate(rows):
        values = astuple(row)
        writer.writerow(
            [
                fmt_number(v) if f.name in ("vcpus", "memory_gib", "gpu_count", "burstable_baseline_fraction") else v
                for f, v in zip(fields(CatalogRow), values)
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class TableMeta:
    """What the manifest says about one catalog file."""

    provider: str
    description: str
    sources: dict[str, dict[str, Any]]
    licence: str
    years: tuple[int, ...]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write(out_dir: Path, rows: Iterable[CatalogRow], meta: TableMeta, *, retrieved: str | None = None) -> Path:
    """Render (validating first), then write the CSV and merge its manifest entry.

    Rendering happens before any file is touched, so a contract violation writes nothing.
    """
    text = render(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"instances_{meta.provider}.csv"
    path = out_dir / name
    _atomic_write(path, text)
    retrieved = retrieved or date.today().isoformat()
    entry = {
        "file": name,
        "description": meta.description,
        "sources": sorted(meta.sources),
        "licence": meta.licence,
        "retrieved": retrieved,
        "years": list(meta.years),
        "units": {
            "vcpus": "count",
            "memory_gib": "GiB (as the provider states it; carbon.catalog converts to decimal GB)",
            "gpu_count": "count",
            "burstable_baseline_fraction": "fraction 0-1 of each vCPU",
        },
        "rows": text.count("\n") - 1,
        "sha256": manifest_mod.sha256_file(path),
        "columns": list(COLUMNS),
    }
    manifest = manifest_mod.load(out_dir)
    merged = manifest_mod.merge_entries(manifest, [entry])
    known = dict(merged.get("sources", {}))
    for source_id, info in meta.sources.items():
        if source_id not in SHARED_SOURCE_IDS or source_id not in known:
            known[source_id] = info  # a shared id keeps the other builder's wording
    merged["sources"] = known
    _atomic_write(out_dir / manifest_mod.MANIFEST_NAME, manifest_mod.dumps(merged))
    return path
