"""A batch run end to end: read the logs, price the jobs (pandas or Dask), account for every record."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from carbon.batch.columns import Coded
from carbon.batch.engine import (
    CARRIED_COLUMNS,
    OUTPUT_COLUMNS,
    Settings,
    estimate_frame,
    pandas_texts,
    price_columns,
    split,
)
from carbon.batch.factors import Factors
from carbon.batch.hardware import HardwareMap
from carbon.batch.memory import release_freed_memory, reusing_freed_memory
from carbon.batch.summary import UNKNOWN_BASIS

CHUNK_ROWS = 1_000_000  # bounds the engine's temporaries
# A Parquet log priced as columns: parts written while the next is priced (estimate_parquet_columns).
COLUMN_CHUNK_ROWS = 250_000
# Chunks are priced two at a time: numpy releases the GIL in the arithmetic, and one thread's
# page faults on fresh memory overlap the other's work. (A log of one chunk is not split: the
# stitching would cost more than the second thread gains.)
THREADS = 2
_WHAT_IF = ("region", "co2e_kg", "co2e_kg_low", "co2e_kg_high", "intensity_g_per_kwh", "intensity_basis", "pue")


@dataclass(frozen=True)
class BatchResult:
    results: Any  # one row per estimated job (engine.OUTPUT_COLUMNS less reject_reason, plus source)
    rejects: Any  # source, line, reason, text
    read: int  # records in the inputs: len(results) + len(rejects)


def estimate_with_what_if(jobs: Any, settings: Settings, factors: Factors, consume: bool = False) -> Any:
    """The jobs as they ran, plus `what_if_*` columns when the settings move them in place or time.
    `consume`: the caller hands the table over (estimate_frame), to the last pricing of it."""
    moving = bool(settings.what_if_region or settings.what_if_shift_h)
    base = estimate_frame(
        jobs, replace(settings, what_if_region=None, what_if_shift_h=0.0), factors, consume=consume and not moving
    )
    if not moving:
        return base
    moved = estimate_frame(jobs, settings, factors, consume=consume)
    for name in _WHAT_IF:
        base[f"what_if_{name}"] = moved[name].to_numpy()
    base["reject_reason"] = base["reject_reason"].where(base["reject_reason"].notna(), moved["reject_reason"])
    return base


# progress(step, done, total): how a long run reports what it is doing (total None while unknown);
# the command line turns it into a display, the library prints nothing itself.
ProgressCallback = Callable[[str, int, "int | None"], None]


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


def _pandas(
    jobs: Any,
    settings: Settings,
    factors: Factors,
    progress: ProgressCallback = _no_progress,
    consume: bool = False,
) -> Any:
    """Price the table in one call, or in CHUNK_ROWS chunks on THREADS threads. `consume`: the
    caller hands the table over, and a table priced in one call is freed column by column as it is
    priced (estimate_frame)."""
    from concurrent.futures import ThreadPoolExecutor

    progress("pricing", 0, len(jobs))
    if len(jobs) <= CHUNK_ROWS:
        priced = estimate_with_what_if(jobs, settings, factors, consume=consume)
        progress("pricing", len(jobs), len(jobs))
        return priced
    columns: list[StitchedColumns] = []
    allocating = threading.Lock()

    def price(first: int) -> int:
        part = estimate_with_what_if(jobs.iloc[first : first + CHUNK_ROWS], settings, factors)
        with allocating:  # the first chunk done allocates the whole result
            if not columns:
                columns.append(StitchedColumns(part, jobs))
        columns[0].put(first, part)  # chunks fill disjoint slices
        return min(first + CHUNK_ROWS, len(jobs))

    with ThreadPoolExecutor(THREADS) as pool:
        for done in pool.map(price, range(0, len(jobs), CHUNK_ROWS)):  # in order
            progress("pricing", done, len(jobs))
    return columns[0].frame()


class StitchedColumns:
    """Chunk results copied into full-length columns allocated once.

    Concatenating the chunks at the end would hold every chunk's result and the concatenation
    at the same time; filling preallocated columns holds the result once plus one chunk, and
    fresh memory is what costs most on a large log (page faults). Columns the engine carries
    unchanged from the job table are taken from the whole table, not copied at all."""

    def __init__(self, like: Any, jobs: Any) -> None:
        import numpy as np
        import pandas as pd

        self.dtypes = dict(like.dtypes.items())
        self.carried = {name: jobs[name].reset_index(drop=True) for name in CARRIED_COLUMNS}
        self.arrays: dict[str, Any] = {}
        self.pieces: dict[str, dict[int, Any]] = {}  # other extension-typed columns, by first row: joined at the end
        for name, dtype in self.dtypes.items():
            if name in self.carried:
                continue
            if isinstance(dtype, pd.DatetimeTZDtype):
                self.arrays[name] = np.empty(len(jobs), dtype=f"datetime64[{dtype.unit}]")
            elif isinstance(dtype, np.dtype):
                self.arrays[name] = np.empty(len(jobs), dtype=dtype)
            else:
                self.pieces[name] = {}

    def put(self, first: int, part: Any) -> None:
        import pandas as pd

        for name, array in self.arrays.items():
            column, dtype = part[name], self.dtypes[name]
            if isinstance(dtype, pd.DatetimeTZDtype):
                array[first : first + len(part)] = column.dt.tz_convert("UTC").to_numpy(dtype=array.dtype)
            else:
                array[first : first + len(part)] = column.to_numpy(dtype=array.dtype)
        for name, pieces in self.pieces.items():
            pieces[first] = part[name]  # chunks may finish out of order

    def frame(self) -> Any:
        import pandas as pd

        columns = {}
        for name, dtype in self.dtypes.items():
            if name in self.carried:
                columns[name] = self.carried[name]
            elif name in self.pieces:
                pieces = self.pieces[name]
                columns[name] = pd.concat([pieces[first] for first in sorted(pieces)], ignore_index=True)
            elif isinstance(dtype, pd.DatetimeTZDtype):
                columns[name] = pd.Series(self.arrays[name], copy=False).dt.tz_localize(dtype.tz)
            else:  # dtype given: object columns stay object (pandas would re-infer them as strings)
                columns[name] = pd.Series(self.arrays[name], dtype=dtype, copy=False)
        return pd.DataFrame(columns, copy=False)


def _dask_partition(jobs: Any, settings: Settings, hardware_map: HardwareMap) -> Any:
    # One Factors per partition: workers share nothing, and each lookup is cheap to repeat.
    return estimate_with_what_if(jobs, settings, Factors(hardware_map=hardware_map))


def dask_client(scheduler: str | None) -> Any:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout=30)
    # Loopback only: a local cluster never needs, or looks up, an outside address.
    return Client(
        LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address="127.0.0.1:0",
            protocol="tcp://",
            host="127.0.0.1",
        )
    )


def _dask(jobs: Any, settings: Settings, hardware_map: HardwareMap, scheduler: str | None, partitions: int) -> Any:
    import dask.dataframe as dd

    with dask_client(scheduler) as client:
        frame = dd.from_pandas(jobs, npartitions=max(1, partitions))
        meta = _dask_partition(jobs.iloc[:0], settings, hardware_map)
        priced = frame.map_partitions(_dask_partition, settings, hardware_map, meta=meta)
        return client.compute(priced).result().reset_index(drop=True)


def estimate_logs(
    paths: Sequence[str | Path],
    *,
    format_name: str | None = None,
    fields: Sequence[str] | None = None,
    settings: Settings | None = None,
    hardware_map: HardwareMap | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
    partitions: int = 4,
    progress: ProgressCallback = _no_progress,
) -> BatchResult:
    import numpy as np
    import pandas as pd

    from carbon.batch.readers import read

    settings, hardware_map = settings or Settings(), hardware_map or HardwareMap()
    tables, rejects, read_count = [], [], 0
    sources: list[np.ndarray] = []  # per log: the index of its file, one per job
    for path in paths:
        step = f"reading {Path(path).name}"
        progress(step, 0, None)
        result = read(path, format_name, fields)
        progress(step, result.records, result.records)
        read_count += result.records
        tables.append(result.jobs)
        sources.append(np.full(len(result.jobs), len(sources), dtype=np.int32))
        rejects.append(result.rejects.assign(source=str(path)))
        del result
    # One log (the usual case) is used as read: no concatenated copy of the table.
    jobs = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
    del tables
    if engine == "dask":
        progress("pricing", 0, len(jobs))
        priced = _dask(jobs, settings, hardware_map, scheduler, partitions)
        progress("pricing", len(jobs), len(jobs))
    elif engine == "pandas":
        # The table is estimate_logs' own (the reader's result is gone): its columns can go as priced.
        priced = _pandas(jobs, settings, Factors(hardware_map=hardware_map), progress, consume=True)
    else:
        raise ValueError(f"unknown engine {engine!r}; use pandas or dask")
    del jobs
    release_freed_memory()  # the engine's temporaries: the texts below are built in Arrow's pool
    if len(priced):
        priced["source"] = pandas_texts(Coded(np.concatenate(sources), [str(path) for path in paths]))
    else:
        priced["source"] = np.array([], dtype=object)
    estimated, refused = split(priced)
    refused["source"] = priced.loc[priced["reject_reason"].notna(), "source"].to_numpy()
    refused["text"] = refused["text"].map(lambda job: f"job {job}")
    all_rejects = pd.concat([*rejects, refused], ignore_index=True)[["source", "line", "reason", "text"]]
    all_rejects["line"] = all_rejects["line"].astype("int64")  # an empty part must not make them 15.0
    all_rejects = all_rejects.sort_values(["source", "line"], kind="stable").reset_index(drop=True)
    del priced
    release_freed_memory()  # the engine's temporaries: writing the results allocates differently
    return BatchResult(estimated, all_rejects, read_count)


@dataclass(frozen=True)
class ColumnsResult:
    read: int  # records, every one estimated
    totals: dict[str, Any]  # carbon.batch.summary.totals of the results


def estimate_parquet_columns(
    path: str | Path,
    out: str | Path | None = None,
    *,
    settings: Settings | None = None,
    hardware_map: HardwareMap | None = None,
    progress: ProgressCallback = _no_progress,
) -> ColumnsResult | None:
    """A Parquet log read and priced as columns (carbon.batch.columns), its results written to the
    Parquet file `out` (if given) as estimate_logs' results would be, never through pandas: at a
    million jobs, importing pandas and converting texts to and from it took most of the run.

    Read, priced and written COLUMN_CHUNK_ROWS at a time, three parts in flight: one read on a
    thread (carbon.batch.readers.columnar.ColumnsRead.parts), one priced, one written as a row
    group on another thread (carbon.batch.output.ParquetRowGroups); the totals' columns are
    gathered as the parts go. None, and no file, where this cannot give what estimate_logs gives:
    a log the columnar reader leaves to the generic one (carbon.batch.readers.columnar, a record
    its checks reject or a job id seen before among them), settings that move the jobs (the
    what-if columns), a job the engine rejects (estimate_logs then says which, and why), or a
    text column with no text in one part and some in another (a file written at once holds it as
    text throughout)."""
    from carbon.batch.readers.columnar import read_parquet_columns

    settings, hardware_map = settings or Settings(), hardware_map or HardwareMap()
    if settings.what_if_region or settings.what_if_shift_h:
        return None
    collecting = gc.isenabled()
    # The parts' arrays, numpy's and Arrow's, freed and allocated again part after part, kept for
    # reuse (carbon.batch.memory); and no cycle collection, which would walk every object of every
    # module imported each time (the few cycles the run makes are collected once it is done).
    gc.disable()
    try:
        with reusing_freed_memory():
            # Opened within: its buffers from the pool set there; read part by part as it is priced.
            read = _read_step(path, progress, lambda: read_parquet_columns(path))
            if read is None:
                return None
            return _price_parts(read, out, settings, Factors(hardware_map=hardware_map), str(path), progress)
    finally:
        if collecting:
            gc.enable()


def _read_step(path: str | Path, progress: ProgressCallback, read: Callable[[], Any]) -> Any:
    """A columnar run's reading step, shown as such: what `read` gives, or None where it gives
    None or no record (the caller then leaves the log to estimate_logs)."""
    step = f"reading {Path(path).name}"
    progress(step, 0, None)
    found = read()
    if found is None or not found.records:
        return None
    progress(step, found.records, found.records)
    return found


def _price_parts(
    read: Any,
    out: str | Path | None,
    settings: Settings,
    factors: Factors,
    source_name: str,
    progress: ProgressCallback,
    metadata: dict[str, str] | None = None,
) -> ColumnsResult | None:
    """The columnar runs' pricing and writing, part by part: `read` is a
    carbon.batch.readers.columnar.ColumnsRead or a carbon.batch.columns.WholeTable, each part
    written to the Parquet file `out` (if given, with `metadata`) as a row group while the next is
    priced. None, and no file, where estimate_parquet_columns says."""
    from contextlib import nullcontext

    import numpy as np

    from carbon.batch.columns import Joined, rows
    from carbon.batch.output import ParquetRowGroups
    from carbon.batch.summary import TOTALS_COLUMNS, totals

    n = read.records
    progress("pricing", 0, n)
    source = Coded(np.zeros(n, dtype=np.int32), [source_name])
    kept = Joined(n)  # the columns the totals need
    with ParquetRowGroups(out, metadata) if out else nullcontext() as writer:
        first = 0
        for jobs in read.parts(COLUMN_CHUNK_ROWS):
            if jobs is None:  # a record the reader's checks reject
                return None
            stop = first + len(jobs["line"])
            priced = price_columns(jobs, settings, factors)
            del jobs
            if np.count_nonzero(priced["reject_reason"]):  # None, or a reason (never an empty text)
                return None
            results = {name: priced[name] for name in OUTPUT_COLUMNS if name != "reject_reason"}
            results["source"] = rows(source, first, stop)
            if writer is not None and not writer.put(results):
                return None
            kept.put(first, {name: results[name] for name in TOTALS_COLUMNS})
            progress("pricing", stop, n)
            first = stop
        del priced, results
        if read.repeated_ids():  # checked while the last row group is written
            return None
        # Summed while the last row group is written.
        summed = totals(kept.columns())
        if writer is not None:
            progress(f"writing {Path(str(out)).name}", 0, None)
            writer.commit()
    return ColumnsResult(n, summed)


def estimate_sacct_columns(
    path: str | Path,
    out: str | Path | None = None,
    *,
    fields: Sequence[str] | None = None,
    settings: Settings | None = None,
    hardware_map: HardwareMap | None = None,
    progress: ProgressCallback = _no_progress,
) -> ColumnsResult | None:
    """A Slurm sacct log read as columns (carbon.batch.readers.sacct.read_sacct_columns), priced and
    written as estimate_parquet_columns prices and writes a Parquet log's, never through pandas:
    the file, totals and counts estimate_logs would give. None, and no file, where this cannot give
    them: a log the columnar reader leaves to read_sacct (one that is not regular, or with a record
    to reject), settings that move the jobs, a job the engine rejects."""
    import numpy as np

    from carbon.batch.readers.sacct import read_sacct_columns, warn_whole_node

    settings, hardware_map = settings or Settings(), hardware_map or HardwareMap()
    if settings.what_if_region or settings.what_if_shift_h:
        return None
    read = _read_step(path, progress, lambda: read_sacct_columns(path, fields))
    if read is None:
        return None
    whole_node = int(np.count_nonzero(read.jobs["memory_whole_node"]))
    result = _price_parts(
        read, out, settings, Factors(hardware_map=hardware_map), str(path), progress, metadata=_JOB_IDS_AS_READ
    )
    if result is not None:  # else estimate_logs reads the log again, and warns
        warn_whole_node(whole_node)
    return result


# The pandas run carries a sacct log's job ids as the reader's Arrow text (carbon.batch.schema.
# CARRIED_AS_READ), which pandas notes in the file it writes, so that they read back with its
# "string" dtype rather than "str": the same note, in a file written from columns, reads back the same.
_JOB_IDS_AS_READ = {
    "pandas": json.dumps(
        {
            "index_columns": [],
            "column_indexes": [],
            "columns": [
                {
                    "name": "job_id",
                    "field_name": "job_id",
                    "pandas_type": "unicode",
                    "numpy_type": "string[pyarrow]",
                    "metadata": None,
                }
            ],
        }
    )
}


@dataclass(frozen=True)
class StreamResult:
    """What a streamed (larger-than-memory) run keeps in memory: counts, totals and the rejects."""

    read: int
    estimated: int
    rejects: Any  # source, line, reason, text
    totals: dict[str, Any]  # carbon.batch.summary.totals' shape, without the waste shares


def _parquet_partition(
    frame: Any,
    offsets: Any,
    settings: Settings,
    hardware_map: HardwareMap,
    partition_info: dict[str, Any] | None = None,
) -> Any:
    """Read-side and pricing for one Parquet partition; line = the record's position in the file."""
    import numpy as np

    from carbon.batch.readers.generic import normalise

    first = int(offsets[partition_info["number"]]) if partition_info else 0
    lines = np.arange(first + 1, first + len(frame) + 1)
    jobs, rejects = normalise(frame.reset_index(drop=True), lines)
    priced = _dask_partition(jobs, settings, hardware_map)
    if len(rejects):
        import pandas as pd

        unread = priced.iloc[:0].reindex(range(len(rejects)))
        unread["line"] = rejects["line"].to_numpy()
        unread["reject_reason"] = rejects["reason"].to_numpy()
        priced = pd.concat([priced, unread], ignore_index=True)
    return priced


