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

Real logs vary, and each variation is read rather than rejected: a header naming `JobIDRaw`
instead of `JobID`; times in ISO form, as epoch seconds (`SLURM_TIME_FORMAT=%s`) or in the other
common layouts; logs with `Submit` and `Elapsed` but no `Start` (the job is placed at its submit
time, flagged `start_from_submit`, and priced at the month's intensity rather than the hour's,
since its queue wait is unknown); memory from `AllocTRES mem=` when `ReqMem` gives none; GPUs from
`AllocGRES`/`ReqGRES` (`gpu:2`, `gpu:a100:2`) when `AllocTRES` names none; a `|` inside the job
name, when the name is the only free-text field that could hold it. Every other bad record is a
reject with its line number (carbon.batch.checks), duplicates and impossible values included.

Reading runs as named steps: `load` (carbon.batch.readers.sacct_lines: the records' fields, by
Arrow's CSV parser in blocks on a few threads when the file is regular), `_records` (job and step lines apart, steps joined to their job),
`_fold_steps`, `_when` (start and end), `_resources` (CPUs, memory, GPUs), `_usage` (CPU time,
utilisation, energy), then the checks. Work happens on Arrow arrays and numpy, once per distinct text where texts repeat,
without pandas (a running job's end excepted: pandas' rounding of its elapsed seconds is the figure's).
`read_sacct` makes the job table a pandas one; `read_sacct_columns` hands a regular log with nothing to
reject to the engine as columns (carbon.batch.columns), for a run that never imports pandas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbon.batch.checks import Verdicts, check_duplicates, check_ranges, increasing_integers
from carbon.batch.columns import Coded, arrow_values, numpy_values
from carbon.batch.readers.sacct_lines import (
    Log,
    Unread,
    bools,
    empty_texts,
    floats,
    letters,
    line_records,
    load,
    mask_array,
    objects,
    one_array,
    regular_records,
    text_scalar,
)
from carbon.batch.schema import JOB_COLUMNS, ReadResult, conform, empty_rejects, rejects_frame
from carbon.units import J_PER_KWH

if TYPE_CHECKING:
    from carbon.batch.columns import WholeTable

log = logging.getLogger(__name__)


# Slurm's sizes are binary (K = KiB ... P = PiB; a bare number is MiB): GiB per unit, times the
# decimal GB in a GiB, since carbon's memory unit is the decimal GB.
_UNIT_GB = {
    unit: gib * 2**30 / 10**9
    for unit, gib in {
        "": 1.0 / 1024.0,
        "K": 1.0 / 1024.0**2,
        "M": 1.0 / 1024.0,
        "G": 1.0,
        "T": 1024.0,
        "P": 1024.0**2,
    }.items()
}
_DURATION = r"^(?:(?P<d>\d+)-)?(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)$"
_MEMORY = r"^(?P<v>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?P<u>[KMGTP]?)(?P<per>[cn]?)$"
# SLURM_TIME_FORMAT layouts read, the default first; epoch seconds (`%s`) are all digits.
_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d-%H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",
)
_EPOCH = r"^\d{9,11}$"
_NOT_A_TIME = {"", "Unknown", "None", "N/A"}


def _strings(values: Any) -> Any:
    """Any sequence of texts as a pyarrow string array: its regex kernels run in C++, not per row in
    Python. Arrow text (what the reader holds) is taken as it is, without pandas."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    import pandas as pd

    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.ArrowDtype):
        return pa.array(values.array).cast(pa.string())
    return pa.array(
        pd.Series(values, dtype=object).astype(object).where(pd.notna(values), None)
        if isinstance(values, pd.Series)
        else list(values),
        type=pa.string(),
    )


def _numbers(strings: Any) -> Any:
    """Arrow strings -> float64 numpy array, empty or missing -> NaN."""
    import pyarrow.compute as pc

    blank = pc.or_kleene(pc.is_null(strings), pc.equal(strings, text_scalar("")))
    return floats(pc.if_else(blank, text_scalar(None), strings))


def _floats(values: Any) -> Any:
    """pd.to_numeric(errors="coerce") as float64 numpy: one Arrow cast, or pandas where some
    text is not a number."""
    import pyarrow as pa

    strings = _strings(values)
    try:
        return _numbers(strings)
    except pa.ArrowInvalid:
        import pandas as pd

        texts = pd.Series(pd.arrays.ArrowExtensionArray(strings))
        return pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float)


def _optional_texts(values: Any) -> Any:
    """Arrow strings, empty -> null."""
    import pyarrow.compute as pc

    strings = _strings(values)
    return pc.if_else(pc.equal(strings, text_scalar("")), text_scalar(None), strings)


def _per_distinct(values: Any, parse: Any) -> Any:
    """parse(texts) -> numpy array(s) or an Arrow array, computed once per distinct text.

    A log's durations, sizes, states and TRES strings repeat (a million jobs hold a few
    thousand distinct elapsed times): parsing the dictionary instead of every row makes the
    regular-expression kernels cost next to nothing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = _strings(values)
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks() if strings.num_chunks else pa.array([], type=pa.string())
    if len(strings) < 4096:
        return parse(strings)
    encoded = strings.dictionary_encode()
    if len(encoded.dictionary) * 4 > len(strings):
        return parse(strings)
    texts = pa.concat_arrays([encoded.dictionary, pa.nulls(1, encoded.dictionary.type)])
    indices, valid = numpy_values(encoded.indices)
    if valid is not None:
        indices = np.where(valid, indices, len(encoded.dictionary))  # nulls: the appended null
    parsed = parse(texts)
    if isinstance(parsed, tuple):
        return tuple(part[indices] for part in parsed)
    if isinstance(parsed, (pa.Array, pa.ChunkedArray)):
        return pc.take(parsed, arrow_values(pa.int64(), indices.astype(np.int64)))
    return parsed[indices]


