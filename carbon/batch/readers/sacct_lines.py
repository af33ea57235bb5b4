"""A Slurm sacct log's text into its records' fields, before they are jobs (carbon.batch.readers.sacct).

Two paths give the same records. A regular log (every line a record with the same number of
fields, no header past the first line, no blank or comment lines, no carriage returns, valid
UTF-8) is read by Arrow's CSV parser in blocks on a few threads, job and step lines kept apart as
each block arrives, so the whole log's fields are never held at once (`_regular_table`). Any
other log is split line by line in Arrow kernels (`_split_lines`), which mends a "|" inside the
job name and makes a reject of every line that does not fit. `load` picks the path;
`line_records` and `regular_records` give each path's job lines and step lines.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from carbon.errors import DataError

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

# Fields whose text is free, so that a "|" inside one shifts the others.
_FREE_TEXT = ("JobName", "Comment", "AdminComment", "SystemComment", "WorkDir", "SubmitLine", "Constraints", "Features")
_MENDED_BAR = "\u00a6"  # "¦": what a "|" inside the free-text field becomes (the field is not carried)


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


def _split_lines(data: bytes, fields: Sequence[str] | None) -> tuple[Any, Any, list[str], list[tuple[int, str, str]]]:
    """The records' lines (an Arrow string array, short lines padded to the full width), their
    1-based line numbers, the field names, and the lines that do not fit (line, reason, text).
    All splitting runs in Arrow's C++ kernels, so a million-line log costs no per-line Python."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = _text_array(data)
    kind = whole.type
    lines = pc.utf8_rtrim(pc.split_pattern(whole, "\n").flatten(), characters="\r")
    del whole
    skip = pc.or_(pc.equal(lines, ""), pc.starts_with(lines, "#")).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(~skip)
    first = lines[int(rows[0])].as_py().split("|") if len(rows) else None
    names, min_fields, header = _names(first, fields)
    if header:
        rows = rows[1:]
    width = len(names)
    counts = pc.count_substring(lines, "|").to_numpy(zero_copy_only=False)[rows] + 1
    lines, mended = _mend_free_text(lines, rows[counts > width], names)
    counts[np.isin(rows, mended)] = width
    good = (counts >= min_fields) & (counts <= width)
    rejects = [
        (int(i) + 1, f"malformed line: {int(c)} fields, expected {width}", lines[int(i)].as_py())
        for i, c in zip(rows[~good], counts[~good])
    ]
    kept_index = rows[good]
    kept = pc.take(lines, pa.array(kept_index))
    del lines
    short = counts[good] < width
    if short.any():  # older lines without the trailing fields
        pad = pc.binary_repeat(pa.scalar("|", type=kind), pa.array(width - counts[good]))
        kept = pc.binary_join_element_wise(kept, pad, "")
    return kept, kept_index + 1, names, rejects


# Arrow <-> numpy through the buffers (carbon.batch.columns): pyarrow's own conversions (pa.array,
# pa.scalar, to_numpy) import pandas, which a log priced as columns never needs.


def text_scalar(text: str | None) -> Any:
    """An Arrow string scalar (None: the null one), taken from an array: pa.scalar imports pandas."""
    import pyarrow as pa

    from carbon.batch.columns import arrow_texts

    return pa.nulls(1, pa.string())[0] if text is None else arrow_texts([text])[0]


def int_scalar(value: int) -> Any:
    """An Arrow int64 scalar, taken from an array (see text_scalar)."""
    import numpy as np
    import pyarrow as pa

    from carbon.batch.columns import arrow_values

    return arrow_values(pa.int64(), np.array([value], dtype=np.int64))[0]


def bools(array: Any) -> Any:
    """An Arrow boolean array (chunked or not) as numpy bools, null as False."""
    from carbon.batch.columns import numpy_values

    values, valid = numpy_values(array)
    return values if valid is None else values & valid


def floats(array: Any) -> Any:
    """An Arrow number array as float64 numpy, null as NaN."""
    import numpy as np
    import pyarrow as pa

    from carbon.batch.columns import numpy_values

    values, valid = numpy_values(array.cast(pa.float64()))
    return values if valid is None else np.where(valid, values, np.nan)


