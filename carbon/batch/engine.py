"""The vectorised batch engine: the offline estimate's model over a whole job table at once.

Nothing here re-derives a factor or repeats a formula: each distinct job shape gets its
`carbon.power.PowerModel`, whose own methods price all of that shape's jobs in one array call;
PUE comes from `carbon.pricing.pue_for`, intensity from `carbon.pricing.intensity_for` (asked
once per distinct key and joined back as arrays), and CO2e from the estimate's own
`facility_energy_kwh` and `co2e_kg`. Intensity is the job's year, or month (of its start), or,
where the zone has an hourly series covering the whole job, the series' mean over the job.

`estimate_frame` is the per-partition function, a sequence of named steps: it returns every
input row, estimated or with `reject_reason` set, so the pandas and Dask engines account for
rows the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbon.batch.columns import Coded
from carbon.batch.factors import Factors
from carbon.batch.memory import release_freed_memory

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
# Input columns the energy step is the last to read (besides the carried ones).
_ENERGY_INPUTS = ("start", "end", "cpu_util", "cpu_time_s", "measured_kwh", "gpu_util")
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


def _apply_keyed(keys: Any, compute: Any) -> tuple[Any, list[Any]]:
    """Number the distinct keys (one column, or a list of columns read row-wise), compute once per
    distinct key; return (codes, answers) so that answers[codes] is the per-row result. A column is
    an array or a Coded text column (its value None where missing).

    Each column is numbered once (_codes) and the codes combined arithmetically, so a million rows
    with a dozen distinct keys cost a few vectorised passes, not a groupby."""
    import numpy as np

    columns = keys if isinstance(keys, list) else [keys]
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    space = 1
    for column in columns:
        codes, size = _codes(column)
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
        _, codes = np.unique(combined, return_inverse=True)
        codes = codes.reshape(-1)
    first = np.empty(codes.max() + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # first row of each key
    # Keys numbered in the order they first appear (as a hash pass numbers them), whatever their values.
    by_row = np.argsort(first)
    if (by_row != np.arange(len(first))).any():
        rank = np.empty_like(by_row)
        rank[by_row] = np.arange(len(by_row))
        codes, first = rank[codes], first[by_row]
    # Each column's values at those rows, taken at once (Python values, as compute gets them).
    values = zip(*(_values_at(column, first) for column in columns))
    answers = [compute(key if isinstance(keys, list) else key[0]) for key in values]
    return codes, answers


def _values_at(column: Any, rows: Any) -> list[Any]:
    if isinstance(column, Coded):
        texts = [*column.texts, None]  # code -1: None
        return [texts[code] for code in column.codes[rows].tolist()]
    return column[rows].tolist()


def _codes(column: Any) -> tuple[Any, int]:
    """(codes >= 0, how many) for one key column. Coded texts are their own codes (missing: one
    more); integers in a narrow range (years, months, codes), and whole numbers stored as floats
    (CPU and GPU counts), are their own codes, offset, with no hashing."""
    import numpy as np

    if isinstance(column, Coded):
        return np.where(column.codes < 0, len(column.texts), column.codes), len(column.texts) + 1
    if column.dtype == object:
        return _codes(_coded_values(column))
    if column.dtype.kind == "f" and len(column):
        with np.errstate(invalid="ignore"):
            whole = column.astype(np.int64)
        if np.array_equal(whole, column):  # no NaN, no fraction
            return _codes(whole)
    if column.dtype.kind in "iu" and len(column):
        low, high = int(column.min()), int(column.max())
        if high - low < 4 * len(column) + 1024:
            return column.astype(np.int64) - low, high - low + 1
    uniques, codes = np.unique(column, return_inverse=True)  # NaNs share one code
    return codes.reshape(-1), len(uniques)


def _coded_values(values: Any) -> Coded:
    """An object array of texts (None, NaN: missing) numbered by one hash pass."""
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return Coded.from_keys(codes, [*uniques.tolist(), None])


def _coded(jobs: Any, name: str) -> Coded:
    """A text column of the job table (Coded, or a pandas column of texts) as Coded."""
    column = jobs[name]
    return column if isinstance(column, Coded) else _coded_values(column.to_numpy(dtype=object))


def _per_key(values: list[Any], codes: Any, dtype: Any = object) -> Any:
    """One value per distinct key -> one per row."""
    import numpy as np

    return np.array(values, dtype=dtype)[codes] if len(values) else np.empty(len(codes), dtype=dtype)


def _texts_per_key(texts: list[Any], codes: Any) -> Coded:
    """One text (or None) per distinct key -> an output text column, kept as codes (see
    carbon.batch.columns): building a million strings cost more than all the arithmetic."""
    return Coded.from_keys(codes, texts)


def _bounds_arrays(values: list[Any], codes: Any, pick: Any) -> tuple[Any, Any, Any]:
    """One Bounds per distinct key (or a reason text) -> (central, low, high) per row, NaN for texts."""
    import numpy as np

    table = np.array(
        [pick(v).as_tuple() if v is not None and not isinstance(v, str) else (np.nan,) * 3 for v in values], dtype=float
    ).reshape(-1, 3)
    # Column by column: contiguous arrays keep the arithmetic that follows fast.
    return tuple(np.ascontiguousarray(table[:, i])[codes] for i in range(3))


class _Rejects:
    """Each row's first reject reason; `mask` says which rows have one (kept, not re-derived)."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.reason = np.empty(n, dtype=object)  # all None
        self.mask = np.zeros(n, dtype=bool)

    def add(self, mask: Any, text: Any) -> None:
        """Reject the rows of `mask` not rejected yet, with one text or a text per row."""
        import numpy as np

        fresh = np.asarray(mask, dtype=bool) & ~self.mask
        if fresh.any():
            self.reason[fresh] = text if isinstance(text, str) else np.asarray(text, dtype=object)[fresh]
            self.mask[fresh] = True


