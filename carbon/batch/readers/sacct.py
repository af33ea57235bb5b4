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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbon.batch.schema import ReadResult, conform, empty_rejects, rejects_frame

# The order hpc-cost-simulator passes to `sacct --format`; Partition is absent on older lines.
DEFAULT_FIELDS = (
    "State",
    "JobID",
    "ReqCPUS",
    "ReqMem",
    "ReqNodes",
    "Constraints",
    "Submit",
    "Eligible",
    "Start",
    "Elapsed",
    "Suspended",
    "End",
    "ExitCode",
    "DerivedExitCode",
    "AllocNodes",
    "NCPUS",
    "MaxDiskRead",
    "MaxDiskWrite",
    "MaxPages",
    "MaxRSS",
    "MaxVMSize",
    "CPUTime",
    "UserCPU",
    "SystemCPU",
    "TotalCPU",
    "Partition",
)
_DEFAULT_MIN_FIELDS = 25

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
_MEMORY = r"^(?P<v>\d+(?:\.\d+)?)(?P<u>[KMGTP]?)(?P<per>[cn]?)$"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_NOT_A_TIME = {"", "Unknown", "None", "N/A"}


def _strings(values: Any) -> Any:
    """Any sequence of texts as a pyarrow string array: its regex kernels run in C++, not per row in Python."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.ArrowDtype):
        return pa.array(values.array).cast(pa.string())
    return pa.array(
        pd.Series(values, dtype=object).astype(object).where(pd.notna(values), None)
        if isinstance(values, pd.Series)
        else list(values),
        type=pa.string(),
    )


def _arrow_series(array: Any, index: Any) -> Any:
    import pandas as pd

    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=index)


def _numbers(strings: Any) -> Any:
    """Arrow strings -> float64 numpy array, empty or missing -> NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = pc.fill_null(pc.equal(strings, ""), True)
    return pc.cast(pc.if_else(blank, None, strings), pa.float64()).to_numpy(zero_copy_only=False)


