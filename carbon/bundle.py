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
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_DERIVED_CACHES: list[Callable[[], None]] = []

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
def _grouped_lines(directory: str, name: str) -> tuple[list[str], dict[str, list[str]]]:
    """Header and raw lines grouped by the first column, without parsing every row: a lookup
    for one zone then parses only that zone's lines (the tables keep their key first)."""
    path = Path(directory) / f"{name}.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"bundled table {name!r} is missing: {path} (run `carbon data verify`)") from None
    lines = text.splitlines()
    header = next(csv.reader(lines[:1]))
    groups: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line.startswith('"'):  # a quoted key: rare, parse properly
            key = next(csv.reader([line]))[0]
        else:
            key = line.split(",", 1)[0]
        groups.setdefault(key, []).append(line)
    return header, groups


def rows_for(name: str, key: str) -> list[dict[str, str]]:
    """Rows of a table whose first column equals `key`, in file order."""
    header, groups = _grouped_lines(str(data_dir()), name)
    return [dict(zip(header, values)) for values in csv.reader(groups.get(key, ()))]


def keys(name: str) -> list[str]:
    """Distinct values of a table's first column, in file order."""
    return list(_grouped_lines(str(data_dir()), name)[1])


def last_rows(name: str) -> list[dict[str, str]]:
    """The last row of each key (the latest year, as the tables are sorted by key then time)."""
    header, groups = _grouped_lines(str(data_dir()), name)
    return [dict(zip(header, values)) for values in csv.reader(lines[-1] for lines in groups.values())]


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


def derived(function: F) -> F:
    """Cache a value derived from the bundle, keyed on the bundle folder as well as the arguments,
    so that switching CARBON_DATA_DIR (a refreshed bundle, a test fixture) never serves stale data."""
    cached = lru_cache(maxsize=1024)(lambda directory, *args: function(*args))

    def wrapper(*args: Any) -> Any:
        return cached(str(data_dir()), *args)

    wrapper.__doc__, wrapper.__name__ = function.__doc__, function.__name__
    _DERIVED_CACHES.append(cached.cache_clear)
    return wrapper  # type: ignore[return-value]


def clear_cache() -> None:
    """Forget cached tables and derived values (after a refresh of the bundle in place)."""
    for clear in _DERIVED_CACHES:
        clear()
    _read_table.cache_clear()
    _grouped_lines.cache_clear()
    _read_manifest.cache_clear()


def optional_float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None
