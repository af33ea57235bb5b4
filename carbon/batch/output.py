"""Writing results so that a failure never leaves half a file: a temporary file, then a rename.

The file gets the permissions any new file of the user gets (0666 less the umask), not the
temporary's private 0600. CSV text fields are quoted when `quote_text` is set (the rejects, whose
texts are whatever the log held: quotes, commas, a bare carriage return), so that every character
reads back as written.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

from carbon.batch.memory import release_freed_memory


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def write_table(frame: Any, path: str | Path, quote_text: bool = False) -> None:
    """Parquet for `.parquet`/`.pq`, CSV otherwise; the file appears complete or not at all."""

    def write(temporary: str) -> None:
        if is_parquet(path):
            frame.to_parquet(temporary, index=False)
            # The conversion's and the writer's buffers (~100 MB at a million jobs), held by Arrow's
            # pool where the totals that follow, in numpy, could never reuse them.
            release_freed_memory()
        else:
            frame.to_csv(temporary, index=False, quoting=csv.QUOTE_NONNUMERIC if quote_text else csv.QUOTE_MINIMAL)

    _replace(path, write)


class ParquetRowGroups:
    """A Parquet file from dicts of result columns (carbon.batch.columns), one row group each,
    through Arrow alone: texts go to the writer as dictionary codes, which it stores as they are.
    The file keeps no Arrow schema of its own, so that it reads back as text, not as dictionary
    (categorical) columns, and no pandas metadata (it reads back with the default index, as one
    written from pandas without its index does).

    Each row group is written on a thread of its own while the caller prices the next part: the
    writer releases the GIL, so on two cores the two overlap (at a million jobs the writing costs
    about as much CPU as the reading and the pricing together). Used as a context manager: the file appears at `path`
    on commit(), complete, or not at all."""

    def __init__(self, path: str | Path, metadata: dict[str, str] | None = None) -> None:
        """`metadata`: the file's key-value metadata (e.g. pandas' note of a column's dtype)."""
        from concurrent.futures import ThreadPoolExecutor

        if not is_parquet(path):
            raise ValueError(f"{path}: results as columns are written to Parquet only")
        self.path = path
        self.metadata = metadata
        self.temporary = _temporary(path)
        self._pool = ThreadPoolExecutor(1)
        self._writer: Any = None
        self._pending: Any = None

    def __enter__(self) -> ParquetRowGroups:
        return self

    def put(self, columns: dict[str, Any]) -> bool:
        """Queue one row group; False (nothing queued) where its column types differ from the
        first one's (a text column with no text at all in one part, and some in another)."""
        import pyarrow.parquet as pq

        from carbon.batch.columns import arrow_table

        table = arrow_table(columns)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.temporary, table.schema, store_schema=False, use_dictionary=_dictionary_columns(table)
            )
        elif not table.schema.equals(self._writer.schema):
            return False
        self._wait()
        self._pending = self._pool.submit(self._writer.write_table, table)
        return True

    def commit(self) -> None:
        self._wait()
        if self.metadata:
            self._writer.add_key_value_metadata(self.metadata)
        self._writer.close()
        self._writer = None
        os.replace(self.temporary, self.path)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # the writer's error, if any, raised here

    def __exit__(self, *exc: object) -> None:
        try:
            if self._writer is not None:  # not committed: the file must not appear
                try:
                    self._wait()
                finally:
                    self._writer.close()
        finally:
            self._pool.shutdown()
            Path(self.temporary).unlink(missing_ok=True)


def _dictionary_columns(table: Any, sample_rows: int = 4096) -> list[str]:
    """The columns to dictionary-encode: all but those whose first rows all differ (the line, the
    job id, the times: one value per job). Their dictionary would only fill its page and be
    dropped, after hashing a hundred thousand values per row group (a sixth of the writing, at a
    million jobs); plain, they also take less room."""
    import pyarrow as pa
    import pyarrow.compute as pc

    head = table.slice(0, sample_rows)
    return [
        name
        for name in table.column_names
        if pa.types.is_dictionary(head[name].type)
        or pa.types.is_null(head[name].type)
        or head.num_rows < sample_rows
        or pc.count_distinct(head[name]).as_py() < head.num_rows
    ]


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq")


def _replace(path: str | Path, write: Any) -> None:
    """write(temporary) into a temporary file beside `path`, then renamed to it."""
    temporary = _temporary(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _temporary(path: str | Path) -> str:
    """A new empty file beside `path` (its folder made if need be), with the permissions any new
    file of the user gets."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary
