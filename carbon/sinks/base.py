"""Where a run's results go. A sink never knows which meter produced a figure (and meters never
know about sinks): the tracker hands each sink plain records.

Sinks open at the start of a run, so that an unwritable folder fails before any work is done,
not at the end when the measurements would be lost.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from carbon.errors import UserInputError


class SinkError(UserInputError, OSError):
    """A sink cannot write where it was told to; the message names the path and the reason.

    A user-input error: the folder is the user's choice and the disk the user's machine, so the fix
    is theirs (another --output, free space), and the CLI says so in one line (exit 2). Still an
    OSError, as the failure it wraps, for callers that catch file errors.
    """


class Sink(Protocol):
    """Optionally `batched = True`: the sink's records are read after the fact (files), so the tracker
    may hold finished intervals up to `carbon.tracker.HOLD_S` and hand them over several at once
    (always in order, and all of them at stop and at interpreter exit). A sink without it (live
    gauges, experiment trackers, any plug-in) gets each interval as it ends."""

    def open(self, run: dict[str, Any]) -> None:
        """Called once at run start with the run's identity (run_id, start, project, ...)."""
        ...

    def interval(self, record: dict[str, Any]) -> None:
        """One finished interval; must be on disk (or sent) before it returns."""
        ...

    def close(self, summary: dict[str, Any]) -> None:
        """The run's final summary (Estimate.to_dict() keys plus run fields)."""
        ...


def write_all(fd: int, data: bytes) -> None:
    """Append `data` whole or not at all. One write(2) on an O_APPEND descriptor is atomic against
    other appenders; a short write (a full disk, a file-size limit) is continued, and if the rest
    cannot be written the torn part is taken back, so that no half record is left behind."""
    view = memoryview(data)
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, view[written:])
    except OSError:
        if written:
            _take_back(fd, data[:written])
        raise


def _take_back(fd: int, torn: bytes) -> None:
    """Truncate the torn bytes just appended when they are still the file's tail (read back through an
    O_RDWR descriptor); if another writer appended since, leave them: its records matter more, and
    readers skip a torn line."""
    try:
        size = os.fstat(fd).st_size
        if size >= len(torn) and os.pread(fd, len(torn), size - len(torn)) == torn:
            os.ftruncate(fd, size - len(torn))
    except OSError:
        pass