def mask_array(mask: Any) -> Any:
    """numpy bools as an Arrow boolean array (a filter)."""
    import numpy as np
    import pyarrow as pa

    from carbon.batch.columns import arrow_values

    return arrow_values(pa.bool_(), np.asarray(mask, dtype=bool))


def letters(array: Any) -> Any:
    """An Arrow string array of single letters (or empty texts, no null) as a numpy `<U1` array,
    which compares to a letter without a Python object per row."""
    import numpy as np

    return np.array(array.to_pylist(), dtype="<U1")


def objects(array: Any) -> Any:
    """An Arrow string array as a numpy object array, None for null (few rows: distinct texts)."""
    import numpy as np

    values = np.empty(len(array), dtype=object)
    values[:] = array.to_pylist()
    return values


def empty_texts(n: int) -> Any:
    """n empty texts: what a field the log lacks reads as."""
    import pyarrow as pa

    return pa.nulls(n, pa.string()).fill_null(text_scalar(""))


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


def _blocks(handle: Any, size: int, spare: list[bytearray] | None = None) -> Any:
    """The file's bytes in blocks of about `size` bytes, each cut after its last newline (a line
    longer than a block makes a longer block), so that every block starts a line. Each block is
    read into its buffer after the last block's unfinished line, and cut to its last line end in
    place: no copy of the block's bytes besides the read.

    `spare`: buffers of blocks done with, which the caller hands back for the next blocks. Fresh
    memory costs a page fault per page on its first touch, which cost more than the parsing of a
    4 MB block; a buffer still exported (BufferError on resizing) is left for a new one."""
    rest = b""
    while True:
        need = len(rest) + size
        block = spare.pop() if spare else bytearray(need)
        try:
            if len(block) < need:
                block.extend(bytes(need - len(block)))
        except BufferError:
            block = bytearray(need)
        block[: len(rest)] = rest
        read = handle.readinto(memoryview(block)[len(rest) : need])
        if not read:
            break
        end = len(rest) + read
        cut = block.rfind(b"\n", 0, end) + 1
        rest = bytes(block[cut if cut else 0 : end])  # the unfinished line: all of it when none ends here
        if cut:
            try:
                del block[cut:]
            except BufferError:  # still exported: its lines copied, and a new buffer next time
                block = block[:cut]
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
        spare: list[bytearray] = []  # the buffers of blocks split already, for the next ones
        blocks = _blocks(handle, BLOCK_BYTES, spare)
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
            [c for c in read(JOB_FIELDS) if c in included],
            [c for c in read(STEP_FIELDS) if c in included],
        )
        first_number = 2 if header else 1
        parts = _SplitParts(reader.job_columns, reader.step_columns)
        try:
            for block in _in_order(reader.read, [(head, 1 if header else 0)], ((block, 0) for block in blocks)):
                parts.add(block, first_number)
                if isinstance(block.raw, bytearray):
                    spare.append(block.raw)
        except (_Irregular, pa.ArrowInvalid, UnicodeDecodeError):
            return None
    return parts.split(), range(first_number, first_number + parts.records), names


def _in_order(work: Any, first: list[tuple[Any, ...]], rest: Any) -> Any:
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
    """One block's records, job lines apart from step lines (see _SplitParts.add)."""

    jobs: Any  # pyarrow Table: the job fields read (`f<position>`), trimmed, and `_key`
    job_rows: Any  # numpy: the job lines' records, counted from the block's first
    steps: Any
    step_rows: Any
    no_id: Any  # numpy: the records with no id
    records: int
    raw: Any  # the block's bytes, parsed: their buffer can take another block


