"""carbon's own run logs, re-priced: one JSON object per line.

Reads the tracker's run log (`carbon.sinks.jsonl`, schema "carbon.run/1": one record per
interval with `run_id`, `seq`, `start`, `end`, `region`, `hardware`, `breakdown`, `project`),
and also bare summaries with the keys of `carbon estimate --format json` plus `start`, `end`,
`region`. Each record is one row (an interval is priced with the intensity of its own hour).
The IT energy the run measured or modelled (the breakdown's sum, else facility energy / PUE) is
kept as measured energy; only the intensity and PUE are looked up again. A line torn by a
crash is rejected with its line number, like any malformed line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon.batch.readers.generic import json_records, normalise
from carbon.batch.schema import ReadResult


def _row(record: dict[str, Any], number: int) -> dict[str, Any]:
    breakdown = record.get("breakdown") or {}
    parts = [
        float(breakdown[k]) for k in ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh") if breakdown.get(k) is not None
    ]
    if parts:
        it_kwh = sum(parts)
    elif record.get("energy_kwh") is not None:
        it_kwh = float(record["energy_kwh"]) / float(record.get("pue") or 1.0)
    else:
        it_kwh = None
    location = record.get("location") or {}
    hardware = record.get("hardware") or {}
    return {
        "job_id": _record_id(record, number),
        "start": record.get("start"),
        "end": record.get("end"),
        "duration_s": record.get("duration_s"),
        "region": record.get("region") or location.get("region"),
        "hardware": hardware.get("instance_type"),
        "cpus": hardware.get("vcpus"),
        "memory_gb": hardware.get("memory_gb"),
        "gpus": hardware.get("gpu_count"),
        "gpu_model": hardware.get("gpu_model"),
        "measured_kwh": it_kwh,
        "state": record.get("state") or "COMPLETED",
        "user": record.get("user"),
        "project": record.get("project"),
        "account": record.get("experiment"),
        "partition": record.get("task"),
    }


def _record_id(record: dict[str, Any], number: int) -> str:
    run = record.get("run_id") or record.get("job_id")
    if run is None:
        return str(number)
    return f"{run}#{record['seq']}" if record.get("seq") is not None else str(run)


def read_runs(path: str | Path) -> ReadResult:
    import pandas as pd

    records, lines, bad = json_records(path)
    frame = pd.DataFrame([_row(r, n) for r, n in zip(records, lines)])
    if frame.empty:
        frame = pd.DataFrame({"job_id": [], "start": [], "end": []})
    jobs, rejects = normalise(frame, lines)
    if bad:
        rejects = pd.concat([rejects, pd.DataFrame(bad, columns=list(rejects.columns))], ignore_index=True)
    return ReadResult(jobs, rejects.sort_values("line", kind="stable").reset_index(drop=True), str(path))
