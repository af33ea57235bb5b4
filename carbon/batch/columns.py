"""A job table's text columns as codes into their few distinct texts, and the results as Arrow.

A million jobs name a handful of regions, states, users and kinds of hardware. Kept as codes (what
a Parquet dictionary page, or one hash pass, gives), they are keys for the engine with no further
hashing, and written back to Parquet as dictionary pages with no string built per job: converting
a million Python strings to Arrow and hashing them again in the writer cost more than all the
arithmetic. Nothing here imports pandas: a Parquet log priced into a Parquet file never needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Coded:
    """texts[codes[i]] is row i's text; code -1 is a missing text. `texts` holds no None."""

    codes: Any  # numpy integer array, one per row
    texts: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Any:
        return iter(self.values())

    @classmethod
    def from_keys(cls, codes: Any, texts: list[str | None]) -> Coded:
        """One text (or None) per distinct key, `codes` the keys per row -> a Coded column (keys
        with the same text share its code)."""
        import numpy as np

        distinct: dict[str, int] = {}
        table = np.array(
            [-1 if text is None else distinct.setdefault(text, len(distinct)) for text in [*texts, None]],
            dtype=np.int32,
        )  # the last entry: a code of -1 stays -1
        if len(distinct) == len(texts) and len(texts):
            return cls(np.asarray(codes).astype(np.int32, copy=False), list(distinct))
        return cls(table[np.asarray(codes)], list(distinct))

    @classmethod
    def from_arrow(cls, array: Any) -> Coded:
        """An Arrow text column, dictionary-encoded or not (a null column: every text missing)."""
        import numpy as np
        import pyarrow as pa

        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
        if pa.types.is_null(array.type):
            return cls(np.full(len(array), -1, dtype=np.int32), [])
        if not pa.types.is_dictionary(array.type):
            array = array.dictionary_encode()
        texts = array.dictionary.to_pylist()
        codes, valid = numpy_values(array.indices)
        codes = codes.astype(np.int32) if valid is None else np.where(valid, codes, len(texts)).astype(np.int32)
        return cls.from_keys(codes, [*texts, None])

    def values(self) -> Any:
        """Each row's text as an object array, None where missing."""
        import numpy as np

        return np.array([*self.texts, None], dtype=object)[self.codes]

    def code_of(self, text: str) -> int:
        """The code of `text`, -2 (no row's) when no row holds it."""
        return self.texts.index(text) if text in self.texts else -2

    def to_arrow(self) -> Any:
        """A dictionary array (the Parquet writer stores its codes as they are); the null type when
        every text is missing, as a column of None converts from pandas."""
        import numpy as np
        import pyarrow as pa

        if not self.texts:
            return pa.nulls(len(self.codes))
        indices = arrow_values(pa.int32(), self.codes.astype(np.int32, copy=False), self.codes >= 0)
        return pa.DictionaryArray.from_arrays(indices, arrow_texts(self.texts))


def arrow_column(values: Any) -> Any:
    """One result column as Arrow: Coded texts as dictionary arrays, times (naive UTC datetime64)
    as UTC timestamps, Arrow columns as they are, numbers as they are; NaN and NaT are nulls, as
    pandas columns convert."""
    import numpy as np
    import pyarrow as pa

    if isinstance(values, Coded):
        return values.to_arrow()
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if values.dtype.kind == "M":
        unit = np.datetime_data(values.dtype)[0]
        return arrow_values(pa.timestamp(unit, tz="UTC"), values.view(np.int64), ~np.isnat(values))
    if values.dtype.kind == "f":
        return arrow_values(pa.from_numpy_dtype(values.dtype), values, ~np.isnan(values))
    if values.dtype.kind in "iub":
        return arrow_values(pa.from_numpy_dtype(values.dtype), values)
    raise TypeError(f"no Arrow column for a numpy column of {values.dtype}")


# Arrow <-> numpy through the buffers: Arrow's own conversions (to_numpy, pa.array) start by
# importing pandas (~0.4 s), which a Parquet run otherwise never needs.


def arrow_values(kind: Any, values: Any, valid: Any = None) -> Any:
    """A fixed-width Arrow array over a numpy array's memory; `valid` (bools): where not null."""
    import numpy as np
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    data = np.packbits(values, bitorder="little") if values.dtype == bool else values
    bitmap = None if valid is None or valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(data)])