def parse_duration_s(values: Any) -> Any:
    """Slurm durations ("D-HH:MM:SS", "HH:MM:SS", "MM:SS.mmm") -> seconds; anything else NaN."""
    return _per_distinct(values, _parse_duration_s)


def _parse_duration_s(strings: Any) -> Any:
    import numpy as np
    import pyarrow.compute as pc

    parts = pc.extract_regex(strings, _DURATION)
    days, hours = (
        np.nan_to_num(_numbers(pc.struct_field(parts, "d"))),
        np.nan_to_num(_numbers(pc.struct_field(parts, "h"))),
    )
    return (
        days * 86400 + hours * 3600 + _numbers(pc.struct_field(parts, "m")) * 60 + _numbers(pc.struct_field(parts, "s"))
    )


def parse_memory_gb(values: Any) -> tuple[Any, Any]:
    """Slurm sizes ("100M", "4Gc", "0n", "114944K") -> (decimal GB, per: "c", "n" or ""); a bare number is MiB."""
    return _per_distinct(values, _parse_memory_gb)


def _parse_memory_gb(strings: Any) -> tuple[Any, Any]:
    import numpy as np
    import pyarrow.compute as pc

    parts = pc.extract_regex(strings, _MEMORY)
    units = pc.fill_null(pc.struct_field(parts, "u"), text_scalar(""))
    scale = np.full(len(units), _UNIT_GB[""])
    for unit, factor in _UNIT_GB.items():
        scale[bools(pc.equal(units, text_scalar(unit)))] = factor
    per = letters(pc.fill_null(pc.struct_field(parts, "per"), text_scalar("")))
    return _numbers(pc.struct_field(parts, "v")) * scale, per


def parse_gpus(tres: Any) -> tuple[Any, Any]:
    """AllocTRES "...,gres/gpu=4" or "gres/gpu:a100=4" -> (count, model or None)."""
    return _per_distinct(tres, _parse_gpus)


def _parse_gpus(strings: Any) -> tuple[Any, Any]:
    import numpy as np
    import pyarrow.compute as pc

    text = pc.fill_null(strings, text_scalar(""))
    total = _numbers(pc.extract_regex(text, r"gres/gpu=(?P<n>\d+)").field("n"))
    typed = pc.extract_regex(text, r"gres/gpu:(?P<model>[^=,]+)=(?P<n>\d+)")
    count = np.where(np.isnan(total), _numbers(pc.struct_field(typed, "n")), total)
    return count, _models(pc.struct_field(typed, "model"))


