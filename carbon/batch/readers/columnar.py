"""A Parquet log read straight into the job table's columns (carbon.batch.columns), without pandas.

A Parquet log usually holds its columns with the types the job table wants already: times as
timestamps, numbers as numbers, texts as strings. Such a log needs none of the generic reader's
parsing (carbon.batch.readers.generic.normalise); read through Arrow, with its texts as dictionary
codes, a million jobs take a tenth of a second and no Python string per job. Anything else (a
time or number written as text, a column of another type, a log without an end time or a job id,
a record the checks reject) is for the generic reader, which `read_parquet_columns` says by
returning None, before any pricing: both readers give the same table for a log either can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbon.batch.readers.generic import ALIASES
from carbon.batch.schema import JOB_COLUMNS


@dataclass(frozen=True)
class ColumnsRead:
    jobs: dict[str, Any]  # JOB_COLUMNS and line, as carbon.batch.engine.price_columns takes them
    records: int


def _names(schema: Any) -> dict[str, str]:
    """Job-table name -> the file's column, renamed as the generic reader renames (first one kept)."""
    names: dict[str, str] = {}
    for name in schema.names:
        names.setdefault(ALIASES.get(name.strip().lower(), name.strip().lower()), name)
    return names


def _fits(name: str, kind: Any) -> bool:
    """Whether a file column of Arrow type `kind` is the job table's column as it stands."""
    import pyarrow as pa

    dtype = JOB_COLUMNS[name][0] if name in JOB_COLUMNS else "object"
    if pa.types.is_null(kind):
        return name not in ("start", "end", "job_id")
    if name == "job_id":
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if dtype.startswith("datetime"):
        return pa.types.is_timestamp(kind)
    if dtype == "float64":
        return pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if dtype == "bool":
        return pa.types.is_boolean(kind)
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or name == "cluster"


def read_parquet_columns(path: str | Path) -> ColumnsRead | None:
    """The log's job table as columns, or None when it needs the generic reader (module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from carbon.batch.checks import Verdicts, check_duplicates, check_ranges
    from carbon.batch.columns import Coded, numpy_values

    schema = pq.read_schema(path)
    names = _names(schema)
    if not {"job_id", "start", "end"} <= set(names) or ("cpu_util" not in names and "cpu_time_s" in names):
        return None  # the generic reader derives what is missing
    wanted = {name: names[name] for name in (*JOB_COLUMNS, "cluster") if name in names}
    if not all(_fits(name, schema.field(column).type) for name, column in wanted.items()):
        return None
    texts = [
        column
        for name, column in wanted.items()
        if name != "job_id" and JOB_COLUMNS.get(name, ("object",))[0] == "object"
    ]
    # ParquetFile, not read_table: that goes through pyarrow.dataset, which imports pandas.
    table = pq.ParquetFile(path, read_dictionary=texts).read(columns=list(wanted.values()))
    n = table.num_rows
    jobs: dict[str, Any] = {"line": np.arange(1, n + 1, dtype=np.int64)}
    for name, (dtype, _) in JOB_COLUMNS.items():
        if name == "line":
            continue
        column = table[wanted[name]] if name in wanted else None
        if column is None or pa.types.is_null(column.type):
            jobs[name] = _unknown(dtype, n)
        elif name == "job_id":
            jobs[name] = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        elif dtype.startswith("datetime"):  # naive UTC, NaT where missing
            ticks, valid = numpy_values(column, np.int64)
            ticks = ticks if valid is None else np.where(valid, ticks, np.iinfo(np.int64).min)  # NaT
            jobs[name] = ticks.view(f"datetime64[{column.type.unit}]")
        elif dtype == "float64":
            values, valid = numpy_values(column.cast(pa.float64()))
            jobs[name] = values if valid is None else np.where(valid, values, np.nan)
        elif dtype == "bool":
            values, valid = numpy_values(column)
            jobs[name] = values if valid is None else values & valid
        else:
            jobs[name] = Coded.from_arrow(column)
    verdicts = Verdicts(n)
    verdicts.add(np.isnat(jobs["start"]) | np.isnat(jobs["end"]), "malformed record: cannot read start/end")
    check_ranges(jobs, verdicts)
    clusters = table[wanted["cluster"]] if "cluster" in wanted else None
    check_duplicates(jobs["job_id"], jobs["line"], verdicts, clusters)
    if verdicts.rejected.any():
        return None  # the generic reader says which records, and why
    return ColumnsRead(jobs, n)


def _unknown(dtype: str, n: int) -> Any:
    """A column the log does not have (or holds no value in): unknown in every row."""
    import numpy as np

    from carbon.batch.columns import Coded

    if dtype.startswith("datetime"):
        return np.full(n, np.datetime64("NaT", "us"))
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype == "bool":
        return np.zeros(n, dtype=bool)
    return Coded(np.full(n, -1, dtype=np.int32), [])