def _arrow_schema(meta: Any) -> Any:
    """Explicit column types for the written dataset: object columns hold text (or nothing)."""
    import pandas as pd
    import pyarrow as pa

    fields = []
    for name, dtype in meta.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            kind = pa.timestamp("ns", tz="UTC")
        elif pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            kind = pa.string()
        else:
            kind = pa.from_numpy_dtype(dtype)
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def stream_parquet(
    path: str | Path,
    out_dir: str | Path,
    *,
    settings: Settings | None = None,
    hardware_map: HardwareMap | None = None,
    scheduler: str | None = None,
) -> StreamResult:
    """Price a Parquet log partition by partition with Dask, writing results as a Parquet dataset
    (a directory, renamed into place when complete), so that neither the log nor the results
    need to fit in memory. Only rejects and totals come back."""
    import shutil

    import dask.dataframe as dd
    import numpy as np

    settings, hardware_map = settings or Settings(), hardware_map or HardwareMap()
    target = Path(out_dir)
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    with dask_client(scheduler):
        frame = dd.read_parquet(path, split_row_groups=True)  # one partition per row group: bounded memory
        lengths = frame.map_partitions(len).compute()
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        empty = frame._meta
        meta = _parquet_partition(empty, [0], settings, hardware_map)
        priced = frame.map_partitions(_parquet_partition, offsets, settings, hardware_map, meta=meta)
        estimated = priced[priced["reject_reason"].isna()].drop(columns=["reject_reason"])
        refused = priced[~priced["reject_reason"].isna()][["line", "reject_reason", "job_id"]]
        sums = ["jobs", "energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high"]
        write = estimated.to_parquet(staging, write_index=False, compute=False, schema=_arrow_schema(estimated._meta))
        import dask

        # CO2e is summed per emission-factor basis only (carbon.batch.summary).
        per_basis = (
            estimated.assign(jobs=1, basis=estimated["intensity_basis"].fillna(UNKNOWN_BASIS).astype(str))
            .groupby("basis")[sums]
            .sum()
        )
        _, rejects, by_basis, count = dask.compute(write, refused, per_basis, estimated.shape[0])
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    rejects = rejects.rename(columns={"reject_reason": "reason", "job_id": "text"}).assign(source=str(path))
    rejects["line"] = rejects["line"].astype("int64")
    return StreamResult(
        int(np.sum(lengths)),
        int(count),
        rejects[["source", "line", "reason", "text"]].reset_index(drop=True),
        basis_sums(by_basis, int(count)),
    )


def basis_sums(by_basis: Any, jobs: int) -> dict[str, Any]:
    """carbon.batch.summary.totals' shape from per-basis sums: energy over every job, CO2e per basis."""
    energy = ("energy_kwh", "energy_kwh_low", "energy_kwh_high")
    return {
        "jobs": jobs,
        **{name: float(by_basis[name].sum()) for name in energy},
        "by_basis": {
            str(basis): {name: (int(v) if name == "jobs" else float(v)) for name, v in row.items()}
            for basis, row in by_basis.sort_index().iterrows()
        },
    }
