"""Sending `carbon batch` results to a carbon server: from the result table in memory (`carbon batch
--server`) or from a results file written earlier (`carbon upload results.csv`).

The server stores each (source, job_id) once per project, so sending a file twice stores nothing
new; before sending a source, its job count on the server is compared with the file's and a
source the server already holds whole is skipped without sending.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from carbon.sinks.server import Sent, ServerClient

CHUNK_ROWS = 5000
TEXT_COLUMNS = ("source", "job_id", "user", "account", "partition", "project", "state", "region", "zone", "hardware")


def read_results(path: str | Path) -> Any:
    """A results table written by `carbon batch --out` (Parquet, else CSV)."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={name: "string" for name in TEXT_COLUMNS}, keep_default_na=True)


def _plain(value: Any) -> Any:
    """JSON-ready: NaN/NaT/NA -> None, timestamps -> ISO 8601, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        try:
            return None if value != value else value.isoformat()  # NaT != NaT
        except TypeError:
            return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    return value


def rows(frame: Any, start: int, stop: int) -> Iterator[dict[str, Any]]:
    columns = list(frame.columns)
    part = frame.iloc[start:stop]
    for values in part.itertuples(index=False, name=None):
        yield {name: _plain(value) for name, value in zip(columns, values)}


def upload_frame(client: ServerClient, frame: Any, default_source: str | None = None) -> Sent:
    """Send every row of a results table, skipping sources the server already holds whole."""
    sent = Sent()
    if "source" not in frame.columns:
        if default_source is None:
            raise ValueError("the results have no source column; name one (the job log's name)")
        frame = frame.assign(source=default_source)
    frame = frame.reset_index(drop=True)
    sources = frame["source"].astype("string")
    for source in sorted(set(sources.dropna())):
        subset = frame[sources == source]
        state = client.batch_state(source)
        if state is not None and state["jobs"] >= len(subset):
            sent.skipped += len(subset)
            continue
        for start in range(0, len(subset), CHUNK_ROWS):
            sent.add(client.post_batch(rows(subset, start, start + CHUNK_ROWS)))
    return sent