@dataclass(frozen=True)
class _BlockReader:
    """Parses one block of a regular log (see _Split); safe to run on several threads, where the
    parsing, trimming and splitting of one block overlap the others' (Arrow releases the GIL)."""

    count: int  # fields per line
    included: list[str]  # the raw fields read (`f<position>`)
    id_column: str | None  # None: JobID past the file's last field, every id empty
    job_columns: list[str]
    step_columns: list[str]

    def read(self, block: bytes, skip: int) -> _Block:
        """The block's records (after `skip` header lines), parsed, trimmed and split. Raises
        _Irregular or ArrowInvalid where the block is not regular: a carriage return, a comment
        line, a blank line, a line with another number of fields.

        Every line is a record (blank lines are not skipped), so records are numbered as lines
        without counting newlines; a blank line reads as a record of empty fields, which has no
        id: only a block with such a record is searched for one."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as csv

        if b"\r" in block or (b"#" in block and (block.startswith(b"#") or b"\n#" in block)):
            raise _Irregular
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
                ignore_empty_lines=False,
            ),
            convert_options=csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(self.count)},
                include_columns=self.included,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # checked with the trimming: see _trimmed
            ),
        )
        fields = {
            name: _trimmed(one_array(column), validate=True) for name, column in zip(batch.column_names, batch.columns)
        }
        job_id = empty_texts(batch.num_rows) if self.id_column is None else fields[self.id_column]
        is_step = bools(pc.match_substring(job_id, "."))
        # No id: an empty one, or nothing before its first ".".
        no_id = bools(pc.or_(pc.equal(job_id, text_scalar("")), pc.starts_with(job_id, ".")))
        if no_id.any() and (block[:1] == b"\n" or b"\n\n" in block):
            raise _Irregular  # a blank line: the line-by-line path skips it

        def part(columns: list[str], mask: Any, steps: bool) -> Any:
            """The fields of the records in `mask`, and their key: the JobID up to its first "."
            (as `line_records` finds it), a job line's whole id, so only step ids are cut."""
            selected = mask_array(mask)
            key = job_id.filter(selected)
            kept = [fields[c].filter(selected) for c in columns]
            return pa.Table.from_arrays([*kept, job_key(key) if steps else key], names=[*columns, "_key"])

        jobs, steps = ~is_step & ~no_id, is_step & ~no_id
        return _Block(
            part(self.job_columns, jobs, False),
            np.flatnonzero(jobs),
            part(self.step_columns, steps, True),
            np.flatnonzero(steps),
            np.flatnonzero(no_id),
            batch.num_rows,
            block,
        )


class _SplitParts:
    """Blocks of a regular log collected in order, their rows numbered as lines (see _Split)."""

    def __init__(self, job_columns: list[str], step_columns: list[str]) -> None:
        self.job_columns, self.step_columns = job_columns, step_columns
        self.jobs: list[Any] = []
        self.steps: list[Any] = []
        self.numbers: dict[str, list[Any]] = {"jobs": [], "steps": [], "no_id": []}
        self.records = 0

    def add(self, block: _Block, first_number: int) -> None:
        """One block's parts, their records numbered as the log's lines."""
        first = first_number + self.records
        self.jobs.append(block.jobs)
        self.steps.append(block.steps)
        self.numbers["jobs"].append(block.job_rows + first)
        self.numbers["steps"].append(block.step_rows + first)
        self.numbers["no_id"].append(block.no_id + first)
        self.records += block.records

    def split(self) -> _Split:
        import numpy as np
        import pyarrow as pa

        def table(parts: list[Any], columns: list[str]) -> Any:
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


def _line_texts(handle: Any, numbers: Any, width: int, block_bytes: int = 2**24) -> list[str]:
    """The text of some lines (1-based numbers) of a log read from a binary file object, padded
    with "|" to `width` fields the way `_split_lines` pads short lines: the regular path keeps no
    line texts, only their numbers. Read block by block: neither the log's bytes nor an array of
    their size is ever held (a million-job log's rejects once took 800 MB to show)."""
    import numpy as np

    numbers = np.asarray(numbers, dtype=np.int64)
    if not len(numbers):
        return []
    wanted = np.unique(numbers)
    found: dict[int, bytes] = {}
    first = 1  # the number of the block's first line
    for block in _blocks(handle, block_bytes):
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        if not len(ends) or ends[-1] != len(block) - 1:  # the log's last line, without a newline
            ends = np.append(ends, len(block))
        starts = np.concatenate([[0], ends[:-1] + 1])
        low, high = np.searchsorted(wanted, [first, first + len(ends)])
        for number in wanted[low:high].tolist():
            found[number] = bytes(block[starts[number - first] : ends[number - first]])
        first += len(ends)
    texts = []
    for number in numbers.tolist():
        text = found[number].decode("utf-8", errors="replace")
        texts.append(text + "|" * max(0, width - text.count("|") - 1))
    return texts


