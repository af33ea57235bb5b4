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

from carbon.batch.schema import JOB_COLUMNS, ReadResult, conform, empty_rejects

ALIASES = {"instance_type": "hardware", "jobid": "job_id", "id": "job_id", "queue": "partition"}


def normalise(frame: Any, lines: Any) -> tuple[Any, Any]:
    """Generic columns -> the job table, and the records rejected (carbon.batch.checks): times that
    cannot be read, numbers that are not numbers or out of range, job ids seen on an earlier line
    (per `cluster`, when the log has that column)."""
    import numpy as np
    import pandas as pd

    from carbon.batch.checks import Verdicts, check_duplicates, check_numbers, check_ranges

    frame = frame.rename(
        columns={c: ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns}
    )
    frame = frame.loc[:, ~frame.columns.duplicated()].reset_index(drop=True)
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
    shown = frame.drop(columns=["line"])  # the record as given, for the rejects' texts
    verdicts = Verdicts(len(frame))
    verdicts.add((start.isna() | end.isna()).to_numpy(), "malformed record: cannot read start/end")
    check_numbers(frame, verdicts)
    frame["start"], frame["end"] = start, end
    if "cpu_util" not in frame and "cpu_time_s" in frame and "cpus" in frame:
        wall = (end - start).dt.total_seconds() * pd.to_numeric(frame["cpus"], errors="coerce")
        frame["cpu_util"] = (pd.to_numeric(frame["cpu_time_s"], errors="coerce") / wall.where(wall > 0)).clip(0, 1)
    if "job_id" not in frame:
        frame["job_id"] = frame["line"].astype(str)
    jobs = conform(frame)
    check_ranges(jobs, verdicts)
    check_duplicates(jobs["job_id"], jobs["line"], verdicts, frame["cluster"] if "cluster" in frame else None)
    if not verdicts.rejected.any():  # the usual case: no filtered copy of the whole table
        return jobs, empty_rejects()
    rejects = verdicts.frame(jobs["line"].to_numpy(), lambda rows: [_record_text(shown, i) for i in rows])
    return jobs[~verdicts.rejected].reset_index(drop=True), rejects


def _record_text(frame: Any, row: int) -> str:
    """One record as comma-separated values, for the rejects file (which quotes it)."""
    from carbon.batch.checks import is_missing

    return ",".join("" if is_missing(v) else str(v) for v in frame.iloc[row].tolist())


def read_csv(path: str | Path) -> ReadResult:
    """A CSV job log. A line the csv module cannot read (a field over its 131,072-character limit, a
    NUL byte) or with the wrong number of fields is a reject with its number; bytes that are not
    UTF-8 are replaced, so one bad byte costs that field, not the file."""
    import pandas as pd

    # Lines end at "\n" only (as `wc -l` and editors count them): a bare CR inside a field is text.
    with open(path, newline="\n", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = _next_row(reader)
        if not isinstance(header, list):
            return ReadResult(conform(pd.DataFrame()), empty_rejects(), str(path))
        rows, lines, bad = [], [], []
        width = len(header)
        previous = reader.line_num
        while (row := _next_row(reader)) is not None:
            number = previous + 1
            previous = reader.line_num
            if isinstance(row, csv.Error):
                bad.append((number, f"malformed line: {row}", ""))
                continue
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
    return ReadResult(jobs, with_unreadable(rejects, bad), str(path))


def _next_row(reader: Any) -> list[str] | csv.Error | None:
    """The next row, the csv.Error that line raised (reading goes on after it), or None at the end."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        return error


def with_unreadable(rejects: Any, bad: list[tuple[int, str, str]]) -> Any:
    """The checks' rejects and the lines that could not be split, in line order, lines as integers."""
    import pandas as pd

    if bad:
        rejects = pd.concat([rejects, pd.DataFrame(bad, columns=list(rejects.columns))], ignore_index=True)
    rejects["line"] = rejects["line"].astype("int64")
    return rejects.sort_values("line", kind="stable").reset_index(drop=True)


def read_parquet(path: str | Path) -> ReadResult:
    import numpy as np
    import pandas as pd

    try:
        # One block per column: the job table's columns are then freed one by one as they are
        # priced, and a column the results carry (memory_used_gb) does not keep every other
        # number column alive in one shared 2-D block (64 MB at a million jobs).
        frame = pd.read_parquet(path, to_pandas_kwargs={"split_blocks": True})
    except TypeError:  # pandas before 3.0 has no to_pandas_kwargs
        frame = pd.read_parquet(path)
    jobs, rejects = normalise(frame, np.arange(1, len(frame) + 1))
    return ReadResult(jobs, rejects, str(path))


def json_records(path: str | Path) -> tuple[list[dict[str, Any]], list[int], list[tuple[int, str, str]]]:
    """Objects of a JSON-lines file with their line numbers; lines that are not objects are rejects."""
    records, lines, bad = [], [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
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
    return ReadResult(jobs, with_unreadable(rejects, bad), str(path))
