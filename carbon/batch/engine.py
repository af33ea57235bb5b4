"""The vectorised batch engine: the offline estimate's model over a whole job table at once.

Nothing here re-derives a factor: power comes from `carbon.power.power_model` (taken at idle
and full load, the model being linear in utilisation), PUE from `carbon.pricing.pue_for` and
intensity from `carbon.pricing.intensity_for`, each asked once per distinct key and joined
back as arrays. Intensity is the job's year, or month (of its start), or, where the zone has
an hourly series covering the whole job, the series' mean over the job's own interval.

`estimate_frame` is the per-partition function: it returns every input row, estimated or
with `reject_reason` set, so the pandas and Dask engines account for rows the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbon.batch.factors import Factors, with_parts

GRANULARITIES = ("hour", "month", "year")
FAILED_STATES = ("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED")

OUTPUT_COLUMNS = (
    "line",
    "job_id",
    "user",
    "account",
    "partition",
    "project",
    "state",
    "region",
    "zone",
    "hardware",
    "hardware_used",
    "hardware_method",
    "start",
    "end",
    "start_from_submit",
    "duration_s",
    "cpus",
    "cpu_util",
    "memory_gb",
    "memory_used_gb",
    "gpus",
    "cpu_kwh",
    "ram_kwh",
    "gpu_kwh",
    "other_kwh",
    "energy_method",
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "intensity_g_per_kwh",
    "intensity_g_per_kwh_low",
    "intensity_g_per_kwh_high",
    "intensity_granularity",
    "intensity_basis",
    "intensity_dataset",
    "pue",
    "pue_low",
    "pue_high",
    "unused_memory_co2e_kg",
    "reject_reason",
)
# Output columns that are the job table's own, unchanged in every mode: a chunked run takes
# them from the whole table instead of copying them chunk by chunk.
CARRIED_COLUMNS = (
    "line",
    "job_id",
    "user",
    "account",
    "partition",
    "project",
    "state",
    "hardware",
    "cpu_util",
    "memory_used_gb",
    "start_from_submit",
)


@dataclass(frozen=True)
class Settings:
    """What the user asked for, the same for every partition of the table."""

    region: str | None = None  # for jobs whose log names none
    granularity: str = "hour"  # finest intensity to use: hour, month or year
    what_if_region: str | None = None  # price every job in this region instead
    what_if_shift_h: float = 0.0  # price every job this many hours later


def _apply_keyed(keys: Any, compute: Any) -> tuple[Any, list]:
    """Number the distinct keys (one array, or a list of arrays read row-wise), compute once per
    distinct key; return (codes, answers) so that answers[codes] is the per-row result.

    Each column is hashed once (pd.factorize) and the codes combined arithmetically, so a
    million rows with a dozen distinct keys cost a few vectorised passes, not a groupby."""
    import numpy as np
    import pandas as pd

    columns = keys if isinstance(keys, list) else [keys]
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    space = 1
    for column in columns:
        codes, size = _codes(np.asarray(column))
        combined = combined * (size + 1) + codes
        space *= size + 1
    if len(combined) == 0:
        return combined, []
    if space <= 4 * len(combined) + 1024:
        # A dense key space (the usual: a few regions x years x kinds of hardware): number the
        # keys present by a lookup table instead of hashing every row again.
        present = np.flatnonzero(np.bincount(combined, minlength=space))
        table = np.empty(space, dtype=np.int64)
        table[present] = np.arange(len(present))
        codes = table[combined]
    else:
        codes, _ = pd.factorize(combined)
    first = np.empty(codes.max() + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # first row of each key
    answers = []
    for row in first:
        key = tuple(np.asarray(column)[row] for column in columns)
        answers.append(compute(key if isinstance(keys, list) else key[0]))
    return codes, answers


def _codes(column: Any) -> tuple[Any, int]:
    """(codes >= 0, how many) for one key column; integers in a narrow range (years, months,
    codes) are their own codes, offset, with no hashing."""
    import numpy as np
    import pandas as pd

    if column.dtype.kind in "iu" and len(column):
        low, high = int(column.min()), int(column.max())
        if high - low < 4 * len(column) + 1024:
            return column.astype(np.int64) - low, high - low + 1
    # Missing values get their own code after the others: factorize's NA sentinel is far cheaper
    # than use_na_sentinel=False, which scans an object column for NA a second time.
    codes, uniques = pd.factorize(column)
    return np.where(codes < 0, len(uniques), codes), len(uniques) + 1


def _per_key(values: list, codes: Any, dtype: Any = object) -> Any:
    """One value per distinct key -> one per row."""
    import numpy as np

    return np.array(values, dtype=dtype)[codes] if len(values) else np.empty(len(codes), dtype=dtype)


def _bounds_table(values: list, pick: Any) -> Any:
    """One row of Bounds.as_tuple() per distinct key; Fortran order keeps each bound's column contiguous."""
    import numpy as np

    table = np.array(
        [pick(v).as_tuple() if v is not None and not isinstance(v, str) else (np.nan,) * 3 for v in values], dtype=float
    ).reshape(-1, 3)
    return np.asfortranarray(table)