@dataclass
class _Where:
    codes: Any  # per row: index into `locations`
    locations: list[Any]  # Location, or the reason the region cannot be used

    @property
    def names(self) -> Any:
        """Each row's region code, None where the region cannot be used."""
        return _per_key(self._per_location("region"), self.codes)

    @property
    def zones(self) -> Any:
        """Each row's grid zone, None where the region cannot be used."""
        return _per_key(self._per_location("zone"), self.codes)

    def output_column(self, attribute: str) -> Any:
        """names or zones as an output text column (see _texts_per_key)."""
        return _texts_per_key(self._per_location(attribute), self.codes)

    def _per_location(self, attribute: str) -> list[Any]:
        return [getattr(x, attribute, None) for x in self.locations]


@dataclass
class _When:
    start: Any
    end: Any
    duration_s: Any
    year: Any
    month: Any
    from_submit: Any  # per row: the start is only the submit time (hourly pricing would be too precise)


@dataclass
class _What:
    codes: Any  # per row: index into `found`
    found: list[Any]  # (Hardware or None, how it was found)
    vcpus: Any
    gpus: Any
    memory_gb: Any  # central
    model_codes: Any  # per row: index into `models`
    models: list[Any]  # carbon.power.PowerModel per distinct job shape
    memory_gb_ends: tuple[Any, ...] = ()  # (central, low, high), in carbon.power.ENDS order


@dataclass
class _Energy:
    cpu_kwh: Any  # central parts, reported; the low/high ones only make up the range
    ram_kwh: Any
    gpu_kwh: Any
    other_kwh: Any
    it_kwh: list[Any]  # central, low, high
    measured: Any
    cpu_util: Any  # known utilisation, NaN where unknown


def estimate_frame(jobs: Any, settings: Settings, factors: Factors | None = None, *, consume: bool = False) -> Any:
    """Price every job of a pandas table (carbon.batch.schema) -> a pandas table of OUTPUT_COLUMNS,
    one row per job (price_columns)."""
    return _frame(price_columns(jobs, settings, factors, consume=consume))