def _models(found: Any) -> Any:
    """GPU models found (Arrow texts) as an object array, None where none (null or empty)."""
    import pyarrow.compute as pc

    return objects(pc.if_else(pc.equal(found, text_scalar("")), text_scalar(None), found))


def parse_gres_gpus(gres: Any) -> tuple[Any, Any]:
    """AllocGRES / ReqGRES "gpu:2", "gpu:a100:2", "gpu:tesla:2(IDX:0-1)" -> (count, model or None)."""
    return _per_distinct(gres, _parse_gres_gpus)


def _parse_gres_gpus(strings: Any) -> tuple[Any, Any]:
    import pyarrow.compute as pc

    parts = pc.extract_regex(pc.fill_null(strings, text_scalar("")), r"(?:^|,)gpu(?::(?P<model>[^:,(=]+))?:(?P<n>\d+)")
    return _numbers(pc.struct_field(parts, "n")), _models(pc.struct_field(parts, "model"))


def parse_tres_memory_gb(tres: Any) -> Any:
    """AllocTRES "...,mem=32G,..." -> the job's memory in GB (NaN where it names none)."""
    return _per_distinct(tres, _parse_tres_memory_gb)


def _parse_tres_memory_gb(strings: Any) -> Any:
    import pyarrow.compute as pc

    found = pc.extract_regex(pc.fill_null(strings, text_scalar("")), r"(?:^|,)mem=(?P<m>[^,]+)")
    return _parse_memory_gb(pc.struct_field(found, "m"))[0]


def _times(values: Any) -> Any:
    """Times as naive UTC datetime64[s] (NaT where unreadable), in any layout of _TIME_FORMATS or
    as epoch seconds; the other layouts are tried only on what the default one could not read."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pc.fill_null(_strings(values), text_scalar(""))
    parsed = pc.strptime(strings, format=_TIME_FORMATS[0], unit="s", error_is_null=True)
    unread = pc.and_(pc.is_null(parsed), pc.not_equal(strings, text_scalar("")))
    if pc.any(unread).as_py():
        epoch = pc.if_else(pc.match_substring_regex(strings, _EPOCH), strings, text_scalar(None))
        parsed = pc.coalesce(parsed, pc.cast(pc.cast(epoch, pa.int64()), pa.timestamp("s")))
        for layout in _TIME_FORMATS[1:]:
            parsed = pc.coalesce(parsed, pc.strptime(strings, format=layout, unit="s", error_is_null=True))
    seconds, valid = numpy_values(parsed.cast(pa.timestamp("s")), np.int64)
    if valid is not None:
        seconds = np.where(valid, seconds, np.iinfo(np.int64).min)  # NaT
    return seconds.view("datetime64[s]")


# Count fields: text that is not a number there is a reject, not "unknown".
_COUNT_FIELDS = ("NCPUS", "AllocCPUS", "ReqCPUS", "AllocNodes", "NNodes", "ReqNodes", "ConsumedEnergyRaw")


@dataclass
class _Records:
    """Job lines and step lines apart; each step knows the row of its job."""

    jobs: Any  # Records: the job lines' fields, line numbers, keys
    steps: Any  # Records: the steps' fields, and `_job` (numpy: the row of each step's job)
    first_row: Any  # per job row: the first job row with its key (a repeated job line folds there)
    rejects: list[Unread]


def _records(log: Log) -> _Records:
    """Split job lines (JobID "123") from steps ("123.batch"), reject empty ids and orphan steps,
    and join each step to its job: a hash join on the id texts in Arrow, no Python strings."""
    jobs, steps, rejects = regular_records(log) if log.split is not None else line_records(log)
    job_of, first_row = _join(one_array(steps.key), one_array(jobs.key))
    orphan = job_of < 0
    if orphan.any():
        rejects.append(Unread(steps.lines[orphan], "job step without its job line", log.texts(steps, orphan)))
        steps = steps.filter(~orphan)
    steps.fields["_job"] = job_of[~orphan]
    return _Records(jobs, steps, first_row, rejects)


def _join(step_keys: Any, job_keys: Any) -> tuple[Any, Any]:
    """(per step: the row of the first job line with its key, -1 for none; per job line: the
    first job row with its key). Job ids that are integers in increasing order (the usual log)
    are distinct and are found by a binary search, each match confirmed on the texts ("07" is
    not job "7"); any other ids by an Arrow hash join."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = increasing_integers(job_keys)
    if numbers is not None and not step_keys.null_count:
        try:
            wanted = numpy_values(pc.cast(step_keys, pa.int64()))[0]  # no nulls: checked above
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            wanted = None
        if wanted is not None:
            rows = np.minimum(np.searchsorted(numbers, wanted), max(len(numbers) - 1, 0))
            found = np.zeros(len(wanted), dtype=bool) if not len(numbers) else numbers[rows] == wanted
            if found.any():
                matched = job_keys.take(arrow_values(pa.int64(), rows[found]))
                found[found] = bools(pc.equal(step_keys.filter(mask_array(found)), matched))
            return np.where(found, rows, -1), np.arange(len(job_keys))
    job_of, known = numpy_values(pc.index_in(step_keys, value_set=job_keys))
    first_row = numpy_values(pc.index_in(job_keys, value_set=job_keys))[0].astype(np.int64)  # every key is found
    return (job_of if known is None else np.where(known, job_of, -1)).astype(np.int64), first_row


