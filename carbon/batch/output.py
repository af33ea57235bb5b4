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


def write_columns(columns: dict[str, Any], path: str | Path) -> None:
    """A Parquet file from a dict of result columns (carbon.batch.columns), through Arrow alone:
    texts go to the writer as dictionary codes, which it stores as they are. The file keeps no
    Arrow schema of its own, so that it reads back as text, not as dictionary (categorical)
    columns, and no pandas metadata (it reads back with the default index, as one written from
    pandas without its index does)."""
    import pyarrow.parquet as pq

    from carbon.batch.columns import arrow_table

    if not is_parquet(path):
        raise ValueError(f"{path}: results as columns are written to Parquet only")
    table = arrow_table(columns)
    _replace(path, lambda temporary: pq.write_table(table, temporary, store_schema=False))


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq")


def _replace(path: str | Path, write: Any) -> None:
    """write(temporary) into a temporary file beside `path`, then renamed to it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
