"""A job table's text columns as codes into their few distinct texts, and the results as Arrow.

A million jobs name a handful of regions, states, users and kinds of hardware. Kept as codes (what
a Parquet dictionary page, or one hash pass, gives), they are keys for the engine with no further
hashing, and written back to Parquet as dictionary pages with no string built per job: converting
a million Python strings to Arrow and hashing them again in the writer cost more than all the
arithmetic. Nothing here imports pandas: a Parquet log priced into a Parquet file never needs it.
"""

from __future__ import annotations

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
        codes = array.indices.fill_null(-1).to_numpy().astype(np.int32, copy=False)
        return cls.from_keys(np.where(codes < 0, len(texts), codes), [*texts, None])

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
        import pyarrow as pa

        if not self.texts:
            return pa.nulls(len(self.codes))
        indices = pa.array(self.codes, mask=self.codes < 0) if (self.codes < 0).any() else pa.array(self.codes)
        return pa.DictionaryArray.from_arrays(indices, pa.array(self.texts, type=pa.string()))


def arrow_column(values: Any) -> Any:
    """One result column as Arrow: Coded texts as dictionary arrays, times (naive UTC datetime64)
    as UTC timestamps, Arrow columns as they are, numbers as numpy gives them."""
    import numpy as np
    import pyarrow as pa

    if isinstance(values, Coded):
        return values.to_arrow()
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    values = np.asarray(values)
    if values.dtype.kind == "M":
        unit = np.datetime_data(values.dtype)[0]
        return pa.array(values, type=pa.timestamp(unit, tz="UTC"), from_pandas=True)
    if values.dtype == object:  # texts or None (the reject reasons)
        return pa.array(values, type=pa.string(), from_pandas=True)
    return pa.array(values)


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
        return values.take(pa.array(rows))
    return np.asarray(values)[rows]