def _column(frame: Any, name: str) -> Any:
    """A field as Arrow text, or empty texts when the log has no such field."""
    return _strings(frame[name]) if name in frame else empty_texts(len(frame))


def _column_floats(frame: Any, name: str) -> Any:
    """A field as float64 numpy (see _floats); all NaN, without parsing, when the log has no such field."""
    import numpy as np

    return _floats(frame[name]) if name in frame else np.full(len(frame), np.nan)


def _column_texts(frame: Any, name: str) -> Any:
    """A field as optional texts (see _optional_texts); all missing when the log has no such field."""
    import pyarrow as pa

    return _optional_texts(frame[name]) if name in frame else pa.nulls(len(frame), pa.string())


def _fold_steps(records: _Records) -> dict[str, Any]:
    """Per job row (its first row), as numpy arrays: the steps' peak memory, summed CPU time and largest energy
    (NaN where a job has no step, or none gives the figure; CPU time NaN unless above 0).

    The maxima skip NaN and are exact in any order; the sum is pandas' group sum, as it always was
    (_group_sums). Steps are sorted by job (no sort when they come in job order, as sacct prints
    them) and each job's run reduced at once."""
    import numpy as np

    steps = records.steps
    job = np.asarray(steps["_job"])
    values = {
        "rss_gb": parse_memory_gb(_column(steps, "MaxRSS"))[0],
        "cpu_s": parse_duration_s(_column(steps, "TotalCPU")),
        "energy_j": _column_floats(steps, "ConsumedEnergyRaw"),
    }
    runs = np.count_nonzero(np.diff(job)) + 1 if len(job) else 0  # runs of one job, as the steps come
    if len(job) > 1 and not bool(np.all(job[1:] >= job[:-1])):
        order = np.argsort(job, kind="stable")
        job, values = job[order], {name: column[order] for name, column in values.items()}
    starts = np.flatnonzero(np.diff(job, prepend=-1)) if len(job) else np.array([], dtype=np.int64)
    by_job = {name: np.full(len(records.first_row), np.nan) for name in values}
    if len(starts):
        for name in ("rss_gb", "energy_j"):
            by_job[name][job[starts]] = np.fmax.reduceat(values[name], starts)
        cpu_s = _group_sums(values["cpu_s"], starts, contiguous=runs == len(starts))
        by_job["cpu_s"][job[starts]] = np.where(cpu_s > 0, cpu_s, np.nan)
    first = records.first_row
    return {name: column[first] for name, column in by_job.items()}