def arrow_texts(texts: list[str]) -> Any:
    """A few texts as an Arrow string array."""
    import numpy as np
    import pyarrow as pa

    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def numpy_values(array: Any, dtype: Any = None) -> tuple[Any, Any]:
    """(values, valid) of a fixed-width Arrow array: values as numpy (`dtype`, else the array's own
    integer or float width; bools unpacked), valid None when nothing is null. Null slots hold
    whatever the buffer holds."""
    import numpy as np
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    n, offset = len(array), array.offset
    kind = array.type
    if dtype is None:
        if pa.types.is_boolean(kind):
            dtype = bool
        else:
            letter = "f" if pa.types.is_floating(kind) else "u" if pa.types.is_unsigned_integer(kind) else "i"
            dtype = np.dtype(f"{letter}{kind.bit_width // 8}")
    if n == 0:
        return np.empty(0, dtype=dtype), None
    validity, data = array.buffers()[:2]
    if np.dtype(dtype) == bool:
        values = _bits(data, offset, n)
    else:
        values = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
    return values, (_bits(validity, offset, n) if array.null_count else None)


def _bits(buffer: Any, offset: int, n: int) -> Any:
    import numpy as np

    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + n, bitorder="little")[offset:].view(bool)


def arrow_table(columns: dict[str, Any]) -> Any:
    import pyarrow as pa

    return pa.table({name: arrow_column(values) for name, values in columns.items()})


def take(values: Any, rows: Any) -> Any:
    """The given rows (positions) of one column of any kind arrow_column takes."""
    import numpy as np
    import pyarrow as pa

    if isinstance(values, Coded):
        return Coded(values.codes[rows], values.texts)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(arrow_values(pa.int64(), np.asarray(rows, dtype=np.int64)))
    return np.asarray(values)[rows]


def rows(values: Any, first: int, stop: int) -> Any:
    """Rows first..stop-1 of one column of any kind arrow_column takes, without a copy."""
    import pyarrow as pa

    if isinstance(values, Coded):
        return Coded(values.codes[first:stop], values.texts)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.slice(first, stop - first)
    return values[first:stop]


@dataclass(frozen=True)
class WholeTable:
    """A job table read at once (a sacct log's), handed out part by part as
    carbon.batch.readers.columnar.ColumnsRead hands out a Parquet log's, so that one pricing loop
    (carbon.batch.run) takes either. Its reader has checked the job ids already."""

    jobs: dict[str, Any]  # JOB_COLUMNS and line, as carbon.batch.engine.price_columns takes them
    records: int

    def parts(self, rows_per_part: int) -> Iterator[dict[str, Any]]:
        """The table `rows_per_part` jobs at a time (the last part: what is left), as views."""
        for first in range(0, self.records, rows_per_part):
            stop = min(first + rows_per_part, self.records)
            yield {name: rows(values, first, stop) for name, values in self.jobs.items()}

    def repeated_ids(self) -> bool:
        return False


class Joined:
    """Columns of `rows` rows filled part by part, in place: each part's columns are copied in as
    it comes (Coded texts renumbered into the texts of all the parts so far), so that the whole
    columns are ready when the last part is, with no copy of them all at the end."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._arrays: dict[str, Any] = {}
        self._texts: dict[str, dict[str, int]] = {}  # per Coded column: text -> its code

    def put(self, first: int, part: dict[str, Any]) -> None:
        """Copy in one part's columns, `first` being the row its first row is."""
        import numpy as np

        for name, values in part.items():
            if isinstance(values, Coded):
                texts = self._texts.setdefault(name, {})
                table = np.array([*(texts.setdefault(t, len(texts)) for t in values.texts), -1], dtype=np.int32)
                values = table[values.codes]  # -1 (missing) stays -1 through the last entry
            array = self._arrays.get(name)
            if array is None:
                array = self._arrays[name] = np.empty(self.rows, dtype=values.dtype)
            array[first : first + len(values)] = values

    def columns(self) -> dict[str, Any]:
        return {
            name: Coded(array, list(self._texts[name])) if name in self._texts else array
            for name, array in self._arrays.items()
        }