def price_columns(
    jobs: Any, settings: Settings, factors: Factors | None = None, *, consume: bool = False
) -> dict[str, Any]:
    """Price every job of a table (carbon.batch.schema: a pandas table, or a dict of its columns as
    numpy arrays, naive UTC times and Coded texts) -> {OUTPUT_COLUMNS name: column}, texts Coded.

    Named steps, each with its own tests: where (region -> Location), when (times), what
    (hardware -> carbon.power.PowerModel), energy (the model's own methods over the jobs' arrays),
    PUE and intensity (carbon.pricing's lookups, once per distinct key), then CO2e with the
    estimate's own `facility_energy_kwh` and `co2e_kg`.

    `consume`: the caller hands the table over. Each input column is dropped from it once the
    steps are done with it, and each intermediate array once used, so that a million-job table's
    inputs (~100 MB) are freed while its results (~450 MB) are built; the table keeps only
    CARRIED_COLUMNS afterwards."""
    from carbon.pricing import co2e_kg, facility_energy_kwh

    def done_with(*names: str) -> None:
        if consume:
            for name in names:  # a dict's entry or a pandas column, deleted in place
                if name in jobs:
                    del jobs[name]
            # What the steps so far freed (~150 MB at a million jobs) is held by the C heap, where
            # the output texts, built in Arrow's own pool, could never reuse it (carbon.batch.memory).
            release_freed_memory()

    factors = factors or Factors()
    rejects = _Rejects(len(jobs["line"]))
    where = locate(jobs, settings, factors, rejects)
    done_with("region")
    when = timing(jobs, settings, rejects)
    what = hardware(jobs, factors, where, rejects)
    done_with("cpus", "gpus", "memory_gb", "memory_whole_node", "gpu_model")
    energy = modelled_energy(jobs, what, when.duration_s)
    done_with(*_ENERGY_INPUTS)
    what.model_codes, what.memory_gb_ends = None, ()  # the energy step's alone
    pue = pue_arrays(factors, where, when.year)
    intensity = intensity_arrays(factors, settings, where, when, rejects)
    when.year = when.month = None  # the keys' alone
    facility, co2e = [], []
    for i in range(3):  # each end's IT energy dropped once its facility energy is known
        facility.append(facility_energy_kwh(energy.it_kwh[i], pue[i]))
        energy.it_kwh[i] = None
        co2e.append(co2e_kg(facility[i], intensity["bounds"][i]))
    unused_co2e = co2e_kg(
        facility_energy_kwh(energy.ram_kwh * unused_memory_share(jobs, what.memory_gb), pue[0]),
        intensity["bounds"][0],
    )
    columns = {
        **{name: _as_stored(jobs[name]) for name in CARRIED_COLUMNS},
        "region": where.output_column("region"),
        "zone": where.output_column("zone"),
        "hardware_used": _texts_per_key([_hardware_label(h) for h, _ in what.found], what.codes),
        "hardware_method": _texts_per_key([m or "default" for _, m in what.found], what.codes),
        "start": _as_stored(when.start),
        "end": _as_stored(when.end),
        "duration_s": when.duration_s,
        "cpus": what.vcpus,
        "cpu_util": energy.cpu_util,
        "memory_gb": what.memory_gb,
        "gpus": what.gpus,
        "cpu_kwh": energy.cpu_kwh,
        "ram_kwh": energy.ram_kwh,
        "gpu_kwh": energy.gpu_kwh,
        "other_kwh": energy.other_kwh,
        "energy_method": _two_texts(energy.measured, "measured", "modelled"),
        **_ranged("energy_kwh", facility),
        **_ranged("co2e_kg", co2e),
        **_ranged("intensity_g_per_kwh", intensity["bounds"]),
        "intensity_granularity": intensity["granularity"],
        "intensity_basis": intensity["basis"],
        "intensity_dataset": intensity["dataset"],
        **_ranged("pue", pue),
        "unused_memory_co2e_kg": unused_co2e,
        "reject_reason": rejects.reason,
    }
    return columns


def _ranged(name: str, bounds: list[Any]) -> dict[str, Any]:
    return {name: bounds[0], f"{name}_low": bounds[1], f"{name}_high": bounds[2]}


def _hardware_label(hardware: Any) -> str:
    return ((hardware.instance_type or hardware.cpu_model) if hardware is not None else None) or (
        "vCPUs only (fleet average)"
    )


def locate(jobs: Any, settings: Settings, factors: Factors, rejects: _Rejects) -> _Where:
    """Each job's region (the what-if region, else the log's, else --region) -> Location."""
    import numpy as np

    n = len(rejects.mask)
    region = _coded(jobs, "region")
    if settings.what_if_region:
        region = Coded(np.zeros(n, dtype=np.int32), [settings.what_if_region])
    no_region = region.codes < 0
    if settings.region and no_region.any():
        region = _filled(region, settings.region)
        no_region = np.zeros(n, dtype=bool)
    rejects.add(no_region, "no region: the log names none; give --region")
    codes, locations = _apply_keyed(region, lambda r: factors.location(r) if r else "no region")
    reasons = _per_key([x if isinstance(x, str) else None for x in locations], codes)
    rejects.add(_per_key([isinstance(x, str) for x in locations], codes, bool), reasons)
    return _Where(codes, locations)