def _bounds_arrays(values: list, codes: Any, pick: Any) -> tuple[Any, Any, Any]:
    import numpy as np

    table = np.array(
        [pick(v).as_tuple() if v is not None and not isinstance(v, str) else (np.nan,) * 3 for v in values], dtype=float
    ).reshape(-1, 3)
    # Column by column: contiguous arrays keep the arithmetic that follows fast.
    return tuple(np.ascontiguousarray(table[:, i])[codes] for i in range(3))


def _none_if_na(value: Any) -> Any:
    import pandas as pd

    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def estimate_frame(jobs: Any, settings: Settings, factors: Factors | None = None) -> Any:
    """Price every job of a table (carbon.batch.schema) -> OUTPUT_COLUMNS, one row per job."""
    import numpy as np
    import pandas as pd

    factors = factors or Factors()
    n = len(jobs)
    reason = np.empty(n, dtype=object)  # all None
    rejected = np.zeros(n, dtype=bool)  # reason is set: kept as a mask, not re-derived from the texts

    def reject(mask: Any, text: Any) -> None:
        fresh = np.asarray(mask, dtype=bool) & ~rejected
        if fresh.any():
            reason[fresh] = text if isinstance(text, str) else np.asarray(text, dtype=object)[fresh]
            rejected[fresh] = True

    # --- where and when ------------------------------------------------------------------------
    region = jobs["region"].to_numpy(dtype=object)
    if settings.what_if_region:
        region = np.full(n, settings.what_if_region, dtype=object)
    no_region = pd.isna(region)
    if settings.region and no_region.any():
        region = np.where(no_region, settings.region, region)
        no_region = np.zeros(n, dtype=bool)
    reject(no_region, "no region: the log names none; give --region")
    if no_region.any():
        region = np.where(no_region, "", region)
    region_codes, locations = _apply_keyed(region, lambda r: factors.location(r) if r else "no region")
    location_reason = _per_key([x if isinstance(x, str) else None for x in locations], region_codes)
    reject(_per_key([isinstance(x, str) for x in locations], region_codes, bool), location_reason)
    zones = _per_key([getattr(x, "zone", None) for x in locations], region_codes)
    region_names = _per_key([getattr(x, "region", None) for x in locations], region_codes)

    shift = pd.Timedelta(hours=settings.what_if_shift_h)
    start = jobs["start"] + shift
    end = jobs["end"] + shift
    duration_s = (end - start).dt.total_seconds().to_numpy()
    reject(start.isna().to_numpy() | end.isna().to_numpy(), "malformed record: no start or end time")
    reject(duration_s < 0, "end before start")
    duration_s = np.where(duration_s >= 0, duration_s, 0.0)
    year = start.dt.year.fillna(1970).astype(int).to_numpy()
    month = start.dt.month.fillna(1).astype(int).to_numpy()

    # --- what ran ------------------------------------------------------------------------------
    hint = jobs["hardware"].to_numpy(dtype=object)
    partition = jobs["partition"].to_numpy(dtype=object)
    hw_codes, hw_found = _apply_keyed(
        [hint, partition, region_codes],
        lambda key: (
            factors.hardware(_none_if_na(key[0]), _none_if_na(key[1]), locations[key[2]])
            if not isinstance(locations[key[2]], str)
            else (None, "")
        ),
    )
    hw_vcpus = np.array([h.vcpus if h is not None and h.vcpus else np.nan for h, _ in hw_found], dtype=float)[hw_codes]
    hw_gpus = np.array([h.gpu_count if h is not None else 0 for h, _ in hw_found], dtype=float)[hw_codes]
    hw_memory = np.array([h.memory_gb if h is not None and h.memory_gb else np.nan for h, _ in hw_found], dtype=float)[
        hw_codes
    ]
    method = np.array([m or "default" for _, m in hw_found], dtype=object)[hw_codes]
    cpus = jobs["cpus"].to_numpy(dtype=float)
    vcpus = np.where(cpus > 0, cpus, hw_vcpus)
    reject(~(vcpus > 0), "unknown hardware and no CPU count: map the partition with --hardware")
    vcpus = np.where(vcpus > 0, vcpus, 1.0)
    gpus = jobs["gpus"].to_numpy(dtype=float)
    gpus = np.where(np.isnan(gpus), hw_gpus, gpus)
    memory_gb = jobs["memory_gb"].to_numpy(dtype=float)
    # Memory not stated: the job's CPU share of the machine's memory.
    memory_gb = np.where(np.isnan(memory_gb), hw_memory * np.minimum(1.0, vcpus / hw_vcpus), memory_gb)
    memory_gb = np.nan_to_num(memory_gb, nan=0.0)

    from carbon.model import Hardware

    def power_for(key: tuple) -> Any:
        found, vcpu_count, gpu_count, gpu_model = key
        hardware = hw_found[found][0] or Hardware()
        if _none_if_na(gpu_model) and not hardware.gpu_model:
            from dataclasses import replace

            hardware = replace(hardware, gpu_model=gpu_model)
        return factors.power(with_parts(hardware, float(vcpu_count), int(gpu_count)))

    pw_codes, powers = _apply_keyed([hw_codes, vcpus, gpus, jobs["gpu_model"].to_numpy(dtype=object)], power_for)
    del hw_vcpus, hw_gpus, hw_memory
    # Watts per distinct power model: (models, 3 bounds); gathered per job one bound at a time
    # below, so that a million-row array lives only while its bound is being computed.
    cpu0, cpu1, gpu0, gpu1, mem_w = (
        _bounds_table(powers, pick)
        for pick in (
            lambda p: p.cpu_idle_w,
            lambda p: p.cpu_full_w,
            lambda p: p.gpu_idle_w,
            lambda p: p.gpu_full_w,
            lambda p: p.memory_w_per_gb,
        )
    )
    default_util = np.array([p.default_cpu_util for p in powers], dtype=float)
    hardware_used = _per_key(
        [
            ((h.instance_type or h.cpu_model) if h is not None else None) or "vCPUs only (fleet average)"
            for h, _ in hw_found
        ],
        hw_codes,
    )

    # --- energy: the power model's own formulas, linear in utilisation ---------------------------
    from carbon.power import UNKNOWN_UTIL_CENTRAL, memory_power_w

    util = jobs["cpu_util"].to_numpy(dtype=float)
    known = ~np.isnan(util)
    gutil = jobs["gpu_util"].to_numpy(dtype=float)
    gknown = ~np.isnan(gutil)
    kwh_per_w = duration_s / 3600.0 / 1000.0
    measured = jobs["measured_kwh"].to_numpy(dtype=float)
    is_measured = ~np.isnan(measured)
    modelled = ~is_measured
    other_kwh = np.where(is_measured, measured, 0.0)
    it_kwh = []
    for i, (cpu_unknown, gpu_unknown) in enumerate(
        ((default_util[pw_codes], UNKNOWN_UTIL_CENTRAL), (0.0, 0.0), (1.0, 1.0))
    ):
        cpu_util, idle, full = np.where(known, util, cpu_unknown), cpu0[:, i][pw_codes], cpu1[:, i][pw_codes]
        cpu = np.where(modelled, (idle + cpu_util * (full - idle)) * kwh_per_w, 0.0)
        ram = np.where(modelled, memory_power_w(memory_gb, mem_w[:, i][pw_codes]) * kwh_per_w, 0.0)
        gpu_util, idle, full = np.where(gknown, gutil, gpu_unknown), gpu0[:, i][pw_codes], gpu1[:, i][pw_codes]
        gpu = np.where(modelled, (idle + gpu_util * (full - idle)) * kwh_per_w, 0.0)
        del cpu_util, gpu_util, idle, full
        it_kwh.append(cpu + ram + gpu + other_kwh)
        if i == 0:  # the central parts are reported; the low/high ones only make up the range
            cpu_kwh, ram_kwh, gpu_kwh = cpu, ram, gpu
        del cpu, ram, gpu

    # --- PUE and intensity ------------------------------------------------------------------------
    pue_codes, pues = _apply_keyed(
        [region_codes, year],
        lambda key: None if isinstance(locations[key[0]], str) else factors.pue(locations[key[0]], int(key[1])),
    )
    pue = _bounds_arrays(pues, pue_codes, lambda b: b)

    per_month = settings.granularity in ("hour", "month")
    int_codes, values = _apply_keyed(
        [region_codes, year, month if per_month else np.zeros(n, dtype=int)],
        lambda key: (
            None
            if isinstance(locations[key[0]], str)
            else factors.intensity(locations[key[0]], int(key[1]), int(key[2]) if per_month else None)
        ),
    )
    bad_intensity = _per_key([v if isinstance(v, str) else None for v in values], int_codes)
    reject(_per_key([isinstance(v, str) for v in values], int_codes, bool), bad_intensity)
    intensity = list(_bounds_arrays(values, int_codes, lambda v: v.intensity_g_per_kwh))
    granularity = np.array([getattr(v, "granularity", None) for v in values], dtype=object)[int_codes]
    basis = np.array([getattr(v, "basis", None) for v in values], dtype=object)[int_codes]
    dataset = np.array([v.source.dataset if hasattr(v, "source") else None for v in values], dtype=object)[int_codes]
    if settings.granularity == "hour":
        # A start that is only the submit time can be hours early: that job keeps the month's value.
        coarse = jobs["start_from_submit"].to_numpy(dtype=bool)
        _hourly(factors, locations, region_codes, start, end, intensity, granularity, basis, dataset, coarse)

    energy = [it_kwh[i] * pue[i] for i in range(3)]
    del it_kwh
    co2e = [energy[i] * intensity[i] / 1000.0 for i in range(3)]
    used = jobs["memory_used_gb"].to_numpy(dtype=float)
    unused_share = np.where(
        (memory_gb > 0) & ~np.isnan(used), np.clip(1.0 - used / np.where(memory_gb > 0, memory_gb, 1.0), 0, 1), 0.0
    )
    unused_co2e = ram_kwh * unused_share * pue[0] * intensity[0] / 1000.0

    columns = {
        **{name: _as_stored(jobs[name]) for name in CARRIED_COLUMNS},
        "region": region_names,
        "zone": zones,
        "hardware_used": hardware_used,
        "hardware_method": method,
        "start": start.array,
        "end": end.array,
        "duration_s": duration_s,
        "cpus": vcpus,
        "memory_gb": memory_gb,
        "gpus": gpus,
        "cpu_kwh": cpu_kwh,
        "ram_kwh": ram_kwh,
        "gpu_kwh": gpu_kwh,
        "other_kwh": other_kwh,
        "energy_method": _two_texts(is_measured, "measured", "modelled"),
        "energy_kwh": energy[0],
        "energy_kwh_low": energy[1],
        "energy_kwh_high": energy[2],
        "co2e_kg": co2e[0],
        "co2e_kg_low": co2e[1],
        "co2e_kg_high": co2e[2],
        "intensity_g_per_kwh": intensity[0],
        "intensity_g_per_kwh_low": intensity[1],
        "intensity_g_per_kwh_high": intensity[2],
        "intensity_granularity": granularity,
        "intensity_basis": basis,
        "intensity_dataset": dataset,
        "pue": pue[0],
        "pue_low": pue[1],
        "pue_high": pue[2],
        "unused_memory_co2e_kg": unused_co2e,
        "reject_reason": reason,
    }
    # Texts stay object arrays: letting pandas re-infer them as strings costs more than the arithmetic.
    # copy=False: pandas would otherwise copy each object array (the input's own columns among them).
    out = pd.DataFrame(
        {
            name: pd.Series(value, dtype=object, copy=False)
            if isinstance(value, np.ndarray) and value.dtype == object
            else value
            for name, value in columns.items()
        },
        columns=list(OUTPUT_COLUMNS),
        copy=False,
    )
    out["start"] = pd.to_datetime(out["start"], utc=True)
    out["end"] = pd.to_datetime(out["end"], utc=True)
    return out


