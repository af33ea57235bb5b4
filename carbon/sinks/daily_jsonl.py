"""A long-running monitor's log: the same `carbon.run/1` records as the run log, in one file per UTC
day (`<folder>/monitor-YYYY-MM-DD.jsonl`), so old days can be archived or deleted whole and
`carbon batch` can re-price any of them.

The tracker cuts an interval at every hour boundary, so no interval spans two days: each record
goes to the file of its start date. Files are opened for appending (a restarted monitor continues
the day's file), each record written with one `write(2)` and synced before the next interval.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from carbon.sinks.base import SinkError, write_all
from carbon.sinks.jsonl import SCHEMA, encode


class DailyJsonlSink:
    def __init__(self, folder: str | os.PathLike[str], prefix: str = "monitor") -> None:
        self.folder = Path(folder)
        self.prefix = prefix
        self.day: str | None = None
        self._fd: int | None = None

    def path_for(self, day: str) -> Path:
        return self.folder / f"{self.prefix}-{day}.jsonl"

    def _switch(self, day: str) -> None:
        if day == self.day:
            return
        path = self.path_for(day)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise SinkError(f"cannot write the monitor log {path}: {error.strerror or error}") from None
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self.day = fd, day

    def open(self, run: dict[str, Any]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SinkError(f"cannot create the monitor log folder {self.folder}: {error.strerror or error}") from None
        self._switch(str(run["start"])[:10])  # an unwritable folder fails now

    def interval(self, record: dict[str, Any]) -> None:
        self._switch(str(record["start"])[:10])
        assert self._fd is not None
        write_all(self._fd, encode({"schema": SCHEMA, **record}))
        os.fdatasync(self._fd)

    def close(self, summary: dict[str, Any]) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