def _floats(values: Any) -> Any:
    """pd.to_numeric(errors="coerce") as float64 numpy: one Arrow cast, or pandas where some
    text is not a number."""
    import pandas as pd
    import pyarrow as pa

    try:
        return _numbers(_strings(values))
    except pa.ArrowInvalid:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _optional_texts(values: Any) -> Any:
    """Arrow strings, empty -> null; left in Arrow for `conform` to convert once."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = _strings(values)
    return pd.arrays.ArrowExtensionArray(pc.if_else(pc.equal(strings, ""), pa.scalar(None, type=strings.type), strings))


def _per_distinct(values: Any, parse: Any) -> Any:
    """parse(texts) -> numpy array(s) or an Arrow array, computed once per distinct text.

    A log's durations, sizes, states and TRES strings repeat (a million jobs hold a few
    thousand distinct elapsed times): parsing the dictionary instead of every row makes the
    regular-expression kernels cost next to nothing."""
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
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()  # nulls: the appended null
    parsed = parse(texts)
    if isinstance(parsed, tuple):
        return tuple(part[indices] for part in parsed)
    if isinstance(parsed, (pa.Array, pa.ChunkedArray)):
        return pc.take(parsed, pa.array(indices))
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
    units = np.asarray(pc.fill_null(pc.struct_field(parts, "u"), "").to_numpy(zero_copy_only=False), dtype=object)
    scale = np.full(len(units), _UNIT_GB[""])
    for unit, factor in _UNIT_GB.items():
        scale[units == unit] = factor
    per = np.asarray(pc.fill_null(pc.struct_field(parts, "per"), "").to_numpy(zero_copy_only=False), dtype=object)
    return _numbers(pc.struct_field(parts, "v")) * scale, per


def parse_gpus(tres: Any) -> tuple[Any, Any]:
    """AllocTRES "...,gres/gpu=4" or "gres/gpu:a100=4" -> (count, model or None)."""
    return _per_distinct(tres, _parse_gpus)


def _parse_gpus(strings: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    text = pc.fill_null(strings, "")
    total = _numbers(pc.extract_regex(text, r"gres/gpu=(?P<n>\d+)").field("n"))
    typed = pc.extract_regex(text, r"gres/gpu:(?P<model>[^=,]+)=(?P<n>\d+)")
    count = np.where(np.isnan(total), _numbers(pc.struct_field(typed, "n")), total)
    model = np.asarray(pc.struct_field(typed, "model").to_numpy(zero_copy_only=False), dtype=object)
    return count, np.where(pd.isna(model) | (model == ""), None, model)


def _times(values: Any) -> Any:
    import pandas as pd
    import pyarrow.compute as pc

    parsed = pc.strptime(pc.fill_null(_strings(values), ""), format=_TIME_FORMAT, unit="s", error_is_null=True)
    return pd.Series(
        pd.to_datetime(parsed.to_numpy(zero_copy_only=False)), index=getattr(values, "index", None)
    ).dt.tz_localize("UTC")


def _text_array(data: bytes) -> Any:
    """The file's bytes as one Arrow string, without a Python str copy; invalid UTF-8 is replaced."""
    import pyarrow as pa

    large = len(data) >= 2**31 - 1
    offsets = pa.array([0, len(data)], type=pa.int64() if large else pa.int32()).buffers()[1]
    array = pa.Array.from_buffers(pa.large_string() if large else pa.string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return _text_array(data.decode("utf-8", errors="replace").encode("utf-8"))
    return array


def _split_lines(data: bytes, fields: Sequence[str] | None) -> tuple[Any, list[str], list[tuple[int, str, str]]]:
    """The data lines as a table of Arrow string columns (plus `_line`, 1-based, and `_text`),
    the field names, and the lines that do not fit. All splitting runs in Arrow's C++ kernels,
    so a million-line log costs no per-line Python."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = _text_array(data)
    kind = whole.type
    lines = pc.utf8_rtrim(pc.split_pattern(whole, "\n").flatten(), characters="\r")
    del whole
    skip = pc.or_(pc.equal(lines, ""), pc.starts_with(lines, "#")).to_numpy(zero_copy_only=False)
    data = np.flatnonzero(~skip)
    names: list[str] | None = [f.strip() for f in fields] if fields else None
    min_fields = len(names) if names else _DEFAULT_MIN_FIELDS
    if names is None and len(data):
        first = [f.strip() for f in lines[int(data[0])].as_py().split("|")]
        if "jobid" in [f.lower() for f in first]:
            names, min_fields, data = first, len(first), data[1:]
    names = names or list(DEFAULT_FIELDS)
    width = len(names)
    counts = pc.count_substring(lines, "|").to_numpy(zero_copy_only=False)[data] + 1
    good = (counts >= min_fields) & (counts <= width)
    rejects = [
        (int(i) + 1, f"malformed line: {int(c)} fields, expected {width}", lines[int(i)].as_py())
        for i, c in zip(data[~good], counts[~good])
    ]
    kept_index = data[good]
    kept = pc.take(lines, pa.array(kept_index))
    del lines
    short = counts[good] < width
    if short.any():  # older lines without the trailing fields
        pad = pc.binary_repeat(pa.scalar("|", type=kind), pa.array(width - counts[good]))
        kept = pc.binary_join_element_wise(kept, pad, "")
    return kept, kept_index + 1, names, rejects


def _positions(names: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in reversed(list(enumerate(names)))}  # first of duplicates


@dataclass(frozen=True)
class _Shape:
    """What decides whether a log is regular, found in one pass over its bytes."""

    first_line: bytes
    second_line: bytes
    has_cr: bool
    has_comment: bool  # a line starting with "#"
    newlines: int
    ends_with_newline: bool


def _shape(chunks: Any) -> _Shape:
    """The shape of a log given as successive byte chunks (a file read piece by piece, or one
    bytes object): memchr-fast one-byte searches, the two-byte one only where "#" occurs."""
    head, has_cr, has_comment, newlines, previous = b"", False, False, 0, b"\n"
    for chunk in chunks:
        if not chunk:
            continue
        if len(head) < 2**16 or head.count(b"\n") < 2:
            head += chunk[: 2**16]
        has_cr = has_cr or b"\r" in chunk
        has_comment = has_comment or (b"#" in chunk and b"\n#" in previous[-1:] + chunk)
        newlines += chunk.count(b"\n")
        previous = chunk
    lines = head.split(b"\n", 2)
    return _Shape(
        lines[0],
        lines[1] if len(lines) > 1 else b"",
        has_cr,
        has_comment,
        newlines,
        newlines > 0 and previous.endswith(b"\n"),
    )


def _file_chunks(path: str | Path, size: int = 2**26) -> Any:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _regular_table(
    data: bytes | None, fields: Sequence[str] | None, wanted: Sequence[str], path: str | Path | None = None
) -> Any:
    """The usual log, read by Arrow's multi-threaded CSV parser: (table of the wanted fields as
    raw string columns `f<position>`, line numbers, names, width), or None when the file is not
    regular: every line a record with the same number of fields, no header past the first
    line, no blank or comment lines, no carriage returns, valid UTF-8. Anything else goes
    through `_split_lines`, which handles every case line by line in Arrow kernels."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as csv

    shape = _shape([data] if data is not None else _file_chunks(path))
    if shape.has_cr or shape.has_comment or not shape.first_line:  # (an empty first line: blank, or no data)
        return None
    first = [f.strip() for f in shape.first_line.decode("utf-8", errors="replace").split("|")]
    names: list[str] | None = [f.strip() for f in fields] if fields else None
    min_fields = len(names) if names else _DEFAULT_MIN_FIELDS
    header = names is None and "jobid" in [f.lower() for f in first]
    if header:
        names, min_fields = first, len(first)
        if not shape.second_line:
            return None
        count = shape.second_line.count(b"|") + 1
    else:
        count = len(first)
    names = names or list(DEFAULT_FIELDS)
    if not min_fields <= count <= len(names) or count < 2:  # one field: a blank line would read as a record
        return None
    positions = _positions(names)
    columns = sorted({positions[name] for name in wanted if name in positions and positions[name] < count})
    try:
        table = csv.read_csv(
            pa.py_buffer(data) if data is not None else str(path),  # a path is read in blocks, never whole
            read_options=csv.ReadOptions(autogenerate_column_names=True, skip_rows=1 if header else 0),
            # A line with another number of fields is an error (ArrowInvalid): that file is not regular.
            parse_options=csv.ParseOptions(
                delimiter="|",
                quote_char=False,
                escape_char=False,
                double_quote=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(count)},
                include_columns=[f"f{i}" for i in columns],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    first_number = 2 if header else 1
    lines = shape.newlines + (0 if shape.ends_with_newline else 1)
    if table.num_rows != lines - first_number + 1:  # blank lines were skipped: numbering would be off
        return None
    return table, np.arange(first_number, first_number + table.num_rows), names, count


def _line_texts(data: bytes, numbers: Any, width: int) -> list[str]:
    """The text of some lines (1-based numbers), padded with "|" to `width` fields the way
    `_split_lines` pads short lines: the regular path keeps no line texts, only their numbers."""
    import numpy as np

    numbers = np.asarray(numbers, dtype=np.int64)
    if not len(numbers):
        return []
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate([[0], ends + 1])
    ends = np.concatenate([ends, [len(data)]])
    texts = []
    for number in numbers.tolist():
        text = data[starts[number - 1] : ends[number - 1]].decode("utf-8", errors="replace")
        texts.append(text + "|" * max(0, width - text.count("|") - 1))
    return texts


def _fields(lines: Any, numbers: Any, names: list[str], wanted: Sequence[str]) -> Any:
    """The wanted fields of some lines as Arrow-backed string columns, plus `_line` and `_text`
    (lines: an Arrow string array of whole lines; or the regular path's table of raw fields,
    which has no `_text`).

    Only the fields the job table needs are materialised: splitting is cheap, copying every
    column of a wide `sacct --format` is not."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    positions = _positions(names)
    present = [name for name in wanted if name in positions]
    if isinstance(lines, pa.Table):
        # Fields past the file's last one are empty, as `_split_lines` pads them.
        columns = {
            name: pd.arrays.ArrowExtensionArray(
                pc.utf8_trim_whitespace(lines[f"f{positions[name]}"])
                if f"f{positions[name]}" in lines.column_names
                else pa.nulls(lines.num_rows, pa.string()).fill_null("")
            )
            for name in present
        }
        columns["_line"] = numbers
        return pd.DataFrame(columns)
    last = max((positions[name] for name in present), default=0)
    parts = pc.split_pattern(lines, "|", max_splits=last + 1)
    # Arrow-backed strings: pandas runs their .str methods as Arrow kernels, not per row in Python.
    columns = {
        name: pd.arrays.ArrowExtensionArray(pc.utf8_trim_whitespace(pc.list_element(parts, positions[name])))
        for name in present
    }
    columns["_line"] = numbers
    columns["_text"] = pd.arrays.ArrowExtensionArray(lines)
    return pd.DataFrame(columns)


_JOB_FIELDS = (
    "JobID",
    "State",
    "Start",
    "End",
    "Elapsed",
    "NCPUS",
    "AllocCPUS",
    "ReqCPUS",
    "AllocNodes",
    "ReqNodes",
    "ReqMem",
    "AllocTRES",
    "TotalCPU",
    "ConsumedEnergyRaw",
    "Constraints",
    "Features",
    "Partition",
    "User",
    "Account",
    "WCKey",
)
_STEP_FIELDS = ("MaxRSS", "TotalCPU", "ConsumedEnergyRaw")


def read_sacct(path: str | Path, fields: Sequence[str] | None = None, data: bytes | None = None) -> ReadResult:
    """Read one sacct output file into the job table (see carbon.batch.schema)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    given = data
    # From a path, the regular reader never holds the whole file's bytes.
    regular = _regular_table(data, fields, sorted({"JobID", *_JOB_FIELDS, *_STEP_FIELDS}), path)
    if regular is not None:
        kept, numbers, names, _ = regular
        bad: list[tuple[int, str, str]] = []
    else:
        kept, numbers, names, bad = _split_lines(Path(path).read_bytes() if data is None else data, fields)
    del regular
    width = len(names)

    def line_texts(lines: Any) -> list[str]:
        """Rejected lines' texts for the regular path, which keeps none: read again (rejects are few)."""
        return _line_texts(Path(path).read_bytes() if given is None else given, lines, width)

    def texts(frame: Any, mask: Any) -> Any:
        if "_text" in frame:
            return frame.loc[mask, "_text"]
        return line_texts(frame.loc[mask, "_line"].to_numpy())

    rejected = [pd.DataFrame(bad, columns=["line", "reason", "text"])] if bad else []
    if not len(kept):
        return ReadResult(conform(pd.DataFrame()), rejects_frame(*zip(*bad)) if bad else empty_rejects(), str(path))
    if "JobID" not in names:
        raise ValueError(f"{path}: no JobID field (give --fields as passed to sacct --format)")

    job_id = _fields(kept, numbers, names, ["JobID"])["JobID"]
    key_array = pc.replace_substring_regex(pa.array(job_id.array), r"\..*$", "")
    is_step = pc.match_substring(pa.array(job_id.array), ".").to_numpy(zero_copy_only=False)
    bad_id = pc.equal(key_array, "").to_numpy(zero_copy_only=False)
    if bad_id.any():
        rejected.append(
            rejects_frame(
                numbers[bad_id],
                "malformed line: empty JobID",
                line_texts(numbers[bad_id]) if isinstance(kept, pa.Table) else pc.filter(kept, pa.array(bad_id)),
            )
        )

    def part(lines: Any, mask: Any, wanted: Sequence[str]) -> Any:
        selected = pa.array(mask)
        if isinstance(lines, pa.Table):  # filter only the fields this part reads
            positions = _positions(names)
            lines = lines.select(
                sorted({f"f{positions[name]}" for name in wanted if name in positions} & set(lines.column_names))
            )
        frame = _fields(pc.filter(lines, selected), numbers[mask], names, wanted)
        frame["_key"] = pd.arrays.ArrowExtensionArray(pc.filter(key_array, selected))  # noqa: F821 (closure; freed by a later del)
        return frame

    jobs = part(kept, ~is_step & ~bad_id, _JOB_FIELDS)
    steps = part(kept, is_step & ~bad_id, _STEP_FIELDS)
    del kept, job_id, key_array
    # Steps join their job by key in Arrow (a hash join on the texts, no Python strings): each
    # step gets the first job row with its key, each job row the first row with its own key.
    job_keys = _strings(jobs["_key"])
    job_keys = job_keys.combine_chunks() if isinstance(job_keys, pa.ChunkedArray) else job_keys
    job_of = pc.index_in(_strings(steps["_key"]), value_set=job_keys).fill_null(-1).to_numpy(zero_copy_only=False)
    first_row = pc.index_in(job_keys, value_set=job_keys).to_numpy(zero_copy_only=False)
    del job_keys
    orphan = job_of < 0
    if orphan.any():
        rejected.append(
            rejects_frame(steps.loc[orphan, "_line"], "job step without its job line", texts(steps, orphan))
        )
    steps, job_of = steps[~orphan], job_of[~orphan]

    def column(frame: Any, name: str) -> Any:
        if name in frame:
            return frame[name]
        return pd.Series(
            pd.arrays.ArrowExtensionArray(pa.nulls(len(frame), pa.string()).fill_null("")), index=frame.index
        )

    # Steps add what the job line lacks: peak memory, CPU time, measured energy.
    folded = pd.DataFrame({"_job": job_of})
    folded["rss_gb"] = parse_memory_gb(column(steps, "MaxRSS"))[0]
    folded["cpu_s"] = parse_duration_s(column(steps, "TotalCPU"))
    folded["energy_j"] = _floats(column(steps, "ConsumedEnergyRaw"))
    del steps
    by_job = folded.groupby("_job", sort=False).agg(
        rss_gb=("rss_gb", "max"), cpu_s=("cpu_s", "sum"), energy_j=("energy_j", "max")
    )
    by_job["cpu_s"] = by_job["cpu_s"].where(by_job["cpu_s"] > 0)

    start = _times(column(jobs, "Start"))
    end = _times(column(jobs, "End"))
    elapsed_s = parse_duration_s(column(jobs, "Elapsed"))
    state_text = column(jobs, "State")  # fields come trimmed
    state = _arrow_series(
        _per_distinct(state_text, lambda texts: pc.utf8_upper(pc.replace_substring_regex(texts, r" .*$", ""))),
        state_text.index,
    )
    # A running job has no end yet: it has used start + elapsed so far.
    end = end.where(end.notna(), start + pd.to_timedelta(elapsed_s, unit="s"))
    start_text = column(jobs, "Start")
    never = start.isna() & start_text.isin(_NOT_A_TIME)
    unreadable = start.isna() & ~never
    for mask, reason in ((never, "job never started"), (unreadable, "malformed line: cannot read Start")):
        if mask.any():
            rejected.append(rejects_frame(jobs.loc[mask, "_line"], reason, texts(jobs, mask)))
    ok = ~(never | unreadable)
    jobs, start, end, state = jobs[ok], start[ok], end[ok], state[ok]
    elapsed_s = elapsed_s[ok.to_numpy()]

    cpus = _floats(column(jobs, "NCPUS"))
    cpus = np.where(cpus > 0, cpus, _floats(column(jobs, "AllocCPUS")))
    cpus = np.where(cpus > 0, cpus, _floats(column(jobs, "ReqCPUS")))
    nodes = _floats(column(jobs, "AllocNodes"))
    nodes = np.where(nodes > 0, nodes, _floats(column(jobs, "ReqNodes")))
    nodes = np.where(np.isnan(nodes), 1.0, nodes)
    memory, per = parse_memory_gb(column(jobs, "ReqMem"))
    memory = np.where(per == "c", memory * cpus, np.where(per == "n", memory * nodes, memory))
    memory = np.where(memory > 0, memory, np.nan)  # 0n / 0c: all of the node's memory
    gpus, gpu_model = parse_gpus(column(jobs, "AllocTRES"))

    extra = by_job.reindex(first_row[ok.to_numpy()])
    cpu_s = parse_duration_s(column(jobs, "TotalCPU"))
    step_cpu_s = extra["cpu_s"].to_numpy(dtype=float)
    from_steps = np.isnan(cpu_s) | ((cpu_s == 0) & (np.nan_to_num(step_cpu_s) > 0))
    cpu_s = np.where(from_steps, step_cpu_s, cpu_s)
    energy_j = _floats(column(jobs, "ConsumedEnergyRaw"))
    energy_j = np.where(energy_j > 0, energy_j, extra["energy_j"].to_numpy())
    duration_s = (end - start).dt.total_seconds().to_numpy()
    wall_s = np.where(np.isnan(elapsed_s), duration_s, elapsed_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.clip(cpu_s / (wall_s * cpus), 0.0, 1.0)
    util = np.where(wall_s > 0, util, np.nan)

    constraints = column(jobs, "Constraints")
    if "Constraints" not in jobs and "Features" in jobs:
        constraints = jobs["Features"]
    table = pd.DataFrame(
        {
            "line": jobs["_line"].to_numpy(),
            "job_id": pd.arrays.ArrowExtensionArray(_strings(jobs["JobID"])),
            "start": start.array,
            "end": end.array,
            "hardware": _optional_texts(constraints),
            "partition": _optional_texts(column(jobs, "Partition")),
            "cpus": cpus,
            "cpu_time_s": cpu_s,
            "cpu_util": util,
            "memory_gb": memory,
            "memory_used_gb": extra["rss_gb"].to_numpy(),
            "gpus": gpus,
            "gpu_model": gpu_model,
            "measured_kwh": np.where(energy_j > 0, energy_j / 3.6e6, np.nan),
            "state": pd.arrays.ArrowExtensionArray(_strings(state)),
            "user": _optional_texts(column(jobs, "User")),
            "account": _optional_texts(column(jobs, "Account")),
            "project": _optional_texts(column(jobs, "WCKey")),
        },
        copy=False,
    )
    table["start"] = pd.to_datetime(table["start"], utc=True)
    table["end"] = pd.to_datetime(table["end"], utc=True)
    rejects = pd.concat(rejected, ignore_index=True) if rejected else empty_rejects()
    rejects = rejects.sort_values("line", kind="stable").reset_index(drop=True)
    return ReadResult(conform(table), rejects, str(path))
