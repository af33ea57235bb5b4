"""Read-only access to the bundled tables in `intensity_data/`.

Tables are small CSVs read with the standard library and cached per process, so that the
tracker and `carbon estimate` never need pandas. `CARBON_DATA_DIR` points at another bundle
(a refreshed one, or a test fixture).

A table is checked once per process when first read: it must end with a complete line and have
the row count its manifest entry records. A truncated file (a full disk during an update, an
interrupted copy) is then a data error naming the file, not a region that seems not to exist.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

from carbon.errors import DataError

F = TypeVar("F", bound=Callable[..., Any])
_DERIVED_CACHES: list[Callable[[], None]] = []

MANIFEST_NAME = "manifest.json"


class BundleError(DataError):
    """The bundled data is missing or does not match its manifest."""


def data_dir() -> Path:
    override = os.environ.get("CARBON_DATA_DIR")
    return Path(override) if override else _package_dir()


def _directory() -> str:
    """`str(data_dir())`, the key of every cache of the bundle, without a Path built each time: a
    batch run's thousands of intensity lookups each ask (~8 µs a Path and its text). An override
    spelt differently (a trailing slash) only keys its own entries; every file path made from it
    goes through Path, as before."""
    return os.environ.get("CARBON_DATA_DIR") or _package_dir_text()


@lru_cache(maxsize=1)
def _package_dir_text() -> str:
    return str(_package_dir())


@lru_cache(maxsize=1)
def _package_dir() -> Path:
    # Resolving the installed package's folder is a filesystem walk: once per process is enough.
    import carbon.intensity_data as intensity_data

    return Path(intensity_data.__file__).resolve().parent


def _broken(path: Path, why: str) -> BundleError:
    return BundleError(
        f"bundled table {path} is {why}: the file is truncated or was edited; "
        "reinstall carbon or refresh the bundle (`carbon data verify` lists every problem)"
    )


def _check_complete(directory: str, name: str, text: str, rows: int | None = None) -> None:
    """`text` (the whole file) ends with a full line and has the manifest's row count, when there is a
    manifest recording one. `rows` when already parsed; else lines are counted, and csv decides only
    when the count differs (a quoted field spanning lines)."""
    path = Path(directory) / f"{name}.csv"
    if text and not text.endswith("\n"):
        raise _broken(path, "cut off mid-line")
    if not (Path(directory) / MANIFEST_NAME).exists():
        return  # a hand-made bundle (tests, a user's own tables): nothing to check against
    entry = next((e for e in _read_manifest(directory).get("files", []) if e.get("file") == path.name), None)
    expected = entry.get("rows") if isinstance(entry, dict) else None
    if not isinstance(expected, int):
        return
    if rows is None and text.count("\n") - 1 != expected:
        rows = sum(1 for _ in csv.DictReader(text.splitlines(keepends=True)))
    if rows is not None and rows != expected:
        raise _broken(path, f"incomplete ({rows} rows, its manifest says {expected})")


def _read_text(directory: str, name: str) -> str:
    path = Path(directory) / f"{name}.csv"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"bundled table {name!r} is missing: {path} (run `carbon data verify`)") from None
    except UnicodeDecodeError as error:
        raise _broken(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None


def _dict_rows(lines: list[str]) -> tuple[dict[str, str], ...]:
    """What csv.DictReader gives (blank lines skipped, a short row's missing fields None, a long
    row's extra fields under None), at half its cost: DictReader's per-row Python dominates start-up."""
    reader = csv.reader(lines)
    header = next(reader, None)
    return () if header is None else parse_rows(header, reader)


def parse_rows(header: list[str], records: Iterable[list[str]]) -> tuple[dict[str, str], ...]:
    """csv records as DictReader makes them under `header` (see _dict_rows)."""
    width = len(header)
    rows = []
    for values in records:
        if len(values) == width:
            rows.append(dict(zip(header, values)))
        elif values:
            row: dict[Any, Any] = dict(zip(header, values))
            if len(values) > width:
                row[None] = values[width:]
            else:
                row.update((key, None) for key in header[len(values) :])
            rows.append(row)
    return tuple(rows)


@cache
def _read_table(directory: str, name: str) -> tuple[dict[str, str], ...]:
    text = _read_text(directory, name)
    rows = _dict_rows(text.splitlines(keepends=True))
    _check_complete(directory, name, text, len(rows))
    return rows


def table(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a bundled table as dicts of strings, in file order."""
    return _read_table(_directory(), name)


@cache
def _text(directory: str, name: str) -> tuple[list[str], str, int]:
    """Header, the whole file as one string, and where the rows start: the newline that ends the
    header, so that every row follows a newline. The file is searched in place: a copy of a
    monthly table without its header cost a fresh process ~1.5 ms of first-touched memory."""
    text = _read_text(directory, name)
    _check_complete(directory, name, text)
    rows_at = text.find("\n")
    if rows_at == -1:  # a header alone, with no newline: no rows
        return next(csv.reader([text])), "\n", 0
    return next(csv.reader([text[:rows_at]])), text, rows_at


def table_searchable(name: str) -> tuple[list[str], str, int]:
    """A table's header fields, its text and where its rows start (each row follows a newline from
    there on), for lookups that search the text and parse only the rows they use."""
    return _text(_directory(), name)


def table_text(name: str) -> str:
    """A table's rows as raw text (header removed), for fast scans of large tables."""
    _, text, rows_at = _text(_directory(), name)
    return text[rows_at:]


def line_after(text: str, newline_at: int) -> str:
    """The line that the newline at `newline_at` begins (a row found by searching "\\n" + its start)."""
    end = text.find("\n", newline_at + 1)
    return text[newline_at + 1 : end if end != -1 else len(text)]


def rows_for(name: str, key: str) -> list[dict[str, str]]:
    """Rows whose first column equals `key`, in file order. A substring search over the file
    finds them without parsing any other row, so a one-zone lookup costs microseconds."""
    header, text, rows_at = _text(_directory(), name)
    prefix = "\n" + key + ","
    lines, position = [], text.find(prefix, rows_at)
    while position != -1:
        lines.append(line_after(text, position))
        position = text.find(prefix, position + 1)
    return [dict(zip(header, values)) for values in csv.reader(lines)]


def last_rows(name: str) -> list[dict[str, str]]:
    """The last row of each first-column key (the latest year: tables are sorted by key, then time)."""
    last: dict[str, dict[str, str]] = {}
    for row in table(name):
        last[next(iter(row.values()))] = row
    return list(last.values())


@cache
def _read_manifest(directory: str) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    try:
        return parse_manifest(path, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"bundle manifest is missing: {path}") from None
    except UnicodeDecodeError as error:
        raise BundleError(f"bundle manifest {path} is not UTF-8 text ({error.reason}): reinstall carbon") from None


def parse_manifest(path: Path, text: str) -> dict[str, Any]:
    """The manifest's JSON, or a BundleError naming the file and where it stops making sense."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise BundleError(f"bundle manifest {path} is not valid JSON ({error}): reinstall carbon") from None
    if not isinstance(document, dict) or not isinstance(document.get("files", []), list):
        raise BundleError(f"bundle manifest {path} has no list of files: reinstall carbon")
    return document


def manifest() -> dict[str, Any]:
    return _read_manifest(_directory())


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
        return cached(_directory(), *args)

    wrapper.__doc__, wrapper.__name__ = function.__doc__, function.__name__
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]  # lru_cache's API, kept for callers
    _DERIVED_CACHES.append(cached.cache_clear)
    return wrapper  # type: ignore[return-value]  # same call signature as `function`, one argument more in the key


def clear_cache() -> None:
    """Forget cached tables and derived values (after a refresh of the bundle in place)."""
    for clear in _DERIVED_CACHES:
        clear()
    _read_table.cache_clear()
    _text.cache_clear()
    _read_manifest.cache_clear()


def optional_float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None