def _group_sums(values: Any, starts: Any, contiguous: bool) -> Any:
    """The sum of each run of `values` (`starts`: where each run starts; runs of one job each, in
    the order its steps came), NaN skipped, 0 where a run has no number: pandas' group sum, with
    its rounding, which is the figure's. pandas adds with np.add.reduceat where each job's steps
    came together and no value is NaN (`contiguous`), else compensated (Kahan) in the steps' order:
    here the k-th value of every run is added at once, as many numpy passes as the longest run
    has values."""
    import numpy as np

    if contiguous and not np.isnan(values).any():
        return np.add.reduceat(values, starts)
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(values))))
    rank = np.arange(len(values)) - starts[run]  # position of each value in its run
    known = ~np.isnan(values)
    run, rank, values = run[known], rank[known], values[known]
    sums, compensation = np.zeros(len(starts)), np.zeros(len(starts))
    if not len(values):
        return sums
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
    for first, stop in zip(bounds[:-1], bounds[1:]):
        at, value = run[order[first:stop]], values[order[first:stop]]
        with np.errstate(invalid="ignore"):  # inf - inf: the compensation is then reset, as pandas does
            y = value - compensation[at]
            t = sums[at] + y
            compensated = (t - sums[at]) - y
        compensation[at] = np.where(np.isnan(compensated), 0.0, compensated)
        sums[at] = t
    return sums


@dataclass
class _When:
    start: Any  # naive UTC datetime64
    end: Any
    elapsed_s: Any  # numpy seconds (NaN: not given)
    from_submit: bool  # no Start field: start is the Submit time


def _when(jobs: Any, verdicts: Verdicts) -> _When:
    """Start and end of each job. Without a Start field, Submit + Elapsed (the job's time in the
    queue is unknown: flagged, and priced at a coarser granularity). A running job ends at start +
    elapsed so far. A job that never started, or whose times cannot be read, is rejected."""
    import numpy as np
    import pyarrow.compute as pc

    from carbon.batch.columns import arrow_texts

    from_submit = "Start" not in jobs and "Submit" in jobs
    start_text = _column(jobs, "Submit" if from_submit else "Start")
    start = _times(start_text)
    elapsed_s = parse_duration_s(_column(jobs, "Elapsed"))
    end = _times(_column(jobs, "End")) if not from_submit else np.full(len(start), np.datetime64("NaT", "s"))
    if np.isnat(end).any():
        end = _ends_from_elapsed(start, end, elapsed_s)
    never = np.isnat(start) & bools(pc.is_in(start_text, value_set=arrow_texts(sorted(_NOT_A_TIME))))
    verdicts.add(never, "job never started")
    field = "Submit" if from_submit else "Start"
    verdicts.add(np.isnat(start), f"malformed line: cannot read {field}")
    verdicts.add(np.isnat(end), "malformed line: no End and no Elapsed")
    return _When(start, end, elapsed_s, from_submit)


def _ends_from_elapsed(start: Any, end: Any, elapsed_s: Any) -> Any:
    """The ends, start + elapsed where there is none: in nanoseconds, rounded as pandas rounds
    seconds to a time delta (that figure is the results'; a log with every End needs none of it)."""
    import pandas as pd

    filled = pd.Series(end).where(~pd.isna(end), pd.Series(start) + pd.to_timedelta(elapsed_s, unit="s"))
    return filled.to_numpy()


@dataclass
class _Resources:
    cpus: Any
    memory_gb: Any
    gpus: Any
    gpu_model: Any
    whole_node: Any  # all of the node's memory asked for, no size anywhere in the log


