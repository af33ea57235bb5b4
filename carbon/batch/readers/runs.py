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

from carbon.batch.readers.generic import json_records, normalise, with_unreadable
from carbon.batch.schema import ReadResult


def _row(record: dict[str, Any], number: int) -> dict[str, Any]:
    breakdown = _mapping(record.get("breakdown"))
    location = _mapping(record.get("location"))
    hardware = _mapping(record.get("hardware"))
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
        "measured_kwh": _it_kwh(record, breakdown),
        "state": record.get("state") or "COMPLETED",
        "user": record.get("user"),
        "project": record.get("project"),
        "account": record.get("experiment"),
        "partition": record.get("task"),
    }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _it_kwh(record: dict[str, Any], breakdown: dict[str, Any]) -> Any:
    """IT energy: the breakdown's sum, else facility energy / PUE. A value that is not a number is
    handed on as written, so that the checks reject the record saying which (not a crash here)."""
    parts = [breakdown[k] for k in ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh") if breakdown.get(k) is not None]
    try:
        if parts:
            return float(sum(float(p) for p in parts))
        if record.get("energy_kwh") is not None:
            pue = float(record.get("pue") or 1.0)
            return float(record["energy_kwh"]) / pue if pue > 0 else f"energy_kwh with PUE {pue:g}"
    except (TypeError, ValueError):
        return str(parts or record.get("energy_kwh"))
    return None


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
    return ReadResult(jobs, with_unreadable(rejects, bad), str(path))
