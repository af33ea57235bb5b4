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

Reading runs as named steps: `_load` (the lines, by Arrow's CSV parser in blocks on a few threads
when the file is regular), `_records` (job and step lines apart, steps joined to their job),
`_fold_steps`, `_when` (start and end), `_resources` (CPUs, memory, GPUs), `_usage` (CPU time,
utilisation, energy), then the checks. Work happens on Arrow arrays and numpy, once per distinct text where texts repeat.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbon.batch.checks import Verdicts, check_duplicates, check_ranges, increasing_integers
from carbon.batch.schema import ReadResult, conform, empty_rejects, rejects_frame
from carbon.errors import DataError
from carbon.units import J_PER_KWH

log = logging.getLogger(__name__)

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
# Fields whose text is free, so that a "|" inside one shifts the others.
_FREE_TEXT = ("JobName", "Comment", "AdminComment", "SystemComment", "WorkDir", "SubmitLine", "Constraints", "Features")
_MENDED_BAR = "\u00a6"  # "¦": what a "|" inside the free-text field becomes (the field is not carried)


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


def parse_gres_gpus(gres: Any) -> tuple[Any, Any]:
    """AllocGRES / ReqGRES "gpu:2", "gpu:a100:2", "gpu:tesla:2(IDX:0-1)" -> (count, model or None)."""
    return _per_distinct(gres, _parse_gres_gpus)


