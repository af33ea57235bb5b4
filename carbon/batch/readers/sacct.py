"""Slurm `sacct --parsable2` output (pipe-separated), with or without a header line.

The field order comes from the header line, else from `fields` (what was passed to
`sacct --format`), else the layout of the AWS HPC cost simulator's `sacct` call. Job steps
(`<id>.batch`, `<id>.extern`, `<id>.0`) are folded into their job: the job line already holds
the allocation (CPUs, elapsed, energy), so steps only add what the job line lacks (peak RSS,
CPU time, energy), and a job is never counted twice.

Units, as Slurm prints them: memory suffixes K/M/G/T are binary (1G = 1024M) and taken as GB
the way cloud catalogs label GiB; `ReqMem` with `c` is per CPU, with `n` per node, `0n`/`0c`
means "all of the node's memory" (unknown here: the hardware's memory is used), and no suffix
(Slurm >= 21.08) is the job's total. Times are read as UTC: run `sacct` with `TZ=UTC`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from carbon.batch.schema import ReadResult, conform, empty_rejects, rejects_frame

# The order hpc-cost-simulator passes to `sacct --format`; Partition is absent on older lines.
DEFAULT_FIELDS = (
    "State", "JobID", "ReqCPUS", "ReqMem", "ReqNodes", "Constraints", "Submit", "Eligible", "Start", "Elapsed",
    "Suspended", "End", "ExitCode", "DerivedExitCode", "AllocNodes", "NCPUS", "MaxDiskRead", "MaxDiskWrite",
    "MaxPages", "MaxRSS", "MaxVMSize", "CPUTime", "UserCPU", "SystemCPU", "TotalCPU", "Partition",
)
_DEFAULT_MIN_FIELDS = 25

_UNIT_GB = {"": 1.0 / 1024.0, "K": 1.0 / 1024.0**2, "M": 1.0 / 1024.0, "G": 1.0, "T": 1024.0, "P": 1024.0**2}
_DURATION = r"^(?:(?P<d>\d+)-)?(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)$"
_MEMORY = r"^(?P<v>\d+(?:\.\d+)?)(?P<u>[KMGTP]?)(?P<per>[cn]?)$"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_NOT_A_TIME = {"", "Unknown", "None", "N/A"}


def parse_duration_s(values: Any) -> Any:
    """Slurm durations ("D-HH:MM:SS", "HH:MM:SS", "MM:SS.mmm") -> seconds; anything else NaN."""
    import pandas as pd

    parts = pd.Series(values, dtype=object).str.extract(_DURATION)
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    return (numbers["d"].fillna(0) * 86400 + numbers["h"].fillna(0) * 3600 + numbers["m"] * 60 + numbers["s"]).to_numpy()


def parse_memory_gb(values: Any) -> tuple[Any, Any]:
    """Slurm sizes ("100M", "4Gc", "0n", "114944K") -> (GB, per: "c", "n" or "")."""
    import pandas as pd

    parts = pd.Series(values, dtype=object).str.extract(_MEMORY)
    value = pd.to_numeric(parts["v"], errors="coerce")
    scale = parts["u"].map(_UNIT_GB).astype(float)
    # An unsuffixed size in sacct is in megabytes for ReqMem and bytes for RSS... except it is
    # never unsuffixed for RSS in practice; treat a bare number as MB, Slurm's default unit.
    scale = scale.where(parts["u"] != "", 1.0 / 1024.0)
    return (value * scale).to_numpy(), parts["per"].fillna("").to_numpy()


def parse_gpus(tres: Any) -> tuple[Any, Any]:
    """AllocTRES "...,gres/gpu=4" or "gres/gpu:a100=4" -> (count, model or None)."""
    import pandas as pd

    text = pd.Series(tres, dtype=object).fillna("")
    total = pd.to_numeric(text.str.extract(r"gres/gpu=(\d+)")[0], errors="coerce")
    typed = text.str.extract(r"gres/gpu:([^=,]+)=(\d+)")
    count = total.fillna(pd.to_numeric(typed[1], errors="coerce"))
    return count.to_numpy(dtype=float), typed[0].where(typed[0].notna(), None).to_numpy(dtype=object)


def _times(values: Any) -> Any:
    import pandas as pd

    return pd.to_datetime(pd.Series(values, dtype=object), format=_TIME_FORMAT, errors="coerce", utc=True)


def _split_lines(text: str, fields: Sequence[str] | None) -> tuple[list[str], list[int], list[str], list[tuple[int, str, str]], int]:
    """Data lines (with their 1-based numbers) and the field names; bad lines go to rejects."""
    lines = text.split("\n")
    names: list[str] | None = list(fields) if fields else None
    min_fields = len(names) if names else _DEFAULT_MIN_FIELDS
    kept: list[str] = []
    numbers: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        if names is None and not kept and not rejects and "jobid" in line.lower().split("|"):
            names, min_fields = line.split("|"), len(line.split("|"))
            continue
        count = line.count("|") + 1
        width = len(names) if names else len(DEFAULT_FIELDS)
        if count < min_fields or count > width:
            rejects.append((number, f"malformed line: {count} fields, expected {width}", line))
            continue
        if count < width:
            line += "|" * (width - count)
        kept.append(line)
        numbers.append(number)
    return kept, numbers, names or list(DEFAULT_FIELDS), rejects, len(lines)


def read_sacct(path: str | Path, fields: Sequence[str] | None = None, text: str | None = None) -> ReadResult:
    """Read one sacct output file into the job table (see carbon.batch.schema)."""
    import numpy as np
    import pandas as pd

    if text is None:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    kept, numbers, names, bad, _ = _split_lines(text, fields)
    if not kept:
        return ReadResult(conform(pd.DataFrame()), rejects_frame(*zip(*bad)) if bad else empty_rejects(), str(path))
    raw = pd.read_csv(io.StringIO("\n".join(kept)), sep="|", header=None, names=names, dtype=str,
                      keep_default_na=False, quoting=3, engine="c")
    raw.columns = [c.strip() for c in raw.columns]
    raw["_line"] = np.asarray(numbers, dtype=np.int64)
    raw["_text"] = kept
    rejected = [pd.DataFrame(bad, columns=["line", "reason", "text"])] if bad else []
    if "JobID" not in raw:
        raise ValueError(f"{path}: no JobID field (give --fields as passed to sacct --format)")

    job_id = raw["JobID"].str.strip()
    key = job_id.str.split(".", n=1).str[0]
    is_step = job_id.str.contains(".", regex=False)
    bad_id = key.eq("")
    if bad_id.any():
        rejected.append(rejects_frame(raw.loc[bad_id, "_line"], "malformed line: empty JobID", raw.loc[bad_id, "_text"]))

    jobs = raw[~is_step & ~bad_id].copy()
    jobs["_key"] = key[jobs.index]
    steps = raw[is_step & ~bad_id].copy()
    steps["_key"] = key[steps.index]
    orphan = ~steps["_key"].isin(jobs["_key"])
    if orphan.any():
        rejected.append(rejects_frame(steps.loc[orphan, "_line"], "job step without its job line",
                                      steps.loc[orphan, "_text"]))
    steps = steps[~orphan]

    def column(frame: Any, name: str) -> Any:
        return frame[name] if name in frame else pd.Series([""] * len(frame), index=frame.index, dtype=object)

    # Steps add what the job line lacks: peak memory, CPU time, measured energy.
    folded = pd.DataFrame({"_key": steps["_key"].to_numpy()})
    folded["rss_gb"] = parse_memory_gb(column(steps, "MaxRSS"))[0]
    folded["cpu_s"] = parse_duration_s(column(steps, "TotalCPU"))
    folded["energy_j"] = pd.to_numeric(column(steps, "ConsumedEnergyRaw"), errors="coerce").to_numpy()
    by_job = folded.groupby("_key", sort=False).agg(rss_gb=("rss_gb", "max"), cpu_s=("cpu_s", "sum"),
                                                   energy_j=("energy_j", "max"))
    by_job["cpu_s"] = by_job["cpu_s"].where(by_job["cpu_s"] > 0)

    start = _times(column(jobs, "Start"))
    end = _times(column(jobs, "End"))
    elapsed_s = parse_duration_s(column(jobs, "Elapsed"))
    state_text = column(jobs, "State").str.strip()
    state = state_text.str.split(" ", n=1).str[0].str.upper()
    # A running job has no end yet: it has used start + elapsed so far.
    end = end.where(end.notna(), start + pd.to_timedelta(elapsed_s, unit="s"))
    start_text = column(jobs, "Start").str.strip()
    never = start.isna() & start_text.isin(_NOT_A_TIME)
    unreadable = start.isna() & ~never
    for mask, reason in ((never, "job never started"), (unreadable, "malformed line: cannot read Start")):
        if mask.any():
            rejected.append(rejects_frame(jobs.loc[mask, "_line"], reason, jobs.loc[mask, "_text"]))
    ok = ~(never | unreadable)
    jobs, start, end, state = jobs[ok], start[ok], end[ok], state[ok]
    elapsed_s = elapsed_s[ok.to_numpy()]

    cpus = pd.to_numeric(column(jobs, "NCPUS"), errors="coerce")
    cpus = cpus.where(cpus > 0, pd.to_numeric(column(jobs, "AllocCPUS"), errors="coerce"))
    cpus = cpus.where(cpus > 0, pd.to_numeric(column(jobs, "ReqCPUS"), errors="coerce"))
    nodes = pd.to_numeric(column(jobs, "AllocNodes"), errors="coerce")
    nodes = nodes.where(nodes > 0, pd.to_numeric(column(jobs, "ReqNodes"), errors="coerce")).fillna(1.0)
    memory, per = parse_memory_gb(column(jobs, "ReqMem"))
    memory = np.where(per == "c", memory * cpus.to_numpy(), np.where(per == "n", memory * nodes.to_numpy(), memory))
    memory = np.where(memory > 0, memory, np.nan)  # 0n / 0c: all of the node's memory
    gpus, gpu_model = parse_gpus(column(jobs, "AllocTRES"))

    extra = by_job.reindex(jobs["_key"].to_numpy())
    cpu_s = parse_duration_s(column(jobs, "TotalCPU"))
    step_cpu_s = extra["cpu_s"].to_numpy(dtype=float)
    from_steps = np.isnan(cpu_s) | ((cpu_s == 0) & (np.nan_to_num(step_cpu_s) > 0))
    cpu_s = np.where(from_steps, step_cpu_s, cpu_s)
    energy_j = pd.to_numeric(column(jobs, "ConsumedEnergyRaw"), errors="coerce").to_numpy()
    energy_j = np.where(energy_j > 0, energy_j, extra["energy_j"].to_numpy())
    duration_s = (end - start).dt.total_seconds().to_numpy()
    wall_s = np.where(np.isnan(elapsed_s), duration_s, elapsed_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.clip(cpu_s / (wall_s * cpus.to_numpy()), 0.0, 1.0)
    util = np.where(wall_s > 0, util, np.nan)

    constraints = column(jobs, "Constraints").str.strip()
    if "Constraints" not in jobs and "Features" in jobs:
        constraints = jobs["Features"].str.strip()
    table = pd.DataFrame({
        "line": jobs["_line"].to_numpy(),
        "job_id": jobs["JobID"].str.strip().to_numpy(),
        "start": start.to_numpy(),
        "end": end.to_numpy(),
        "hardware": constraints.where(constraints != "", None).to_numpy(),
        "partition": column(jobs, "Partition").str.strip().replace("", None).to_numpy(),
        "cpus": cpus.to_numpy(dtype=float),
        "cpu_time_s": cpu_s,
        "cpu_util": util,
        "memory_gb": memory,
        "memory_used_gb": extra["rss_gb"].to_numpy(),
        "gpus": gpus,
        "gpu_model": gpu_model,
        "measured_kwh": np.where(energy_j > 0, energy_j / 3.6e6, np.nan),
        "state": state.to_numpy(),
        "user": column(jobs, "User").str.strip().replace("", None).to_numpy(),
        "account": column(jobs, "Account").str.strip().replace("", None).to_numpy(),
        "project": column(jobs, "WCKey").str.strip().replace("", None).to_numpy(),
    })
    table["start"] = pd.to_datetime(table["start"], utc=True)
    table["end"] = pd.to_datetime(table["end"], utc=True)
    rejects = pd.concat(rejected, ignore_index=True) if rejected else empty_rejects()
    rejects = rejects.sort_values("line", kind="stable").reset_index(drop=True)
    return ReadResult(conform(table), rejects, str(path))