@dataclass
class Records:
    """Some records of the log: their fields as Arrow string arrays (trimmed), their 1-based line
    numbers, their job's key (the JobID up to its first "."), and, off the regular path, their
    whole lines. `name in records`, `records[name]` and `len(records)` read it like a table,
    without pandas: a log priced as columns never imports it."""

    fields: dict[str, Any]  # field name -> Arrow string array (chunked, on the regular path)
    lines: Any  # numpy int64
    key: Any = None  # Arrow string array
    text: Any = None  # Arrow string array of the whole lines (None on the regular path)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __len__(self) -> int:
        return len(self.lines)

    def filter(self, mask: Any) -> Records:
        """The records where `mask` (numpy bools) holds."""
        selected = mask_array(mask)
        return Records(
            {name: values.filter(selected) for name, values in self.fields.items()},
            self.lines[mask],
            None if self.key is None else self.key.filter(selected),
            None if self.text is None else self.text.filter(selected),
        )


def _fields(lines: Any, numbers: Any, names: list[str], wanted: Sequence[str]) -> Records:
    """The wanted fields of some lines (lines: an Arrow string array of whole lines, kept as the
    records' text; or the regular path's table of fields, trimmed as they were read).

    Only the fields the job table needs are materialised: splitting is cheap, copying every
    column of a wide `sacct --format` is not."""
    import pyarrow as pa
    import pyarrow.compute as pc

    positions = _positions(names)
    present = [name for name in wanted if name in positions]
    if isinstance(lines, pa.Table):
        # Fields past the file's last one are empty, as `_split_lines` pads them.
        return Records(
            {
                name: lines[f"f{positions[name]}"]
                if f"f{positions[name]}" in lines.column_names
                else empty_texts(lines.num_rows)
                for name in present
            },
            numbers,
        )
    last = max((positions[name] for name in present), default=0)
    parts = pc.split_pattern(lines, "|", max_splits=last + 1)
    return Records({name: _trimmed(pc.list_element(parts, positions[name])) for name in present}, numbers, text=lines)


def one_array(column: Any) -> Any:
    """A chunked column as one Arrow array: its one chunk as it is (combine_chunks would copy it),
    or its chunks joined (the regular path's blocks, joined once, here)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            return column.chunk(0)
        return column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    return column


def _trimmed(texts: Any, validate: bool = False) -> Any:
    """The texts without leading or trailing whitespace. Most fields of a log hold only printable
    ASCII (bytes 0x21-0x7E, no space): then there is nothing to trim, which one pass over the
    bytes shows at a tenth of what trimming a million strings into new ones costs.

    `validate`: texts parsed without Arrow's UTF-8 check are checked in the same pass: only where a
    byte is past ASCII is the check made (ArrowInvalid where the texts are not UTF-8). Arrow's own
    check of every text at parsing cost more than all the rest of a block's work."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        return pc.utf8_trim_whitespace(texts)
    trim = False
    for chunk in texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]:
        values = chunk.buffers()[2]  # the chunk's bytes (all of the buffer: a slice's too); None: no text
        if values is None or not len(values):
            continue
        raw = np.frombuffer(values, dtype=np.uint8)
        high = raw.max()  # reductions: no array of the bytes' size
        if validate and high >= 0x80:
            chunk.validate(full=True)
        if high > 0x7E or raw.min() < 0x21:
            trim = True
            if not validate:
                break
    return pc.utf8_trim_whitespace(texts) if trim else texts