def _parse_gres_gpus(strings: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    parts = pc.extract_regex(pc.fill_null(strings, ""), r"(?:^|,)gpu(?::(?P<model>[^:,(=]+))?:(?P<n>\d+)")
    model = np.asarray(pc.struct_field(parts, "model").to_numpy(zero_copy_only=False), dtype=object)
    return _numbers(pc.struct_field(parts, "n")), np.where(pd.isna(model) | (model == ""), None, model)


def parse_tres_memory_gb(tres: Any) -> Any:
    """AllocTRES "...,mem=32G,..." -> the job's memory in GB (NaN where it names none)."""
    return _per_distinct(tres, _parse_tres_memory_gb)


def _parse_tres_memory_gb(strings: Any) -> Any:
    import pyarrow.compute as pc

    found = pc.extract_regex(pc.fill_null(strings, ""), r"(?:^|,)mem=(?P<m>[^,]+)")
    return _parse_memory_gb(pc.struct_field(found, "m"))[0]


def _times(values: Any) -> Any:
    """Times as UTC timestamps (NaT where unreadable), in any layout of _TIME_FORMATS or as epoch
    seconds; the other layouts are tried only on what the default one could not read."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pc.fill_null(_strings(values), "")
    parsed = pc.strptime(strings, format=_TIME_FORMATS[0], unit="s", error_is_null=True)
    unread = pc.and_(pc.is_null(parsed), pc.not_equal(strings, ""))
    if pc.any(unread).as_py():
        epoch = pc.if_else(pc.match_substring_regex(strings, _EPOCH), strings, None)
        parsed = pc.coalesce(parsed, pc.cast(pc.cast(epoch, pa.int64()), pa.timestamp("s")))
        for layout in _TIME_FORMATS[1:]:
            parsed = pc.coalesce(parsed, pc.strptime(strings, format=layout, unit="s", error_is_null=True))
    seconds = parsed.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False)
    return pd.Series(
        pd.to_datetime(np.asarray(seconds, dtype="datetime64[s]")), index=getattr(values, "index", None)
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


def _names(first: Sequence[str] | None, fields: Sequence[str] | None) -> tuple[list[str], int, bool]:
    """(field names, fewest fields a record may have, whether the first line is a header): from
    `fields` (as passed to `sacct --format`), else a header line (one naming JobID or JobIDRaw),
    else the default layout. Names are matched without regard to case; JobIDRaw stands for JobID
    when there is no JobID."""
    if fields:
        names, header = [f.strip() for f in fields], False
    elif first is not None and any(f.strip().lower() in ("jobid", "jobidraw") for f in first):
        names, header = [f.strip() for f in first], True
    else:
        return list(DEFAULT_FIELDS), _DEFAULT_MIN_FIELDS, False
    names = [_KNOWN_FIELDS.get(name.lower(), name) for name in names]
    if "JobID" not in names and "JobIDRaw" in names:
        names[names.index("JobIDRaw")] = "JobID"
    return names, len(names), header


def _mend_free_text(lines: Any, rows: Any, names: Sequence[str]) -> tuple[Any, Any]:
    """Lines with more fields than the header, when one free-text field (the job name) can hold the
    extra "|": those "|" become "¦" in that field. Returns (lines, the rows mended)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    free = [i for i, name in enumerate(names) if name in _FREE_TEXT]
    if len(free) != 1 or not len(rows):
        return lines, np.array([], dtype=np.int64)
    position, width, mended = free[0], len(names), []
    for row in rows.tolist():
        parts = lines[row].as_py().split("|")
        extra = len(parts) - width
        parts[position : position + extra + 1] = [_MENDED_BAR.join(parts[position : position + extra + 1])]
        mended.append("|".join(parts))
    mask = np.zeros(len(lines), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(lines, pa.array(mask), pa.array(mended, type=lines.type)), rows


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
    first = lines[int(data[0])].as_py().split("|") if len(data) else None
    names, min_fields, header = _names(first, fields)
    if header:
        data = data[1:]
    width = len(names)
    counts = pc.count_substring(lines, "|").to_numpy(zero_copy_only=False)[data] + 1
    lines, mended = _mend_free_text(lines, data[counts > width], names)
    counts[np.isin(data, mended)] = width
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


def _shape(handle: Any, block: int = 2**24) -> _Shape:
    """The shape of a log read from a binary file object, block by block into one reused buffer
    (fresh memory for every block, or the whole file mapped at once, would cost more than the
    scan): one-byte searches, a vectorised newline count, the two-byte search for a comment line
    only where "#" occurs at all."""
    import numpy as np

    buffer = bytearray(block)
    head, has_cr, has_comment, newlines, last = b"", False, False, 0, b"\n"
    while size := handle.readinto(buffer):
        if head.count(b"\n") < 2:  # the first two lines
            position = -1
            for _ in range(2 - head.count(b"\n")):
                position = buffer.find(b"\n", position + 1, size)
                if position < 0:
                    break
            head += bytes(buffer[: size if position < 0 else position + 1])
        has_cr = has_cr or buffer.find(b"\r", 0, size) >= 0
        has_comment = has_comment or (
            buffer.find(b"#", 0, size) >= 0
            and ((last == b"\n" and buffer[:1] == b"#") or buffer.find(b"\n#", 0, size) >= 0)
        )
        newlines += int(np.count_nonzero(np.frombuffer(buffer, dtype=np.uint8, count=size) == 10))
        last = bytes(buffer[size - 1 : size])
    lines = head.split(b"\n", 2)
    return _Shape(
        lines[0],
        lines[1] if len(lines) > 1 else b"",
        has_cr,
        has_comment,
        newlines,
        newlines > 0 and last == b"\n",
    )


BLOCK_BYTES = 2**22  # the regular path reads the log in blocks of this size (about 20,000 lines)


@dataclass
class _Split:
    """A regular log's records read block by block, job lines apart from step lines as each block
    is read, each part keeping only the raw fields (`f<position>`) it needs: the whole log's
    fields are never held at once."""

    jobs: Any  # pyarrow Table: the job fields of the job lines, and `_key` (the id without a step suffix)
    job_numbers: Any  # 1-based line number of each job line
    steps: Any  # pyarrow Table: the step fields of the step lines, and `_key`
    step_numbers: Any
    no_id: Any  # line numbers of the records with an empty JobID


class _Irregular(DataError):
    """A block shows that the log is not regular: the line-by-line path reads it instead (never
    raised out of the reader)."""


def _blocks(handle: Any, size: int) -> Any:
    """The file's bytes in blocks of about `size` bytes, each cut after its last newline (a line
    longer than a block makes a longer block), so that every block starts a line."""
    rest = b""
    while chunk := handle.read(size):
        cut = chunk.rfind(b"\n") + 1
        if not cut:  # no line ends in this chunk
            rest += chunk
        elif not rest and cut == len(chunk):
            yield chunk
        else:  # one copy: the last block's unfinished line, then this chunk's finished ones
            block, rest = b"".join((rest, memoryview(chunk)[:cut])), chunk[cut:]
            yield block
    if rest:
        yield rest


def _regular_table(
    data: bytes | None, fields: Sequence[str] | None, wanted: Sequence[str], path: str | Path | None = None
) -> tuple[_Split, range, list[str]] | None:
    """The usual log, read by Arrow's CSV parser in blocks: (the job and step lines apart, the
    records' line numbers, the names), or None when the file is not regular: every line a record with
    the same number of fields, no header past the first line, no blank or comment lines, no
    carriage returns, valid UTF-8. Anything else goes through `_split_lines`, which handles
    every case line by line in Arrow kernels.

    Blocks are parsed on a few threads (Arrow releases the GIL), a few blocks ahead of the one
    being split, so memory holds only those blocks and the fields kept."""
    import pyarrow as pa

    with io.BytesIO(data) if data is not None else open(path, "rb", buffering=0) as handle:  # type: ignore[arg-type]
        blocks = _blocks(handle, BLOCK_BYTES)
        head = next(blocks, b"")
        while head.count(b"\n") < 2 and (more := next(blocks, b"")):
            head += more  # the header and the first record in one block
        shape = _shape(io.BytesIO(head), max(len(head), 1))
        if not shape.first_line:  # an empty first line: blank, or no data
            return None
        first = shape.first_line.decode("utf-8", errors="replace").split("|")
        names, min_fields, header = _names(first, fields)
        if header:
            if not shape.second_line:
                return None
            count = shape.second_line.count(b"|") + 1
        else:
            count = len(first)
        if not min_fields <= count <= len(names) or count < 2:  # one field: a blank line would read as a record
            return None
        positions = _positions(names)
        if "JobID" not in positions:  # the line-by-line path says what is missing
            return None
        if "Start" in positions:  # Submit stands in for Start only when there is none: not worth reading
            wanted = [name for name in wanted if name != "Submit"]

        def read(names_wanted: Sequence[str]) -> list[str]:
            return [
                f"f{i}" for i in sorted({positions[n] for n in names_wanted if n in positions and positions[n] < count})
            ]

        included = read(wanted)
        reader = _BlockReader(
            count,
            included,
            read(["JobID"])[0] if positions["JobID"] < count else None,
            [c for c in read(_JOB_FIELDS) if c in included],
            [c for c in read(_STEP_FIELDS) if c in included],
        )
        first_number = 2 if header else 1
        parts = _SplitParts(reader.job_columns, reader.step_columns)
        lines = _LineCounter()
        try:
            for block in _in_order(
                reader.read,
                [(head, lines(head), 1 if header else 0)],
                ((block, lines(block), 0) for block in blocks),
            ):
                parts.add(block, first_number)
        except (_Irregular, pa.ArrowInvalid, UnicodeDecodeError):
            return None
    return parts.split(), range(first_number, first_number + parts.records), names


class _LineCounter:
    """Lines in a block of a regular log (see _blocks), or _Irregular where one holds a carriage
    return or a comment line. The newlines are counted by numpy into one reused buffer: a fresh
    array per block would cost more in page faults than the count; "#" and CR are one-byte
    searches, the two-byte one only where "#" occurs at all."""

    def __init__(self) -> None:
        import numpy as np

        self.newline = np.empty(0, dtype=bool)

    def __call__(self, block: bytes) -> int:
        import numpy as np

        if b"\r" in block or (b"#" in block and (block.startswith(b"#") or b"\n#" in block)):
            raise _Irregular
        raw = np.frombuffer(block, dtype=np.uint8)
        if len(self.newline) < len(raw):
            self.newline = np.empty(len(raw), dtype=bool)
        newline = np.equal(raw, 10, out=self.newline[: len(raw)])
        return int(np.count_nonzero(newline)) + (0 if block.endswith(b"\n") else 1)


def _in_order(work: Any, first: list[tuple], rest: Any) -> Any:
    """work(*args) for each args of `first` then `rest`, on as many threads as Arrow uses (at most
    4, each holding a block), the results yielded in order; a failure stops the rest."""
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    arguments = itertools.chain(first, rest)
    threads = max(1, min(pa.cpu_count(), 4))
    if threads == 1:
        yield from (work(*args) for args in arguments)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending = [pool.submit(work, *args) for args in itertools.islice(arguments, threads + 1)]
        try:
            while pending:
                result = pending.pop(0).result()
                pending.extend(pool.submit(work, *args) for args in itertools.islice(arguments, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()


@dataclass
class _Block:
    """One block's records as parsed, before they are split (see _SplitParts.add)."""

    fields: Any  # pyarrow Table of the fields read (`f<position>`), trimmed
    job_id: Any  # the JobID texts, trimmed
    is_step: Any  # numpy bool per record
    no_id: Any


@dataclass(frozen=True)
class _BlockReader:
    """Parses one block of a regular log (see _Split); safe to run on several threads."""

    count: int  # fields per line
    included: list[str]  # the raw fields read (`f<position>`)
    id_column: str | None  # None: JobID past the file's last field, every id empty
    job_columns: list[str]
    step_columns: list[str]

    def read(self, block: bytes, lines: int, skip: int) -> _Block:
        """The block's records (its `lines` after `skip` header lines), parsed and trimmed, with
        which are steps and which have no id. Raises _Irregular or ArrowInvalid where the block is
        not regular: a line with another number of fields, or fewer records than lines (blank
        lines, which the parser skips)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as csv

        batch = csv.read_csv(
            pa.py_buffer(block),
            # Names given: a line with another number of fields is an error (ArrowInvalid).
            read_options=csv.ReadOptions(
                column_names=[f"f{i}" for i in range(self.count)],
                skip_rows=skip,
                use_threads=False,
                block_size=len(block) + 1,  # one chunk per column
            ),
            parse_options=csv.ParseOptions(
                delimiter="|",
                quote_char=False,
                escape_char=False,
                double_quote=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(self.count)},
                include_columns=self.included,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if batch.num_rows != lines - skip:
            raise _Irregular  # blank lines were skipped: numbering would be off
        # Trimmed here, on the block's thread: the fields are read as they will be kept.
        batch = pa.Table.from_arrays(
            [_trimmed(column.combine_chunks()) for column in batch.columns], names=batch.column_names
        )
        if self.id_column is None:
            job_id = pa.nulls(batch.num_rows, pa.string()).fill_null("")
        else:
            job_id = batch.column(self.id_column).chunk(0)
        is_step = pc.match_substring(job_id, ".").to_numpy(zero_copy_only=False)
        # No id: an empty one, or nothing before its first ".".
        no_id = pc.or_(pc.equal(job_id, ""), pc.starts_with(job_id, ".")).to_numpy(zero_copy_only=False)
        return _Block(batch, job_id, is_step, no_id)


class _SplitParts:
    """Blocks of a regular log collected in order, their rows numbered as lines (see _Split)."""

    def __init__(self, job_columns: list[str], step_columns: list[str]) -> None:
        self.job_columns, self.step_columns = job_columns, step_columns
        self.jobs: list = []
        self.steps: list = []
        self.numbers: dict[str, list] = {"jobs": [], "steps": [], "no_id": []}
        self.records = 0

    def add(self, block: _Block, first_number: int) -> None:
        """One block's lines, each to its part. The key is the JobID up to its first "." (as
        `_line_records` finds it): a job line's whole id, so only step ids are cut.

        Split here, on the thread that keeps the parts, not on the block's: Arrow's allocator then
        holds what is kept apart from the blocks' parsing, which it can hand back whole."""
        import numpy as np
        import pyarrow as pa

        numbers = np.arange(first_number + self.records, first_number + self.records + block.fields.num_rows)
        self.records += block.fields.num_rows
        for name, columns, mask in (
            ("jobs", self.job_columns, ~block.is_step & ~block.no_id),
            ("steps", self.step_columns, block.is_step & ~block.no_id),
        ):
            selected = pa.array(mask)
            key = block.job_id.filter(selected)
            if name == "steps":
                key = _job_key(key)
            fields = [block.fields.column(c).filter(selected) for c in columns]
            getattr(self, name).append(pa.Table.from_arrays([*fields, key], names=[*columns, "_key"]))
            self.numbers[name].append(numbers[mask])
        self.numbers["no_id"].append(numbers[block.no_id])

    def split(self) -> _Split:
        import numpy as np
        import pyarrow as pa

        def table(parts: list, columns: list[str]) -> Any:
            if parts:
                return pa.concat_tables(parts)
            return pa.table({name: pa.array([], type=pa.string()) for name in [*columns, "_key"]})

        def numbers(name: str) -> Any:
            return np.concatenate(self.numbers[name]) if self.numbers[name] else np.array([], dtype=np.int64)

        return _Split(
            table(self.jobs, self.job_columns),
            numbers("jobs"),
            table(self.steps, self.step_columns),
            numbers("steps"),
            numbers("no_id"),
        )


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
    (lines: an Arrow string array of whole lines; or the regular path's table of fields, trimmed
    as they were read, which has no `_text`).

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
                lines[f"f{positions[name]}"]
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
        name: pd.arrays.ArrowExtensionArray(_trimmed(pc.list_element(parts, positions[name]))) for name in present
    }
    columns["_line"] = numbers
    columns["_text"] = pd.arrays.ArrowExtensionArray(lines)
    return pd.DataFrame(columns)


def _trimmed(texts: Any) -> Any:
    """The texts without leading or trailing whitespace. Most fields of a log hold only printable
    ASCII (bytes 0x21-0x7E, no space): then there is nothing to trim, which one pass over the
    bytes shows at a tenth of what trimming a million strings into new ones costs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        return pc.utf8_trim_whitespace(texts)
    for chunk in texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]:
        values = chunk.buffers()[2]  # the chunk's bytes (all of the buffer: a slice's too); None: no text
        if values is None:
            continue
        raw = np.frombuffer(values, dtype=np.uint8)
        if len(raw) and (raw.min() < 0x21 or raw.max() > 0x7E):  # reductions: no array of the bytes' size
            return pc.utf8_trim_whitespace(texts)
    return texts


_JOB_FIELDS = (
    "JobID",
    "State",
    "Submit",
    "Start",
    "End",
    "Elapsed",
    "NCPUS",
    "AllocCPUS",
    "ReqCPUS",
    "AllocNodes",
    "NNodes",
    "ReqNodes",
    "ReqMem",
    "AllocTRES",
    "AllocGRES",
    "ReqGRES",
    "TotalCPU",
    "ConsumedEnergyRaw",
    "Constraints",
    "Features",
    "Partition",
    "User",
    "Account",
    "WCKey",
    "Cluster",
)
_STEP_FIELDS = ("MaxRSS", "TotalCPU", "ConsumedEnergyRaw")
_KNOWN_FIELDS = {name.lower(): name for name in (*DEFAULT_FIELDS, *_JOB_FIELDS, "JobIDRaw", *_FREE_TEXT)}
# Count fields: text that is not a number there is a reject, not "unknown".
_COUNT_FIELDS = ("NCPUS", "AllocCPUS", "ReqCPUS", "AllocNodes", "NNodes", "ReqNodes", "ConsumedEnergyRaw")


@dataclass
class _Log:
    """The log's records before they are jobs: their fields, line numbers, and the lines that did not fit."""

    lines: Any  # an Arrow array of lines (None on the regular path: see `split`)
    numbers: Any  # 1-based line number of each record
    names: list[str]
    unfit: list[tuple[int, str, str]]  # (line, reason, text)
    path: str | Path
    data: bytes | None  # the bytes, when given instead of a path
    split: _Split | None = None  # the regular path's job and step lines, apart already

    def part(self, mask: Any, wanted: Sequence[str], key: Any) -> Any:
        """The wanted fields of the records in `mask`, with `_line`, `_key` and `_text` (off the regular path)."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        selected = pa.array(mask)
        frame = _fields(pc.filter(self.lines, selected), self.numbers[mask], self.names, wanted)
        frame["_key"] = pd.arrays.ArrowExtensionArray(pc.filter(key, selected))
        return frame

    def texts(self, frame: Any, mask: Any) -> list[str]:
        """Some records' texts, for their rejects: the regular path keeps none, so those lines are
        read again (rejects are few)."""
        import numpy as np

        if "_text" in frame:
            return list(frame.loc[np.asarray(mask), "_text"])
        data = Path(self.path).read_bytes() if self.data is None else self.data
        return _line_texts(data, frame.loc[np.asarray(mask), "_line"].to_numpy(), len(self.names))


def _load(path: str | Path, fields: Sequence[str] | None, data: bytes | None) -> _Log:
    """The records: by Arrow's CSV reader when the file is regular (a path is then read in blocks,
    never held whole), else line by line in Arrow kernels."""
    wanted = sorted({"JobID", *_JOB_FIELDS, *_STEP_FIELDS})
    regular = _regular_table(data, fields, wanted, path)
    if regular is not None:
        split, numbers, names = regular
        return _Log(None, numbers, names, [], path, data, split)
    lines, numbers, names, unfit = _split_lines(Path(path).read_bytes() if data is None else data, fields)
    return _Log(lines, numbers, names, unfit, path, data)


@dataclass
class _Records:
    """Job lines and step lines apart; each step knows the row of its job."""

    jobs: Any  # DataFrame: the job lines' fields, `_line`, `_key`
    steps: Any  # DataFrame: the steps' fields, `_job` (row in jobs)
    first_row: Any  # per job row: the first job row with its key (a repeated job line folds there)
    rejects: list


def _records(log: _Log) -> _Records:
    """Split job lines (JobID "123") from steps ("123.batch"), reject empty ids and orphan steps,
    and join each step to its job: a hash join on the id texts in Arrow, no Python strings."""
    import pyarrow as pa

    jobs, steps, rejects = _regular_records(log) if log.split is not None else _line_records(log)
    job_keys = _strings(jobs["_key"])
    job_keys = job_keys.combine_chunks() if isinstance(job_keys, pa.ChunkedArray) else job_keys
    job_of, first_row = _join(_strings(steps["_key"]), job_keys)
    orphan = job_of < 0
    if orphan.any():
        rejects.append(
            rejects_frame(steps.loc[orphan, "_line"], "job step without its job line", log.texts(steps, orphan))
        )
    steps = steps[~orphan].reset_index(drop=True)
    steps["_job"] = job_of[~orphan]
    return _Records(jobs, steps, first_row, rejects)


def _job_key(job_ids: Any) -> Any:
    """The job of each id: the text before its first "." ("12.batch" -> "12"; all of "12"). A split,
    not a regular expression: a third of the time."""
    import pyarrow.compute as pc

    return pc.list_element(pc.split_pattern(job_ids, ".", max_splits=1), 0)


def _line_records(log: _Log) -> tuple[Any, Any, list]:
    """(job lines, step lines, the empty-id rejects) of a log read line by line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = _fields(log.lines, log.numbers, log.names, ["JobID"])
    job_id = pa.array(ids["JobID"].array)
    key = _job_key(job_id)
    is_step = pc.match_substring(job_id, ".").to_numpy(zero_copy_only=False)
    no_id = pc.equal(key, "").to_numpy(zero_copy_only=False)
    rejects = []
    if no_id.any():
        rejects.append(rejects_frame(log.numbers[no_id], "malformed line: empty JobID", log.texts(ids, no_id)))
    del ids
    return log.part(~is_step & ~no_id, _JOB_FIELDS, key), log.part(is_step & ~no_id, _STEP_FIELDS, key), rejects


def _regular_records(log: _Log) -> tuple[Any, Any, list]:
    """(job lines, step lines, the empty-id rejects) of a log read in blocks (see _Split)."""
    import numpy as np
    import pandas as pd

    split = log.split
    assert split is not None
    rejects = []
    if len(split.no_id):
        shown = log.texts(pd.DataFrame({"_line": split.no_id}), np.ones(len(split.no_id), dtype=bool))
        rejects.append(rejects_frame(split.no_id, "malformed line: empty JobID", shown))
    parts = []
    for table, numbers, wanted in (
        (split.jobs, split.job_numbers, _JOB_FIELDS),
        (split.steps, split.step_numbers, _STEP_FIELDS),
    ):
        frame = _fields(table, numbers, log.names, wanted)
        frame["_key"] = pd.arrays.ArrowExtensionArray(table["_key"])
        parts.append(frame)
    log.split = None  # the fields are in the frames now
    return parts[0], parts[1], rejects


def _join(step_keys: Any, job_keys: Any) -> tuple[Any, Any]:
    """(per step: the row of the first job line with its key, -1 for none; per job line: the
    first job row with its key). Job ids that are integers in increasing order (the usual log)
    are distinct and are found by a binary search, each match confirmed on the texts ("07" is
    not job "7"); any other ids by an Arrow hash join."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    step_keys = step_keys.combine_chunks() if isinstance(step_keys, pa.ChunkedArray) else step_keys
    numbers = increasing_integers(job_keys)
    if numbers is not None and not step_keys.null_count:
        try:
            wanted = pc.cast(step_keys, pa.int64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            wanted = None
        if wanted is not None:
            rows = np.minimum(np.searchsorted(numbers, wanted), max(len(numbers) - 1, 0))
            found = np.zeros(len(wanted), dtype=bool) if not len(numbers) else numbers[rows] == wanted
            if found.any():
                found[found] = pc.equal(step_keys.filter(found), job_keys.take(rows[found])).to_numpy(
                    zero_copy_only=False
                )
            return np.where(found, rows, -1), np.arange(len(job_keys))
    job_of = pc.index_in(step_keys, value_set=job_keys).fill_null(-1).to_numpy(zero_copy_only=False)
    return job_of, pc.index_in(job_keys, value_set=job_keys).to_numpy(zero_copy_only=False)


def _column(frame: Any, name: str) -> Any:
    """A field of the frame, or empty texts when the log has no such field."""
    import pandas as pd
    import pyarrow as pa

    if name in frame:
        return frame[name]
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.nulls(len(frame), pa.string()).fill_null("")), index=frame.index)


def _column_floats(frame: Any, name: str) -> Any:
    """A field as float64 numpy (see _floats); all NaN, without parsing, when the log has no such field."""
    import numpy as np

    return _floats(frame[name]) if name in frame else np.full(len(frame), np.nan)


def _column_texts(frame: Any, name: str) -> Any:
    """A field as optional texts (see _optional_texts); all missing when the log has no such field."""
    import pandas as pd
    import pyarrow as pa

    return (
        _optional_texts(frame[name])
        if name in frame
        else pd.arrays.ArrowExtensionArray(pa.nulls(len(frame), pa.string()))
    )


def _fold_steps(records: _Records) -> dict[str, Any]:
    """Per job row (its first row), as numpy arrays: the steps' peak memory, summed CPU time and largest energy
    (NaN where a job has no step, or none gives the figure; CPU time NaN unless above 0).

    The maxima skip NaN and are exact in any order: steps are sorted by job (no sort when they
    come in job order, as sacct prints them) and each job's run reduced at once. The sum is
    pandas' group sum, as it always was: its rounding (compensated, or plain where the groups
    are runs without NaN) is the figure's."""
    import numpy as np
    import pandas as pd

    steps = records.steps
    job = steps["_job"].to_numpy()
    cpu_s = pd.Series(parse_duration_s(_column(steps, "TotalCPU"))).groupby(job, sort=False).sum()
    cpu_s = cpu_s.where(cpu_s > 0)
    peaks = {
        "rss_gb": parse_memory_gb(_column(steps, "MaxRSS"))[0],
        "energy_j": _column_floats(steps, "ConsumedEnergyRaw"),
    }
    if len(job) > 1 and not bool(np.all(job[1:] >= job[:-1])):
        order = np.argsort(job, kind="stable")
        job, peaks = job[order], {name: values[order] for name, values in peaks.items()}
    starts = np.flatnonzero(np.diff(job, prepend=-1)) if len(job) else np.array([], dtype=np.int64)
    by_job = {name: np.full(len(records.first_row), np.nan) for name in ("rss_gb", "cpu_s", "energy_j")}
    if len(starts):
        for name, values in peaks.items():
            by_job[name][job[starts]] = np.fmax.reduceat(values, starts)
        by_job["cpu_s"][cpu_s.index.to_numpy()] = cpu_s.to_numpy()
    first = records.first_row
    return {name: values[first] for name, values in by_job.items()}