def _resources(jobs: Any, verdicts: Verdicts) -> _Resources:
    """CPUs (NCPUS, else AllocCPUS, else ReqCPUS), memory (ReqMem per CPU, per node or total, else
    AllocTRES mem=), GPUs (AllocTRES, else AllocGRES, else ReqGRES). Counts that are not numbers and
    sizes that are not Slurm sizes are rejects; "all of the node" with no size anywhere is unknown.
    A field the log lacks is read as empty throughout, without parsing a column of empty texts."""
    import numpy as np
    import pyarrow.compute as pc

    counts = {}
    for name in _COUNT_FIELDS:
        if name in jobs:
            text = _strings(jobs[name])
            values = counts[name] = _floats(text)
            with np.errstate(invalid="ignore"):
                bad = bools(pc.not_equal(text, text_scalar(""))) & ~((values >= 0) & np.isfinite(values))
            verdicts.add(bad, _not_a_count(name, text))
    cpus = _first_positive([counts.get(n) for n in ("NCPUS", "AllocCPUS", "ReqCPUS")], len(jobs))
    nodes = _first_positive([counts.get(n) for n in ("AllocNodes", "NNodes", "ReqNodes")], len(jobs))
    nodes = np.where(np.isnan(nodes), 1.0, nodes)
    req_mem = _column(jobs, "ReqMem")
    memory, per = parse_memory_gb(req_mem)
    bad_size = bools(pc.not_equal(req_mem, text_scalar(""))) & np.isnan(memory)
    verdicts.add(bad_size, lambda rows: [f"ReqMem {req_mem[int(i)].as_py()!r} is not a Slurm size" for i in rows])
    with np.errstate(invalid="ignore"):  # both products for every job: an unreadable size's (NaN, inf) too
        memory = np.where(per == "c", memory * cpus, np.where(per == "n", memory * nodes, memory))
    if "AllocTRES" in jobs:
        memory = np.where(memory > 0, memory, parse_tres_memory_gb(jobs["AllocTRES"]))
    memory = np.where(memory > 0, memory, np.nan)
    whole_node = np.isnan(memory) & (per != "")
    if "AllocTRES" in jobs:
        gpus, gpu_model = parse_gpus(jobs["AllocTRES"])
    else:
        gpus, gpu_model = np.full(len(jobs), np.nan), np.full(len(jobs), None, dtype=object)
    for name in ("AllocGRES", "ReqGRES"):
        if name in jobs:
            more, more_model = parse_gres_gpus(jobs[name])
            missing = np.isnan(gpus)
            gpus = np.where(missing, more, gpus)
            gpu_model = np.where(missing & (gpu_model == None), more_model, gpu_model)  # noqa: E711 (element-wise)
    return _Resources(cpus, memory, gpus, gpu_model, whole_node)


def warn_whole_node(jobs: int) -> None:
    """Say how many jobs asked for all of a node's memory where the log gives no size."""
    if jobs:
        log.warning(
            "%d job(s) asked for all of a node's memory (ReqMem 0n/0c) and the log gives no size "
            "(no AllocTRES mem=): their memory is the mapped hardware's (--hardware), else a range per CPU "
            "from the cloud catalogs (0 to their 90th percentile of GB per vCPU, central their median)",
            jobs,
        )


def _not_a_count(name: str, texts: Any) -> Callable[[Any], list[str]]:
    """The reject reasons of the rows (positions) whose field `name` holds no count."""
    return lambda rows: [f"{name} {texts[int(i)].as_py()!r} is not a count (0 or more)" for i in rows]


def _first_positive(candidates: list[Any], size: int) -> Any:
    """Per row, the first candidate above 0, else the last candidate's value (NaN where the log
    lacks that field: a candidate of None)."""
    import numpy as np

    result = None
    for values in candidates:
        if result is None:
            result = np.full(size, np.nan) if values is None else values
        else:
            result = np.where(result > 0, result, np.nan if values is None else values)
    return result


