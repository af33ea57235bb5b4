"""Writing results so that a failure never leaves half a file: a temporary file, then a rename.

The file gets the permissions any new file of the user gets (0666 less the umask), not the
temporary's private 0600. CSV text fields are quoted when `quote_text` is set (the rejects, whose
texts are whatever the log held: quotes, commas, a bare carriage return), so that every character
reads back as written.

A large Parquet output is written in row groups of `ROW_GROUP_ROWS` rows, each converted to Arrow
as it is written: converting the whole results table at once, and encoding it as one row group,
held about 100 MB more at a million jobs than the table itself, at the run's peak.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

ROW_GROUP_ROWS = 131_072


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def write_table(frame: Any, path: str | Path, quote_text: bool = False) -> None:
    """Parquet for `.parquet`/`.pq`, CSV otherwise; the file appears complete or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        if target.suffix.lower() in (".parquet", ".pq"):
            write_parquet(frame, temporary)
        else:
            frame.to_csv(temporary, index=False, quoting=csv.QUOTE_NONNUMERIC if quote_text else csv.QUOTE_MINIMAL)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_parquet(frame: Any, path: str | Path) -> None:
    """`frame.to_parquet(path, index=False)`, the same schema, pandas metadata and values, written
    `ROW_GROUP_ROWS` rows at a time (a table of one row group is written as pandas writes it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(frame) <= ROW_GROUP_ROWS or frame.attrs:
        frame.to_parquet(path, index=False)
        return
    schema = _arrow_schema(frame)
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for first in range(0, len(frame), ROW_GROUP_ROWS):
            part = pa.Table.from_pandas(frame.iloc[first : first + ROW_GROUP_ROWS], schema=schema, preserve_index=False)
            writer.write_table(part)


def _arrow_schema(frame: Any) -> Any:
    """The schema (pandas metadata included) that Arrow gives the whole frame, without converting
    it: each text (object) column's type inferred from its values, as a conversion would infer it
    (a column of nothing but None is Arrow's null type), the others' from their dtype."""
    import numpy as np
    import pyarrow as pa

    empty = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    fields = []
    for field in empty:
        column = frame[field.name]
        if isinstance(column.dtype, np.dtype) and column.dtype == object:
            field = field.with_type(pa.infer_type(column.to_numpy(), from_pandas=True))
        fields.append(field)
    # Converted with these types, a slice carries the whole frame's pandas metadata.
    return pa.Table.from_pandas(frame.iloc[:0], schema=pa.schema(fields), preserve_index=False).schema