JOB_FIELDS = (
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
STEP_FIELDS = ("MaxRSS", "TotalCPU", "ConsumedEnergyRaw")
_KNOWN_FIELDS = {name.lower(): name for name in (*DEFAULT_FIELDS, *JOB_FIELDS, "JobIDRaw", *_FREE_TEXT)}


class Unread(NamedTuple):
    """Records rejected before they are jobs."""

    line: Any  # numpy: their line numbers
    reason: str
    text: list[str]


@dataclass
class Log:
    """The log's records before they are jobs: their fields, line numbers, and the lines that did not fit."""

    lines: Any  # an Arrow array of lines (None on the regular path: see `split`)
    numbers: Any  # 1-based line number of each record
    names: list[str]
    unfit: list[tuple[int, str, str]]  # (line, reason, text)
    path: str | Path
    data: bytes | None  # the bytes, when given instead of a path
    split: _Split | None = None  # the regular path's job and step lines, apart already

    def part(self, mask: Any, wanted: Sequence[str], key: Any) -> Records:
        """The wanted fields of the records in `mask`, with their key and text (off the regular path)."""
        import pyarrow.compute as pc

        selected = mask_array(mask)
        records = _fields(pc.filter(self.lines, selected), self.numbers[mask], self.names, wanted)
        records.key = pc.filter(key, selected)
        return records

    def texts(self, records: Records, mask: Any) -> list[str]:
        """Some records' texts, for their rejects: the regular path keeps none, so those lines are
        read again (rejects are few)."""
        import numpy as np

        mask = np.asarray(mask)
        if records.text is not None:
            return list(records.text.filter(mask_array(mask)).to_pylist())
        return self.line_texts(records.lines[mask])

    def line_texts(self, numbers: Any) -> list[str]:
        """The texts of the lines numbered `numbers` (1-based), read again from the log."""
        with io.BytesIO(self.data) if self.data is not None else open(self.path, "rb", buffering=0) as handle:
            return _line_texts(handle, numbers, len(self.names))


def load(path: str | Path, fields: Sequence[str] | None, data: bytes | None, regular_only: bool = False) -> Log | None:
    """The records: by Arrow's CSV reader when the file is regular (a path is then read in blocks,
    never held whole), else line by line in Arrow kernels (`regular_only`: None instead)."""
    wanted = sorted({"JobID", *JOB_FIELDS, *STEP_FIELDS})
    regular = _regular_table(data, fields, wanted, path)
    if regular is not None:
        split, numbers, names = regular
        return Log(None, numbers, names, [], path, data, split)
    if regular_only:
        return None
    lines, numbers, names, unfit = _split_lines(Path(path).read_bytes() if data is None else data, fields)
    return Log(lines, numbers, names, unfit, path, data)


def job_key(job_ids: Any) -> Any:
    """The job of each id: the text before its first "." ("12.batch" -> "12"; all of "12"). A split,
    not a regular expression: a third of the time."""
    import pyarrow.compute as pc

    return pc.list_element(pc.split_pattern(job_ids, ".", max_splits=1), int_scalar(0))


def line_records(log: Log) -> tuple[Records, Records, list[Unread]]:
    """(job lines, step lines, the empty-id rejects) of a log read line by line."""
    import pyarrow.compute as pc

    ids = _fields(log.lines, log.numbers, log.names, ["JobID"])
    job_id = ids["JobID"]
    key = job_key(job_id)
    is_step = pc.match_substring(job_id, ".").to_numpy(zero_copy_only=False)
    no_id = pc.equal(key, "").to_numpy(zero_copy_only=False)
    rejects: list[Unread] = []
    if no_id.any():
        rejects.append(Unread(log.numbers[no_id], "malformed line: empty JobID", log.texts(ids, no_id)))
    del ids
    return log.part(~is_step & ~no_id, JOB_FIELDS, key), log.part(is_step & ~no_id, STEP_FIELDS, key), rejects


def regular_records(log: Log) -> tuple[Records, Records, list[Unread]]:
    """(job lines, step lines, the empty-id rejects) of a log read in blocks (see _Split)."""
    split = log.split
    assert split is not None
    rejects: list[Unread] = []
    if len(split.no_id):
        rejects.append(Unread(split.no_id, "malformed line: empty JobID", log.line_texts(split.no_id)))
    parts = []
    for table, numbers, wanted in (
        (split.jobs, split.job_numbers, JOB_FIELDS),
        (split.steps, split.step_numbers, STEP_FIELDS),
    ):
        records = _fields(table, numbers, log.names, wanted)
        records.key = one_array(table["_key"])
        parts.append(records)
    log.split = None  # the fields are in the records now
    return parts[0], parts[1], rejects