def _usage(jobs: Any, extra: Any, when: _When, cpus: Any) -> tuple[Any, Any, Any]:
    """(CPU seconds, utilisation 0..1, measured kWh): the job line's own figures, else its steps'."""
    import numpy as np

    cpu_s = parse_duration_s(_column(jobs, "TotalCPU"))
    step_cpu_s = extra["cpu_s"]
    from_steps = np.isnan(cpu_s) | ((cpu_s == 0) & (np.nan_to_num(step_cpu_s) > 0))
    cpu_s = np.where(from_steps, step_cpu_s, cpu_s)
    energy_j = _column_floats(jobs, "ConsumedEnergyRaw")
    energy_j = np.where(energy_j > 0, energy_j, extra["energy_j"])
    duration_s = (when.end - when.start) / np.timedelta64(1, "s")
    wall_s = np.where(np.isnan(when.elapsed_s), duration_s, when.elapsed_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.clip(cpu_s / (wall_s * cpus), 0.0, 1.0)
    util = np.where(wall_s > 0, util, np.nan)
    return cpu_s, util, np.where(energy_j > 0, energy_j / J_PER_KWH, np.nan)


def _states(jobs: Any) -> Any:
    """ "CANCELLED by 123" -> "CANCELLED", upper case; TIMEOUT, OUT_OF_MEMORY, NODE_FAIL kept as they are."""
    import pyarrow.compute as pc

    text = _column(jobs, "State")
    return _strings(_per_distinct(text, lambda texts: pc.utf8_upper(pc.replace_substring_regex(texts, r" .*$", ""))))


def _job_columns(
    jobs: Any, when: _When, resources: _Resources, usage: tuple[Any, Any, Any], extra: Any
) -> dict[str, Any]:
    """The job table's columns (carbon.batch.schema) as the reader makes them: numbers and times
    (naive UTC) in numpy, texts in Arrow (null: none), the GPU model an object array."""
    import numpy as np

    cpu_s, util, measured_kwh = usage
    hardware = _column_texts(jobs, "Features" if "Constraints" not in jobs and "Features" in jobs else "Constraints")
    return {
        "line": np.asarray(jobs.lines),
        "job_id": _strings(jobs["JobID"]),
        "start": when.start,
        "end": when.end,
        "start_from_submit": np.full(len(jobs), when.from_submit),
        "hardware": hardware,
        "partition": _column_texts(jobs, "Partition"),
        "cpus": resources.cpus,
        "cpu_time_s": cpu_s,
        "cpu_util": util,
        "memory_gb": resources.memory_gb,
        "memory_whole_node": resources.whole_node,
        "memory_used_gb": extra["rss_gb"],
        "gpus": resources.gpus,
        "gpu_model": resources.gpu_model,
        "measured_kwh": measured_kwh,
        "state": _states(jobs),
        "user": _column_texts(jobs, "User"),
        "account": _column_texts(jobs, "Account"),
        "project": _column_texts(jobs, "WCKey"),
    }


@dataclass
class _Read:
    """A log's job lines made jobs: the job table's columns for every job line, with the checks'
    verdicts over them, and the records that never became jobs."""

    jobs: Any  # Records: the job lines (their texts are read again for rejects)
    columns: dict[str, Any]  # see _job_columns
    verdicts: Verdicts
    unread: list[Unread]  # empty ids, orphan steps
    whole_node: int  # jobs with all of a node's memory and no size


def _read(log: Log) -> _Read:
    """The named steps (module docstring), without pandas for a log with every End."""
    records = _records(log)
    log.lines = None  # every field needed is in the records now: free the file's text before the arithmetic
    jobs = records.jobs
    verdicts = Verdicts(len(jobs))
    clusters = jobs["Cluster"] if "Cluster" in jobs else None  # ids are unique per cluster
    first = records.first_row if clusters is None else None  # the steps' join found them already
    check_duplicates(jobs.key, jobs.lines, verdicts, clusters, first)
    when = _when(jobs, verdicts)
    resources = _resources(jobs, verdicts)
    extra = _fold_steps(records)
    records.steps = None  # folded into their jobs: their fields can go
    columns = _job_columns(jobs, when, resources, _usage(jobs, extra, when, resources.cpus), extra)
    check_ranges(columns, verdicts)
    return _Read(jobs, columns, verdicts, records.rejects, int(resources.whole_node.sum()))


def _pandas_table(columns: dict[str, Any]) -> Any:
    """The job table's columns as a pandas table: Arrow texts as Arrow-backed columns, times in UTC."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    def column(values: Any) -> Any:
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            return pd.arrays.ArrowExtensionArray(values)
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            return pd.Series(values, copy=False).dt.tz_localize("UTC").array
        return values

    return pd.DataFrame({name: column(values) for name, values in columns.items()}, copy=False)


def read_sacct(path: str | Path, fields: Sequence[str] | None = None, data: bytes | None = None) -> ReadResult:
    """Read one sacct output file into the job table (see carbon.batch.schema and the module docstring)."""
    import pandas as pd

    log = load(path, fields, data)
    assert log is not None  # the line-by-line path reads any log
    unfit = [pd.DataFrame(log.unfit, columns=["line", "reason", "text"])] if log.unfit else []
    if not len(log.numbers):
        rejects = pd.concat(unfit, ignore_index=True) if unfit else empty_rejects()
        return ReadResult(conform(pd.DataFrame()), _ordered(rejects), str(path))
    if "JobID" not in log.names:
        raise ValueError(f"{path}: no JobID field (give --fields as passed to sacct --format)")
    read = _read(log)
    warn_whole_node(read.whole_node)
    jobs, verdicts = read.jobs, read.verdicts
    table = _pandas_table(read.columns)
    checked = verdicts.frame(read.columns["line"], lambda rows: log.texts(jobs, _mask(len(jobs), rows)))
    unread = [rejects_frame(*rejected) for rejected in read.unread]
    rejects = pd.concat([*unfit, *unread, checked], ignore_index=True)
    if verdicts.rejected.any():
        table = table[~verdicts.rejected]
    return ReadResult(conform(table), _ordered(rejects), str(path))


def read_sacct_columns(path: str | Path, fields: Sequence[str] | None = None) -> WholeTable | None:
    """The log's job table as columns (carbon.batch.columns: Coded texts, naive UTC times), never
    through pandas, for carbon.batch.engine.price_columns; None where read_sacct must say what it
    found: a log that is not regular (see sacct_lines), or any record it would reject. Both give
    the same jobs for a log either can read. The warning read_sacct gives of jobs with all of a
    node's memory is the caller's, once it keeps these columns (warn_whole_node)."""

    from carbon.batch.columns import WholeTable
    from carbon.batch.memory import release_freed_memory

    log = load(path, fields, None, regular_only=True)
    if log is None or log.unfit or not len(log.numbers) or "JobID" not in log.names:
        return None
    read = _read(log)
    n = len(read.jobs)
    jobs = None if read.unread or read.verdicts.rejected.any() else _job_table(read.columns, n)
    del read, log
    # The fields' texts and the parsing's buffers (~400 MB at a million jobs), held by Arrow's pool
    # and the C heap where the pricing (or the pandas run, when this one stops), could never reuse them.
    release_freed_memory()
    return None if jobs is None else WholeTable(jobs, n)


def _job_table(columns: dict[str, Any], n: int) -> dict[str, Any]:
    """The reader's columns (see _job_columns) as carbon.batch.engine.price_columns takes them:
    every JOB_COLUMNS column, texts Coded, the job ids Arrow text."""
    import numpy as np

    jobs: dict[str, Any] = {}
    for name, (dtype, _) in JOB_COLUMNS.items():
        values = columns.get(name)
        if values is None:  # the region and GPU use: no sacct field gives them
            jobs[name] = np.full(n, np.nan) if dtype == "float64" else Coded(np.full(n, -1, dtype=np.int32), [])
        elif name == "job_id":
            jobs[name] = one_array(values)
        elif dtype == "object":
            jobs[name] = _coded(values)
        else:
            jobs[name] = values
    return jobs


def _coded(texts: Any) -> Coded:
    """Arrow texts (null: none), or an object array of texts and None, as Coded."""
    import numpy as np

    if not isinstance(texts, np.ndarray):
        return Coded.from_arrow(texts)
    present = texts != None  # noqa: E711 (element-wise)
    codes = np.full(len(texts), -1, dtype=np.int32)
    if not present.any():
        return Coded(codes, [])
    distinct, codes[present] = np.unique(texts[present].astype(str), return_inverse=True)
    return Coded(codes, [str(text) for text in distinct])


def _mask(size: int, rows: Any) -> Any:
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask


def _ordered(rejects: Any) -> Any:
    rejects["line"] = rejects["line"].astype("int64")
    return rejects.sort_values("line", kind="stable").reset_index(drop=True)
