"""One row per run in `<output_dir>/runs.v<N>.csv`, for spreadsheets and quick comparisons.

The header of a schema version never changes: a new set of columns is a new schema version and a
new file (`runs.v2.csv`), never shifted columns under an old header. The file is created with its
header atomically (written to a temporary name, then hard-linked into place, which fails if another
run created it first), and rows are appended with one `write(2)` on an O_APPEND descriptor, so
concurrent runs never interleave and no lock file is needed. The descriptor is opened at run
start: an unwritable folder fails then, not after hours of work.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from carbon.sinks.base import SinkError, write_all

SCHEMA_VERSION = 1
COLUMNS: tuple[str, ...] = (
    "run_id",
    "start",
    "end",
    "duration_s",
    "exit_code",
    "status",
    "project",
    "experiment",
    "mode",
    "command",
    "region",
    "zone",
    "provider",
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "intensity_g_per_kwh",
    "intensity_basis",
    "pue",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "cpu_method",
    "gpu_method",
    "ram_method",
    "intervals",
    "run_log",
    "carbon_version",
    "warnings",
)


def _line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return buffer.getvalue().encode()


HEADER = _line(list(COLUMNS))


def flatten(summary: dict[str, Any]) -> list[Any]:
    breakdown = summary.get("breakdown") or {}
    location = summary.get("location") or {}
    merged = {
        **summary,
        **{k: v for k, v in breakdown.items()},
        "zone": location.get("zone"),
        "provider": location.get("provider"),
        "region": location.get("region"),
        "warnings": " | ".join(summary.get("warnings") or []),
    }
    return [merged.get(column) for column in COLUMNS]


class CsvSummarySink:
    batched = True  # one row at the end: intervals may come late (see Sink)

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"runs.v{SCHEMA_VERSION}.csv"
        self._fd: int | None = None

    def _create_with_header(self) -> None:
        temporary = self.folder / f".runs.v{SCHEMA_VERSION}.{os.getpid()}.{id(self)}.tmp"
        try:
            with open(temporary, "wb") as handle:  # a full disk fails here: the finally removes it
                handle.write(HEADER)
            os.link(temporary, self.path)
        except FileExistsError:
            pass  # another run created it first, with the same header
        finally:
            temporary.unlink(missing_ok=True)

    def open(self, run: dict[str, Any]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self._create_with_header()
            with open(self.path, "rb") as handle:
                first = handle.readline()
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)  # RDWR: a torn row is taken back
        except OSError as error:
            raise SinkError(f"cannot write the runs summary {self.path}: {error.strerror or error}") from None
        if first != HEADER:
            os.close(self._fd)
            self._fd = None
            raise SinkError(
                f"{self.path} has a different header than schema v{SCHEMA_VERSION}; it was edited or "
                "written by another tool: move it away"
            )

    def interval(self, record: dict[str, Any]) -> None:
        return None

    def close(self, summary: dict[str, Any]) -> None:
        if self._fd is None:
            return
        try:
            write_all(self._fd, _line(flatten(summary)))  # in the kernel once written: safe from kill -9
        finally:
            os.close(self._fd)
            self._fd = None