@dataclass
class _When:
    start: Any  # pandas Series of UTC timestamps
    end: Any
    elapsed_s: Any  # numpy seconds (NaN: not given)
    from_submit: bool  # no Start field: start is the Submit time


def _when(jobs: Any, verdicts: Verdicts) -> _When:
    """Start and end of each job. Without a Start field, Submit + Elapsed (the job's time in the
    queue is unknown: flagged, and priced at a coarser granularity). A running job ends at start +
    elapsed so far. A job that never started, or whose times cannot be read, is rejected."""
    import pandas as pd

    from_submit = "Start" not in jobs and "Submit" in jobs
    start_text = _column(jobs, "Submit" if from_submit else "Start")
    start = _times(start_text)
    elapsed_s = parse_duration_s(_column(jobs, "Elapsed"))
    end = _times(_column(jobs, "End")) if not from_submit else pd.Series(pd.NaT, index=start.index, dtype=start.dtype)
    end = end.where(end.notna(), start + pd.to_timedelta(elapsed_s, unit="s"))
    never = (start.isna() & start_text.isin(_NOT_A_TIME)).to_numpy()
    verdicts.add(never, "job never started")
    field = "Submit" if from_submit else "Start"
    verdicts.add(start.isna().to_numpy(), f"malformed line: cannot read {field}")
    verdicts.add(end.isna().to_numpy(), "malformed line: no End and no Elapsed")
    return _When(start, end, elapsed_s, from_submit)


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

    counts = {}
    for name in _COUNT_FIELDS:
        if name in jobs:
            text = jobs[name]
            values = counts[name] = _floats(text)
            with np.errstate(invalid="ignore"):
                bad = (text != "").to_numpy(dtype=bool) & ~((values >= 0) & np.isfinite(values))  # text, negative, inf
            verdicts.add(
                bad,
                lambda rows, text=text, name=name: [
                    f"{name} {text.iloc[i]!r} is not a count (0 or more)" for i in rows
                ],
            )
    cpus = _first_positive([counts.get(n) for n in ("NCPUS", "AllocCPUS", "ReqCPUS")], len(jobs))
    nodes = _first_positive([counts.get(n) for n in ("AllocNodes", "NNodes", "ReqNodes")], len(jobs))
    nodes = np.where(np.isnan(nodes), 1.0, nodes)
    req_mem = _column(jobs, "ReqMem")
    memory, per = parse_memory_gb(req_mem)
    bad_size = ((req_mem != "") & np.isnan(memory)).to_numpy(dtype=bool)
    verdicts.add(bad_size, lambda rows: [f"ReqMem {req_mem.iloc[i]!r} is not a Slurm size" for i in rows])
    memory = np.where(per == "c", memory * cpus, np.where(per == "n", memory * nodes, memory))
    if "AllocTRES" in jobs:
        memory = np.where(memory > 0, memory, parse_tres_memory_gb(jobs["AllocTRES"]))
    memory = np.where(memory > 0, memory, np.nan)
    whole_node = np.isnan(memory) & (per != "")
    if whole_node.any():
        log.warning(
            "%d job(s) asked for all of a node's memory (ReqMem 0n/0c) and the log gives no size "
            "(no AllocTRES mem=): their memory is the mapped hardware's (--hardware), else a range per CPU "
            "from the cloud catalogs (0 to their 90th percentile of GB per vCPU, central their median)",
            int(whole_node.sum()),
        )
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


