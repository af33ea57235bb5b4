"""A Parquet log read straight into the job table's columns (carbon.batch.columns), without pandas.

A Parquet log usually holds its columns with the types the job table wants already: times as
timestamps, numbers as numbers, texts as strings. Such a log needs none of the generic reader's
parsing (carbon.batch.readers.generic.normalise); read through Arrow, with its texts as dictionary
codes, a million jobs take a tenth of a second and no Python string per job. Anything else (a
time or number written as text, a column of another type, a log without an end time or a job id,
a record the checks reject) is for the generic reader, which `read_parquet_columns` says by
returning None (a record the checks reject: by a part of None, before that part is priced, or,
for a job id seen before, by ColumnsRead.repeated_ids once every part is read): both readers
give the same table for a log either can read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon.batch.readers.generic import ALIASES
from carbon.batch.schema import JOB_COLUMNS


@dataclass
class ColumnsRead:
    """A log the columnar reader takes, read part by part (`parts`) as the caller prices them, so
    that the first part is priced (and written) while the rest of the file is still unread. Job
    ids are checked for duplicates once every part is read (`repeated_ids`)."""

    records: int
    file: Any  # pyarrow.parquet.ParquetFile, its texts read as dictionaries
    wanted: dict[str, str]  # job-table name -> the file's column
    _keys: list[tuple[Any, Any]] = field(default_factory=list)  # per part read: (job ids, clusters)
    _ordered: bool = True  # every job id read so far an integer above the one before
    _last_id: int | None = None  # the last of them

    def parts(self, rows: int) -> Iterator[dict[str, Any] | None]:
        """The job table `rows` records at a time (the last part: what is left), as columns that
        carbon.batch.engine.price_columns takes (JOB_COLUMNS and line); None, and no part after it,
        for a part with a record the checks reject (the generic reader says which, and why).

        Each part is read on a thread of its own while the caller prices the one before: Arrow
        decodes and numpy converts without the GIL, so the first part's pricing, before anything
        can be written, no longer leaves the second core idle."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            read = self._parts(rows)
            ahead = pool.submit(next, read, _END)
            while True:
                part = ahead.result()
                if part is _END:
                    return
                if part is not None:
                    ahead = pool.submit(next, read, _END)
                yield part
                if part is None:
                    return

    def _parts(self, rows: int) -> Iterator[dict[str, Any] | None]:
        import numpy as np
        import pyarrow as pa

        from carbon.batch.checks import Verdicts, check_ranges

        first = 0
        for table in _slices(self.file, list(self.wanted.values()), rows):
            jobs = _job_columns(table, self.wanted, first)
            clusters = None
            if "cluster" in self.wanted:  # as text: each part's dictionary may differ
                clusters = _one_chunk(table[self.wanted["cluster"]].cast(pa.string()))
            self._note_ids(jobs["job_id"], clusters)
            verdicts = Verdicts(table.num_rows)
            verdicts.add(np.isnat(jobs["start"]) | np.isnat(jobs["end"]), "malformed record: cannot read start/end")
            check_ranges(jobs, verdicts)
            if verdicts.rejected.any():
                yield None
                return
            yield jobs
            first += table.num_rows

    def _note_ids(self, ids: Any, clusters: Any) -> None:
        """Keep one part's job ids (and clusters) for repeated_ids; the usual log's, numbered in
        order, are checked here, part by part, as carbon.batch.checks.first_rows checks them."""
        from carbon.batch.checks import increasing_integers

        self._keys.append((ids, clusters))
        if not self._ordered:
            return
        numbers = increasing_integers(ids)
        if numbers is None or (self._last_id is not None and numbers[0] <= self._last_id):
            self._ordered = False
        else:
            self._last_id = numbers[-1]

    def repeated_ids(self) -> bool:
        """Whether a job id repeats (within its cluster, where the log names clusters) over the
        parts read: the generic reader then says which records, and why."""
        import numpy as np
        import pyarrow as pa

        from carbon.batch.checks import Verdicts, check_duplicates

        if not self._keys or self._ordered:  # increasing integers are distinct
            return False
        ids = _one_chunk(pa.chunked_array([i for i, _ in self._keys]))
        clusters = _one_chunk(pa.chunked_array([c for _, c in self._keys])) if "cluster" in self.wanted else None
        verdicts = Verdicts(len(ids))
        check_duplicates(ids, np.arange(1, len(ids) + 1), verdicts, clusters)
        return bool(verdicts.rejected.any())


_END: Any = object()  # no part left


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
    """The log ready to be read as columns, or None when it needs the generic reader (module
    docstring; a record the checks reject shows in ColumnsRead.parts and repeated_ids)."""
    import pyarrow.parquet as pq

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
    file = pq.ParquetFile(path, read_dictionary=texts)
    return ColumnsRead(file.metadata.num_rows, file, wanted)


def _one_chunk(column: Any) -> Any:
    import pyarrow as pa

    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)


def _slices(file: Any, columns: list[str], rows: int) -> Iterator[Any]:
    """The file's `columns`, `rows` records at a time, as Arrow tables. The reader's batches end
    where the file's row groups do: they are gathered, or cut, into parts of `rows` (slices, not
    copies)."""
    import pyarrow as pa

    held: list[Any] = []
    count = 0
    for batch in file.iter_batches(batch_size=rows, columns=columns):
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held, schema=batch.schema)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held, schema=held[0].schema)


def _job_columns(table: Any, wanted: dict[str, str], first: int) -> dict[str, Any]:
    """One part of the file (an Arrow table) as the job table's columns; its first record is the
    file's `first` (0 for the first)."""
    import numpy as np
    import pyarrow as pa

    from carbon.batch.columns import Coded, numpy_values

    n = table.num_rows
    jobs: dict[str, Any] = {"line": np.arange(first + 1, first + n + 1, dtype=np.int64)}
    for name, (dtype, _) in JOB_COLUMNS.items():
        if name == "line":
            continue
        column = table[wanted[name]] if name in wanted else None
        if name == "job_id":
            jobs[name] = _one_chunk(column)
        elif column is None or pa.types.is_null(column.type):
            jobs[name] = _unknown(dtype, n)
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
    return jobs


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