def _filled(column: Coded, text: str) -> Coded:
    """The column with `text` where it has none."""
    import numpy as np

    code = column.code_of(text)
    texts = column.texts if code >= 0 else [*column.texts, text]
    return Coded(np.where(column.codes < 0, texts.index(text), column.codes).astype(np.int32), texts)


def _times(jobs: Any, name: str) -> Any:
    """A time column of the job table as naive UTC datetime64 (see _datetime64)."""
    return _datetime64(jobs[name])


def _datetime64(times: Any) -> Any:
    """Naive UTC datetime64 in the times' own unit: as they are, or a pandas UTC column converted
    (no copy)."""
    import numpy as np

    if isinstance(times, np.ndarray):
        return times
    return times.to_numpy(dtype=f"datetime64[{times.dtype.unit}]")


def _seconds(times: Any) -> Any:
    """Seconds since the epoch (float, NaN for NaT) of naive UTC datetime64 or a pandas UTC column."""
    import numpy as np

    return (_datetime64(times) - np.datetime64(0, "s")) / np.timedelta64(1, "s")


def timing(jobs: Any, settings: Settings, rejects: _Rejects) -> _When:
    """Start and end (shifted for a what-if), duration, and the year and month of the start. Times
    come back as the table holds them: numpy arrays, or pandas UTC columns."""
    import numpy as np

    start, end = _times(jobs, "start"), _times(jobs, "end")
    if settings.what_if_shift_h:  # in the times' own unit: nanoseconds would overflow before 1678
        unit: Any = np.datetime_data(start.dtype)[0]  # (a unit code the stubs cannot know)
        per_hour = np.timedelta64(1, "h") / np.timedelta64(1, unit)
        shift = np.timedelta64(round(settings.what_if_shift_h * per_hour), unit)
        start, end = start + shift, end + shift
    missing = np.isnat(start) | np.isnat(end)
    duration_s = (end - start) / np.timedelta64(1, "s")
    rejects.add(missing, "malformed record: no start or end time")
    rejects.add(duration_s < 0, "end before start")
    duration_s = np.where(duration_s >= 0, duration_s, 0.0)
    year, month = civil_year_month(start)
    year, month = np.where(missing, 1970, year), np.where(missing, 1, month)
    from_submit = np.asarray(jobs["start_from_submit"], dtype=bool)
    if not isinstance(jobs["start"], np.ndarray):  # a pandas table: its kind of column back
        import pandas as pd

        start, end = (pd.Series(t, index=jobs.index, copy=False).dt.tz_localize("UTC") for t in (start, end))
    return _When(start, end, duration_s, year, month, from_submit)


