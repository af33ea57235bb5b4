"""Writing results so that a failure never leaves half a file: a temporary file, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def write_table(frame: Any, path: str | Path) -> None:
    """Parquet for `.parquet`/`.pq`, CSV otherwise; the file appears complete or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        if target.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
