"""The run log: one JSON object per line per finished interval, appended and flushed to disk each time.

File: `<output_dir>/<run_id>.jsonl`, created exclusively at run start. The records handed over
together (one, or the several finished intervals the tracker held: see carbon.tracker.HOLD_S) are
written with a single unbuffered `write(2)` on an O_APPEND descriptor: once written they are in the
kernel, so a `kill -9` of the writer loses nothing it was handed.
`fdatasync` (data only, the cheap kind) follows once `sync_every_s` (10 s) have passed since the
last one, so a power cut loses at most the last 10 s, while a 1 s interval does not pay a journal
commit every second and a run shorter than 10 s pays none. A torn last line is skipped by `read_run_log`. No lock files: nothing else writes there.

A write that fails (a full disk, a file-size limit) leaves no torn line (the partial bytes are taken
back) and loses no record: the records not yet written are kept, in order, and written before the
next ones, or at the end of the run, once there is room again. Only past `MAX_PENDING` records held
(hours of a 1 s interval) are the oldest given up, and the failure says how many.

Record format (schema "carbon.run/1"). The keys are those of `carbon estimate --format json`
(`Estimate.to_dict()`) for the interval alone, plus the run fields, so `carbon batch` can re-price
a run log hour by hour like any other job log:

    schema                "carbon.run/1"
    run_id, seq           run identifier and interval number (0, 1, ...)
    start, end            interval bounds, ISO 8601 UTC ("2026-11-29T04:00:00.000000Z")
    duration_s            interval length
    task                  the task the interval belongs to, or null
    mode                  "machine" (whole machine) or "process" (the process tree's attributed share)
    attribution           process mode: {"cpu": share, "ram": share, "gpu": share} applied; else null
    project, experiment   labels given to the run
    region, location      {"provider", "region", "zone", "country"}
    hardware              the Hardware the model used ({"vcpus", "memory_gb", "gpu_count", ...})
    breakdown             IT energy per component, kWh, before PUE: cpu_kwh, gpu_kwh, ram_kwh,
                          other_kwh, and cpu_method/gpu_method/ram_method ("measured:rapl",
                          "measured:nvml", "modelled", "measured:nvml+modelled")
    energy_kwh(_low/_high)  facility energy (IT x PUE)
    pue(_low/_high)
    intensity_g_per_kwh(_low/_high), intensity_basis, intensity_granularity ("hour", "month", "year"),
    intensity_detail      which dataset value (or live source) priced this interval
    co2e_kg(_low/_high)   this interval's emissions
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from carbon.sinks.base import SinkError, write_all

SCHEMA = "carbon.run/1"
MAX_PENDING = 10_000


# One encoder for every record: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, allow_nan=False)


def encode(record: dict[str, Any]) -> bytes:
    return (_ENCODER.encode(record) + "\n").encode()


class JsonlSink:
    """Appends each interval record to `<folder>/<run_id>.jsonl` and syncs it before returning."""

    batched = True  # read after the fact: the tracker may hand it several intervals at once (see Sink)

    def __init__(self, folder: str | os.PathLike[str], sync_every_s: float = 10.0) -> None:
        self.folder = Path(folder)
        self.sync_every_s = sync_every_s
        self.path: Path | None = None
        self._fd: int | None = None
        self._synced_at = float("-inf")
        self._pending: list[bytes] = []  # encoded records not yet written (a full disk), oldest first
        self.dropped = 0

    def open(self, run: dict[str, Any]) -> None:
        self.path = self.folder / f"{run['run_id']}.jsonl"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
            self._synced_at = time.monotonic()
        except OSError as error:
            raise SinkError(f"cannot write the run log {self.path}: {error.strerror or error}") from None

    def interval(self, record: dict[str, Any]) -> None:
        self.intervals((record,))

    def intervals(self, records: Sequence[dict[str, Any]]) -> None:
        """Several finished intervals, in order, appended with one write(2) (the tracker's held ones)."""
        if self._fd is None:
            raise SinkError("run log written before it was opened")
        self._pending.extend([encode({"schema": SCHEMA, **record}) for record in records])
        if len(self._pending) > MAX_PENDING:
            excess = len(self._pending) - MAX_PENDING
            del self._pending[:excess]
            self.dropped += excess
        self._flush()
        now = time.monotonic()
        if now - self._synced_at >= self.sync_every_s:
            os.fdatasync(self._fd)
            self._synced_at = now

    def _flush(self) -> None:
        """Write the held records in order, all with one write(2); if that fails they are all kept
        (the part written is taken back: no torn line) for the next try."""
        assert self._fd is not None
        if not self._pending:
            return
        try:
            write_all(self._fd, self._pending[0] if len(self._pending) == 1 else b"".join(self._pending))
        except OSError as error:
            lost = f", {self.dropped} oldest given up" if self.dropped else ""
            raise OSError(
                error.errno, f"{error.strerror or error}; {len(self._pending)} record(s) held{lost}"
            ) from None
        self._pending.clear()

    def close(self, summary: dict[str, Any]) -> None:
        if self._fd is None:
            return
        try:
            self._flush()
            if time.monotonic() - self._synced_at >= self.sync_every_s:
                os.fdatasync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None


def iter_run_log(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every complete record; a last line torn by a crash mid-write is skipped."""
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def read_run_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return list(iter_run_log(path))
