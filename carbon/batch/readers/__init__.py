"""Job-log readers: each format is one module that returns the job table (carbon.batch.schema).

Adding a format is one module plus one line in FORMATS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from carbon.batch.memory import release_freed_memory
from carbon.batch.schema import ReadResult

# format -> "module:function"; imported lazily so that choosing one format loads only its code.
FORMATS: dict[str, str] = {
    "sacct": "carbon.batch.readers.sacct:read_sacct",
    "csv": "carbon.batch.readers.generic:read_csv",
    "parquet": "carbon.batch.readers.generic:read_parquet",
    "jsonl": "carbon.batch.readers.generic:read_jsonl",
    "runs": "carbon.batch.readers.runs:read_runs",
}
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def guess_format(path: str | Path) -> str:
    """By suffix; anything else (sacct output has no fixed suffix) is read as sacct text."""
    return _SUFFIXES.get(Path(path).suffix.lower(), "sacct")


def reader(format_name: str) -> Callable[..., ReadResult]:
    import importlib

    try:
        module_name, function = FORMATS[format_name].split(":")
    except KeyError:
        raise ValueError(f"unknown log format {format_name!r}; known: {', '.join(FORMATS)}") from None
    return getattr(importlib.import_module(module_name), function)


def read(path: str | Path, format_name: str | None = None, fields: Sequence[str] | None = None) -> ReadResult:
    name = format_name or guess_format(path)
    result = reader(name)(path, fields=fields) if name == "sacct" else reader(name)(path)
    # Parsing leaves hundreds of MB freed but held (Arrow's pool, the C heap) that the pricing,
    # working in numpy, could never reuse.
    release_freed_memory()
    return result
