"""The generic job schema, for any scheduler or cloud export: CSV, Parquet or JSON lines.

Columns are the job table's own names (carbon.batch.schema.JOB_COLUMNS; README "Batch"):
`job_id, start, end` (ISO 8601; or `duration_s` instead of `end`), `region`, `hardware`
(or `instance_type`), `partition`, `cpus`, `cpu_util` (or `cpu_time_s`), `memory_gb`,
`memory_used_gb`, `gpus`, `gpu_model`, `gpu_util`, `measured_kwh`, `state`, `user`,
`account`, `project`. Unknown columns are ignored; missing ones are unknown.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from carbon.batch.schema import (
    JOB_COLUMNS,
    ReadResult,
    conform,
    empty_rejects,
    rejects_frame,
)

ALIASES = {"instance_type": "hardware", "jobid": "job_id", "id": "job_id", "queue": "partition"}


def normalise(frame: Any, lines: Any) -> tuple[Any, Any]:
    """Generic columns -> the job table; rows whose times cannot be read are rejected."""
    import numpy as np
    import pandas as pd

    frame = frame.rename(
        columns={c: ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns}
    )
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame["line"] = np.asarray(lines, dtype=np.int64)
    raw_start = frame["start"] if "start" in frame else pd.Series([None] * len(frame), index=frame.index)
    start = pd.to_datetime(raw_start, utc=True, errors="coerce", format="ISO8601")
    if "end" in frame:
        end = pd.to_datetime(frame["end"], utc=True, errors="coerce", format="ISO8601")
    else:
        end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if "duration_s" in frame:
        duration = pd.to_numeric(frame["duration_s"], errors="coerce")
        end = end.where(end.notna(), start + pd.to_timedelta(duration, unit="s"))
    frame["start"], frame["end"] = start, end
    if "cpu_util" not in frame and "cpu_time_s" in frame and "cpus" in frame:
        wall = (end - start).dt.total_seconds() * pd.to_numeric(frame["cpus"], errors="coerce")
        frame["cpu_util"] = (pd.to_numeric(frame["cpu_time_s"], errors="coerce") / wall.where(wall > 0)).clip(0, 1)
    if "job_id" not in frame:
        frame["job_id"] = frame["line"].astype(str)
    bad = start.isna() | end.isna()
    if not bad.any():  # the usual case: no filtered copy of the whole table
        return conform(frame), empty_rejects()
    shown = frame.loc[bad].drop(columns=["line"])
    texts = [",".join("" if pd.isna(v) else str(v) for v in row) for row in shown.itertuples(index=False)]
    rejects = rejects_frame(frame.loc[bad, "line"], "malformed record: cannot read start/end", texts)
    return conform(frame[~bad]), rejects


def read_csv(path: str | Path) -> ReadResult:
    import pandas as pd

    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return ReadResult(conform(pd.DataFrame()), empty_rejects(), str(path))
        rows, lines, bad = [], [], []
        width = len(header)
        previous = reader.line_num
        for row in reader:
            number = previous + 1
            previous = reader.line_num
            if not row:
                continue
            if len(row) != width:
                bad.append((number, f"malformed line: {len(row)} fields, expected {width}", ",".join(row)))
                continue
            rows.append(row)
            lines.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.replace("", None)
    jobs, rejects = normalise(frame, lines)
    if bad:
        rejects = pd.concat([rejects, pd.DataFrame(bad, columns=list(rejects.columns))], ignore_index=True)
    return ReadResult(jobs, rejects.sort_values("line", kind="stable").reset_index(drop=True), str(path))


def read_parquet(path: str | Path) -> ReadResult:
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(path)
    jobs, rejects = normalise(frame, np.arange(1, len(frame) + 1))
    return ReadResult(jobs, rejects, str(path))


def json_records(path: str | Path) -> tuple[list[dict[str, Any]], list[int], list[tuple[int, str, str]]]:
    """Objects of a JSON-lines file with their line numbers; lines that are not objects are rejects."""
    records, lines, bad = [], [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                bad.append((number, f"malformed line: {error.msg}", text))
                continue
            if not isinstance(record, dict):
                bad.append((number, "malformed line: not a JSON object", text))
                continue
            records.append(record)
            lines.append(number)
    return records, lines, bad


def read_jsonl(path: str | Path) -> ReadResult:
    import pandas as pd

    records, lines, bad = json_records(path)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({name: [] for name in JOB_COLUMNS})
    jobs, rejects = normalise(frame, lines)
    if bad:
        rejects = pd.concat([rejects, pd.DataFrame(bad, columns=list(rejects.columns))], ignore_index=True)
    return ReadResult(jobs, rejects.sort_values("line", kind="stable").reset_index(drop=True), str(path))
