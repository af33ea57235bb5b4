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
        self._schema: Any = None  # the first row group's
        self._writer: Any = None  # made on the writing thread, with the first row group
        self._pending: Any = None

    def __enter__(self) -> ParquetRowGroups:
        return self

    def put(self, columns: dict[str, Any]) -> bool:
        """Queue one row group; False (nothing queued) where its column types differ from the
        first one's (a text column with no text at all in one part, and some in another)."""
        from carbon.batch.columns import arrow_table

        table = arrow_table(columns)
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema):
            return False
        self._wait()
        self._pending = self._pool.submit(self._write, table)
        return True

    def _write(self, table: Any) -> None:
        """On the writing thread: the first row group also chooses the columns' encodings there."""
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.temporary,
                table.schema,
                store_schema=False,
                use_dictionary=_dictionary_columns(table),
                # Values handed to each column's encoder 64 k at a time, not 1 k: a dictionary
                # column's statistics are worked out per batch (a tenth of the writing at 1 k).
                write_batch_size=65_536,
            )
        self._writer.write_table(table)

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
            try:
                self._wait()  # not committed: the file must not appear
            finally:
                if self._writer is not None:
                    self._writer.close()
        finally:
            self._pool.shutdown()
            Path(self.temporary).unlink(missing_ok=True)


def _dictionary_columns(table: Any, sample_rows: int = 65_536) -> list[str]:
    """The columns to dictionary-encode: all but those with about one value per job. Their
    dictionary would only fill its page (a million doubles do not fit in it) and be dropped, after
    hashing a hundred thousand values per row group: the line, the job id and the times, whose
    first rows all differ, and the CO2e figures (energy times a factor per region and month),
    whose first rows hold almost as many new values in their last three quarters as in their
    first. Plain, they also take less room. (At a million jobs, writing them plain saves a sixth
    of the writing.) A dictionary pays for the rest, energy figures among them: their values
    repeat more and more as rows are added."""
    import pyarrow as pa
    import pyarrow.compute as pc

    head, quarter = table.slice(0, sample_rows), table.slice(0, sample_rows // 4)

    def distinct(column: Any) -> int:
        return int(pc.count_distinct(column).as_py())

    def repeats(name: str) -> bool:
        if head.num_rows < 4096:  # too few rows to tell: a dictionary costs little here
            return True
        seen = distinct(quarter[name])
        if seen == quarter.num_rows:
            return False
        # Four times the rows, not 3.5 times the values: values keep repeating.
        return head.num_rows < sample_rows or 2 * distinct(head[name]) < 7 * seen

    return [
        name
        for name in table.column_names
        if pa.types.is_dictionary(head[name].type) or pa.types.is_null(head[name].type) or repeats(name)
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