def _first_positive(candidates: list, size: int) -> Any:
    """Per row, the first candidate above 0, else the last candidate's value (NaN where the log
    lacks that field: a candidate of None)."""
    import numpy as np

    result = None
    for values in candidates:
        values = np.full(size, np.nan) if values is None else values
        result = values if result is None else np.where(result > 0, result, values)
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
    duration_s = (when.end - when.start).dt.total_seconds().to_numpy()
    wall_s = np.where(np.isnan(when.elapsed_s), duration_s, when.elapsed_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.clip(cpu_s / (wall_s * cpus), 0.0, 1.0)
    util = np.where(wall_s > 0, util, np.nan)
    return cpu_s, util, np.where(energy_j > 0, energy_j / J_PER_KWH, np.nan)


def _states(jobs: Any) -> Any:
    """ "CANCELLED by 123" -> "CANCELLED", upper case; TIMEOUT, OUT_OF_MEMORY, NODE_FAIL kept as they are."""
    import pyarrow.compute as pc

    text = _column(jobs, "State")
    return _per_distinct(text, lambda texts: pc.utf8_upper(pc.replace_substring_regex(texts, r" .*$", "")))


def _job_table(jobs: Any, when: _When, resources: _Resources, usage: tuple, extra: Any) -> Any:
    import numpy as np
    import pandas as pd

    cpu_s, util, measured_kwh = usage
    hardware = _column_texts(jobs, "Features" if "Constraints" not in jobs and "Features" in jobs else "Constraints")
    table = pd.DataFrame(
        {
            "line": jobs["_line"].to_numpy(),
            "job_id": pd.arrays.ArrowExtensionArray(_strings(jobs["JobID"])),
            "start": when.start.array,
            "end": when.end.array,
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
            "state": pd.arrays.ArrowExtensionArray(_strings(_states(jobs))),
            "user": _column_texts(jobs, "User"),
            "account": _column_texts(jobs, "Account"),
            "project": _column_texts(jobs, "WCKey"),
        },
        copy=False,
    )
    table["start"] = pd.to_datetime(table["start"], utc=True)
    table["end"] = pd.to_datetime(table["end"], utc=True)
    return table


def read_sacct(path: str | Path, fields: Sequence[str] | None = None, data: bytes | None = None) -> ReadResult:
    """Read one sacct output file into the job table (see carbon.batch.schema and the module docstring)."""
    import pandas as pd

    log = _load(path, fields, data)
    unfit = [pd.DataFrame(log.unfit, columns=["line", "reason", "text"])] if log.unfit else []
    if not len(log.numbers):
        rejects = pd.concat(unfit, ignore_index=True) if unfit else empty_rejects()
        return ReadResult(conform(pd.DataFrame()), _ordered(rejects), str(path))
    if "JobID" not in log.names:
        raise ValueError(f"{path}: no JobID field (give --fields as passed to sacct --format)")
    records = _records(log)
    log.lines = None  # every field needed is in the records now: free the file's text before the arithmetic
    jobs = records.jobs
    verdicts = Verdicts(len(jobs))
    clusters = jobs["Cluster"] if "Cluster" in jobs else None  # ids are unique per cluster
    first = records.first_row if clusters is None else None  # the steps' join found them already
    check_duplicates(jobs["_key"], jobs["_line"].to_numpy(), verdicts, clusters, first)
    when = _when(jobs, verdicts)
    resources = _resources(jobs, verdicts)
    extra = _fold_steps(records)
    table = _job_table(jobs, when, resources, _usage(jobs, extra, when, resources.cpus), extra)
    check_ranges(table, verdicts)
    checked = verdicts.frame(table["line"].to_numpy(), lambda rows: log.texts(jobs, _mask(len(jobs), rows)))
    rejects = pd.concat([*unfit, *records.rejects, checked], ignore_index=True)
    if verdicts.rejected.any():
        table = table[~verdicts.rejected]
    return ReadResult(conform(table), _ordered(rejects), str(path))


def _mask(size: int, rows: Any) -> Any:
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask


def _ordered(rejects: Any) -> Any:
    rejects["line"] = rejects["line"].astype("int64")
    return rejects.sort_values("line", kind="stable").reset_index(drop=True)