def _as_stored(column: Any) -> Any:
    """The column's own values without a copy: its numpy array, or its extension array (Arrow text)."""
    import numpy as np

    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def _two_texts(mask: Any, yes: str, no: str) -> Any:
    import numpy as np

    return coded_texts(mask.astype(np.int8), [no, yes], fallback=lambda: np.where(mask, yes, no))


def coded_texts(codes: Any, texts: list[str], fallback: Any = None) -> Any:
    """texts[codes] as a column with the dtype pandas gives such text; where that is Arrow
    backed, built in Arrow from the codes (pandas would convert a million strings one by one).
    `fallback` gives the column as it was built before, for pandas without Arrow strings."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = pd.Series(np.array(texts, dtype=object)).dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return fallback() if fallback else np.array(texts, dtype=object)[codes]
    column = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(texts, type=pa.string())).cast(pa.string())
    return pd.array(column, dtype=dtype)


def _hourly(
    factors: Factors,
    locations: list,
    region_codes: Any,
    start: Any,
    end: Any,
    intensity: list,
    granularity: Any,
    basis: Any,
    dataset: Any,
    coarse: Any,
) -> None:
    """Replace, in place, each job's intensity by its hourly series' mean over [start, end)
    where the series covers the whole job: a running integral makes it two lookups per job."""
    import numpy as np
    import pandas as pd

    from carbon.provenance import describe

    epoch = pd.Timestamp(0, tz="UTC")
    for code, location in enumerate(locations):
        if isinstance(location, str) or not factors.hourly_zone(location):
            continue
        series = factors.hourly(location.zone)
        if series is None:
            continue
        rows = np.flatnonzero(region_codes == code)
        s = ((start.iloc[rows] - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        e = ((end.iloc[rows] - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        ok = ~(np.isnan(s) | np.isnan(e)) & (e >= s) & ~coarse[rows]
        s, e = np.where(ok, s, 0.0), np.where(ok, e, 0.0)
        size = len(series.values)
        first_s = series.first_hour * 3600.0
        i_start = np.floor((s - first_s) / 3600.0).astype(np.int64)
        i_last = np.where(e > s, np.ceil((e - first_s) / 3600.0).astype(np.int64) - 1, i_start)
        inside = ok & (i_start >= 0) & (i_last < size)
        a, b = np.clip(i_start, 0, size - 1), np.clip(i_last, 0, size - 1)
        covered = inside & (series.missing[b + 1] - series.missing[a] == 0)

        with np.errstate(invalid="ignore", divide="ignore"):
            area = _integral(series, e) - _integral(series, s)
            mean = np.where(e > s, area / np.where(e > s, e - s, 1.0), series.values[a])
        target = rows[covered]
        for bound in intensity:
            bound[target] = mean[covered]
        granularity[target] = "hour"
        basis[target] = series.basis
        dataset[target] = describe(series.source)[0]


def _integral(series: Any, t: Any) -> Any:
    """Integral of the hourly series from its first hour to each time t (seconds since the epoch)."""
    import numpy as np

    first_s, size = series.first_hour * 3600.0, len(series.values)
    i = np.clip(np.floor((t - first_s) / 3600.0).astype(np.int64), 0, size - 1)
    return series.integral[i] + (t - (first_s + i * 3600.0)) * np.nan_to_num(series.values[i])


def split(frame: Any) -> tuple[Any, Any]:
    """(estimated jobs, rejects with line, reason) from estimate_frame's output."""
    import pandas as pd

    bad = frame["reject_reason"].notna()
    if not bad.any():
        return frame.drop(columns=["reject_reason"]), pd.DataFrame({"line": [], "reason": [], "text": []})
    rejects = pd.DataFrame(
        {
            "line": frame.loc[bad, "line"].to_numpy(),
            "reason": frame.loc[bad, "reject_reason"].to_numpy(),
            "text": frame.loc[bad, "job_id"].astype(str).to_numpy(),
        }
    )
    return frame[~bad].drop(columns=["reject_reason"]).reset_index(drop=True), rejects