def civil_year_month(times: Any) -> tuple[Any, Any]:
    """(year, month) of each naive UTC datetime64 (garbage for NaT), in integer arithmetic: H.
    Hinnant's days-to-civil algorithm. numpy's own conversion to months or years goes through a
    calendar struct per value, ten times slower (a tenth of a Parquet run's pricing)."""
    import numpy as np

    unit: Any = np.datetime_data(times.dtype)[0]  # (a unit code the stubs cannot know)
    per_day = int(np.timedelta64(1, "D") / np.timedelta64(1, unit))
    days = np.floor_divide(times.view(np.int64), per_day)
    era, doe = np.divmod(days + 719_468, 146_097)  # 400-year eras from 0000-03-01; day of the era
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365  # year of the era
    mp = (5 * (doe - (365 * yoe + yoe // 4 - yoe // 100)) + 2) // 153  # month from March, 0..11
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month


def hardware(jobs: Any, factors: Factors, where: _Where, rejects: _Rejects) -> _What:
    """What ran: the log's hint or partition through the hardware map or catalog; the job's own
    CPU and GPU counts; memory as stated, else its CPU share of the machine's; one
    carbon.power.PowerModel per distinct (hardware, CPUs, GPUs, GPU model)."""
    import numpy as np

    locations = where.locations
    codes, found = _apply_keyed(
        [_coded(jobs, "hardware"), _coded(jobs, "partition"), where.codes],
        lambda key: (
            factors.hardware(key[0], key[1], locations[key[2]])
            if not isinstance(locations[key[2]], str)
            else (None, "")
        ),
    )
    hw_vcpus = _per_key([h.vcpus if h is not None and h.vcpus else np.nan for h, _ in found], codes, float)
    hw_memory = _per_key([h.memory_gb if h is not None and h.memory_gb else np.nan for h, _ in found], codes, float)
    cpus = np.asarray(jobs["cpus"], dtype=float)
    vcpus = np.where(cpus > 0, cpus, hw_vcpus)
    rejects.add(~(vcpus > 0), "unknown hardware and no CPU count: map the partition with --hardware")
    vcpus = np.where(vcpus > 0, vcpus, 1.0)
    gpus = np.asarray(jobs["gpus"], dtype=float)
    gpus = np.where(
        np.isnan(gpus), _per_key([h.gpu_count if h is not None else 0 for h, _ in found], codes, float), gpus
    )
    memory_gb = np.asarray(jobs["memory_gb"], dtype=float)
    memory_gb = np.where(np.isnan(memory_gb), hw_memory * np.minimum(1.0, vcpus / hw_vcpus), memory_gb)
    memory_ends = _memory_ends(np.nan_to_num(memory_gb, nan=0.0), vcpus, whole_node_unknown(jobs, memory_gb))

    def model_for(key: tuple[Any, ...]) -> Any:
        index, vcpu_count, gpu_count, gpu_model = key
        return factors.power(found[index][0], float(vcpu_count), int(gpu_count), gpu_model)

    model_codes, models = _apply_keyed([codes, vcpus, gpus, _coded(jobs, "gpu_model")], model_for)
    return _What(codes, found, vcpus, gpus, memory_ends[0], model_codes, models, memory_ends)


def whole_node_unknown(jobs: Any, memory_gb: Any) -> Any:
    """Jobs that asked for all of a node's memory where neither the log nor the hardware map says
    how much that is: their memory is unknown, not zero."""
    import numpy as np

    return np.asarray(jobs["memory_whole_node"], dtype=bool) & np.isnan(memory_gb)


def _memory_ends(memory_gb: Any, vcpus: Any, unknown: Any) -> tuple[Any, Any, Any]:
    """(central, low, high) memory per job: as given, or for unknown whole-node memory the CPUs
    times the cloud catalogs' median GB per vCPU (central), 0 (low) and their 90th percentile (high)."""
    import numpy as np

    if not unknown.any():
        return memory_gb, memory_gb, memory_gb
    from carbon.catalog import memory_gb_per_vcpu

    per_vcpu = memory_gb_per_vcpu()
    return (
        np.where(unknown, vcpus * per_vcpu.central, memory_gb),
        np.where(unknown, 0.0, memory_gb),
        np.where(unknown, vcpus * per_vcpu.high, memory_gb),
    )


def modelled_energy(jobs: Any, what: _What, duration_s: Any) -> _Energy:
    """IT energy per job: each PowerModel's own methods over its jobs' utilisations at once
    (unknown utilisation: carbon.power.util_bounds, as for one estimate); measured energy
    replaces the model where the log has it."""
    import numpy as np

    from carbon.power import ENDS, util_bounds

    util = known_cpu_util(jobs)
    measured_kwh = np.asarray(jobs["measured_kwh"], dtype=float)
    measured = ~np.isnan(measured_kwh)
    other_kwh = np.where(measured, measured_kwh, 0.0)
    # Rows sorted by power model, so that each model's jobs are one contiguous slice.
    order, runs = _runs(what.model_codes)
    any_gpu = any(model.gpu_count for model in what.models)
    cpu_util = util[order]
    gpu_util: Any = np.asarray(jobs["gpu_util"], dtype=float)[order] if any_gpu else None
    sorted_memory = {id(m): m[order] for m in what.memory_gb_ends}  # the same array thrice, mostly
    memory_ends, modelled = [sorted_memory[id(m)] for m in what.memory_gb_ends], ~measured[order]
    to_kwh = (duration_s / 3600.0 / 1000.0)[order]  # as PowerModel.energy: W x hours / 1000
    other = other_kwh[order]
    cpu_unknown = np.isnan(cpu_util)
    gpu_unknown: Any = np.isnan(gpu_util) if any_gpu else None  # read only where a model has GPUs
    parts = [np.zeros(len(order)) for _ in range(3)]  # central cpu, ram, gpu
    it_kwh = [np.empty(len(order)) for _ in ENDS]
    for first, stop in runs:
        model, rows = what.models[what.model_codes[order[first]]], slice(first, stop)
        unknown = {"cpu": util_bounds(None, model.default_cpu_util), "gpu": util_bounds(None)}
        scale = np.where(modelled[rows], to_kwh[rows], 0.0)  # measured jobs: no modelled part
        any_unknown = cpu_unknown[rows].any()
        for i, end in enumerate(ENDS):
            u = (
                np.where(cpu_unknown[rows], getattr(unknown["cpu"], end), cpu_util[rows])
                if any_unknown
                else cpu_util[rows]
            )
            cpu = model.cpu_power_w_at(u, end) * scale
            ram = model.ram_power_w_at(memory_ends[i][rows], end) * scale
            if model.gpu_count:  # as PowerModel.gpu_power_w: no GPU, no term
                g = np.where(gpu_unknown[rows], getattr(unknown["gpu"], end), gpu_util[rows])
                gpu = model.gpu_power_w_at(g, end) * scale
                it_kwh[i][rows] = cpu + ram + gpu + other[rows]  # Energy.it_kwh's order
                if i == 0:
                    parts[2][rows] = gpu
            else:
                it_kwh[i][rows] = cpu + ram + other[rows]
            if i == 0:
                parts[0][rows], parts[1][rows] = cpu, ram
    parts[:2] = [_unsort(a, order) for a in parts[:2]]
    parts[2] = _unsort(parts[2], order) if any_gpu else parts[2]  # no GPU: zeros in any order
    return _Energy(parts[0], parts[1], parts[2], other_kwh, [_unsort(a, order) for a in it_kwh], measured, util)


def _runs(codes: Any) -> tuple[Any, list[tuple[int, int]]]:
    """(a stable order that sorts the codes, the [first, stop) slice of each code in that order)."""
    import numpy as np

    if len(codes) == 0:
        return codes, []
    # Codes are dense (0..keys-1): in 16 bits numpy's stable sort is a radix sort (about 40x
    # faster than on 64-bit codes, measured on 300 k jobs).
    order = np.argsort(codes.astype(np.int16 if codes.max() < 2**15 else np.int64), kind="stable")
    edges = [0, *(np.flatnonzero(np.diff(codes[order])) + 1).tolist(), len(order)]
    return order, [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _unsort(values: Any, order: Any) -> Any:
    import numpy as np

    result = np.empty_like(values)
    result[order] = values
    return result


def pue_arrays(factors: Factors, where: _Where, year: Any) -> list[Any]:
    """carbon.pricing.pue_for per distinct (region, year) -> (central, low, high) per job."""
    locations = where.locations
    codes, pues = _apply_keyed(
        [where.codes, year],
        lambda key: None if isinstance(locations[key[0]], str) else factors.pue(locations[key[0]], int(key[1])),
    )
    return list(_bounds_arrays(pues, codes, lambda b: b))


def intensity_arrays(
    factors: Factors, settings: Settings, where: _Where, when: _When, rejects: _Rejects
) -> dict[str, Any]:
    """carbon.pricing.intensity_for per distinct (region, year, month), then, at hourly granularity,
    the hourly series' mean over each job where the zone has one covering it."""
    import numpy as np

    locations = where.locations
    per_month = settings.granularity in ("hour", "month")
    codes, values = _apply_keyed(
        [where.codes, when.year, when.month if per_month else np.zeros(len(when.year), dtype=int)],
        lambda key: (
            None
            if isinstance(locations[key[0]], str)
            else factors.intensity(locations[key[0]], int(key[1]), int(key[2]) if per_month else None)
        ),
    )
    bad = _per_key([v if isinstance(v, str) else None for v in values], codes)
    rejects.add(_per_key([isinstance(v, str) for v in values], codes, bool), bad)
    bounds = list(_bounds_arrays(values, codes, lambda v: v.intensity_g_per_kwh))
    texts = {
        "granularity": [getattr(v, "granularity", None) for v in values],
        "basis": [getattr(v, "basis", None) for v in values],
        "dataset": [v.source.dataset if hasattr(v, "source") else None for v in values],
    }
    if settings.granularity == "hour":
        # A start that is only the submit time can be hours early: that job keeps the month's value.
        codes = _hourly(factors, locations, where.codes, when, bounds, texts, codes)
    return {"bounds": bounds, **{name: _texts_per_key(column, codes) for name, column in texts.items()}}


def unused_memory_share(jobs: Any, memory_gb: Any) -> Any:
    """The share of each job's memory requested but never used (0 where unknown)."""
    import numpy as np

    used = np.asarray(jobs["memory_used_gb"], dtype=float)
    safe = np.where(memory_gb > 0, memory_gb, 1.0)
    return np.where((memory_gb > 0) & ~np.isnan(used), np.clip(1.0 - used / safe, 0, 1), 0.0)


def _frame(columns: dict[str, Any]) -> Any:
    import numpy as np
    import pandas as pd

    # Texts stay object arrays: letting pandas re-infer them as strings costs more than the arithmetic.
    # copy=False: pandas would otherwise copy each object array (the input's own columns among them).
    out = pd.DataFrame(
        {
            name: pd.Series(value, dtype=object, copy=False)
            if isinstance(value, np.ndarray) and value.dtype == object
            else pandas_texts(value)
            if isinstance(value, Coded)
            else value
            for name, value in columns.items()
        },
        columns=list(OUTPUT_COLUMNS),
        copy=False,
    )
    out["start"] = pd.to_datetime(out["start"], utc=True)
    out["end"] = pd.to_datetime(out["end"], utc=True)
    return out


def known_cpu_util(jobs: Any) -> Any:
    """The log's CPU utilisation where it is a measurement, NaN (unknown: priced 0..1 around the
    model's central) where it is not: missing, a RUNNING job (Slurm fills TotalCPU in at the end),
    or a CPU time of exactly zero over a non-zero wall time (Slurm did not record it: 162 of 164
    jobs of one real cluster's log; no process runs for a second on no CPU at all)."""
    import numpy as np

    util = np.array(jobs["cpu_util"], dtype=float, copy=True)
    state = _coded(jobs, "state")
    running = state.codes == state.code_of("RUNNING")
    cpu_time_s = np.asarray(jobs["cpu_time_s"], dtype=float)
    not_recorded = (cpu_time_s == 0) & ((_times(jobs, "end") - _times(jobs, "start")) / np.timedelta64(1, "s") > 0)
    util[running | not_recorded] = np.nan
    return util


def _as_stored(column: Any) -> Any:
    """The column's own values without a copy: its numpy array, its extension array (Arrow text),
    or, from a table of columns (carbon.batch.columns), the column itself."""
    import numpy as np

    if isinstance(column, (np.ndarray, Coded)) or not hasattr(column, "dtype"):
        return column
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def _two_texts(mask: Any, yes: str, no: str) -> Coded:
    import numpy as np

    return Coded(mask.astype(np.int32), [no, yes])


def pandas_texts(column: Coded) -> Any:
    """A Coded column with the dtype pandas gives such text; where that is Arrow backed, built in
    Arrow from the codes (pandas would convert a million strings one by one)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = pd.Series(np.array(column.texts, dtype=object)).dtype
    if not (column.texts and isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return column.values()
    # Large strings: what pandas keeps its Arrow text in, so that it takes the column without
    # converting it again (a second copy of a million texts).
    return pd.array(column.to_arrow().cast(pa.large_string()), dtype=dtype)


def _hourly(
    factors: Factors,
    locations: list[Any],
    region_codes: Any,
    when: _When,
    bounds: list[Any],
    texts: dict[str, Any],
    codes: Any,
) -> Any:
    """Replace, in place, each job's intensity bounds by its hourly series' mean over [start, end)
    where the series covers the whole job: a running integral makes it two lookups per job. Those
    jobs' texts become a new key appended to each list of `texts`; returns the codes into them."""
    import numpy as np

    from carbon.provenance import describe

    start_s: Any = None  # the jobs' times in seconds, worked out for the first zone with a series
    end_s: Any = None
    for code, location in enumerate(locations):
        if isinstance(location, str) or not factors.hourly_zone(location):
            continue
        series = factors.hourly(location.zone)
        if series is None:
            continue
        if start_s is None:
            start_s, end_s = _seconds(when.start), _seconds(when.end)
        rows = np.flatnonzero(region_codes == code)
        s, e = start_s[rows], end_s[rows]
        ok = ~(np.isnan(s) | np.isnan(e)) & (e >= s) & ~when.from_submit[rows]
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
        for bound in bounds:
            bound[target] = mean[covered]
        if not target.size:
            continue
        codes[target] = len(texts["granularity"])  # the caller's own codes, made for this call
        texts["granularity"].append("hour")
        texts["basis"].append(series.basis)
        texts["dataset"].append(describe(series.source)[0])
    return codes


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
