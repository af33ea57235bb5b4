"""Read-only access to the bundled tables in `intensity_data/`.

Tables are small CSVs read with the standard library and cached per process, so that the
tracker and `carbon estimate` never need pandas. `CARBON_DATA_DIR` points at another bundle
(a refreshed one, or a test fixture).
"""

from __future__ import annotations

import csv
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


class BundleError(RuntimeError):
    """The bundled data is missing or does not match its manifest."""


def data_dir() -> Path:
    override = os.environ.get("CARBON_DATA_DIR")
    if override:
        return Path(override)
    import intensity_data

    return Path(intensity_data.__file__).resolve().parent


@lru_cache(maxsize=None)
def _read_table(directory: str, name: str) -> tuple[dict[str, str], ...]:
    path = Path(directory) / f"{name}.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return tuple(csv.DictReader(handle))
    except FileNotFoundError:
        raise BundleError(f"bundled table {name!r} is missing: {path} (run `carbon data verify`)") from None


def table(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a bundled table as dicts of strings, in file order."""
    return _read_table(str(data_dir()), name)


@lru_cache(maxsize=None)
def _read_manifest(directory: str) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"bundle manifest is missing: {path}") from None


def manifest() -> dict[str, Any]:
    return _read_manifest(str(data_dir()))


def table_meta(name: str) -> dict[str, Any]:
    """The manifest entry of one table: sources, licence, years, units."""
    for entry in manifest().get("files", []):
        if entry.get("file") == f"{name}.csv":
            return entry
    raise BundleError(f"table {name!r} has no entry in {MANIFEST_NAME}")


def clear_cache() -> None:
    """Forget cached tables (after a refresh, or when a test switches CARBON_DATA_DIR)."""
    _read_table.cache_clear()
    _read_manifest.cache_clear()


def optional_float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None
