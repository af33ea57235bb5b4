"""carbon's own run logs, re-priced: one JSON object per line.

Until `carbon.sinks` defines the per-run JSON-lines format, this reads the keys that
`carbon estimate --format json` writes (`energy_kwh`, `pue`, `breakdown`, `location`, `hardware`,
`duration_s`) plus `start`, `end`, `region` and an optional `run_id`. The IT energy the run
measured or modelled (the breakdown's sum, else facility energy / PUE) is kept as measured
energy, and only the intensity and PUE are looked up again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon.batch.readers.generic import json_records, normalise
from carbon.batch.schema import ReadResult


def _row(record: dict[str, Any], number: int) -> dict[str, Any]:
    breakdown = record.get("breakdown") or {}
    parts = [breakdown.get(k) for k in ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh") if breakdown.get(k) is not None]
    if parts:
        it_kwh = float(sum(parts))
    elif record.get("energy_kwh") is not None:
        it_kwh = float(record["energy_kwh"]) / float(record.get("pue") or 1.0)
    else:
        it_kwh = None
    location = record.get("location") or {}
    hardware = record.get("hardware") or {}
    return {
        "job_id": str(record.get("run_id") or record.get("job_id") or number),
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
    }


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
