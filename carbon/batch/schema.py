"""The one job table every reader produces and the engine consumes.

Readers differ only in how they fill it; the engine never looks at a source format. Each row
is one job (steps already folded in), with the line of the input it came from so that every
input record can be accounted for, estimated or rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# name -> (pandas dtype, meaning). Times are UTC; NaN / NaT / empty = unknown.
JOB_COLUMNS: dict[str, tuple[str, str]] = {
    "line": ("int64", "line (or record) number of the job in its input, 1-based"),
    "job_id": ("object", "scheduler job id (array and het-job suffixes kept); may stay Arrow text"),
    "start": ("datetime64[ns, UTC]", "when the job started"),
    "end": ("datetime64[ns, UTC]", "when it ended (running jobs: start + elapsed so far)"),
    "start_from_submit": ("bool", "the log has no start time: start is the submit time (queue wait unknown)"),
    "region": ("object", "region code (FR, US-CA, aws:us-east-1); empty: the --region default"),
    "hardware": ("object", "instance type or hardware name from the log (Slurm: Constraints)"),
    "partition": ("object", "partition / queue, mapped to hardware by the --hardware file"),
    "cpus": ("float64", "CPUs (hardware threads) allocated"),
    "cpu_time_s": ("float64", "CPU time actually used (Slurm TotalCPU)"),
    "cpu_util": ("float64", "average CPU utilisation 0..1 over the allocation"),
    "memory_gb": ("float64", "memory requested or allocated, GB"),
    "memory_whole_node": (
        "bool",
        "asked for all of a node's memory and the log gives no size (Slurm ReqMem 0n/0c, no AllocTRES mem=)",
    ),
    "memory_used_gb": ("float64", "peak memory used (largest step MaxRSS), GB"),
    "gpus": ("float64", "GPUs allocated"),
    "gpu_model": ("object", "GPU model named by the log (gres/gpu:TYPE)"),
    "gpu_util": ("float64", "average GPU utilisation 0..1"),
    "measured_kwh": ("float64", "IT energy measured by the scheduler (Slurm ConsumedEnergyRaw), kWh"),
    "state": ("object", "final state: COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, RUNNING, ..."),
    "user": ("object", "user name"),
    "account": ("object", "account / cost centre"),
    "project": ("object", "project tag (Slurm WCKey)"),
}

# Text columns the engine only carries to the output, never uses as a key: when a reader gives
# them as Arrow-backed strings they stay so, since a job id is unique per job and converting it
# would create one Python string per job (a tenth of the run's time and memory at 10 M jobs).
CARRIED_AS_READ = frozenset({"job_id"})

REJECT_COLUMNS = ("line", "reason", "text")


@dataclass(frozen=True)
class ReadResult:
    """Jobs read from one input plus the records that could not be read, and how many there were.

    `records` counts what the input held (jobs, and lines that could not be read) so that
    records == len(jobs) + len(rejects) always.
    """

    jobs: Any  # pandas.DataFrame with JOB_COLUMNS
    rejects: Any  # pandas.DataFrame with REJECT_COLUMNS
    source: str

    @property
    def records(self) -> int:
        return len(self.jobs) + len(self.rejects)


def empty_rejects() -> Any:
    import pandas as pd

    return pd.DataFrame(
        {"line": pd.Series(dtype="int64"), "reason": pd.Series(dtype="object"), "text": pd.Series(dtype="object")}
    )


def rejects_frame(lines: Any, reasons: Any, texts: Any) -> Any:
    """Rejected records; `reasons` may be one text for all of them."""
    import numpy as np
    import pandas as pd

    lines = np.asarray(lines, dtype=np.int64)
    reasons = (
        np.full(len(lines), reasons, dtype=object) if isinstance(reasons, str) else np.asarray(reasons, dtype=object)
    )
    return pd.DataFrame({"line": lines, "reason": reasons, "text": np.asarray(texts, dtype=object)})


def arrow_texts(array: Any) -> Any:
    """An Arrow string array (or chunked array) as an object array, None for null.

    A column with few distinct texts (user, region, state, partition) is converted through its
    dictionary, so that its million rows share a handful of Python strings instead of holding
    a million copies: most of a job table's memory would otherwise be those copies."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):  # one dictionary for the whole column
        array = array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    sample = array.slice(0, 4096)
    if len(array) < 4096 or pc.count_distinct(sample, mode="all").as_py() * 4 > len(sample):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
    encoded = array.dictionary_encode()
    texts = np.append(np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object), [None])
    return texts[encoded.indices.fill_null(-1).to_numpy()]  # -1: the appended None


def _arrow_strings(column: Any) -> Any:
    """The column's Arrow string array when it is Arrow-backed text, else None."""
    import pandas as pd

    if isinstance(column.dtype, (pd.StringDtype, pd.ArrowDtype)) and hasattr(column.array, "__arrow_array__"):
        import pyarrow as pa

        array = pa.array(column.array)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            return array
    return None


def _texts(column: Any) -> Any:
    """A text column as an object array with None for missing; Arrow-backed strings convert in
    one Arrow pass (nulls come out as None), which costs a third of astype(object) + where."""
    import pandas as pd

    array = _arrow_strings(column)
    if array is not None:
        return arrow_texts(array)
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def conform(frame: Any) -> Any:
    """Every JOB_COLUMNS column, in order, with its dtype (missing ones filled as unknown)."""
    import numpy as np
    import pandas as pd

    columns = {}
    n = len(frame)
    for name, (dtype, _) in JOB_COLUMNS.items():
        if name in frame:
            column = frame[name]
            if str(column.dtype) == dtype or (dtype.startswith("datetime") and str(column.dtype).endswith(", UTC]")):
                pass  # already as wanted (a Parquet log's numbers and times): converting would copy it
            elif dtype.startswith("datetime"):
                column = pd.to_datetime(column, utc=True, errors="coerce")
            elif dtype == "object" and name in CARRIED_AS_READ and _arrow_strings(column) is not None:
                pass  # kept in Arrow: see CARRIED_AS_READ
            elif dtype == "object":
                column = pd.Series(_texts(column), index=frame.index, dtype=object, copy=False)
            elif dtype == "bool":
                column = column.fillna(False).astype(bool) if column.dtype != bool else column
            else:
                column = pd.to_numeric(column, errors="coerce").astype(dtype)
        elif dtype.startswith("datetime"):
            column = pd.Series(pd.NaT, index=frame.index, dtype=dtype)
        elif dtype == "object":
            column = pd.Series([None] * n, index=frame.index, dtype=object)
        elif dtype == "bool":
            column = pd.Series(np.zeros(n, dtype=bool), index=frame.index)
        else:
            column = pd.Series(np.full(n, np.nan), index=frame.index, dtype=dtype)
        columns[name] = column
    # copy=False: columns stay separate blocks instead of being stacked into new 2-D copies.
    return pd.DataFrame(columns, index=frame.index, copy=False).reset_index(drop=True)
