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
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        if target.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(temporary, index=False)
            # The conversion's and the writer's buffers (~100 MB at a million jobs), held by Arrow's
            # pool where the totals that follow, in numpy, could never reuse them.
            release_freed_memory()
        else:
            frame.to_csv(temporary, index=False, quoting=csv.QUOTE_NONNUMERIC if quote_text else csv.QUOTE_MINIMAL)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
